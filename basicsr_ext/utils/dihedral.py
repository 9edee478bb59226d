"""The 8 dihedral transforms of an image (rotations by 90 deg, with and without a flip) and batched self-ensemble.

BasicSR's ``test_selfensemble`` loops 8 times through numpy and only averages correctly for batch 1; here the
transforms of a batch go through the network in chunks (one transform per forward on the CPU, several on a GPU; odd
rotations of non-square inputs, which have the other shape, in chunks of their own), are undone, and are reduced per
sample by median or mean, in torch on the input's device.
"""

import numpy as np
import torch

# (k, flip): rotate by k x 90 deg counter-clockwise (torch.rot90 on the last two dims), then flip the columns
TRANSFORMS_8 = tuple((k, flip) for flip in (False, True) for k in range(4))
TRANSFORMS_4 = tuple((k, False) for k in range(4))


def apply(x, k, flip):
    """Transform a (..., H, W) tensor."""
    x = torch.rot90(x, k, dims=(-2, -1))
    return torch.flip(x, dims=(-1,)) if flip else x


def apply_numpy(array, k, flip):
    """:func:`apply` for numpy arrays (data loading), as a contiguous copy."""
    out = np.rot90(array, k, axes=(-2, -1))
    return np.ascontiguousarray(out[..., ::-1] if flip else out)


def transform_point(row, col, size, k, flip):
    """Where pixel (row, col) of a ``size`` x ``size`` image lands under :func:`apply` (pixel-index coordinates)."""
    for _ in range(k % 4):  # rot90: new[i, j] = old[j, size - 1 - i]
        row, col = size - 1 - col, row
    if flip:
        col = size - 1 - col
    return row, col


def invert(x, k, flip):
    """Undo :func:`apply`."""
    if flip:
        x = torch.flip(x, dims=(-1,))
    return torch.rot90(x, -k, dims=(-2, -1))


# pixels (batch x height x width of the input) one CUDA forward of the ensemble takes: more transforms per forward
# while a batch of them stays under it. scripts/gpu_check.sh measures the chunk sizes on a GPU to set this.
CUDA_PIXELS_PER_FORWARD = 2**20


def auto_chunk(x, transforms):
    """Transforms per forward for input ``x``: 1 on the CPU, where one transform at a time is fastest (measured:
    ``python scripts/benchmark_aos.py --only selfensemble``; a batch of 8 was 1.3-1.7x slower than 8 forwards, the
    larger activations falling out of cache); on CUDA as many as keep ``chunk x b x h x w`` under
    :data:`CUDA_PIXELS_PER_FORWARD` (batching fills the GPU)."""
    if x.device.type != 'cuda':
        return 1
    b, h, w = x.shape[0], x.shape[-2], x.shape[-1]
    return max(1, min(transforms, CUDA_PIXELS_PER_FORWARD // max(1, b * h * w)))


def self_ensemble(fn, x, transforms=8, reduce='median', chunk=None):
    """Run ``fn`` on the dihedral transforms of ``x`` (b, c, h, w), undo them and reduce over transforms.

    Args:
        fn (callable): Batch -> batch (e.g. the network); outputs must transform like the input (same h, w up to a
            scale factor).
        x (Tensor): (b, c, h, w) input.
        transforms (int): 8 (all dihedral transforms) or 4 (rotations only, as the AOS course report). Default: 8.
        reduce (str): 'median' (the AOS course report) or 'mean'. Default: 'median'.
        chunk (int | None): transforms batched into one forward (1: a loop of forwards; 8: one forward of 8b). None
            picks by device and input size (:func:`auto_chunk`). Every chunking gives the same result (up to the
            network's own batch-size invariance). Default: None.

    Returns:
        Tensor: (b, c', h', w') reduced output.
    """
    if transforms not in (4, 8):
        raise ValueError(f'self_ensemble transforms must be 4 or 8, got {transforms!r}')
    if reduce not in ('median', 'mean'):
        raise ValueError(f"self_ensemble reduce must be 'median' or 'mean', got {reduce!r}")
    ops = TRANSFORMS_8 if transforms == 8 else TRANSFORMS_4
    chunk = auto_chunk(x, transforms) if chunk is None else int(chunk)
    if chunk < 1:
        raise ValueError(f'self_ensemble chunk must be >= 1, got {chunk!r}')
    b = x.shape[0]
    outputs = [None] * len(ops)
    # transforms that keep (h, w) and those that swap them (odd k) are batched separately when h != w
    groups = (
        [list(range(len(ops)))]
        if x.shape[-1] == x.shape[-2]
        else [[i for i, (k, _) in enumerate(ops) if k % 2 == 0], [i for i, (k, _) in enumerate(ops) if k % 2 == 1]]
    )
    for group in groups:
        for start in range(0, len(group), chunk):
            part = group[start : start + chunk]
            views = [apply(x, *ops[i]) for i in part]
            batch = views[0] if len(views) == 1 else torch.cat(views, dim=0)  # len(part) * b, c, h, w
            out = fn(batch)
            for j, i in enumerate(part):
                outputs[i] = invert(out[j * b : (j + 1) * b], *ops[i])
    stacked = torch.stack(outputs, dim=0)  # t, b, c, h, w
    return stacked.median(dim=0).values if reduce == 'median' else stacked.mean(dim=0)
