"""AOSRestorationModel: multi-pass rule, and a real training run on synthetic AOS data through train.py."""

import csv
import glob
import math
import re

import cv2
import torch

from basicsr_ext.models.aos_inference import multipass, next_pass_input

from conftest import run_train, write_yaml


def test_multipass_keeps_a_pass_only_where_the_std_drops():
    # positive samples: the 'network' halves them (std drops, every pass accepted);
    # negative samples: it doubles them (std rises, the second pass is refused)
    def fn(x):
        sign = torch.sign(x.flatten(1).mean(dim=1)).view(-1, 1, 1, 1)
        return torch.where(sign > 0, x * 0.5, x * 2.0)

    gen = torch.Generator().manual_seed(0)
    base = torch.rand(4, 1, 6, 6, generator=gen) + 0.1
    lq = torch.cat([base[:2], -base[2:]])
    out, passes = multipass(fn, lq, max_passes=3)
    assert passes.tolist() == [3, 3, 1, 1]
    assert torch.allclose(out[:2], lq[:2] * 0.125) and torch.allclose(out[2:], lq[2:] * 2.0)
    single, ones = multipass(fn, lq, max_passes=1)
    assert ones.tolist() == [1, 1, 1, 1] and torch.equal(single, fn(lq))


def test_next_pass_replaces_one_plane():
    lq = torch.zeros(2, 3, 4, 4)
    out = torch.ones(2, 1, 4, 4)
    nxt = next_pass_input(lq, out, plane=1)
    assert nxt[:, 1].eq(1).all() and nxt[:, [0, 2]].eq(0).all() and lq.eq(0).all()
    assert next_pass_input(torch.zeros(2, 1, 4, 4), out) is out


def aos_options(tmp_path, **train_extra):
    root = str(tmp_path / 'aos')
    data = {'type': 'AOSFocalStackDataset', 'io_backend': {'type': 'disk'}, 'heights': [0.0, 1.0]}
    train = {
        'optim_g': {'type': 'AdamW', 'lr': 1e-3},
        'total_iter': 4,
        'position_opt': {'type': 'PositionEnhancedLoss', 'patch_size': 96, 'image_size': 512, 'full_size': 48},
        'multipass_finetune': True,
    }
    train.update(train_extra)
    return {
        'name': 'aos_tiny',
        'model_type': 'AOSRestorationModel',
        'num_gpu': 0,
        'manual_seed': 0,
        'prepare_data': [
            {'type': 'aos_synthetic', 'root': root, 'num_samples': 10, 'size': 48, 'heights': [0, 1], 'workers': 1}
        ],
        'datasets': {
            'train': {
                **data,
                'name': 'AOSTrain',
                'dataroot_lq': f'{root}/train/stacks',
                'dataroot_gt': f'{root}/train/gt',
                'gt_size': 32,
                'person_crop_prob': 0.9,
                'use_hflip': True,
                'use_rot': True,
                'num_worker_per_gpu': 0,
                'batch_size_per_gpu': 2,
            },
            'val': {**data, 'name': 'AOSVal', 'dataroot_lq': f'{root}/val/stacks', 'dataroot_gt': f'{root}/val/gt'},
        },
        'network_g': {
            'type': 'SRCNN',
            'num_in_ch': 2,
            'num_out_ch': 1,
            'upscale': 1,
            'upsample': 'none',
            'num_feat': [8, 4],
            'kernel_sizes': [3, 3, 3],
        },
        'path': {},
        'train': train,
        'val': {
            'val_freq': 2,
            'self_ensemble': {'transforms': 8, 'reduce': 'median'},
            'multipass': {'max_passes': 2},
            'metrics': {'psnr': {'type': 'calculate_psnr', 'crop_border': 0}},
        },
        'logger': {'print_freq': 1, 'save_checkpoint_freq': 4, 'use_tb_logger': False},
    }


def test_train_on_synthetic_aos_data_end_to_end(tmp_path):
    opt = write_yaml(tmp_path / 'aos.yml', aos_options(tmp_path))
    result = run_train(['-opt', opt], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / 'aos' / '.complete').is_file()  # generated on first use
    log = open(glob.glob(str(tmp_path / 'experiments' / 'aos_tiny' / 'train_*.log'))[0]).read()
    assert 'l_pos:' in log and 'Validation AOSVal @ 4 iter' in log and '# val_loss:' in log
    assert 'Model [AOSRestorationModel] is created.' in log


def test_shipped_aos_options_train_and_test(tmp_path):
    from os import path as osp

    from conftest import REPO, run_test

    small = ['prepare_data.0.num_samples=10', 'prepare_data.0.size=64']
    shrink = [
        *small,
        'train.total_iter=2',
        'val.val_freq=2',
        'datasets.train.num_worker_per_gpu=0',
        'datasets.train.gt_size=32',
        'train.position_opt.full_size=64',
        'network_g.img_size=32',
        # three planes in, one grey channel out: multi-plane input end to end
        'datasets.train.heights=[0.0, 0.5, 1.0]',
        'datasets.val.heights=[0.0, 0.5, 1.0]',
        'network_g.in_chans=3',
        'network_g.gray_head=true',
        'val.multipass={max_passes: 2}',
        'logger.print_freq=1',
    ]
    result = run_train(
        ['-opt', osp.join(REPO, 'options', 'train_aos_swin2sr128.yml'), '--cfg-options', *shrink],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    exp = tmp_path / 'experiments' / 'train_AOS_Swin2SR_synthetic128'
    log = open(glob.glob(str(exp / 'train_*.log'))[0]).read()
    assert 'Network: Swin2SR' in log and 'l_pos:' in log and 'Validation AOSSynthetic128Val @ 2 iter' in log
    net = exp / 'models' / 'net_g_latest.pth'
    assert 'conv_gray.weight' in torch.load(net, weights_only=True)['params']
    # the _base_ variant fine-tunes that checkpoint for multi-pass inference
    result = run_train(
        [
            '-opt',
            osp.join(REPO, 'options', 'train_aos_multipass.yml'),
            '--cfg-options',
            *shrink,
            f'path.pretrain_network_g={net}',
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    log = open(
        glob.glob(str(tmp_path / 'experiments' / 'train_AOS_Swin2SR_synthetic128_multipass' / 'train_*.log'))[0]
    ).read()
    assert f'Loading Swin2SR model from {net}' in log and 'l_pos:' in log
    # the raw-integral baseline on the test split ...
    on_test = ['datasets.test_1.name=AOSSynthetic128Test'] + [
        f'datasets.test_1.dataroot_{k}=datasets/aos_synthetic128/test/{d}' for k, d in (('lq', 'stacks'), ('gt', 'gt'))
    ]
    result = run_test(
        ['-opt', osp.join(REPO, 'options', 'test_aos_integral.yml'), '--cfg-options', *small, *on_test], tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    log = open(glob.glob(str(tmp_path / 'results' / 'test_AOS_integral_synthetic128' / 'test_*.log'))[0]).read()
    assert '# psnr:' in log and '# ssim:' in log
    integral_psnr = float(re.search(r'# psnr: ([\d.]+)', log).group(1))
    # ... and the AOS course report's table for the trained three-plane net: every variant x every metric, plus montages
    result = run_test(
        [
            '-opt',
            osp.join(REPO, 'options', 'test_aos.yml'),
            '--cfg-options',
            *small,
            'datasets.test_1.heights=[0.0, 0.5, 1.0]',
            'network_g.in_chans=3',
            'network_g.gray_head=true',
            'network_g.img_size=32',
            f'path.pretrain_network_g={net}',
            'val.report.montages=2',
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    results = tmp_path / 'results' / 'test_AOS_Swin2SR_synthetic128'
    md = (results / 'AOSSynthetic128Test_report.md').read_text()
    assert md.splitlines()[0] == (
        '| | mae (lower) | mse (lower) | psnr (higher) | ssim (higher) | person_psnr (higher) '
        '| person_mask_psnr (higher) | background_psnr (higher) | person_contrast (higher) | person_found (higher) |'
    )
    assert [line.split('|')[1].strip() for line in md.splitlines()[2:]] == [
        'Integral (0 m plane)',
        'Constant at the GT median (oracle)',
        'Constant at the integral median',
        'Simple',
        '+ Self-ensemble',
        '+ Multi-pass',
    ]
    with open(results / 'AOSSynthetic128Test_report.csv') as f:
        rows = {row['variant']: row for row in csv.DictReader(f)}
    assert list(rows) == ['integral', 'oracle_constant', 'blind_constant', 'simple', 'self_ensemble', 'multipass']
    # the integral row is the PlaneSelect baseline's figure; the net's rows are its own
    assert abs(float(rows['integral']['psnr']) - integral_psnr) < 1e-3
    assert float(rows['simple']['psnr']) != float(rows['integral']['psnr'])
    for name in ('oracle_constant', 'blind_constant'):  # a constant keeps no person and finds none (nan: no person)
        assert not float(rows[name]['person_contrast']) > 0 and not float(rows[name]['person_found']) > 0
    assert float(rows['oracle_constant']['background_psnr']) > float(rows['blind_constant']['background_psnr'])
    for row in rows.values():
        assert 0 < float(row['mae']) <= math.sqrt(float(row['mse'])) + 1e-9  # MAE on [0, 1] images, <= RMSE
    montages = sorted((results / 'AOSSynthetic128Test_montages').glob('*.png'))
    n_test = len(list((tmp_path / 'datasets' / 'aos_synthetic128' / 'test' / 'stacks').glob('*.tiff')))
    assert n_test >= 1 and len(montages) == min(2, n_test) and montages[0].name.endswith('_integral.png')
    img = cv2.imread(str(montages[0]))
    assert img.shape[1] > 5 * 256  # integral | simple | +SE | +MP | GT, 64 px tiles shown at 256 px


def test_bad_inference_options_name_the_key(tmp_path):
    """val.self_ensemble, val.multipass and val.report are declared by AOSRestorationModel and checked with the
    options (test.py: before any folder is made); the line names the option file and the key."""
    import re

    import pytest
    from basicsr.models import build_model

    from basicsr_ext.models.aos_test_report import report_variants
    from basicsr_ext.utils.errors import UserError

    from conftest import check_options

    cases = [
        ({'self_ensemble': {'transforms': 3}}, 'val.self_ensemble.transforms: expected one of 4, 8, '
         'got 3 (an integer)'),
        ({'multipass': {'max_passes': 0}}, 'val.multipass.max_passes: expected an integer >= 1, got 0'),
        (
            {'report': {'variants': ['simple', 'tta']}},
            "val.report.variants.1: expected one of 'integral', 'oracle_constant', 'blind_constant', 'simple', "
            "'self_ensemble', 'multipass', got 'tta' (a string)",
        ),
        ({'report': {'variants': 'simple'}}, "val.report.variants: expected a list of integral, oracle_constant, "
         "blind_constant, simple, self_ensemble, multipass, got 'simple' (a string)"),
        ({'report': {'variants': []}}, 'val.report.variants: expected a list of integral, oracle_constant, '
         'blind_constant, simple, self_ensemble, multipass, got [] (a list)'),
        (
            {'report': {'self_ensemble': {'reduce': 'max'}}},
            "val.report.self_ensemble.reduce: expected one of 'median', 'mean', got 'max' (a string)",
        ),
        ({'report': {'max_passes': 1}}, 'val.report.max_passes: expected an integer >= 2, got 1'),
        ({'report': {'plane': 'first'}}, "val.report.plane: expected an integer >= 0, got 'first' (a string)"),
        ({'report': {'montages': -1}}, 'val.report.montages: expected an integer >= 0, got -1'),
    ]  # fmt: skip
    for val, message in cases:
        opt = aos_options(tmp_path)
        opt['val'].update(val)
        with pytest.raises(UserError, match='^unit.yml: ' + re.escape(message) + '$'):
            check_options(opt, is_train=False)
    opt = aos_options(tmp_path)
    opt.update(is_train=False, dist=False, rank=0, world_size=1)
    model = build_model(opt)
    # a plane the input does not have: named, before any output is made
    model.inference = report_variants({'plane': 5})[0][1]
    model.lq = torch.zeros(1, 2, 8, 8)
    with pytest.raises(UserError, match=r'val\.report\.plane: plane 5 asked for, but the input has 2 planes'):
        model.test()
    assert not hasattr(model, 'output')
