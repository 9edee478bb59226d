"""Deep Network Interpolation (DNI, Wang et al., CVPR 2019): blend the weights of two networks fine-tuned from one
base, parameter by parameter.

``alpha`` weights the SECOND model B, as in ESRGAN's / DNI's ``net_interp.py``::

    net_interp = (1 - alpha) * net_A + alpha * net_B      alpha 0: exactly A, alpha 1: exactly B

Typical use: A is the base trained at level a (e.g. noise sigma 15, or the PSNR-oriented RRDBNet), B a copy of it
fine-tuned at level b (sigma 75, or ESRGAN); alpha then slides the network from level a to level b. Values outside
[0, 1] extrapolate (allowed; the caller may warn). Both networks must share the architecture and, for the blend to
mean anything, the starting point: weights of independently trained networks do not interpolate.

Floating-point tensors are blended with :func:`torch.lerp` (exact at both endpoints) in A's dtype; other tensors
(integer buffers such as BatchNorm's ``num_batches_tracked``) must be equal in both and are copied.
"""

import math
import numbers
from collections import OrderedDict

import torch

from basicsr_ext.utils.checkpoint_adapt import checkpoint_groups
from basicsr_ext.utils.errors import UserError
from basicsr_ext.utils.file_io import safe_torch_load


def check_alpha(alpha):
    """``alpha`` as a float; UserError unless it is a finite real number (bools are refused)."""
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not math.isfinite(alpha):
        raise UserError(f'alpha: expected a finite number (0 = model A, 1 = model B), got {alpha!r}')
    return float(alpha)


def _listed(keys, limit=5):
    keys = list(keys)
    more = f' and {len(keys) - limit} more' if len(keys) > limit else ''
    return f'{keys[:limit]}{more}'


def interpolate_state_dicts(a, b, alpha):
    """``(1 - alpha) * a + alpha * b`` for every floating-point tensor of two state dicts of one architecture.

    Args:
        a (dict): state dict of model A (alpha 0); the result follows its key order and dtypes.
        b (dict): state dict of model B (alpha 1), with the same keys and shapes.
        alpha (float): weight of B; finite, outside [0, 1] extrapolates.

    Returns:
        OrderedDict: the interpolated state dict (new tensors; non-floating entries copied from A).

    Raises:
        UserError: different key sets, a shape mismatch, unequal non-floating entries, or a bad alpha.
    """
    alpha = check_alpha(alpha)
    only_a, only_b = [k for k in a if k not in b], [k for k in b if k not in a]
    if only_a or only_b:
        raise UserError(f'different keys: only in A: {_listed(only_a)}, only in B: {_listed(only_b)}')
    out = OrderedDict()
    for key, va in a.items():
        vb = b[key]
        if not (torch.is_tensor(va) and torch.is_tensor(vb)):
            if torch.is_tensor(va) or torch.is_tensor(vb) or va != vb:
                raise UserError(f'{key}: a non-tensor entry differs between A and B ({va!r} vs {vb!r})')
            out[key] = va
        elif va.shape != vb.shape:
            raise UserError(f'{key}: shapes differ: {tuple(va.shape)} in A, {tuple(vb.shape)} in B')
        elif va.is_floating_point():
            out[key] = torch.lerp(va, vb.to(device=va.device, dtype=va.dtype), alpha)
        elif va.dtype != vb.dtype or not torch.equal(va, vb.to(va.device)):
            raise UserError(f'{key}: the {va.dtype} buffer differs between A and B (only floats are interpolated)')
        else:
            out[key] = va.clone()
    return out


def interpolate_checkpoint_dicts(ckpt_a, ckpt_b, alpha, param_keys=None, names=('A', 'B')):
    """:func:`interpolate_checkpoints` on checkpoints already loaded (``names`` label them in messages)."""
    alpha = check_alpha(alpha)
    groups_a, groups_b = checkpoint_groups(ckpt_a, names[0]), checkpoint_groups(ckpt_b, names[1])
    if (None in groups_a) != (None in groups_b):
        (bare, grouped), groups = (names, groups_b) if None in groups_a else (names[::-1], groups_a)
        raise UserError(
            f'{bare} is a bare state dict but {grouped} has parameter groups {list(groups)}; '
            'give two bare state dicts or two BasicSR checkpoints'
        )
    notes = []
    if None in groups_a:
        if param_keys:
            raise UserError(f'param keys {list(param_keys)}: {names[0]} and {names[1]} are bare state dicts')
        common = [None]
    else:
        if param_keys:
            for key in param_keys:
                for name, groups in zip(names, (groups_a, groups_b)):
                    if key not in groups:
                        raise UserError(f'{name} has no parameter group {key!r} (groups: {list(groups)})')
            common = list(dict.fromkeys(param_keys))
        else:
            common = [g for g in groups_a if g in groups_b]
            if not common:
                raise UserError(
                    f'no parameter group in common: {names[0]} has {list(groups_a)}, {names[1]} has {list(groups_b)}'
                )
            for name, groups in zip(names, (groups_a, groups_b)):
                notes += [f'group {g!r} is only in {name}; dropped' for g in groups if g not in common]
    out = {}
    for group in common:
        try:
            out[group] = interpolate_state_dicts(groups_a[group], groups_b[group], alpha)
        except UserError as err:
            where = f' [{group}]' if group is not None else ''
            raise UserError(f'{names[0]} vs {names[1]}{where}: {err}') from None
    return (out[None] if None in out else out), notes


def interpolate_checkpoints(path_a, path_b, alpha, param_keys=None):
    """DNI of two checkpoint files: ``(1 - alpha) * A + alpha * B``.

    Args:
        path_a (str): checkpoint of model A (alpha 0): a bare state dict or a BasicSR checkpoint
            (``{'params': sd, 'params_ema': sd}``).
        path_b (str): checkpoint of model B (alpha 1), in the same layout.
        alpha (float): weight of B; finite, outside [0, 1] extrapolates.
        param_keys (list[str] | None): parameter groups to interpolate (default: every group in both files).

    Returns:
        tuple[dict, list[str]]: the new checkpoint (A's layout: a bare state dict, or ``{group: state dict}`` with
        only the interpolated groups; ``module.`` prefixes removed) and notes (groups in one file only, dropped).
    """
    alpha = check_alpha(alpha)
    ckpt_a, ckpt_b = safe_torch_load(path_a), safe_torch_load(path_b)
    return interpolate_checkpoint_dicts(ckpt_a, ckpt_b, alpha, param_keys, names=(str(path_a), str(path_b)))
