"""Integrate AOS views onto focal planes: the light-field renderer (LFR) of the JKU course, in torch.

For a focal plane at height ``h`` the centre view's pixel ``(r, c)`` sees view ``k`` at column
``x = c + camera.view_shift_px(k, h)`` (``-f (5 - k) / (35 - h)`` for the defaults, i.e. view 0 moves right by 78.4 px
at 0 m). The integral is the plain mean over the views that cover the pixel::

    I_h[r, c] = sum_{k covers c} I_k[r, x_k] / count_h[c]

with ``I_k[r, x]`` linearly interpolated between columns ``floor(x)`` and ``floor(x) + 1``, clamped to the edge
column in the outer half pixel; a view covers ``c`` when ``-0.5 <= x <= W - 0.5`` (:func:`covered_columns`). This
reproduces LFR's own 0 m integral of a real course sample at 67.7 dB PSNR (docs/aos_sim2real.md). The shift is purely
horizontal and constant over the image for a given (plane, view), so each view contributes two shifted column slices
with scalar weights: no gather, no per-pixel index arrays, and the same code runs on CPU and GPU tensors.
"""

import functools
import math

import numpy as np
import torch

from basicsr_ext.aos.geometry import CameraModel

# Shifts this close to an integer are taken as that integer, so that exact integer shifts (a camera chosen to align
# whole pixels, rounding noise of 1e-13 px) keep their last column instead of losing it to a vanishing fraction.
SNAP_PX = 1e-9


def covered_columns(shift, width):
    """Output columns that a view sampled at ``x = c + shift`` covers, split by how they are sampled (LFR's rule).

    A view covers output column ``c`` when ``x`` lies within ``[-0.5, width - 0.5]``: the view's pixel squares span
    that interval, as in LFR's texture lookup with edge clamping. Where both interpolation taps ``floor(x)`` and
    ``floor(x) + 1`` are real pixels the sample is the linear interpolation between them; in the outer half pixel
    (``-0.5 <= x < 0`` or ``width - 1 < x <= width - 0.5``) the taps are clamped to the edge, so the sample is the
    first or last column itself. Dropping those half-pixel samples costs 3-10 dB against LFR at the border columns.

    Args:
        shift (float): Column offset added to the output column (``camera.view_shift_px(k, h)``).
        width (int): Image width W in pixels.

    Returns:
        tuple[int, int, int, int, int, float]: ``(lo, mid_lo, mid_hi, hi, start, frac)``: the view covers the output
        columns ``lo <= c < hi`` (empty when ``lo >= hi``); of those, ``mid_lo <= c < mid_hi`` interpolate, columns
        below ``mid_lo`` take the first view column and columns from ``mid_hi`` on the last. ``shift = start + frac``
        with integer ``start`` and ``0 <= frac < 1``.
    """
    shift = float(shift)  # math on Python floats: several times faster than on numpy scalars, the same values
    nearest = round(shift)
    if abs(shift - nearest) < SNAP_PX:
        shift = float(nearest)
    start = math.floor(shift)
    frac = shift - start
    # -0.5 <= c + shift <= width - 0.5 (the bounds are half-integers, so snap them too)
    lo = max(0, math.ceil(-0.5 - shift - SNAP_PX))
    hi = min(width, math.floor(width - 0.5 - shift + SNAP_PX) + 1)
    # both taps inside: c + start >= 0 and c + start + 1 <= width - 1 when the right tap is used (frac > 0)
    mid_lo = min(max(lo, -start), hi)
    mid_hi = max(min(hi, width - start - (1 if frac > 0 else 0)), mid_lo)
    return lo, mid_lo, mid_hi, hi, start, frac


@functools.lru_cache(maxsize=32)
def _column_plan(shift_bytes, shape, width):
    """The additions that integrate views with these shifts, and the per-column normalisation (memoised).

    A simulator or a data preparation integrates thousands of samples onto the same planes, so the column ranges are
    worked out once per set of shifts. The key is the shifts themselves (float64 bytes), not the camera, so any
    camera (subclasses included) that gives the same shifts shares a plan.

    Args:
        shift_bytes (bytes): ``shifts.tobytes()`` of the (P, V) float64 shifts.
        shape (tuple[int, int]): (P, V).
        width (int): Image width W.

    Returns:
        tuple: ``(ops, count, inverse, uncovered)``: ``ops`` is a tuple of ``(plane, view, dst_col, src_col, n,
        alpha)`` additions in the order that fixes the float summation (per plane, per view: the two interpolation
        taps, then the clamped edge columns); ``alpha`` is None for an unscaled add. ``count`` is the (P, 1, W) int32
        number of covering views, ``inverse`` its float32 reciprocal (0 where uncovered) as a CPU tensor, and
        ``uncovered`` a (P, 1, W) bool CPU tensor, or None when every column is covered.
    """
    shifts = np.frombuffer(shift_bytes, dtype=np.float64).reshape(shape)
    count = np.zeros((shape[0], 1, width), dtype=np.int32)
    ops = []
    for p in range(shape[0]):
        for k in range(shape[1]):
            lo, mid_lo, mid_hi, hi, start, frac = covered_columns(shifts[p, k], width)
            if lo >= hi:
                continue
            count[p, 0, lo:hi] += 1
            n = mid_hi - mid_lo
            if n > 0:
                if frac == 0:
                    ops.append((p, k, mid_lo, mid_lo + start, n, None))
                else:
                    ops.append((p, k, mid_lo, mid_lo + start, n, 1.0 - frac))
                    ops.append((p, k, mid_lo, mid_lo + start + 1, n, frac))
            # the outer half pixel: taps clamped to the edge column (at most one output column each side)
            if lo < mid_lo:
                ops.append((p, k, lo, 0, mid_lo - lo, None))
            if mid_hi < hi:
                ops.append((p, k, mid_hi, width - 1, hi - mid_hi, None))
    uncovered = count == 0
    inverse = torch.from_numpy(np.where(uncovered, 0.0, 1.0 / np.maximum(count, 1)).astype(np.float32))
    count.setflags(write=False)
    return tuple(ops), count, inverse, torch.from_numpy(uncovered) if uncovered.any() else None


def integrate(views, heights, camera=None, fill=0.0, return_count=False):
    """Integrate single views onto one or more focal planes (a focal stack).

    Pixels that no view covers are undefined in LFR (0 / 0); they get ``fill`` and a count of 0. With a
    :class:`CameraModel` the centre view has shift 0 and covers every pixel, so this only happens with cameras whose
    views all lie off-centre (e.g. a subclass with a sideways offset); borders otherwise have fewer views (6 of 11 at
    the left and right edges for the defaults), never none.

    Memory: a float32 copy of the views unless they already are float32, and the (P, H, W) output; nothing of size
    (P, V, H, W). Runs under ``torch.no_grad()``: the result carries no gradient.

    Args:
        views (np.ndarray | torch.Tensor): Single views, shape (V, H, W), any real dtype (uint8 PNG values or floats).
            V must equal ``camera.num_views`` and H = W = ``camera.size``; view ``camera.center_view`` is the centre.
        heights (float | Sequence[float]): Focal plane heights in metres above ground, each below
            ``camera.altitude``. A scalar gives a stack of one plane.
        camera (CameraModel | None): Camera geometry. Default: ``CameraModel(size=W)`` (the course camera: 11 views,
            50 deg, 35 m).
        fill (float): Value for pixels no view covers. Default: 0. Use ``float('nan')`` to mark them as LFR leaves
            them.
        return_count (bool): Also return the number of covering views per plane and column. Default: False.

    Returns:
        np.ndarray | torch.Tensor: The focal stack, float32, shape (P, H, W), on the input's value scale (0..255 for
        uint8). Numpy in gives numpy out; a tensor in gives a tensor on the same device.
        np.ndarray | torch.Tensor: Only with ``return_count``: int32 counts of shape (P, 1, W) (coverage depends on the
        column alone), broadcastable against the stack; same library and device as the stack.

    Raises:
        ValueError: ``views`` is not (V, H, W), V or the size disagrees with the camera, ``heights`` is empty, not
            finite or not below the altitude.
    """
    is_numpy = not torch.is_tensor(views)
    if is_numpy:
        views = np.asarray(views)
        if views.dtype.kind not in 'uif':
            raise ValueError(f'views must be a real-valued array, got dtype {views.dtype}')
        stack = torch.from_numpy(np.ascontiguousarray(views, dtype=np.float32))
    else:
        if views.is_complex() or views.dtype == torch.bool:
            raise ValueError(f'views must be a real-valued tensor, got dtype {views.dtype}')
        stack = views.detach().to(torch.float32)
    if stack.ndim != 3:
        raise ValueError(f'views must have shape (V, H, W), got {tuple(stack.shape)}')
    num_views, height, width = stack.shape
    if camera is None:
        if height != width:
            raise ValueError(f'views must be square for the default camera, got H={height}, W={width}')
        camera = CameraModel(size=width)
    if num_views != camera.num_views:
        raise ValueError(f'got {num_views} views but the camera has num_views={camera.num_views}')
    if (height, width) != (camera.size, camera.size):
        raise ValueError(
            f'views are {height}x{width} px but the camera has size={camera.size}; '
            f'pass camera=CameraModel(size={width}) or resize the views'
        )
    planes = np.atleast_1d(np.asarray(heights, dtype=np.float64))
    if planes.ndim != 1 or planes.size == 0:
        raise ValueError(f'heights must be a float or a non-empty sequence of floats, got {heights!r}')
    if not np.all(np.isfinite(planes)) or np.any(planes >= camera.altitude):
        raise ValueError(
            f'focal heights {planes.tolist()} m must be finite and below the camera altitude {camera.altitude} m'
        )

    # (P, V) in float64: the fractions decide coverage at the edges, so they are computed before going to float32
    shifts = np.asarray(camera.view_shift_px(np.arange(num_views)[None, :], planes[:, None]), dtype=np.float64)
    ops, count, inverse, uncovered = _column_plan(shifts.tobytes(), shifts.shape, width)
    out = stack.new_zeros(len(planes), height, width)  # P, H, W
    # Each add reads a (H, n) window of one view and adds it into a (H, n) window of the output. The windows are
    # made by as_strided from precomputed offsets: one cheap call each instead of indexing, which on small images
    # costs more than the additions themselves.
    view_stride, row_stride, col_stride = stack.stride()
    base = stack.storage_offset()
    plane_px = height * width
    with torch.no_grad():
        for p, k, dst_col, src_col, n, alpha in ops:
            dst = out.as_strided((height, n), (width, 1), p * plane_px + dst_col)
            src = stack.as_strided((height, n), (row_stride, col_stride), base + k * view_stride + src_col * col_stride)
            if alpha is None:
                dst.add_(src)
            else:
                # two scaled adds into the output beat lerp into a temporary: no extra pass over memory
                dst.add_(src, alpha=alpha)
        out.mul_(inverse.to(out.device))
        if uncovered is not None:
            out.masked_fill_(uncovered.to(out.device), fill)
    count = count.copy()
    if is_numpy:
        return (out.numpy(), count) if return_count else out.numpy()
    return (out, torch.from_numpy(count).to(out.device)) if return_count else out
