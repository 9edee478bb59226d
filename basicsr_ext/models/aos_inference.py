"""How an AOS restorer is applied: self-ensemble and multi-pass, as one settings value and two functions.

Shared by :class:`~basicsr_ext.models.aos_restoration_model.AOSRestorationModel` (validation and test), the AOS test
report (``aos_test_report.py``) and :class:`~basicsr_ext.inference.restorer.Restorer`, so the three apply a
net in exactly the same way. The methods are those of the AOS course report (Aliyev et al., JKU, Jan 2024):
self-ensemble, section 4.3.1; multi-pass with the standard-deviation check, section 4.3.2.
"""

from dataclasses import dataclass
from typing import Optional

import torch

from basicsr_ext.utils.dihedral import self_ensemble
from basicsr_ext.utils.errors import UserError

SE_REDUCE = ('median', 'mean')


@dataclass(frozen=True)
class InferenceSettings:
    """How to apply the net to a focal stack.

    Args:
        self_ensemble (dict | None): ``{transforms: 4 | 8, reduce: median | mean}``, or None (off).
        max_passes (int): Multi-pass limit (1 = one pass).
        plane (int): Plane restored and replaced by the output between passes (0: the lowest height).
        integral (bool): Output the input plane itself (the report's 'integral' row) instead of the net's output.
        constant (str | None): Output a constant image instead (a baseline row): 'oracle' = the GT's median (the
            right ground level, no person), 'blind' = the input plane's median.
        key (str): The option that set these values, for error messages.
    """

    self_ensemble: Optional[dict] = None
    max_passes: int = 1
    plane: int = 0
    integral: bool = False
    constant: Optional[str] = None
    key: str = 'val'

    @classmethod
    def from_val_options(cls, val_opt):
        """``val.self_ensemble`` and ``val.multipass: {max_passes, plane}`` of a model's options (checked with the
        options: ``aos_restoration_model.ValOptions``)."""
        val_opt = val_opt or {}
        mp = val_opt.get('multipass') or {}
        return cls(
            self_ensemble=val_opt.get('self_ensemble') or None,
            max_passes=int(mp.get('max_passes', 1)),
            plane=int(mp.get('plane', 0)),
            key='val.multipass',
        )

    def apply(self, net, lq, gt=None):
        """``(output (b, 1, h, w), passes per sample (b,))`` of ``net`` on ``lq`` (b, planes, h, w), no grad;
        ``gt`` (b, 1, h, w) is read by the oracle constant only."""
        if self.plane >= lq.shape[1]:
            raise UserError(f'{self.key}.plane: plane {self.plane} asked for, but the input has {lq.shape[1]} planes')
        none = torch.zeros(lq.shape[0], dtype=torch.long, device=lq.device)
        if self.integral:
            return lq[:, self.plane : self.plane + 1].clone(), none
        if self.constant is not None:
            source = gt if self.constant == 'oracle' else lq[:, self.plane : self.plane + 1]
            if source is None:
                raise UserError(f'{self.key}: the oracle constant is the GT median, and the test set has no GT')
            level = source.flatten(1).float().quantile(0.5, dim=1).view(-1, 1, 1, 1)
            return level.expand(lq.shape[0], 1, *lq.shape[2:]).to(lq.dtype).clone(), none

        def forward(x):
            if self.self_ensemble:
                se = self.self_ensemble
                return self_ensemble(net, x, int(se.get('transforms', 8)), se.get('reduce', 'median'))
            return net(x)

        was_training = net.training
        net.eval()
        try:
            with torch.no_grad():
                return multipass(forward, lq, self.max_passes, self.plane)
        finally:
            net.train(was_training)


def next_pass_input(lq, output, plane=0):
    """Input of the next pass: ``lq`` (b, p, h, w) with plane ``plane`` replaced by ``output`` (b, 1, h, w)."""
    if lq.shape[1] == 1:
        return output
    nxt = lq.clone()
    nxt[:, plane : plane + 1] = output
    return nxt


def multipass(fn, lq, max_passes, plane=0):
    """Multi-pass per sample: keep pass k + 1 only where its std is lower than pass k's; stop at the first refusal.

    Returns:
        tuple[Tensor, Tensor]: the output (b, c, h, w) and the number of passes accepted per sample (b,).
    """
    out = fn(lq)
    passes = torch.ones(lq.shape[0], dtype=torch.long, device=lq.device)
    active = torch.ones(lq.shape[0], dtype=torch.bool, device=lq.device)
    for _ in range(max_passes - 1):
        if not active.any():
            break
        idx = active.nonzero().flatten()
        cand = fn(next_pass_input(lq[idx], out[idx], plane))
        better = cand.flatten(1).std(dim=1) < out[idx].flatten(1).std(dim=1)
        out = out.clone()
        out[idx[better]] = cand[better]
        passes[idx[better]] += 1
        active[idx[~better]] = False
        lq = lq.clone()
        lq[idx[better]] = next_pass_input(lq[idx[better]], cand[better], plane)
    return out, passes


def check_self_ensemble(se, key):
    """``{transforms: 4 | 8, reduce: median | mean}`` or a falsy value (off); returns it or raises UserError."""
    if not se:
        return None
    valid = isinstance(se, dict) and se.get('transforms', 8) in (4, 8) and se.get('reduce', 'median') in SE_REDUCE
    if not valid:
        raise UserError(f'{key}: expected {{transforms: 4 | 8, reduce: median | mean}}, got {se}')
    return se


def int_option(value, key, minimum):
    """``value`` as an int >= ``minimum``, or a UserError naming ``key``."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or number != value or number < minimum:
        kind = '' if number is not None and number == value else ' (an integer)'
        raise UserError(f'{key}: expected >= {minimum}, got {value!r}{kind}')
    return number
