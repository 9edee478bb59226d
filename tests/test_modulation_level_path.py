"""``train.level_path`` of ModulationModel: an iteration on the path trains the modulation layers at a drawn
coefficient on fresh noise of the matching level, and leaves the coefficient where the option file put it."""

import pytest
import torch

import basicsr_ext  # noqa: F401  (before basicsr)
from basicsr_ext.archs.modulation_arch import modulation_layers
from basicsr_ext.utils.errors import UserError

from conftest import check_options

NET = {
    'type': 'AdaFMNet',
    'num_in_ch': 3,
    'num_out_ch': 3,
    'num_feat': 8,
    'num_block': 1,
    'downsample': False,
    'modulation': {'type': 'adafm', 'kernel_size': 3, 'coef': 1},
}


def options(**level_path):
    train = {
        'optim_g': {'type': 'Adam', 'lr': 1e-2},
        'total_iter': 10,
        'warmup_iter': -1,
        'pixel_opt': {'type': 'L1Loss', 'loss_weight': 1.0},
        'trainable_params': ['adafm'],
    }
    if level_path:
        train['level_path'] = level_path
    return {
        'name': 'level_path',
        'model_type': 'ModulationModel',
        'scale': 1,
        'num_gpu': 0,
        'is_train': True,
        'dist': False,
        'rank': 0,
        'world_size': 1,
        'network_g': NET,
        'path': {'pretrain_network_g': None, 'strict_load_g': True, 'resume_state': None},
        'train': train,
        'logger': {'print_freq': 1, 'save_checkpoint_freq': 10},
    }


def coefs(model):
    return {m.adafm.coef for m in modulation_layers(model.get_bare_model(model.net_g)).values()}


@pytest.mark.parametrize('prob', [1.0, 0.0])
def test_a_path_step_trains_on_fresh_noise_and_restores_the_coefficient(prob):
    from basicsr.models import build_model

    torch.manual_seed(0)
    model = build_model(options(sigma=[20, 80], prob=prob))
    gt = torch.rand(2, 3, 16, 16)
    lq = gt.flip(-1)  # the dataset's input, here not gt + noise at all
    before = {n: p.detach().clone() for n, p in model.net_g.named_parameters() if 'adafm' in n}
    model.feed_data({'lq': lq, 'gt': gt})
    model.optimize_parameters(1)
    assert coefs(model) == {1}  # network_g.modulation.coef again
    if prob:
        noise = model.lq - gt  # gt + sigma noise, sigma between 20 and 80 grey levels
        assert 20 / 255 * 0.7 < noise.std().item() < 80 / 255 * 1.3
    else:
        assert torch.equal(model.lq, lq)  # the end level on the dataset's input
    assert any(not torch.equal(p, before[n]) for n, p in model.net_g.named_parameters() if 'adafm' in n)


@pytest.mark.parametrize(
    'level_path, message',
    [
        ({'sigma': [20, 50, 80]}, 'train.level_path.sigma'),
        ({'sigma': [20, 80], 'prob': 2}, 'train.level_path.prob: expected a number in [0, 1], got 2'),
        ({'sigmas': [20, 80]}, 'train.level_path.sigmas: unknown key (did you mean sigma?)'),
    ],
)
def test_bad_level_paths_are_one_line(level_path, message):
    with pytest.raises(UserError, match=r'^unit\.yml: ') as err:
        check_options(options(**level_path))
    assert message in str(err.value) and '\n' not in str(err.value)
