"""The AOS simulator: real file format, determinism, geometry (positions, parallax) and that integration helps."""

import os

import numpy as np
import pytest

from basicsr_ext.aos.forest import Tree
from basicsr_ext.aos.geometry import CameraModel
from basicsr_ext.aos.integrator import integrate
from basicsr_ext.aos.parameters import PERSON_SHAPES, parse_parameters
from basicsr_ext.aos.person import person_capsules
from basicsr_ext.aos.raw import find_samples
from basicsr_ext.aos.render import render_sample
from basicsr_ext.aos.scene import SceneParams, sample_scene
from basicsr_ext.aos.simulator import sample_rng, simulate, simulate_sample
from basicsr_ext.aos.thermal import ground_grey


def scene(**kw):
    """A fixed scene: no trees, a laying person at (3, -4) m, mid temperatures, sun from straight above."""
    base = dict(
        trees_per_ha=0,
        person_shape='laying',
        person_x=3,
        person_y=-4,
        person_rotation_deg=30.0,
        ambient_light=0.7,
        sun_azimuth_deg=0.0,
        sun_compass_deg=0.0,
        ground_temperature_k=280,
        tree_top_temperature_k=305,
    )
    base.update(kw)
    return SceneParams(**base)


def sample_names(run, sim):
    return [f'{run}_{sim}_pose_{k}_thermal.png' for k in range(11)] + [
        f'{run}_{sim}_GT_pose_0_thermal.png',
        f'{run}_{sim}_Parameters.txt',
    ]


def folder_bytes(folder):
    out = {}
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), 'rb') as f:
            out[name] = f.read()
    return out


def test_sample_scene_draws_the_real_ranges():
    rng = np.random.default_rng(0)
    scenes = [sample_scene(rng) for _ in range(600)]
    assert {s.trees_per_ha for s in scenes} == {0, 100, 200}
    assert 0.05 < np.mean([s.trees_per_ha == 0 for s in scenes]) < 0.16
    assert 0.05 < np.mean([not s.has_person for s in scenes]) < 0.16
    assert {s.person_shape for s in scenes} == {None, *PERSON_SHAPES}
    for s in scenes:
        assert -10 <= s.person_x <= 10 and -10 <= s.person_y <= 10
        assert isinstance(s.person_x, int) and isinstance(s.person_y, int)
        assert 0 <= s.person_rotation_deg < 360 and float(s.person_rotation_deg).is_integer()
        assert 0.5 <= s.ambient_light <= 1
        assert 0 <= s.sun_azimuth_deg <= 45 and 0 <= s.sun_compass_deg < 360
        assert 260 <= s.ground_temperature_k <= 312 and 295 <= s.tree_top_temperature_k <= 312
    assert {sample_scene(rng, densities=(100,)).trees_per_ha for _ in range(50)} == {0, 100}


def test_parameters_match_the_course_example():
    p = scene(person_x=4, person_y=-6, person_rotation_deg=359.0).to_parameters(CameraModel())
    assert p.poses['img_GT'] == (0, 0, 35, 0.0, 1.57, 0)
    assert [p.poses[f'img_{k}'][1] for k in range(1, 12)] == list(range(-5, 6))
    assert p.person_pose == (4, -6, 0, 0, 0, -0.0174533)  # the course README's line for 359 degrees
    assert p.person_rotation_rad == pytest.approx(6.265732014659643)
    assert SceneParams.from_parameters(p) == scene(person_x=4, person_y=-6, person_rotation_deg=359.0)


def test_render_is_deterministic_per_seed():
    cam = CameraModel(size=96)
    a = simulate_sample(7, 1, 3, cam, densities=(200,), p_no_trees=0)
    b = simulate_sample(7, 1, 3, cam, densities=(200,), p_no_trees=0)
    c = simulate_sample(7, 1, 4, cam, densities=(200,), p_no_trees=0)
    assert a[0] == b[0]
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_array_equal(a[2], b[2])
    assert a[1].shape == (11, 96, 96) and a[1].dtype == np.uint8 and a[2].shape == (96, 96) and a[2].dtype == np.uint8
    assert not np.array_equal(a[1], c[1])


def test_simulate_writes_the_real_format(tmp_path):
    cam = CameraModel(size=64)
    done = simulate(str(tmp_path), 3, seed=5, run=2, start_sim=7, size=64, workers=1, progress=False)
    assert done == [(2, 7), (2, 8), (2, 9)]
    assert sorted(os.listdir(tmp_path)) == sorted(n for sim in (7, 8, 9) for n in sample_names(2, sim))
    samples, problems = find_samples(str(tmp_path))
    assert problems == [] and [(s.run, s.sim) for s in samples] == done
    for sample in samples:
        views, gt, params = sample.load()
        drawn, want_views, want_gt = simulate_sample(5, 2, sample.sim, cam)
        assert params == drawn.to_parameters(cam)
        np.testing.assert_array_equal(views, want_views)
        np.testing.assert_array_equal(gt, want_gt)
    text = (tmp_path / '2_7_Parameters.txt').read_text()
    assert text.startswith('img_GT (0, 0, 35, 0.0, 1.57, 0)\n\nimg_1 (0, -5, 35, 0.0, 1.57, 0)\n')
    assert parse_parameters(text) == samples[0].load_params()


def test_worker_count_does_not_change_the_output(tmp_path):
    one, two = tmp_path / 'one', tmp_path / 'two'
    simulate(str(one), 4, seed=3, size=64, workers=1, progress=False)
    simulate(str(two), 4, seed=3, size=64, workers=2, progress=False)
    a, b = folder_bytes(one), folder_bytes(two)
    assert len(a) == 4 * 13 and a == b


def test_no_person_means_no_warm_blob():
    cam = CameraModel(size=128)
    # the hottest ground the runs allow, with the strongest sun: still well below the person's 248-255
    for seed in range(3):
        hot = scene(person_shape=None, ground_temperature_k=312, ambient_light=0.5, trees_per_ha=200)
        views, gt = render_sample(hot, cam, np.random.default_rng(seed))
        assert gt.max() < 240
    _, gt = render_sample(scene(ground_temperature_k=312), cam, np.random.default_rng(0))
    assert gt.max() >= 245


@pytest.mark.parametrize(
    'shape,x,y,rot',
    [('laying', 3, -4, 30.0), ('sitting', -7, 9, 200.0), ('idle', 10, -10, 0.0), ('laying', 0, 0, 90.0)],
)
def test_person_lies_at_its_geometric_pixel_position(shape, x, y, rot):
    cam = CameraModel(size=256)
    params = scene(person_shape=shape, person_x=x, person_y=y, person_rotation_deg=rot, ground_temperature_k=312)
    views, gt = render_sample(params, cam, np.random.default_rng(1))
    warm = gt >= 216  # the ground stays below 214 grey (210 + its faint pattern); the person is 232-255
    rows, cols = np.nonzero(warm)
    row, col = cam.metres_to_pixels(x, y)
    ppm = cam.pixels_per_metre()
    # the silhouette is centred on its position up to its pose (a standing person leans outwards in the projection)
    assert np.hypot(rows.mean() - row, cols.mean() - col) / ppm < 0.8
    # actor-sized silhouettes as in the public course GTs: about 1.5 m2 hot area, a laying person about 3 m long
    area = warm.sum() / ppm**2
    extent = (max(np.ptp(rows), np.ptp(cols)) + 1) / ppm
    assert {'idle': 0.3 < area < 1.6, 'sitting': 0.6 < area < 2.2, 'laying': 1.2 < area < 2.8}[shape], area
    assert {'idle': 0.8 < extent < 2.5, 'sitting': 1.2 < extent < 2.8, 'laying': 2.6 < extent < 4.2}[shape]
    # without trees the centre view is the GT
    np.testing.assert_array_equal(views[cam.center_view], gt)


def band_centroids(views, rows, background):
    """Column centroid, per view, of what differs from the flat ``background`` within ``rows``."""
    out = []
    for view in views:
        weight = np.abs(view[rows].astype(np.float64) - background)
        out.append((weight.sum(0) * np.arange(view.shape[1])).sum() / weight.sum())
    return np.array(out)


def test_parallax_of_canopy_and_ground():
    cam = CameraModel(size=256)
    f, alt, z = cam.focal_px, cam.altitude, 15.0
    tree = Tree(x=2.0, y=0.0, crown_bottom=z, crown_top=z, radius=2.0, trunk_radius=0.0, temperature_k=310.0)
    params = scene(person_x=-6, person_y=2, person_rotation_deg=90.0, ground_temperature_k=270, trees_per_ha=100)
    views, gt = render_sample(params, cam, np.random.default_rng(0), trees=[tree], texture=False, shadows=False)
    background = float(np.median(gt))
    k = np.arange(cam.num_views)
    # the crown sits around row c - f x / (alt - z) = 100, the person around row c + 6 f / alt = 175
    crown = band_centroids(views, slice(50, 150), background)
    person = band_centroids(views, slice(165, 186), background)
    crown_slope, ground_slope = np.polyfit(k, crown, 1)[0], np.polyfit(k, person, 1)[0]
    assert crown_slope == pytest.approx(f * cam.spacing / (alt - z), rel=0.01)
    assert ground_slope == pytest.approx(f * cam.spacing / alt, rel=0.01)
    # and view by view, not just on average
    np.testing.assert_allclose(np.diff(crown), f * cam.spacing / (alt - z), atol=0.3)
    np.testing.assert_allclose(np.diff(person), f * cam.spacing / alt, atol=0.3)
    # the GT is the centre view without the forest
    no_forest, gt_alone = render_sample(params, cam, np.random.default_rng(0), trees=[], texture=False, shadows=False)
    np.testing.assert_array_equal(gt, gt_alone)
    np.testing.assert_array_equal(no_forest[cam.center_view], gt)


def ncc(a, b):
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum() + 1e-9))


def test_integration_reveals_the_person_in_dense_forest():
    cam = CameraModel(size=128)
    half = int(round(3 * cam.pixels_per_metre()))  # a 6 m window around the person
    single, integral = [], []
    for sim in range(8):
        rng = sample_rng(3, 0, sim)
        params = sample_scene(rng, densities=(200,), p_no_trees=0, p_no_person=0)
        views, gt = render_sample(params, cam, rng)
        focal = integrate(views, 0.0, cam)[0]
        r, c = (int(round(float(v))) for v in cam.metres_to_pixels(params.person_x, params.person_y))
        window = (slice(max(r - half, 0), r + half + 1), slice(max(c - half, 0), c + half + 1))
        target = gt[window].astype(np.float64)
        single.append(ncc(views[cam.center_view][window].astype(np.float64), target))
        integral.append(ncc(focal[window].astype(np.float64), target))
    # occluders above the focal plane blur away, so the integral matches the GT better than the centre view
    assert np.mean(integral) > np.mean(single) + 0.08
    assert np.mean(np.array(integral) > np.array(single)) >= 0.75


def test_ground_is_flat_and_covers_the_real_grey_range():
    levels = [
        ground_grey(scene(ground_temperature_k=t, ambient_light=a)) for t in (260, 272, 286, 300, 312) for a in (0.5, 1)
    ]
    assert min(levels) == 0.0 and 195 <= max(levels) <= 210
    # about a quarter of the drawn scenes have a dark (< 10 grey) ground, as in the public course samples
    rng = np.random.default_rng(0)
    dark = np.mean([ground_grey(sample_scene(rng)) < 10 for _ in range(2000)])
    assert 0.15 < dark < 0.35
    cam = CameraModel(size=128)
    _, gt = render_sample(scene(person_shape=None, ground_temperature_k=290), cam, np.random.default_rng(0))
    assert gt.std() < 1.5 and abs(float(np.median(gt)) - ground_grey(scene(ground_temperature_k=290))) <= 1


@pytest.mark.parametrize('shape', ['idle', 'sitting', 'laying'])
def test_person_is_a_silhouette_with_head_torso_arms_and_legs(shape):
    parts = person_capsules(np.random.default_rng(0), shape)
    assert parts.shape == (6, 8) if shape == 'idle' else parts.shape == (10, 8)
    # the two warmest capsules are head and torso; limbs are cooler
    assert (parts[:2, 7] == 0).all() and (parts[2:, 7] > 0).all()
    # a standing person's head is 1.4-1.75 x 1.63 m up (actor size); a laying one stays near the ground
    top = parts[:, [2, 5]].max()
    assert {'idle': 2.2 < top < 3.0, 'sitting': 1.1 < top < 1.6, 'laying': top < 0.3}[shape]


def test_trunks_and_branches_read_cold():
    cam = CameraModel(size=128)
    tree = Tree(x=0.0, y=0.0, crown_bottom=12.0, crown_top=12.0, radius=0.3, trunk_radius=0.4, temperature_k=310.0)
    params = scene(person_shape=None, ground_temperature_k=300, trees_per_ha=100)
    views, gt = render_sample(params, cam, np.random.default_rng(0), trees=[tree], texture=False, shadows=False)
    centre = views[cam.center_view].astype(np.float64)
    ground = float(np.median(gt))
    # the trunk (seen end-on from above the tree, and slanted in the other views) is darker than the ground
    assert centre.min() < ground - 40 and views[0].min() < ground - 40


def test_tree_top_range_widens_for_the_bright_crowns_of_real_integrals():
    rng = np.random.default_rng(0)
    tops = [sample_scene(rng, tree_top_k=(295, 318)).tree_top_temperature_k for _ in range(400)]
    assert min(tops) == 295 and max(tops) == 318
    # the public real integrals with a dark ground reach 196 grey (99th percentile): warm crowns over cold ground
    cam = CameraModel(size=128)
    base = dict(trees_per_ha=200, person_shape=None, ground_temperature_k=262, ambient_light=0.75)
    p99 = {}
    for top in (305, 318):
        views, _ = render_sample(scene(tree_top_temperature_k=top, **base), cam, np.random.default_rng(1))
        p99[top] = np.percentile(integrate(views, [0.0], cam)[0], 99)
    assert p99[318] > p99[305] + 40 and p99[318] > 160
