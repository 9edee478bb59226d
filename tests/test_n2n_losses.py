"""AnnealedL0Loss and its gamma schedule: L2 at gamma 2, L1 at gamma 1, BasicSR's weight/mask semantics."""

import pytest
import torch
from basicsr.losses.basic_loss import L1Loss, MSELoss
from basicsr.utils.registry import LOSS_REGISTRY

import basicsr_ext  # noqa: F401  (registration)
from basicsr_ext.losses.n2n_loss import AnnealedL0Loss, l0_gamma


def pair(seed=0, shape=(2, 3, 8, 8)):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(*shape, generator=g), torch.rand(*shape, generator=g)


def bernoulli_mask(seed=1, shape=(2, 1, 8, 8), p=0.5):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(*shape, generator=g) < p).float()


def test_registered_without_colliding_with_basicsr():
    assert LOSS_REGISTRY.get('AnnealedL0Loss') is AnnealedL0Loss
    import basicsr.losses as bs_losses

    assert not hasattr(bs_losses, 'AnnealedL0Loss')


@pytest.mark.parametrize(
    'current_iter,expected',
    [(0, 2.0), (1, 2.0), (26, 1.5), (51, 1.0), (100, 0.02), (101, 0.0), (1000, 0.0)],
)
def test_gamma_schedule(current_iter, expected):
    # t = (current_iter - 1) / total_iter, clipped to [0, 1]
    assert l0_gamma(current_iter, 100) == pytest.approx(expected)


def test_gamma_schedule_other_ends():
    assert l0_gamma(1, 10, start=1.0, end=0.5) == 1.0
    assert l0_gamma(6, 10, start=1.0, end=0.5) == pytest.approx(0.75)
    assert l0_gamma(11, 10, start=1.0, end=0.5) == pytest.approx(0.5)
    with pytest.raises(ValueError, match='l0_gamma total_iter'):
        l0_gamma(1, 0)


def test_gamma_2_is_mse_and_gamma_1_is_l1():
    pred, target = pair()
    loss = AnnealedL0Loss(gamma=2.0)
    assert loss(pred, target).item() == pytest.approx(MSELoss()(pred, target).item(), rel=1e-5)
    loss.gamma = 1.0  # the model sets it every iteration
    assert loss(pred, target).item() == pytest.approx(L1Loss()(pred, target).item(), rel=1e-5)
    assert AnnealedL0Loss(loss_weight=0.5, gamma=1.0)(pred, target).item() == pytest.approx(
        0.5 * L1Loss()(pred, target).item(), rel=1e-5
    )


def test_formula_at_a_fractional_gamma():
    pred, target = pair()
    loss = AnnealedL0Loss(gamma=0.3, eps=1e-8)
    assert torch.allclose(loss(pred, target), (((pred - target).abs() + 1e-8) ** 0.3).mean())


@pytest.mark.parametrize('mask_channels', [1, 3])
@pytest.mark.parametrize('gamma', [2.0, 1.0, 0.4])
def test_masked_pixels_do_not_count_nor_receive_gradient(mask_channels, gamma):
    pred, target = pair()
    mask = bernoulli_mask(shape=(2, mask_channels, 8, 8))
    loss = AnnealedL0Loss(gamma=gamma)

    pred = pred.requires_grad_()
    value = loss(pred, target, weight=mask)
    value.backward()
    full_mask = mask.expand_as(pred).bool()
    assert torch.all(pred.grad[~full_mask] == 0)
    assert torch.all(pred.grad[full_mask] != 0)

    # the masked mean is the mean over the valid elements
    per_element = ((pred.detach() - target).abs() + 1e-8) ** gamma
    assert value.item() == pytest.approx(per_element[full_mask].mean().item(), rel=1e-5)

    # whatever the target holds where the mask is 0 changes nothing
    other = torch.where(full_mask, target, torch.full_like(target, 123.0))
    assert loss(pred.detach(), other, weight=mask).item() == pytest.approx(value.item(), rel=1e-6)


@pytest.mark.parametrize('mask_channels', [1, 3])
@pytest.mark.parametrize('reduction', ['mean', 'sum', 'none'])
def test_same_as_basicsr_l1_and_mse_with_the_same_mask(mask_channels, reduction):
    pred, target = pair(seed=3)
    mask = bernoulli_mask(seed=4, shape=(2, mask_channels, 8, 8))
    l0 = AnnealedL0Loss(gamma=1.0, eps=0.0, reduction=reduction)
    assert torch.allclose(l0(pred, target, weight=mask), L1Loss(reduction=reduction)(pred, target, weight=mask))
    l0.gamma = 2.0
    assert torch.allclose(l0(pred, target, weight=mask), MSELoss(reduction=reduction)(pred, target, weight=mask))


def test_reductions():
    pred, target = pair()
    elements = ((pred - target).abs() + 1e-8) ** 1.5
    none = AnnealedL0Loss(gamma=1.5, reduction='none')(pred, target)
    assert none.shape == pred.shape and torch.allclose(none, elements)
    assert torch.allclose(AnnealedL0Loss(gamma=1.5, reduction='sum')(pred, target), elements.sum())
    assert torch.allclose(AnnealedL0Loss(gamma=1.5, reduction='mean')(pred, target), elements.mean())


def test_small_gamma_gradient_is_finite_at_zero_residual():
    """eps keeps the gradient finite where prediction and target agree, as they do at masked pixels."""
    target = torch.rand(1, 3, 4, 4)
    pred = target.clone().requires_grad_()
    pred.data[0, 0, 0, 0] += 1e-9
    AnnealedL0Loss(gamma=0.1)(pred, target).backward()
    assert torch.isfinite(pred.grad).all()


@pytest.mark.parametrize(
    'kwargs,option',
    [
        ({'reduction': 'avg'}, 'reduction'),
        ({'gamma': -1.0}, 'gamma'),
        ({'gamma': float('nan')}, 'gamma'),
        ({'eps': -1e-8}, 'eps'),
    ],
)
def test_bad_options_name_the_option(kwargs, option):
    with pytest.raises(ValueError, match=f'AnnealedL0Loss {option}: expected'):
        AnnealedL0Loss(**kwargs)


def test_bad_gamma_set_later():
    loss = AnnealedL0Loss()
    with pytest.raises(ValueError, match='AnnealedL0Loss gamma'):
        loss.gamma = -0.5
    assert loss.gamma == 2.0
