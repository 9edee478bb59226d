"""Running a network on images of any size: padding to its multiple, blended overlapping tiles, upscaled outputs.

One implementation for every restorer (``AOSRestorer``, ``Restorer``): a tile is padded (reflect, or replicate when
the image is smaller than the padding) to the network's size multiple (the window size for Swin nets), run, cropped
back, and added into the output with weights that fall linearly over the overlap, so neighbouring tiles blend without
seams. Conv nets with a receptive field smaller than the overlap give the untiled output up to float rounding.
"""

import torch
import torch.nn.functional as F

from basicsr_ext.utils.errors import UserError


def tile_starts(size, tile, overlap):
    """Top (or left) edges of tiles of ``tile`` px overlapping by at least ``overlap`` px that cover ``size`` px."""
    if size <= tile:
        return [0]
    step = tile - overlap
    return list(range(0, size - tile, step)) + [size - tile]


def blend_ramp(length, overlap, device):
    """Tile weights along one axis: 1 in the middle, falling linearly over ``overlap`` px to each end (never 0)."""
    idx = torch.arange(length, device=device, dtype=torch.float32)
    return torch.minimum(torch.ones_like(idx), torch.minimum(idx + 1, length - idx) / (overlap + 1))


def default_overlap(tile, multiple=1):
    """An eighth of the tile, at least two window sizes, at most half the tile."""
    return min(tile // 2, max(tile // 8, 2 * multiple))


def check_tile(tile, multiple=1, key='tile'):
    """``tile`` as an int of at least 16 px and two window sizes, or a UserError naming ``key``."""
    minimum = max(16, 2 * multiple)
    if isinstance(tile, bool) or not isinstance(tile, int) or tile < minimum:
        raise UserError(f'{key}: expected an integer of at least {minimum} px, got {tile!r}')
    return tile


def padded_forward(fn, x, multiple=1, scale=1):
    """``fn`` on ``x`` (b, c, h, w) padded bottom/right to a multiple of ``multiple``, output cropped to ``scale``
    times the input size."""
    h, w = x.shape[-2:]
    pad_h, pad_w = (-h) % multiple, (-w) % multiple
    if pad_h or pad_w:
        mode = 'reflect' if pad_h < h and pad_w < w else 'replicate'
        x = F.pad(x, (0, pad_w, 0, pad_h), mode)
    y = fn(x)
    return y[..., : h * scale, : w * scale]


def tiled_forward(fn, x, tile=None, overlap=None, multiple=1, scale=1):
    """``fn`` on ``x`` (b, c, h, w) whole when it fits in ``tile`` (or ``tile`` is None), else in blended tiles.

    Args:
        fn (callable): (b, c, th, tw) -> (b, c_out, scale th, scale tw).
        tile (int | None): Tile side in input pixels.
        overlap (int | None): Overlap in input pixels; None: :func:`default_overlap`.
        multiple (int): Size multiple the network needs (Swin window size); tiles are padded to it.
        scale (int): Output pixels per input pixel.
    """
    h, w = x.shape[-2:]
    if tile is None or (h <= tile and w <= tile):
        return padded_forward(fn, x, multiple, scale)
    overlap = default_overlap(tile, multiple) if overlap is None else overlap
    out = weight = None
    for top in tile_starts(h, tile, overlap):
        for left in tile_starts(w, tile, overlap):
            y = padded_forward(fn, x[..., top : top + tile, left : left + tile], multiple, scale)
            th, tw = y.shape[-2:]
            ramp = blend_ramp(th, overlap * scale, x.device)[:, None] * blend_ramp(tw, overlap * scale, x.device)[None]
            if out is None:
                out = y.new_zeros(x.shape[0], y.shape[1], h * scale, w * scale)
                weight = y.new_zeros(1, 1, h * scale, w * scale)
            t, l = top * scale, left * scale  # noqa: E741
            out[..., t : t + th, l : l + tw] += y * ramp.to(y.dtype)
            weight[..., t : t + th, l : l + tw] += ramp.to(y.dtype)
    return out / weight
