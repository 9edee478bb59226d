"""The AOS integrator against the closed-form geometry: shifts, coverage counts, occluder removal, input handling."""

import importlib.util
import math
from os import path as osp

import numpy as np
import pytest
import torch

from basicsr_ext.aos.geometry import CameraModel
from basicsr_ext.aos.integrator import covered_columns, integrate

from conftest import REPO

SMALL = CameraModel(size=64)


def shifts_of(camera, height):
    """Closed-form column shifts of all views at ``height`` (float64, shape (V,))."""
    return camera.view_shift_px(np.arange(camera.num_views), height)


def closed_form_count(camera, height):
    """Views whose sample position c + s_k lies in [-0.5, W - 0.5], per column c (shape (W,))."""
    cols = np.arange(camera.size)[None, :] + shifts_of(camera, height)[:, None]  # V, W
    return ((cols >= -0.5) & (cols <= camera.size - 0.5)).sum(0)


def reference_integral(views, camera, height):
    """Naive per-row np.interp version of the LFR mean (float64), and its count; no shared code with the module.

    np.interp holds the edge value outside [0, W - 1], which is LFR's edge clamping in the outer half pixel.
    """
    num_views, h, w = views.shape
    total, count = np.zeros((h, w)), np.zeros(w)
    grid = np.arange(w)
    for k, shift in enumerate(shifts_of(camera, height)):
        pos = grid + shift
        inside = (pos >= -0.5) & (pos <= w - 0.5)
        count += inside
        for r in range(h):
            total[r] += np.where(inside, np.interp(pos, grid, views[k, r].astype(np.float64)), 0)
    return total / np.maximum(count, 1), count


def render_analytic(camera, height, pattern):
    """Views of a flat scene ``pattern(row, u)`` (u: centre-view column, continuous) at ``height``.

    View k sees the plane point at centre column u at column x = u - s_k, so its pixel x shows pattern(row, x - s_k).
    """
    rows, cols = np.mgrid[0 : camera.size, 0 : camera.size].astype(np.float64)
    return np.stack([pattern(rows, cols - s) for s in shifts_of(camera, height)]).astype(np.float32)


def test_matches_naive_reference_and_closed_form_count():
    rng = np.random.default_rng(0)
    views = rng.integers(0, 256, (11, 64, 64), dtype=np.uint8)
    heights = [0.0, 1.3, 2.7, 20.0]
    stack, count = integrate(views, heights, camera=SMALL, return_count=True)
    assert stack.shape == (4, 64, 64) and stack.dtype == np.float32
    assert count.shape == (4, 1, 64) and count.dtype == np.int32
    for p, h in enumerate(heights):
        ref, ref_count = reference_integral(views, SMALL, h)
        np.testing.assert_array_equal(count[p, 0], ref_count)
        np.testing.assert_array_equal(count[p, 0], closed_form_count(SMALL, h))
        np.testing.assert_allclose(stack[p], ref, atol=1e-3)


def test_in_focus_plane_reproduces_a_smooth_scene_and_other_planes_blur_it():
    amp, period, h = 60.0, 16.0, 2.0

    def pattern(r, u):
        return 100 + amp * np.sin(2 * np.pi * u / period + r / 5)

    views = render_analytic(SMALL, h, pattern)
    rows, cols = np.mgrid[0:64, 0:64].astype(np.float64)
    truth = pattern(rows, cols)
    focus, count = integrate(views, [h, 15.0], camera=SMALL, return_count=True)
    # linear interpolation of a sampled function errs by at most max|g''| / 8 (every pixel is covered here)
    bound = amp * (2 * np.pi / period) ** 2 / 8
    assert (count > 0).all()
    assert np.abs(focus[0] - truth).max() <= bound + 1e-3
    assert np.abs(focus[0] - truth).max() > 0.05  # the shifts are sub-pixel: not a trivial copy
    # at 15 m the views move 1.47 (k - 5) px against each other; the mean of cos(2 pi 1.47 j / 16), j = -5..5, is ~0.01
    full = count[1, 0] == 11
    amplitude_in_focus = focus[0][:, count[0, 0] == 11].std()
    amplitude_blurred = focus[1][:, full].std()
    assert amplitude_in_focus > 0.95 * amp / math.sqrt(2)
    assert amplitude_blurred < 0.1 * amplitude_in_focus


def test_bright_line_is_sharp_in_focus_and_spread_elsewhere():
    c0, sigma, peak = 30.0, 1.5, 200.0

    def pattern(r, u):
        return peak * np.exp(-((u - c0) ** 2) / (2 * sigma**2)) + 0 * r

    views = render_analytic(SMALL, 0.0, pattern)
    assert len({int(np.argmax(v[0])) for v in views}) == 11  # each view sees the line at its own column
    stack = integrate(views, [0.0, 15.0], camera=SMALL)
    profile_focus, profile_blur = stack[0, 10], stack[1, 10]
    assert int(np.argmax(profile_focus)) == int(c0)
    assert profile_focus.max() > 0.95 * peak
    # 11 copies 1.47 px apart: the peak drops to about sigma sqrt(2 pi) / (11 * 1.47) of the line's, i.e. ~0.23
    assert profile_blur.max() < 0.35 * peak
    # the energy stays (every view sees the whole line here), it is only spread
    assert profile_blur.sum() == pytest.approx(profile_focus.sum(), rel=0.02)


def test_integer_shifts_reproduce_any_scene_exactly():
    # spacing chosen so that every view shifts by a whole 3 (k - 5) px on the plane at 4 m
    h = 4.0
    camera = CameraModel(size=64, spacing=3 * (35.0 - h) / SMALL.focal_px)
    np.testing.assert_allclose(shifts_of(camera, h), 3 * (np.arange(11) - 5), atol=1e-12)
    rng = np.random.default_rng(1)
    scene = rng.uniform(0, 255, (64, 64 + 2 * 15))  # extended by the largest shift on both sides

    views = np.stack([scene[:, 15 - s : 15 - s + 64] for s in 3 * (np.arange(11) - 5)])  # view k pixel x: scene[x - s]
    stack, count = integrate(views, h, camera=camera, return_count=True)
    np.testing.assert_allclose(stack[0], scene[:, 15 : 15 + 64], atol=1e-3)
    # exact integers keep their last column: view 0 (shift -15) covers columns 15..63, view 10 (shift +15) 0..48
    np.testing.assert_array_equal(count[0, 0], closed_form_count(camera, h))
    assert count[0, 0, 15] == 11 and count[0, 0, 14] == 10 and count[0, 0, 48] == 11 and count[0, 0, 49] == 10


def test_occluders_blur_away_at_the_ground_plane():
    rng = np.random.default_rng(2)
    size, margin, h_occ = 64, 40, 20.0
    ground = rng.uniform(0, 255, (size, size + 2 * margin))  # centre-view columns -margin .. size + margin - 1
    occluder = rng.random((size, size + 2 * margin)) < 0.5  # half of the occluder plane is covered
    occ_value = rng.uniform(0, 255, (size, size + 2 * margin))
    x = np.arange(size)
    views = []
    for s_ground, s_occ in zip(shifts_of(SMALL, 0.0), shifts_of(SMALL, h_occ)):
        u = x - s_ground + margin  # ground: linear interpolation at sub-pixel positions
        i0 = np.floor(u).astype(int)
        a = u - i0
        seen_ground = ground[:, i0] * (1 - a) + ground[:, i0 + 1] * a
        j = np.rint(x - s_occ + margin).astype(int)  # occluders: nearest, like opaque leaves
        views.append(np.where(occluder[:, j], occ_value[:, j], seen_ground))
    views = np.clip(np.stack(views), 0, 255).astype(np.uint8)
    stack, count = integrate(views, 0.0, camera=SMALL, return_count=True)
    full = count[0, 0] == 11
    truth = ground[:, margin : margin + size][:, full].ravel()

    def corr(img):
        return float(np.corrcoef(img[:, full].ravel(), truth)[0, 1])

    # each single view, aligned to the ground plane like the integral aligns it
    single = []
    for k, s in enumerate(shifts_of(SMALL, 0.0)):
        pos = x + s
        i0 = np.clip(np.floor(pos).astype(int), 0, size - 2)
        a = pos - i0
        single.append(corr(views[k][:, i0] * (1 - a) + views[k][:, i0 + 1] * a))
    integral = corr(stack[0])
    # with independent occluders per view, theory gives 0.5 for one view and 0.5 / sqrt(1/11 + 10/11 / 4) = 0.89 for
    # the mean of 11 (ground and occluder values uniform; half of each view occluded)
    assert max(single) < 0.6
    assert integral > 0.8
    assert integral > max(single) + 0.25


def test_counts_at_512_px_follow_the_closed_form():
    camera = CameraModel()
    rng = np.random.default_rng(3)
    views = rng.integers(0, 256, (11, 512, 512), dtype=np.uint8)
    stack, count = integrate(views, [0.0, 2.5], camera=camera, return_count=True)
    c = count[:, 0]
    np.testing.assert_array_equal(c[0], closed_form_count(camera, 0.0))
    np.testing.assert_array_equal(c[1], closed_form_count(camera, 2.5))
    # at 0 m view 0 shifts by -78.43 px: column 78 samples it at -0.43, inside the half pixel LFR counts, so it covers
    # columns 78.. ; view 10 (+78.43 px) covers ..433 (433 + 78.43 = 511.43 <= 511.5)
    assert shifts_of(camera, 0.0)[0] == pytest.approx(-78.43, abs=0.01)
    assert np.flatnonzero(c[0] == 11).tolist() == list(range(78, 434))
    assert c[0, 0] == c[0, 511] == 6  # only the centre view and the five on the side that looks inwards
    assert c[0].min() == 6 and c[0, 77] == 10 and c[0, 434] == 10
    # a higher plane shifts more, so fewer columns see all 11 views
    assert (c[1] == 11).sum() < (c[0] == 11).sum()
    rows = views[:, 100:108]  # the reference on a band of rows (the integral is row-independent in geometry)
    band = np.stack([reference_integral(rows, camera, h)[0] for h in (0.0, 2.5)])
    np.testing.assert_allclose(stack[:, 100:108], band, atol=1e-3)


class OffsetCamera(CameraModel):
    """A camera whose whole line of views lies 40 px to the side: the right columns are seen by no view."""

    def view_shift_px(self, k, height):
        return super().view_shift_px(k, height) + 40.0


@pytest.mark.parametrize('fill', [0.0, -1.0, float('nan')])
def test_uncovered_pixels_get_fill_and_count_zero(fill):
    camera = OffsetCamera(size=64)
    views = np.full((11, 64, 64), 7, dtype=np.uint8)
    stack, count = integrate(views, 0.0, camera=camera, fill=fill, return_count=True)
    np.testing.assert_array_equal(count[0, 0], closed_form_count(camera, 0.0))
    none = count[0, 0] == 0
    assert 0 < none.sum() < 64 and none[-1] and not none[0]  # right columns: c + 40 + s_k > 63 for every k
    np.testing.assert_allclose(stack[0][:, ~none], 7.0, atol=1e-5)
    np.testing.assert_array_equal(stack[0][:, none], np.full((64, none.sum()), fill, np.float32))


def test_covered_columns_edges():
    assert covered_columns(0.0, 10) == (0, 0, 10, 10, 0, 0.0)
    assert covered_columns(2.0, 10) == (0, 0, 8, 8, 2, 0.0)  # c + 2 <= 9
    assert covered_columns(-2.0, 10) == (2, 2, 10, 10, -2, 0.0)
    lo, mid_lo, mid_hi, hi, start, frac = covered_columns(2.25, 10)
    # c = 7 samples 9.25: in the last pixel's outer half, clamped to column 9; c = 8 samples 10.25: outside
    assert (lo, mid_lo, mid_hi, hi, start) == (0, 0, 7, 8, 2) and frac == pytest.approx(0.25)
    lo, mid_lo, mid_hi, hi, start, frac = covered_columns(-2.25, 10)
    # c = 2 samples -0.25: clamped to column 0; c = 1 samples -1.25: outside
    assert (lo, mid_lo, mid_hi, hi, start) == (2, 3, 10, 10, -3) and frac == pytest.approx(0.75)
    assert covered_columns(2.75, 10)[:4] == (0, 0, 7, 7)  # c = 7 samples 9.75 > 9.5: not covered
    assert covered_columns(-2.75, 10)[:4] == (3, 3, 10, 10)  # c = 2 samples -0.75 < -0.5: not covered
    assert covered_columns(2.5, 10)[:4] == (0, 0, 7, 8)  # exactly W - 0.5 and -0.5 count (closed interval)
    assert covered_columns(-2.5, 10)[:4] == (2, 3, 10, 10)
    assert covered_columns(3.0 - 1e-13, 10)[:4] == (0, 0, 7, 7)  # rounding noise does not cost the last column
    lo, _, _, hi, _, _ = covered_columns(12.5, 10)
    assert lo >= hi  # entirely outside: empty range


def test_border_columns_follow_lfr_half_pixel_rule():
    """The border rule pinned on a synthetic case: a view counts where its sample lies within [-0.5, W - 0.5], with
    the edge pixel's value there; a view sampled beyond that is not in the mean."""
    camera = CameraModel(size=32)
    height = camera.altitude - camera.focal_px * 5 / 5.3  # view 0 shifts by -5.3 px: column 5 samples it at -0.3
    views = np.stack([np.full((32, 32), 10.0 * k, np.float32) for k in range(11)])  # view k is flat at 10 k
    ramp = np.arange(32, dtype=np.float32)
    views[0] += ramp  # view 0 (shifted left) has a ramp so that its clamped edge value is recognisable
    stack, count = integrate(views, height, camera=camera, return_count=True)
    shifts = shifts_of(camera, height)
    for c in range(32):
        pos = c + shifts
        inside = (pos >= -0.5) & (pos <= 31.5)
        assert count[0, 0, c] == inside.sum()
        values = [10.0 * k + (np.interp(pos[k], ramp, ramp) if k == 0 else 0.0) for k in np.flatnonzero(inside)]
        assert stack[0, 0, c] == pytest.approx(np.mean(values), abs=1e-4)
    # view 0's first covered column samples within the left half pixel and reads its first column exactly
    first = int(np.flatnonzero(np.arange(32) + shifts[0] >= -0.5)[0])
    assert -0.5 <= first + shifts[0] < 0
    others = [10.0 * k for k in range(1, 11) if -0.5 <= first + shifts[k] <= 31.5]
    assert stack[0, 0, first] == pytest.approx((0.0 + views[0, 0, 0] + sum(others)) / (1 + len(others)), abs=1e-4)


def test_numpy_torch_and_dtypes_agree():
    rng = np.random.default_rng(4)
    views = rng.integers(0, 256, (11, 64, 64), dtype=np.uint8)
    heights = [0.0, 1.0, 2.5]
    ref = integrate(views, heights, camera=SMALL)
    assert isinstance(ref, np.ndarray) and ref.dtype == np.float32
    assert 0 <= ref.min() and ref.max() <= 255 and ref.max() > 200  # stays on the 0..255 scale
    np.testing.assert_array_equal(integrate(views.astype(np.float32), heights, camera=SMALL), ref)
    np.testing.assert_allclose(integrate(views.astype(np.float64), heights, camera=SMALL), ref, atol=1e-4)
    for tensor in (torch.from_numpy(views), torch.from_numpy(views).float(), torch.from_numpy(views).double()):
        out, count = integrate(tensor, heights, camera=SMALL, return_count=True)
        assert torch.is_tensor(out) and out.dtype == torch.float32 and out.device == tensor.device
        assert torch.is_tensor(count) and count.shape == (3, 1, 64)
        np.testing.assert_allclose(out.numpy(), ref, atol=1e-4)
    # scaled inputs integrate to scaled outputs (the integral is linear)
    np.testing.assert_allclose(integrate(views / 255.0, heights, camera=SMALL), ref / 255.0, atol=1e-6)
    # a stack is the planes integrated one by one; a scalar height is a stack of one
    for p, h in enumerate(heights):
        np.testing.assert_array_equal(integrate(views, h, camera=SMALL)[0], ref[p])
    # the default camera is the course camera at the views' size
    np.testing.assert_array_equal(integrate(views, heights), ref)


def test_memoised_plan_is_safe_for_strided_inputs_and_returned_counts():
    rng = np.random.default_rng(5)
    views = torch.from_numpy(rng.random((11, 64, 64), dtype=np.float32))
    heights = [0.0, 1.7]
    ref, count = integrate(views, heights, camera=SMALL, return_count=True)
    # the same numbers from a transposed view, a view into a larger tensor (storage offset) and a step-2 slice
    transposed = views.transpose(1, 2).contiguous().transpose(1, 2)
    big = torch.zeros(13, 70, 130)
    big[2:, 3:67, 1:129:2] = views
    for strided in (transposed, big[2:, 3:67, 1:129:2]):
        assert not strided.is_contiguous()
        assert torch.equal(integrate(strided, heights, camera=SMALL), ref)
    # the plan is shared between calls with the same shifts, so a caller changing its counts changes nothing else
    count += 7
    again, count_again = integrate(views, heights, camera=SMALL, return_count=True)
    assert torch.equal(again, ref) and int(count_again.max()) == SMALL.num_views
    numpy_count = integrate(views.numpy(), heights, camera=SMALL, return_count=True)[1]
    numpy_count[:] = 0
    assert int(integrate(views.numpy(), heights, camera=SMALL, return_count=True)[1].min()) > 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')
def test_cuda_matches_cpu():
    views = torch.randint(0, 256, (11, 512, 512), dtype=torch.uint8)
    cpu, cpu_count = integrate(views, [0.0, 1.5], return_count=True)
    gpu, gpu_count = integrate(views.cuda(), [0.0, 1.5], return_count=True)
    assert gpu.is_cuda and gpu_count.is_cuda
    torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-3, rtol=0)
    assert torch.equal(gpu_count.cpu(), cpu_count)


@pytest.mark.parametrize(
    'views, heights, camera, match',
    [
        (np.zeros((10, 64, 64)), 0.0, SMALL, r'got 10 views but the camera has num_views=11'),
        (np.zeros((11, 64, 64)), 0.0, CameraModel(), r'views are 64x64 px but the camera has size=512'),
        (np.zeros((11, 64, 32)), 0.0, None, r'square.*H=64, W=32'),
        (np.zeros((11, 64, 64)), 35.0, SMALL, r'focal heights \[35.0\] m must be .* below the camera altitude 35.0'),
        (np.zeros((11, 64, 64)), [0.0, 40.0], SMALL, r'focal heights \[0.0, 40.0\]'),
        (np.zeros((11, 64, 64)), float('nan'), SMALL, r'finite'),
        (np.zeros((11, 64, 64)), [], SMALL, r'non-empty'),
        (np.zeros((64, 64)), 0.0, SMALL, r'shape \(V, H, W\), got \(64, 64\)'),
        (np.zeros((11, 64, 64), dtype=bool), 0.0, SMALL, r'real-valued'),
    ],
)
def test_invalid_input_raises_value_error(views, heights, camera, match):
    with pytest.raises(ValueError, match=match):
        integrate(views, heights, camera=camera)


def test_benchmark_script_runs(capsys):
    spec = importlib.util.spec_from_file_location('benchmark_aos', osp.join(REPO, 'scripts', 'benchmark_aos.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(['--only', 'integrator', '--size', '64', '--planes', '2', '--repeats', '2', '--warmup', '0'])
    printed = capsys.readouterr().out
    assert 'views.sum(0), float32 (floor)' in printed and 'integrate, 2 planes, per plane' in printed


def test_benchmark_tensor_peak_is_what_a_step_holds_at_once():
    """The CPU memory figure of benchmark_aos (the profiler's allocation record) counts tensors held at once."""
    spec = importlib.util.spec_from_file_location('benchmark_aos', osp.join(REPO, 'scripts', 'benchmark_aos.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def step():
        a = torch.ones(4 * 2**20, dtype=torch.uint8)  # 4 MiB
        b = torch.ones(2 * 2**20, dtype=torch.uint8)  # + 2 MiB held at once
        del a, b
        c = torch.ones(3 * 2**20, dtype=torch.uint8)  # 3 MiB later: not a new peak
        del c

    assert 5.9 < module._tensor_peak_cpu(step) < 6.1


def test_check_integrator_script_against_an_lfr_style_reference(tmp_path, capsys):
    """The LFR comparison script on a synthesized sample: the half-pixel rule's reference scores far above the old
    rule that dropped the outer half pixel (on the real course sample 0_0: 67.7 dB vs 59.1 dB)."""
    import cv2

    spec = importlib.util.spec_from_file_location('check', osp.join(REPO, 'scripts', 'aos_check_integrator.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    camera = CameraModel(size=64)
    rng = np.random.default_rng(0)
    views = rng.integers(0, 256, (11, 64, 64), dtype=np.uint8)
    for k, view in enumerate(views):
        cv2.imwrite(str(tmp_path / f'0_0_pose_{k}_thermal.png'), view)
    height = round(camera.altitude - camera.focal_px * 5 / 10.3, 3)  # view 0 shifts by about -10.3 px
    reference = np.clip(np.rint(reference_integral(views, camera, height)[0]), 0, 255).astype(np.uint8)
    cv2.imwrite(str(tmp_path / 'lfr.png'), np.dstack([reference] * 3))  # LFR's PNGs have 3 equal channels
    argv = ['--views', str(tmp_path), '--reference', str(tmp_path / 'lfr.png'), '--height', str(height)]
    assert module.main(argv) == 0
    assert 'PSNR inf dB' in capsys.readouterr().out
    edge = module.half_pixel_columns(64, height)
    assert edge.any()
    # the old rule (samples within [0, W - 1] only) counted fewer views exactly at those columns
    shifts = shifts_of(camera, height)
    old = np.stack([(np.arange(64) + s >= 0) & (np.arange(64) + s <= 63) for s in shifts]).sum(0)
    np.testing.assert_array_equal(old != closed_form_count(camera, 0.0), edge)
    assert module.main(['--views', str(tmp_path / 'missing'), '--reference', str(tmp_path / 'lfr.png')]) == 2
    assert capsys.readouterr().err.startswith('aos_check_integrator: error:')
