"""RampDownLR: Noise2Noise's ramp-down (official ``compute_ramped_down_lrate``), by itself and through the model."""

import math

import pytest
import torch
from basicsr.models import build_model

import basicsr_ext  # noqa: F401  (registration)
from basicsr_ext.models.lr_scheduler import RampDownLR, get_scheduler_class, ramp_down_factor
from basicsr_ext.utils.errors import UserError


def official(i, iteration_count, ramp_down_perc, learning_rate):
    """The official formula, restated: 0-based step ``i``."""
    start = iteration_count * (1 - ramp_down_perc)
    if i >= start:
        t = ((i - start) / ramp_down_perc) / iteration_count
        return learning_rate * (0.5 + math.cos(t * math.pi) / 2) ** 2
    return learning_rate


def optimizer(*lrs):
    params = [{'params': [torch.nn.Parameter(torch.zeros(1))], 'lr': lr} for lr in lrs]
    return torch.optim.Adam(params)


def lrs_over(scheduler, steps):
    """Learning rates at steps 0..steps-1 (stepping after each, as a training loop does)."""
    out = []
    for _ in range(steps):
        out.append([g['lr'] for g in scheduler.optimizer.param_groups])
        scheduler.optimizer.step()
        scheduler.step()
    return out


def test_constant_then_ramp_to_zero():
    sched = RampDownLR(optimizer(3e-4), total_iter=100, rampdown_fraction=0.3)
    lrs = [lr[0] for lr in lrs_over(sched, 101)]
    assert all(lr == 3e-4 for lr in lrs[:70])  # constant before the last 30%
    for i in (70, 71, 80, 85, 90, 99):
        assert lrs[i] == pytest.approx(official(i, 100, 0.3, 3e-4), rel=1e-9, abs=1e-15)
    assert lrs[85] == pytest.approx(3e-4 * 0.25)  # half-way down: ((1 + cos(pi / 2)) / 2) ** 2 = 1/4
    assert lrs[99] > 0
    assert lrs[100] == 0  # one step past the last iteration
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))
    sched.step()
    assert sched.get_last_lr() == [0.0]  # stays 0 after the end


def test_factor_formula_points():
    assert ramp_down_factor(0, 10, 0.3) == 1.0
    assert ramp_down_factor(7.5, 10, 0.3) == pytest.approx(((1 + math.cos(math.pi / 6)) / 2) ** 2)
    assert ramp_down_factor(10, 10, 0.3) == 0.0
    assert ramp_down_factor(25, 10, 0.3) == 0.0
    assert ramp_down_factor(0, 10, 1.0) == 1.0  # fraction 1: the ramp starts at once
    assert ramp_down_factor(5, 10, 1.0) == pytest.approx(0.25)


def test_multiple_param_groups_ramp_from_their_own_rates():
    sched = RampDownLR(optimizer(1e-3, 1e-4), total_iter=20, rampdown_fraction=0.5)
    lrs = lrs_over(sched, 21)
    for i in range(21):
        assert lrs[i][0] == pytest.approx(official(i, 20, 0.5, 1e-3), abs=1e-15)
        assert lrs[i][1] == pytest.approx(official(i, 20, 0.5, 1e-4), abs=1e-15)


def test_state_dict_resumes():
    sched = RampDownLR(optimizer(1e-3), total_iter=10)
    lrs_over(sched, 8)
    resumed = RampDownLR(optimizer(1e-3), total_iter=10)
    resumed.load_state_dict(sched.state_dict())
    assert resumed.last_epoch == 8
    resumed.step()
    sched.step()
    assert resumed.get_last_lr() == pytest.approx(sched.get_last_lr())


@pytest.mark.parametrize(
    'kwargs,option',
    [
        ({'total_iter': 0}, 'total_iter'),
        ({'total_iter': -5}, 'total_iter'),
        ({'total_iter': 10.5}, 'total_iter'),
        ({'total_iter': 10, 'rampdown_fraction': 0}, 'rampdown_fraction'),
        ({'total_iter': 10, 'rampdown_fraction': 1.5}, 'rampdown_fraction'),
        ({'total_iter': 10, 'rampdown_fraction': -0.3}, 'rampdown_fraction'),
    ],
)
def test_bad_options_name_the_option(kwargs, option):
    with pytest.raises(ValueError, match=f'RampDownLR {option}: expected'):
        RampDownLR(optimizer(1e-3), **kwargs)


def make_opt(tmp_path, scheduler):
    return {
        'name': 'unit',
        'model_type': 'ExtSRModel',
        'num_gpu': 0,
        'is_train': True,
        'dist': False,
        'rank': 0,
        'world_size': 1,
        'scale': 1,
        'network_g': {'type': 'N2NUNet', 'num_feat': 4, 'dec_feat': 4, 'out_feat': [4], 'depth': 2},
        'path': {'models': str(tmp_path / 'models'), 'training_states': str(tmp_path / 'states')},
        'datasets': {'val': {'name': 'V'}},
        'train': {
            'optim_g': {'type': 'Adam', 'lr': 3e-4},
            'scheduler': scheduler,
            'total_iter': 10,
            'pixel_opt': {'type': 'L1Loss', 'loss_weight': 1.0},
        },
        'val': {'metrics': {'psnr': {'type': 'calculate_psnr', 'crop_border': 0}}},
    }


def test_built_by_name_through_the_model(tmp_path):
    assert get_scheduler_class('RampDownLR') is RampDownLR
    model = build_model(make_opt(tmp_path, {'type': 'RampDownLR', 'total_iter': 10, 'rampdown_fraction': 0.3}))
    assert type(model.schedulers[0]) is RampDownLR
    for current_iter in range(1, 11):  # BasicSR's loop: update_learning_rate before each iteration's step
        model.update_learning_rate(current_iter)
        # the scheduler has stepped current_iter - 1 times: the official loop's i
        assert model.get_current_learning_rate()[0] == pytest.approx(official(current_iter - 1, 10, 0.3, 3e-4))
    model.update_learning_rate(11)
    assert model.get_current_learning_rate()[0] == 0


def test_bad_option_through_the_model_is_a_one_line_user_error(tmp_path):
    with pytest.raises(UserError, match='RampDownLR rampdown_fraction: expected a number in'):
        build_model(make_opt(tmp_path, {'type': 'RampDownLR', 'total_iter': 10, 'rampdown_fraction': 0}))
