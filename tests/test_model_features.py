"""The shared training features of ExtSRModel, exercised in-process on a tiny SRCNN."""

import os
import re
from copy import deepcopy

import numpy as np
import pytest
import torch
from basicsr.models import build_model

import basicsr_ext  # noqa: F401  (registration)
from basicsr_ext.models.ext_sr_model import TrainingDiverged
from basicsr_ext.utils.errors import UserError

from conftest import check_options

CROP = {'gt_size': 16, 'use_hflip': False, 'use_rot': False}


def make_opt(tmp_path, **train):
    models = tmp_path / 'models'
    states = tmp_path / 'training_states'
    models.mkdir(parents=True, exist_ok=True)
    states.mkdir(parents=True, exist_ok=True)
    train_opt = {'optim_g': {'type': 'SGD', 'lr': 0.1}, 'pixel_opt': {'type': 'L1Loss', 'loss_weight': 1.0}}
    train_opt.update(train)
    return {
        'name': 'unit',
        'model_type': 'ExtSRModel',
        'num_gpu': 0,
        'is_train': True,
        'dist': False,
        'rank': 0,
        'world_size': 1,
        'scale': 2,
        'network_g': {'type': 'SRCNN', 'num_feat': [4, 4], 'kernel_sizes': [3, 3, 3], 'upscale': 2},
        'path': {'models': str(models), 'training_states': str(states)},
        'datasets': {
            'train': {
                'name': 'T',
                'type': 'PairedImageDataset',
                'batch_size_per_gpu': 1,
                'num_worker_per_gpu': 0,
                **CROP,
            },
            'val': {'name': 'V', 'type': 'PairedImageDataset'},
        },
        'train': train_opt,
        'val': {'metrics': {'psnr': {'type': 'calculate_psnr', 'crop_border': 0}}},
    }


def make_model(tmp_path, seed=0, **train):
    torch.manual_seed(seed)
    return build_model(make_opt(tmp_path, **train))


def batch(n=4, seed=0, size=8):
    g = torch.Generator().manual_seed(seed)
    return {'lq': torch.rand(n, 3, size, size, generator=g), 'gt': torch.rand(n, 3, 2 * size, 2 * size, generator=g)}


def weights(model):
    return {k: v.clone() for k, v in model.get_bare_model(model.net_g).state_dict().items()}


def same(a, b, **tol):
    return all(torch.allclose(a[k], b[k], **tol) if tol else torch.equal(a[k], b[k]) for k in a)


def test_gradient_accumulation_equals_one_big_batch(tmp_path):
    full = make_model(tmp_path / 'a')
    acc = make_model(tmp_path / 'b', accumulate_grad_batches=2)
    assert same(weights(full), weights(acc))
    data = batch(4)
    full.feed_data(data)
    full.optimize_parameters(1)
    before = weights(acc)
    acc.feed_data({k: v[:2] for k, v in data.items()})
    acc.optimize_parameters(1)
    assert same(before, weights(acc)), 'no optimizer step before k batches'
    acc.feed_data({k: v[2:] for k, v in data.items()})
    acc.optimize_parameters(2)
    assert not same(before, weights(acc))
    assert same(weights(full), weights(acc), atol=1e-6, rtol=1e-5)
    assert acc.optimizer_steps == 1 and full.optimizer_steps == 1


def test_grad_clip_norm_bounds_the_update_and_logs_the_norm(tmp_path):
    model = make_model(tmp_path, optim_g={'type': 'SGD', 'lr': 1.0}, grad_clip_norm=1e-3)
    before = weights(model)
    model.feed_data(batch())
    model.optimize_parameters(1)
    after = weights(model)
    step = torch.sqrt(sum(((after[k] - before[k]) ** 2).sum() for k in before))
    assert step <= 1e-3 * 1.001
    assert model.log_dict['grad_norm'] > 1e-3  # the logged norm is the one before clipping


def test_nonfinite_steps_are_skipped_then_training_stops(tmp_path):
    model = make_model(tmp_path, max_nonfinite_steps=3)
    bad = batch()
    bad['lq'][0, 0, 0, 0] = float('nan')
    before = weights(model)
    for it in (1, 2):
        model.feed_data(bad)
        model.optimize_parameters(it)
        assert same(before, weights(model)) and model.nonfinite_steps == it
    model.feed_data(batch())  # a good step resets the count
    model.optimize_parameters(3)
    assert model.nonfinite_steps == 0 and not same(before, weights(model))
    with pytest.raises(TrainingDiverged, match=r'3 consecutive steps with non-finite loss or gradients up to iter 6'):
        for it in (4, 5, 6):
            model.feed_data(bad)
            model.optimize_parameters(it)
    assert all(torch.isfinite(v).all() for v in weights(model).values())


@pytest.mark.parametrize('amp_dtype,scaler', [('bf16', False), ('fp16', True)])
def test_amp_on_cpu(tmp_path, amp_dtype, scaler):
    model = make_model(tmp_path, use_amp=True, amp_dtype=amp_dtype)
    assert model.scaler.is_enabled() is scaler
    before = weights(model)
    for it in range(1, 4):
        model.feed_data(batch(seed=it))
        model.optimize_parameters(it)
    assert np.isfinite(model.log_dict['l_pix'])
    assert not same(before, weights(model))
    assert all(v.dtype == torch.float32 for v in weights(model).values())


def test_optimizer_and_scheduler_by_name(tmp_path):
    model = make_model(
        tmp_path,
        optim_g={'type': 'AdamW', 'lr': 1e-3, 'weight_decay': 0.01},
        scheduler={'type': 'CosineAnnealingLR', 'T_max': 10, 'eta_min': 0},
    )
    assert type(model.optimizer_g).__name__ == 'AdamW'
    assert type(model.schedulers[0]).__name__ == 'CosineAnnealingLR'
    for it in range(1, 7):
        model.update_learning_rate(it)
    assert model.get_current_learning_rate()[0] == pytest.approx(1e-3 * (1 + np.cos(np.pi * 5 / 10)) / 2)


@pytest.mark.parametrize(
    'train,match',
    [
        ({'optim_g': {'type': 'Adamm', 'lr': 1}}, r"train\.optim_g\.type: unknown optimizer 'Adamm'"),
        (
            {'scheduler': {'type': 'CosineAnealingLR'}},
            r"train\.scheduler\.type: unknown scheduler 'CosineAnealingLR'\. Closest: CosineAnnealingLR",
        ),
        ({'scheduler': {'type': 'ReduceLROnPlateau'}}, r'train\.scheduler\.monitor: ReduceLROnPlateau needs'),
        ({'accumulate_grad_batches': 0}, r'train\.accumulate_grad_batches: expected an integer >= 1, got 0$'),
        ({'amp_dtype': 'fp8', 'use_amp': True}, r"train\.amp_dtype: expected one of 'float16', .*got 'fp8'"),
        ({'grad_clip_norm': -1}, r'train\.grad_clip_norm: expected a number > 0 or ~ \(null\), got -1'),
        ({'max_nonfinite_steps': 0}, r'train\.max_nonfinite_steps: expected an integer >= 1, got 0'),
    ],
)
def test_bad_training_options_name_the_key(tmp_path, train, match):
    """Checked with the options, before the model (or any folder) is made; the line names the option file."""
    with pytest.raises(UserError, match='^unit.yml: ' + match):
        check_options(make_opt(tmp_path, **train))


def test_reduce_lr_on_plateau_steps_on_the_monitored_metric(tmp_path):
    model = make_model(
        tmp_path,
        optim_g={'type': 'Adam', 'lr': 1e-3},
        scheduler={'type': 'ReduceLROnPlateau', 'monitor': 'psnr', 'mode': 'max', 'factor': 0.5, 'patience': 1},
    )
    for it in range(1, 5):  # per-iteration stepping leaves a plateau scheduler alone
        model.update_learning_rate(it)
    assert model.get_current_learning_rate()[0] == 1e-3
    for it, psnr in enumerate([20.0, 21.0, 20.5, 20.4], start=1):
        model.after_validation('V', {'psnr': psnr, 'val_loss': 0.1}, it, None)
    assert model.get_current_learning_rate()[0] == pytest.approx(5e-4)
    model.after_validation('Other', {'psnr': 1.0, 'val_loss': 0.1}, 5, None)  # only the first val set counts
    assert model.get_current_learning_rate()[0] == pytest.approx(5e-4)


def test_best_checkpoint_follows_the_named_metric(tmp_path):
    opt_extra = {}
    model = make_model(tmp_path, **opt_extra)
    model.opt['val']['save_best'] = {'metric': 'val_loss', 'mode': 'min'}
    model.best_checkpoint = {'metric': 'val_loss', 'mode': 'min', 'value': None, 'iter': -1}
    best_path = tmp_path / 'models' / 'net_g_best.pth'
    model.after_validation('V', {'psnr': 20.0, 'val_loss': 0.5}, 10, None)
    saved = weights(model)
    model.feed_data(batch())
    model.optimize_parameters(11)
    model.after_validation('V', {'psnr': 21.0, 'val_loss': 0.6}, 20, None)  # worse: keep the old file
    loaded = torch.load(best_path, weights_only=True)['params']
    assert same(saved, loaded)
    assert model.best_checkpoint == {'metric': 'val_loss', 'mode': 'min', 'value': 0.5, 'iter': 10}
    model.after_validation('V', {'psnr': 19.0, 'val_loss': 0.4}, 30, None)
    assert same(weights(model), torch.load(best_path, weights_only=True)['params'])


def test_best_checkpoint_can_weigh_several_results(tmp_path):
    model = make_model(tmp_path)
    model.opt['val']['save_best'] = {'metric': {'psnr': 1, 'val_loss': -10}, 'mode': 'max'}
    model.init_best_checkpoint()
    model.after_validation('V', {'psnr': 20.0, 'val_loss': 0.5}, 10, None)  # 20 - 5 = 15
    model.after_validation('V', {'psnr': 21.0, 'val_loss': 0.7}, 20, None)  # 21 - 7 = 14: not better
    assert model.best_checkpoint['iter'] == 10 and model.best_checkpoint['value'] == pytest.approx(15.0)
    model.after_validation('V', {'psnr': 20.5, 'val_loss': 0.4}, 30, None)  # 16.5
    assert model.best_checkpoint['iter'] == 30
    bad = [
        ({'metric': {'psnr': 'x'}}, "val.save_best.metric: expected a string or a mapping of keys, got {'psnr': 'x'}"),
        ({'metric': 3}, 'val.save_best.metric: expected a string or a mapping of keys, got 3 (an integer)'),
        ({'mode': 'max'}, 'val.save_best.metric: missing required key (expected a string or a mapping of keys)'),
        ({'metric': 'psnr', 'mode': 'up'}, "val.save_best.mode: expected one of 'max', 'min' or ~ (null), got 'up'"),
    ]
    for save_best, expected in bad:  # checked with the options, before the model is made
        with pytest.raises(UserError, match='^unit.yml: ' + re.escape(expected)):
            check_options({**model.opt, 'val': {**model.opt['val'], 'save_best': save_best}})
    model.opt['val']['save_best'] = {'metric': {'psnr': 1, 'lpips': 1}}
    model.init_best_checkpoint()
    with pytest.raises(UserError, match="'lpips' is not a validation result"):
        model.after_validation('V', {'psnr': 20.0, 'val_loss': 0.5}, 40, None)


def test_validation_loss_is_reported_next_to_metrics(tmp_path):
    model = make_model(tmp_path)
    assert model.validation_result_names() == ['psnr', 'val_loss']
    assert model.best_metric_results if hasattr(model, 'best_metric_results') else True
    model.init_best_metric_results('V')
    assert model.best_metric_results['V']['val_loss']['better'] == 'lower'


def test_training_state_round_trip_restores_everything(tmp_path):
    model = make_model(
        tmp_path,
        optim_g={'type': 'Adam', 'lr': 1e-3},
        use_amp=True,
        amp_dtype='fp16',
        scheduler={'type': 'MultiStepLR', 'milestones': [2, 4], 'gamma': 0.5},
    )
    for it in range(1, 4):
        model.update_learning_rate(it)
        model.feed_data(batch(seed=it))
        model.optimize_parameters(it)
    model.after_validation('V', {'psnr': 25.0, 'val_loss': 0.2}, 3, None)
    model.save(0, 3)
    expected = (torch.rand(3), np.random.rand(3), __import__('random').random())
    state_file = tmp_path / 'training_states' / '3.state'
    assert state_file.is_file() and not [p for p in os.listdir(state_file.parent) if 'tmp' in p]
    state = torch.load(state_file, weights_only=True)  # loads without unpickling anything but data
    torch.manual_seed(123)
    np.random.seed(123)

    other = make_model(
        tmp_path,
        seed=1,
        optim_g={'type': 'Adam', 'lr': 1e-3},
        use_amp=True,
        amp_dtype='fp16',
        scheduler={'type': 'MultiStepLR', 'milestones': [2, 4], 'gamma': 0.5},
    )
    other.resume_training(state)
    got = (torch.rand(3), np.random.rand(3), __import__('random').random())
    assert torch.equal(expected[0], got[0]) and np.array_equal(expected[1], got[1]) and expected[2] == got[2]
    assert other.optimizer_g.state_dict()['state'].keys() == model.optimizer_g.state_dict()['state'].keys()
    assert other.schedulers[0].last_epoch == model.schedulers[0].last_epoch
    assert other.scaler.get_scale() == model.scaler.get_scale()
    assert other.best_metric_results['V']['psnr']['val'] == 25.0
    assert other.optimizer_steps == model.optimizer_steps == 3


def test_checkpoint_writes_are_atomic(tmp_path, monkeypatch):
    model = make_model(tmp_path)
    model.save_network(model.net_g, 'net_g', 5)
    path = tmp_path / 'models' / 'net_g_5.pth'
    good = path.read_bytes()

    def broken_save(obj, f, *args, **kwargs):
        f.write(b'partial')
        raise OSError('disk full')

    monkeypatch.setattr(torch, 'save', broken_save)
    with pytest.raises(OSError, match='disk full'):
        model.save_network(model.net_g, 'net_g', 5)
    assert path.read_bytes() == good
    assert os.listdir(path.parent) == ['net_g_5.pth']


def test_ema_updates_only_on_optimizer_steps(tmp_path):
    model = make_model(tmp_path, ema_decay=0.5, accumulate_grad_batches=2)
    ema_before = deepcopy(model.net_g_ema.state_dict())
    model.feed_data(batch())
    model.optimize_parameters(1)
    assert same(ema_before, model.net_g_ema.state_dict())
    model.feed_data(batch(seed=3))
    model.optimize_parameters(2)
    net, ema = weights(model), model.net_g_ema.state_dict()
    assert all(torch.allclose(ema[k], 0.5 * ema_before[k] + 0.5 * net[k]) for k in net)
