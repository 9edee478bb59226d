"""Person scores and candidates on synthetic cases whose answers are known: a perfect restoration, a constant, a person
moved 30 px, a dimmed person; the registered metrics, the mask term of the loss, validation that skips NaN."""

import math

import numpy as np
import pytest
import torch
from basicsr.metrics import calculate_metric

from basicsr_ext.aos import gt_person
from basicsr_ext.aos import person_scores as ps
from basicsr_ext.aos.candidates import find_candidates
from basicsr_ext.aos.geometry import CameraModel
from basicsr_ext.losses.position_enhanced_loss import PositionEnhancedLoss


def scene(size=512, ground=60.0, person=250.0, top=200, left=300):
    """A flat ground with a 30 x 15 px warm person, on the 0-255 scale."""
    gt = np.full((size, size), ground)
    gt[top : top + 30, left : left + 15] = person
    return gt


def test_perfect_restoration_scores_the_gt():
    gt = scene()
    scores = ps.person_scores(gt, gt)
    assert scores['contrast'] == 1.0 and scores['found'] == 1.0 and scores['found_at_k'] == 1.0
    assert math.isinf(scores['person_mask_psnr']) and math.isinf(scores['background_psnr'])
    assert gt_person.person_mask(gt).sum() == 30 * 15


def test_a_constant_keeps_no_person_but_the_right_ground():
    gt = scene()
    const = np.full_like(gt, 60.0)
    scores = ps.person_scores(const, gt)
    assert scores['contrast'] == 0.0 and scores['found'] == 0.0
    assert math.isinf(scores['background_psnr'])  # the ground is exactly right
    assert scores['person_mask_psnr'] == pytest.approx(10 * math.log10(255**2 / 190**2))


def test_a_person_moved_30_px_is_not_found_and_keeps_no_contrast():
    gt = scene()
    moved = scene(left=330)
    scores = ps.person_scores(moved, gt)
    assert scores['found'] == 0.0  # 30 px > 20 px (1.3 m at 512 px)
    assert scores['contrast'] < 0.05
    near = ps.person_scores(scene(left=310), gt)  # 10 px off: found
    assert near['found'] == 1.0


def test_a_dimmed_person_keeps_part_of_the_contrast_and_sizes_scale_with_the_width():
    gt = scene()
    half = scene(person=155.0)  # halfway between ground and person
    assert ps.contrast_kept(half, gt) == pytest.approx(0.5)
    small_gt = scene(size=128, top=50, left=75)  # the same person at a quarter of the width: a smaller ring
    assert ps.ring(gt_person.person_mask(small_gt)).sum() < ps.ring(gt_person.person_mask(gt)).sum() / 4


def test_no_person_in_the_gt_gives_nan_person_scores():
    gt = np.full((64, 64), 80.0)
    gt[10, 10] = 100.0  # 20 grey levels: not a person
    scores = ps.person_scores(gt, gt)
    assert all(math.isnan(scores[k]) for k in ('contrast', 'found', 'found_at_k', 'person_mask_psnr'))
    assert math.isinf(scores['background_psnr'])


def test_candidates_rank_the_person_first_with_its_ground_position():
    gt = scene(ground=60.0)
    img = gt.copy()
    img[400:410, 100:110] = 120.0  # a smaller, cooler blob: second
    cands = find_candidates(img, k=5, camera=CameraModel())
    assert len(cands) == 2  # flat ground gives no more peaks
    assert abs(cands[0].row - 214.5) <= 1 and abs(cands[0].col - 307) <= 1 and cands[0].score > cands[1].score
    x, y = CameraModel().pixels_to_metres(cands[0].row, cands[0].col)
    assert (cands[0].x, cands[0].y) == pytest.approx((x, y))
    assert cands[0].as_dict()['x_m'] == cands[0].x
    # the same scene at 1024 px: the camera is rescaled, the ground position is the same
    big = np.kron(img, np.ones((2, 2)))
    top = find_candidates(big, k=1, camera=CameraModel())[0]
    assert (top.x, top.y) == pytest.approx((cands[0].x, cands[0].y), abs=0.1)
    assert ps.found(img, gt, k=1) == 1.0


def test_the_integral_ranks_a_bright_ghost_below_the_person_it_shows():
    gt = scene(ground=60.0)
    integral = gt * 0.3 + 60.0 * 0.7  # the person dimmed by occlusion: 57 grey above the ground
    integral[400:430, 100:115] = 66.0  # a faint warm ghost, 6 grey above the ground
    restored = gt.copy()
    restored[400:430, 100:115] = 255.0  # the restorer made the ghost warmer than the person
    plain = find_candidates(restored, k=2)
    ranked = find_candidates(restored, k=2, evidence=integral)
    assert plain[0].row > 400 and plain[0].evidence is None  # warmth alone puts the ghost first
    assert abs(ranked[0].row - 214.5) <= 1 and abs(ranked[1].row - 414.5) <= 1
    assert ranked[0].evidence == pytest.approx(57.0, abs=3) and ranked[1].evidence == pytest.approx(6.0, abs=2)
    assert ranked[0].as_dict()['evidence'] == ranked[0].evidence
    assert ps.found(restored, gt) == 0.0 and ps.found(restored, gt, evidence=integral) == 1.0
    # no evidence anywhere (a flat integral): the warmth order stands
    flat = find_candidates(restored, k=2, evidence=np.full_like(gt, 60.0))
    assert [c.row for c in flat] == [c.row for c in plain]
    with pytest.raises(ValueError, match='evidence: expected the image size'):
        find_candidates(restored, evidence=integral[:100])


def test_registered_metrics_take_basicsr_images():
    gt = scene(size=128, top=50, left=70).astype(np.uint8)
    const = np.full_like(gt, 60)
    data = {'img': gt[..., None], 'img2': gt[..., None]}
    assert calculate_metric(data, {'type': 'calculate_person_contrast'}) == 1.0
    assert calculate_metric(data, {'type': 'calculate_person_found'}) == 1.0
    assert calculate_metric({'img': const, 'img2': gt}, {'type': 'calculate_person_found', 'k': 3}) == 0.0
    assert math.isinf(calculate_metric(data, {'type': 'calculate_person_mask_psnr'}))
    assert math.isinf(calculate_metric({'img': const, 'img2': gt}, {'type': 'calculate_background_psnr'}))


def test_person_term_of_the_loss_costs_a_missed_and_a_false_warm_pixel_alike():
    gt = torch.full((2, 1, 64, 64), 0.25)
    gt[0, :, 20:26, 30:34] = 0.98  # sample 0 has a person, sample 1 none
    pos = torch.tensor([[23.0, 32.0], [32.0, 32.0]])
    mask = gt_person.person_mask_torch(gt)
    assert mask[0].sum() == 24 and mask[1].sum() == 0
    loss = PositionEnhancedLoss(patch_size=16, image_size=64, mask_weight=2.0)
    plain = PositionEnhancedLoss(patch_size=16, image_size=64)
    erased = gt.clone()
    erased[0, :, 20:26, 30:34] = 0.25  # the person missed
    assert float(loss(erased, gt, pos) - plain(erased, gt, pos)) == pytest.approx(2.0 * 0.73, rel=1e-5)
    painted = gt.clone()
    painted[1, :, 40:46, 10:14] = 0.98  # a warm blob where there is no person: the same cost per pixel (averaged
    # with sample 0, whose person is exact: both samples have a union)
    assert float(loss(painted, gt, pos) - plain(painted, gt, pos)) == pytest.approx(2.0 * 0.73 / 2, rel=1e-5)
    both = erased.clone()
    both[0, :, 40:46, 10:14] = 0.98  # in one sample: the mean over 24 missed + 24 false pixels
    assert float(loss(both, gt, pos) - plain(both, gt, pos)) == pytest.approx(2.0 * 0.73, rel=1e-5)
    assert float(loss(gt, gt, pos)) == 0.0
    with pytest.raises(Exception, match='mask_weight'):
        PositionEnhancedLoss(mask_weight=-1)


def test_a_gt_shifted_from_its_integral_is_measured_and_moved_back():
    rng = np.random.default_rng(0)
    integral = scene(ground=115.0, person=210.0) + rng.normal(0, 1.5, (512, 512))
    shifted = scene(ground=115.0, person=255.0, left=316)  # the GT's person 16 px right of the integral's
    dy, dx, covered, in_place = ps.gt_offset(integral, shifted)
    assert (dy, dx) == (0, 16) and covered == 1.0 and in_place == 0.0
    moved = ps.shift_image(shifted, -dy, -dx)
    assert np.array_equal(gt_person.person_mask(moved), gt_person.person_mask(scene()))
    assert moved[:, -16:].min() == 115.0  # the uncovered border takes the median
    assert ps.gt_offset(integral, scene(ground=115.0, person=255.0)) is None  # registered
    assert ps.gt_offset(integral, np.full((512, 512), 115.0)) is None  # no person in the GT
    pieces = integral.copy()
    pieces[200:230:4, 300:315] = 115.0  # under canopy: the integral's person in strips
    pieces[200:230, 300:315:3] = 115.0
    assert ps.gt_offset(pieces, shifted) is None  # nothing covers half of the GT person: the check cannot tell
