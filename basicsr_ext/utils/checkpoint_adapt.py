"""Adapt a checkpoint's first and last convolution to other channel counts (RGB -> grey, or N planes).

``adapt_channels`` rewrites the input conv (``in_chans`` channels) and the output conv (``out_chans`` channels) of a
state dict, bare or in BasicSR's zoo layout (``{'params': ..., 'params_ema': ...}``); every other tensor is kept, so
the result loads strictly into the same arch built with the new channel counts. The convs are found from the
layouts below, or named by the caller.

=================  ==============  =========================  ==========================================
layout             first conv      last conv                  channel groups
=================  ==============  =========================  ==========================================
SwinIR / Swin2SR   ``conv_first``  ``conv_last``, or          ``upsample.0``: r*r sub-pixels per colour
                                   ``upsample.0``             (pixelshuffledirect)
RRDBNet            ``conv_first``  ``conv_last``              ``conv_first``: 4 (x2) or 16 (x1) sub-pixels
                                                              per colour (the input is pixel-unshuffled)
MSRResNet          ``conv_first``  ``conv_last``              -
EDSR               ``conv_first``  ``conv_last``              -
SRCNN (ours)       ``conv1``       ``conv3``                  -
other              ``conv_first``  ``conv_last``              - (when a state dict has both)
=================  ==============  =========================  ==========================================
"""

from collections import OrderedDict
from typing import NamedTuple

import torch

MODES = ('average', 'replicate')


class Convs(NamedTuple):
    """The first and last conv of a state dict (module names, without ``.weight``), and which of them has its
    channels in colour-major groups of sub-pixels: 'first', 'last' or None."""

    layout: str
    first: str
    last: str
    grouped: str = None


def detect_convs(state_dict):
    """Return the :class:`Convs` of a known layout (the table in the module docstring), or None."""
    keys = set(state_dict)
    if 'conv_first.weight' in keys and any(k.startswith('layers.0.residual_group.') for k in keys):
        if 'conv_last.weight' in keys:
            return Convs('SwinIR/Swin2SR', 'conv_first', 'conv_last')
        return Convs('SwinIR/Swin2SR', 'conv_first', 'upsample.0', 'last')  # pixelshuffledirect: no conv_last
    if 'body.0.rdb1.conv1.weight' in keys:
        return Convs('RRDBNet', 'conv_first', 'conv_last', 'first')
    if 'upconv1.weight' in keys and 'conv_hr.weight' in keys:
        return Convs('MSRResNet', 'conv_first', 'conv_last')
    if 'conv_after_body.weight' in keys and 'body.0.conv1.weight' in keys:
        return Convs('EDSR', 'conv_first', 'conv_last')
    if {'conv1.weight', 'conv2.weight', 'conv3.weight'} <= keys and 'conv_first.weight' not in keys:
        return Convs('SRCNN', 'conv1', 'conv3')
    if {'conv_first.weight', 'conv_last.weight'} <= keys:
        return Convs('conv_first/conv_last', 'conv_first', 'conv_last')
    return None


def find_convs(state_dict, first=None, last=None):
    """The :class:`Convs` to adapt in a bare state dict: ``first``/``last`` as given (a module name, or its
    ``.weight`` key), the others from :func:`detect_convs`. A named conv keeps the channel grouping of the layout
    only where it is the layout's own conv. Raises KeyError when a conv cannot be found."""
    first = first[: -len('.weight')] if first and first.endswith('.weight') else first
    last = last[: -len('.weight')] if last and last.endswith('.weight') else last
    found = detect_convs(state_dict)
    if found is None:
        if first is None or last is None:
            raise KeyError(
                'no known first/last conv: the keys match none of the layouts SwinIR/Swin2SR, RRDBNet, MSRResNet, '
                'EDSR (conv_first.weight ... conv_last.weight) or SRCNN (conv1.weight ... conv3.weight); '
                'name them (first=/last=, the script: --first/--last)'
            )
        found = Convs('named', first, last)
    grouped = found.grouped
    if grouped == 'first' and first not in (None, found.first) or grouped == 'last' and last not in (None, found.last):
        grouped = None
    convs = Convs(found.layout, first or found.first, last or found.last, grouped)
    shapes = {convs.first: '(features, in_channels, kh, kw)', convs.last: '(out_channels, features, kh, kw)'}
    for key, shape in shapes.items():
        if f'{key}.weight' not in state_dict:
            raise KeyError(f'no {key}.weight in the state dict ({convs.layout} layout; expected shape {shape})')
        weight = state_dict[f'{key}.weight']
        if not torch.is_tensor(weight) or weight.dim() != 4:
            got = tuple(weight.shape) if torch.is_tensor(weight) else type(weight).__name__
            raise ValueError(f'{key}.weight: expected a conv weight of shape {shape}, got {got}')
    return convs


def _is_state_dict(obj):
    return isinstance(obj, dict) and any(torch.is_tensor(v) for v in obj.values())


def state_dict_groups(checkpoint):
    """The state dicts in a checkpoint: ``{None: checkpoint}`` for a bare one, else its parameter groups (the dict
    values that hold tensors, e.g. ``params`` and ``params_ema`` of a BasicSR zoo file). KeyError when none."""
    if _is_state_dict(checkpoint):
        return {None: checkpoint}
    groups = {k: v for k, v in checkpoint.items() if _is_state_dict(v)}
    if not groups:
        keys = list(checkpoint)[:8]
        raise KeyError(f'no tensors in the checkpoint nor in a parameter group (top-level keys: {keys})')
    return groups


def checkpoint_groups(checkpoint, path):
    """:func:`state_dict_groups` for a loaded file: one-line UserErrors naming ``path``, ``module.`` (DDP) prefixes
    removed. ``{None: sd}`` for a bare state dict, else ``params``, ``params_ema``, ..."""
    from basicsr_ext.utils.errors import UserError

    if not isinstance(checkpoint, dict):
        raise UserError(f'{path}: expected a state dict or a BasicSR checkpoint, got {type(checkpoint).__name__}')
    try:
        groups = state_dict_groups(checkpoint)
    except KeyError as err:
        raise UserError(f'{path}: {err.args[0]}') from None
    return {g: OrderedDict((k.removeprefix('module.'), v) for k, v in sd.items()) for g, sd in groups.items()}


def _colour_groups(channels, colours, key, side):
    if channels % colours:
        what = 'input' if side == 'first' else 'output'
        raise ValueError(
            f'{key}.weight has {channels} {what} channels, not a multiple of {colours} colours '
            f'(expected {colours} * sub-pixels); pass the colour count (colours=, the script: --colours)'
        )
    return channels // colours


def adapt_channels(state_dict, in_chans, out_chans=None, first=None, last=None, mode='average', colours=None):
    """Adapt the first conv of a checkpoint to ``in_chans`` input channels and its last conv to ``out_chans``.

    **Input side, sum.** The first conv's weight is ``W`` (F, C0*g, kh, kw): C0 colours, each a group of g
    channels (g = 1 for a plain conv, 4 or 16 for RRDBNet at x2 or x1, whose ``pixel_unshuffle`` puts sub-pixel j of
    colour c at channel c*g + j). On an image whose colours all equal one grey plane, the channels c*g + j hold the
    same sub-image u_j for every c, so ``W * x = sum_j (sum_c W[:, c*g + j]) * u_j``: the grey filter
    ``G_j = sum_c W[:, c*g + j]`` applied to the grey plane gives exactly the original response. (A mean would scale
    the activations by 1/C0, which the next layers were not trained for.) ``G`` is copied to each of N =
    ``in_chans`` planes (again plane-major groups of g), scaled by

    * 1/N in ``'average'`` mode: N identical planes give the original's grey response, and a real stack the grey
      response to the mean of its planes;
    * 1 in ``'replicate'`` mode: each plane alone gives the original's grey response (N identical ones N times it).

    The bias is kept.

    **Output side, mean.** The last conv's weight is ``V`` (C0*g, F, kh, kw), with g = r*r for pixelshuffledirect's
    ``upsample.0`` (``PixelShuffle`` takes channel c*r*r + j to colour c). The grey output is the mean of the colour
    outputs (it stays in the image's range; a sum would triple it), and the conv is linear, so it is the conv with
    the colour-averaged filter and bias ``V'_j = mean_c V[c*g + j]``, ``b'_j = mean_c b[c*g + j]``; it is copied to
    each of M = ``out_chans`` outputs.

    So for an arch without a mean shift (MSRResNet, RRDBNet, SRCNN), the adapted grey net on a plane g returns the
    mean over colours of the original's output on (g, g, g), up to float rounding (MSRResNet's bilinear skip of the
    input agrees, being the same for every colour). A side whose count already matches is left alone.

    **Mean shift (EDSR, SwinIR, Swin2SR).** These archs compute ``(x - mean) * img_range`` before the first conv and
    ``x / img_range + mean`` after the last. BasicSR's SwinIR and our Swin2SR use the RGB mean (0.4488, 0.4371,
    0.4040) for ``in_chans == 3`` and 0 otherwise, so an adapted grey or N-plane net (N != 3) feeds ``x * img_range``
    where the RGB net fed ``(x - mean) * img_range``: away from the borders its first-conv response is off by the
    constant ``img_range * sum_c mean_c * sum(W_c)``, and it does not add the mean back at the end. Fine-tuning
    absorbs this. BasicSR 1.4.2's EDSR always subtracts a 3-element ``rgb_mean`` viewed as (1, 3, 1, 1): with
    ``num_in_ch`` 1 the input broadcasts to 3 channels and ``conv_first`` raises, with 4 the subtraction raises, and
    with ``num_out_ch`` 1 the output broadcasts back to 3 channels. An adapted EDSR checkpoint loads strictly into
    ``EDSR(num_in_ch=N, num_out_ch=M)``, but BasicSR's EDSR runs only on 3 channels: it needs an arch with an
    N-element mean.

    Args:
        state_dict (dict): Bare state dict, or a checkpoint of them (BasicSR zoo layout ``{'params': ...,
            'params_ema': ...}``; every group that holds tensors is adapted, other entries are kept).
        in_chans (int): Input channels (colours or planes) of the adapted net.
        out_chans (int | None): Output channels of the adapted net. Default: None (= ``in_chans``).
        first (str | None): Module name of the first conv (``conv_first`` or ``conv_first.weight``). Default: None
            (detected, see the module docstring).
        last (str | None): Module name of the last conv. Default: None (detected).
        mode (str): 'average' or 'replicate', for the input side. Default: 'average'.
        colours (int | None): Colour count C0 of the original net, needed only when a conv has channel groups that
            the layout does not tell: by default the grouped side takes it from the other side (RRDBNet: the
            outputs of ``conv_last``; pixelshuffledirect: the inputs of ``conv_first``) and an ungrouped side is
            its own channel count. Given, it applies to both sides. Default: None.

    Returns:
        dict: A new checkpoint of the same layout; the input is not modified.
    """
    out_chans = in_chans if out_chans is None else out_chans
    if mode not in MODES:
        raise ValueError(f"mode must be 'average' or 'replicate', got {mode!r}")
    for name, value in (('in_chans', in_chans), ('out_chans', out_chans), ('colours', colours)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f'{name}: expected an integer >= 1, got {value!r}')
    groups = state_dict_groups(state_dict)
    if None in groups:
        return _adapt(state_dict, in_chans, out_chans, first, last, mode, colours)
    out = dict(state_dict)
    for name, group in groups.items():
        try:
            out[name] = _adapt(group, in_chans, out_chans, first, last, mode, colours)
        except KeyError as err:
            raise KeyError(f'{name}: {err.args[0]}') from None
        except ValueError as err:
            raise ValueError(f'{name}: {err}') from None
    return out


def _adapt(state_dict, in_chans, out_chans, first, last, mode, colours):
    convs = find_convs(state_dict, first, last)
    w_first, w_last = state_dict[f'{convs.first}.weight'], state_dict[f'{convs.last}.weight']
    c_in, c_out = w_first.shape[1], w_last.shape[0]
    if colours is not None:
        c0_in = c0_out = colours
    elif convs.grouped == 'first':
        c0_in = c0_out = c_out
    elif convs.grouped == 'last':
        c0_in = c0_out = c_in
    else:
        c0_in, c0_out = c_in, c_out
    g_in = _colour_groups(c_in, c0_in, convs.first, 'first')
    g_out = _colour_groups(c_out, c0_out, convs.last, 'last')
    if convs.layout == 'RRDBNet' and convs.grouped == 'first' and g_in not in (1, 4, 16):
        raise ValueError(
            f'{convs.first}.weight has {c_in} input channels for {c0_in} colours: RRDBNet expects colours * 1 (x4), '
            '* 4 (x2) or * 16 (x1); pass the colour count (colours=, the script: --colours)'
        )

    out = dict(state_dict)
    if c0_in != in_chans:
        feat, _, kh, kw = w_first.shape
        grey = w_first.reshape(feat, c0_in, g_in, kh, kw).sum(1, keepdim=True)  # feat, 1, g, kh, kw
        scale = 1.0 / in_chans if mode == 'average' else 1.0
        planes = (grey * scale).expand(feat, in_chans, g_in, kh, kw)  # plane-major groups, as the input
        out[f'{convs.first}.weight'] = planes.reshape(feat, in_chans * g_in, kh, kw).clone()
    if c0_out != out_chans:
        _, feat, kh, kw = w_last.shape
        grey = w_last.reshape(c0_out, g_out, feat, kh, kw).mean(0, keepdim=True)  # 1, g, feat, kh, kw
        out[f'{convs.last}.weight'] = grey.expand(out_chans, -1, -1, -1, -1).reshape(-1, feat, kh, kw).clone()
        bias = state_dict.get(f'{convs.last}.bias')
        if bias is not None:
            if tuple(bias.shape) != (c_out,):
                raise ValueError(f'{convs.last}.bias: expected shape ({c_out},), got {tuple(bias.shape)}')
            out[f'{convs.last}.bias'] = bias.reshape(c0_out, g_out).mean(0).repeat(out_chans).clone()
    return out
