"""Running a network on images of any size: padding to its multiple, blended overlapping tiles, upscaled outputs.

One implementation for every restorer (``Restorer``, images and focal stacks alike): a tile is padded (reflect, or
replicate when the image is smaller than the padding) to the network's size multiple (the window size for Swin nets),
run, cropped back, and added into the output with per-tile weights. Along an edge shared with a neighbouring tile, the
weight is 0 for the outer quarter of the overlap (the margin, where the tile lacks context), then rises linearly over
the middle half, so tiles blend without seams. A conv net whose receptive field reaches at most ``overlap // 4``
pixels gives the untiled output up to float rounding; other nets (Swin windows, global pooling) blend smoothly.
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


def blend_ramp(length, overlap, device, start_shared=True, end_shared=True):
    """Tile weights along one axis: 0 over the outer ``overlap // 4`` px of an edge shared with another tile, rising
    linearly over the next ``overlap - 2 * (overlap // 4)`` px to 1; edges on the image border keep weight 1."""
    idx = torch.arange(length, device=device, dtype=torch.float32)
    margin = overlap // 4
    blend = overlap - 2 * margin
    weight = torch.ones_like(idx)
    if start_shared:
        weight = torch.minimum(weight, ((idx - margin + 1) / (blend + 1)).clamp(0, 1))
    if end_shared:
        weight = torch.minimum(weight, ((length - idx - margin) / (blend + 1)).clamp(0, 1))
    return weight


def default_overlap(tile, multiple=1):
    """An eighth of the tile, at least two window sizes, at most half the tile."""
    return min(tile // 2, max(tile // 8, 2 * multiple))


def check_tile(tile, multiple=1, key='tile'):
    """``tile`` as an int of at least 16 px and two window sizes, or a UserError naming ``key``."""
    minimum = max(16, 2 * multiple)
    if isinstance(tile, bool) or not isinstance(tile, int) or tile < minimum:
        raise UserError(f'{key}: expected an integer of at least {minimum} px, got {tile!r}')
    return tile


def check_overlap(overlap, tile):
    """``overlap`` (None: the default) as an int from 4 px up to ``tile - 1``, or a UserError."""
    if overlap is None:
        return None
    if isinstance(overlap, bool) or not isinstance(overlap, int) or not 4 <= overlap < tile:
        raise UserError(f'tile overlap: expected 4 px up to the tile size ({tile}) - 1, got {overlap!r}')
    return overlap


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
    overlap = default_overlap(tile, multiple) if overlap is None else check_overlap(overlap, tile)
    rows, cols = tile_starts(h, tile, overlap), tile_starts(w, tile, overlap)
    out = weight = None
    for top in rows:
        for left in cols:
            y = padded_forward(fn, x[..., top : top + tile, left : left + tile], multiple, scale)
            th, tw = y.shape[-2:]
            o = overlap * scale
            ramp_h = blend_ramp(th, o, x.device, top > 0, top + tile < h)
            ramp_w = blend_ramp(tw, o, x.device, left > 0, left + tile < w)
            ramp = ramp_h[:, None] * ramp_w[None]
            if out is None:
                out = y.new_zeros(x.shape[0], y.shape[1], h * scale, w * scale)
                weight = y.new_zeros(1, 1, h * scale, w * scale)
            t, l = top * scale, left * scale  # noqa: E741
            out[..., t : t + th, l : l + tw] += y * ramp.to(y.dtype)
            weight[..., t : t + th, l : l + tw] += ramp.to(y.dtype)
    return out / weight
