"""PositionEnhancedLoss against hand-computed values (the AOS course report by Aliyev et al., 2024, section 4.2)."""

import pytest
import torch

from basicsr_ext.losses.position_enhanced_loss import PositionEnhancedLoss
from basicsr_ext.utils.errors import UserError


def test_matches_the_hand_computed_formula_with_a_clipped_window():
    # 8 x 8 image, patch 4 at image_size 8 (p = 4), person at (1, 6): window rows -1..2, cols 4..7 -> clipped to
    # rows 0..2 (3 rows) x cols 4..7 (4 cols) = 12 pixels inside the image
    loss_fn = PositionEnhancedLoss(patch_size=4, image_size=8, weight=0.5)
    pred = torch.zeros(1, 1, 8, 8)
    target = torch.zeros(1, 1, 8, 8)
    target[0, 0, :3, 4:] = 2.0  # error 2 on the 12 window pixels
    target[0, 0, 7, 0] = 5.0  # error 5 on one frame pixel
    value = loss_fn(pred, target, torch.tensor([[1.0, 6.0]]))
    l_p = 12 * 2.0 / 4**2  # the report normalises by p^2 even when clipped
    l_f = 5.0 / (64 - 4**2)
    assert value.item() == pytest.approx(0.5 * l_p + 0.5 * l_f)


def test_no_person_sample_uses_the_whole_image_or_the_centre_patch():
    pred = torch.zeros(2, 1, 8, 8)
    target = torch.rand(2, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    pos = torch.tensor([[4.0, 4.0], [4.0, 4.0]])
    has = torch.tensor([True, False])
    whole = PositionEnhancedLoss(patch_size=4, image_size=8)
    seed_like = PositionEnhancedLoss(patch_size=4, image_size=8, no_person_whole_image=False)
    both = whole(pred, target, pos, has)
    person_only = seed_like(pred[:1], target[:1], pos[:1])
    assert both.item() == pytest.approx((person_only.item() + target[1].abs().mean().item()) / 2)
    assert seed_like(pred, target, pos, has).item() == pytest.approx(seed_like(pred, target, pos).item())


def test_seed_constants_and_scaling():
    loss_fn = PositionEnhancedLoss()
    assert loss_fn.window_size(512) == 96 and loss_fn.window_size(128) == 24
    cropped = PositionEnhancedLoss(full_size=128)  # crops of 128 px images keep the 24 px window
    assert cropped.window_size(64) == 24
    # a uniform error gives the plain L1 value whatever w: both terms are means over their pixels
    pred, target = torch.zeros(1, 1, 512, 512), torch.full((1, 1, 512, 512), 0.3)
    value = loss_fn(pred, target, torch.tensor([[256.0, 256.0]]))
    assert value.item() == pytest.approx(0.3)


@pytest.mark.parametrize('criterion,expected', [('l1', 0.5), ('l2', 0.25), ('charbonnier', 0.5)])
def test_criteria(criterion, expected):
    loss_fn = PositionEnhancedLoss(patch_size=2, image_size=4, criterion=criterion)
    value = loss_fn(torch.zeros(1, 3, 4, 4), torch.full((1, 3, 4, 4), 0.5), torch.tensor([[1.0, 1.0]]))
    assert value.item() == pytest.approx(expected, rel=1e-5)


def test_gradient_reaches_the_patch_more_strongly():
    pred = torch.zeros(1, 1, 32, 32, requires_grad=True)
    target = torch.ones(1, 1, 32, 32)
    PositionEnhancedLoss(patch_size=8, image_size=32)(pred, target, torch.tensor([[10.0, 20.0]])).backward()
    grad = pred.grad[0, 0].abs()
    assert grad[10, 20] > 10 * grad[0, 0] > 0


def test_bad_options_and_inputs():
    with pytest.raises(UserError, match='criterion'):
        PositionEnhancedLoss(criterion='huber')
    with pytest.raises(UserError, match='weight'):
        PositionEnhancedLoss(weight=2)
    with pytest.raises(ValueError, match=r'pos must be \(batch, 2\)'):
        PositionEnhancedLoss()(torch.zeros(2, 1, 8, 8), torch.zeros(2, 1, 8, 8), torch.zeros(2))
