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


def options(scale=1, noise_sigma=8, **level_path):
    train = {
        'optim_g': {'type': 'Adam', 'lr': 1e-2},
        'total_iter': 10,
        'warmup_iter': -1,
        'pixel_opt': {'type': 'L1Loss', 'loss_weight': 1.0},
        'trainable_params': ['adafm'],
    }
    if level_path:
        train['level_path'] = level_path
    noise = {'type': 'gaussian', 'sigma': noise_sigma, 'clip': True}
    return {
        'name': 'level_path',
        'model_type': 'ModulationModel',
        'scale': scale,
        'num_gpu': 0,
        'is_train': True,
        'dist': False,
        'rank': 0,
        'world_size': 1,
        'datasets': {
            'train': {
                'type': 'NoisyPairDataset',
                'dataroot_gt': '.',
                'mode': 'n2c',
                'noise': noise,
                'gt_size': 16,
                'batch_size_per_gpu': 4,
                'num_worker_per_gpu': 0,
            },
        },  # fmt: skip
        'network_g': NET,
        'path': {'pretrain_network_g': None, 'strict_load_g': True, 'resume_state': None},
        'train': train,
        'logger': {'print_freq': 1, 'save_checkpoint_freq': 10},
    }


def coefs(model):
    return {m.adafm.coef for m in modulation_layers(model.get_bare_model(model.net_g)).values()}


@pytest.mark.parametrize('prob', [1.0, 0.0])
def test_a_path_step_trains_at_the_drawn_level_and_restores_the_coefficient(prob):
    """Each path step: the forward runs at a drawn coefficient c on the clean target + noise of sigma 2 + 6 c (the
    path [2, 8]; small, so that no clipping changes the noise), and the coefficient is 1 again after the step."""
    from basicsr.models import build_model

    torch.manual_seed(0)
    model = build_model(options(sigma=[2, 8], prob=prob))
    seen = []
    compute_losses = model.compute_losses

    def spy(current_iter):
        seen.append((coefs(model), (model.lq - model.gt).std().item()))
        return compute_losses(current_iter)

    model.compute_losses = spy
    gt = torch.full((4, 3, 32, 32), 0.5)
    lq = gt + torch.linspace(0, 0.1, 32)  # the dataset's input, here not gt + noise at all
    for i in range(6):
        before = {n: p.detach().clone() for n, p in model.net_g.named_parameters() if 'adafm' in n}
        model.feed_data({'lq': lq, 'gt': gt})
        model.optimize_parameters(i + 1)
        assert coefs(model) == {1}  # network_g.modulation.coef again
        assert any(not torch.equal(p, before[n]) for n, p in model.net_g.named_parameters() if 'adafm' in n)
    assert all(len(c) == 1 for c, _ in seen)
    drawn = [next(iter(c)) for c, _ in seen]
    if prob:
        assert len(set(drawn)) == 6 and all(0 <= c < 1 for c in drawn)
        for coef, (_, std) in zip(drawn, seen):  # the noise of the drawn level, c = 0 -> sigma 2, c = 1 -> sigma 8
            assert std == pytest.approx((2 + 6 * coef) / 255, rel=0.05)
    else:  # the end level on the dataset's input
        assert drawn == [1] * 6 and all(std == pytest.approx((lq - gt).std().item()) for _, std in seen)


@pytest.mark.parametrize(
    'level_path, message',
    [
        ({'sigma': [20, 50, 80]}, 'train.level_path.sigma'),
        ({'sigma': [20, 80], 'prob': 2}, 'train.level_path.prob: expected a number in [0, 1], got 2'),
        ({'sigmas': [20, 80]}, 'train.level_path.sigmas: unknown key (did you mean sigma?)'),
        (
            {'sigma': [20, 50]},
            'train.level_path.sigma: its end level 50 must be the level of the training noise, '
            'datasets.train.noise (Gaussian sigma 80)',
        ),
        ({'sigma': [20, 80], 'scale': 2}, 'train.level_path: adds noise at the target'),
    ],
)
def test_bad_level_paths_are_one_line(level_path, message):
    scale = level_path.pop('scale', 1)
    with pytest.raises(UserError, match=r'^unit\.yml: ') as err:
        check_options(options(scale=scale, noise_sigma=80, **level_path))
    assert message in str(err.value) and '\n' not in str(err.value)
