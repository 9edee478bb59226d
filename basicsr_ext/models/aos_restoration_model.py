"""AOS restoration: a focal stack in, the occlusion-free centre view out (seed 000, sections 4.2-4.4).

On top of :class:`ExtSRModel` (all shared training features), this model adds:

- ``train.position_opt``: :class:`PositionEnhancedLoss` fed with the batch's person positions (``pos``) and
  ``has_person``; ``train.pixel_opt`` may be used with it or instead of it.
- ``train.multipass_finetune`` (false): seed 4.4.6. Every sample's loss alternates between the single-pass output
  and the double-pass output (the network applied to its own output), by sample index and iteration, so half of each
  batch trains the second pass.
- ``val.self_ensemble: {transforms: 8 | 4, reduce: median | mean}`` (off when absent): batched dihedral
  self-ensemble at inference (seed 4.3.1).
- ``val.multipass: {max_passes: K}`` (1 = off): seed 4.3.2. Pass k + 1 is kept for a sample only if its standard
  deviation is lower than that of pass k; a sample stops at its first rejected pass.

For more than one focal plane, the next pass's input is the previous input with plane ``multipass_plane``
(``network_g``-independent option under ``val``/``train``, default 0: the lowest height) replaced by the output.
"""

from collections import OrderedDict

import torch
from basicsr.losses import build_loss
from basicsr.utils import get_root_logger
from basicsr.utils.registry import MODEL_REGISTRY

from basicsr_ext.models.ext_sr_model import ExtSRModel
from basicsr_ext.utils.dihedral import self_ensemble
from basicsr_ext.utils.errors import UserError


def next_pass_input(lq, output, plane=0):
    """Input of the next pass: ``lq`` (b, p, h, w) with plane ``plane`` replaced by ``output`` (b, 1, h, w)."""
    if lq.shape[1] == 1:
        return output
    nxt = lq.clone()
    nxt[:, plane : plane + 1] = output
    return nxt


def multipass(fn, lq, max_passes, plane=0):
    """Seed 4.3.2 per sample: keep pass k + 1 only where its std is lower than pass k's; stop at the first refusal.

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


@MODEL_REGISTRY.register()
class AOSRestorationModel(ExtSRModel):
    """ExtSRModel + position-enhanced loss, multi-pass fine-tuning, self-ensemble and multi-pass inference."""

    def init_training_settings(self):
        train_opt = self.opt['train']
        self.cri_pos = build_loss(train_opt['position_opt']).to(self.device) if train_opt.get('position_opt') else None
        self.multipass_finetune = bool(train_opt.get('multipass_finetune', False))
        self.multipass_plane = int(train_opt.get('multipass_plane', 0))
        if self.cri_pos is None or train_opt.get('pixel_opt') or train_opt.get('perceptual_opt'):
            super().init_training_settings()
            return
        # SRModel refuses to set up training without a pixel or perceptual loss; the position loss is one, so give
        # it a zero-weight placeholder for the check and drop it again
        train_opt['pixel_opt'] = {'type': 'L1Loss', 'loss_weight': 0.0}
        try:
            super().init_training_settings()
        finally:
            train_opt.pop('pixel_opt')
        self.cri_pix = None

    def has_validation_loss(self):
        return self.is_train and (self.cri_pos is not None or self.cri_pix is not None)

    def validation_loss(self):
        return float(self._losses_of(self.output)[0])

    def feed_data(self, data):
        super().feed_data(data)
        if 'pos' in data:
            self.pos = data['pos'].to(self.device)
        if 'has_person' in data:
            self.has_person = data['has_person'].to(self.device)

    def extra_metric_data(self):
        # the person position of the (batch-1) validation sample, for calculate_person_psnr
        pos = getattr(self, 'pos', None)
        return {} if pos is None else {'pos': tuple(pos[0].tolist())}

    def _losses_of(self, output):
        l_total = 0
        loss_dict = OrderedDict()
        if self.cri_pos is not None:
            l_pos = self.cri_pos(output, self.gt, self.pos, getattr(self, 'has_person', None))
            l_total += l_pos
            loss_dict['l_pos'] = l_pos
        if self.cri_pix is not None:
            l_pix = self.cri_pix(output, self.gt)
            l_total += l_pix
            loss_dict['l_pix'] = l_pix
        return l_total, loss_dict

    def compute_losses(self):
        self.output = self.net_g(self.lq)
        if self.multipass_finetune:
            b = self.lq.shape[0]
            parity = getattr(self, '_finetune_step', 0) % 2
            self._finetune_step = getattr(self, '_finetune_step', 0) + 1
            double = (torch.arange(b, device=self.lq.device) + parity) % 2 == 1
            if double.any():
                second = self.net_g(next_pass_input(self.lq[double], self.output[double], self.multipass_plane))
                output = self.output.clone()
                output[double] = second
                self.output = output
        return self._losses_of(self.output)

    def test(self):
        net = self.net_g_ema if hasattr(self, 'net_g_ema') else self.get_bare_model(self.net_g)
        val_opt = self.opt.get('val') or {}
        se = val_opt.get('self_ensemble')
        mp = val_opt.get('multipass') or {}
        max_passes = int(mp.get('max_passes', 1))
        if max_passes < 1:
            raise UserError(f'val.multipass.max_passes: expected >= 1, got {max_passes}')
        plane = int(mp.get('plane', 0))
        if se:
            if se.get('transforms', 8) not in (4, 8) or se.get('reduce', 'median') not in ('median', 'mean'):
                raise UserError(f'val.self_ensemble: expected {{transforms: 4 | 8, reduce: median | mean}}, got {se}')

        def forward(x):
            if se:
                return self_ensemble(net, x, int(se.get('transforms', 8)), se.get('reduce', 'median'))
            return net(x)

        was_training = net.training
        net.eval()
        with torch.no_grad():
            self.output, self.passes = multipass(forward, self.lq, max_passes, plane)
        net.train(was_training)
        if max_passes > 1:
            get_root_logger().debug(f'multi-pass: passes per sample {self.passes.tolist()}')
