"""Two-stage modulation training end to end: every shipped modulation option file trains a few iterations through
basicsr_ext/train.py (stage 1, then AdaFM / FTN / FTN-gc16 / DNI from its checkpoint), stage 2 leaves the base
weights bit-identical (also with EMA and under DDP), the test option file runs, and the errors are one line."""

import glob
import os
import shutil

import pytest
import torch
import yaml
from test_distributed import torchrun

import basicsr_ext  # noqa: F401  (before basicsr)
from basicsr_ext.archs.modulation_arch import modulation_param_names

from conftest import SHRINK_4_ITERS, option, read_log, run_test, run_train

NET = ['network_g.num_feat=8', 'network_g.num_block=2']
SHRINK = [*SHRINK_4_ITERS, *NET]
BASE_EXP = 'train_AdaFMNet_base_sigma20'


def params(path, key='params'):
    return torch.load(path, map_location='cpu', weights_only=True)[key]


@pytest.fixture(scope='module')
def base_run(tmp_path_factory):
    cwd = tmp_path_factory.mktemp('modulation')
    return cwd, run_train(['-opt', option('train_modulation_base.yml'), '--cfg-options', *SHRINK], cwd)


def stage_dir(tmp_path, base_run):
    """A fresh run folder holding the generated photos and the stage-1 experiment (found at the option file's path)."""
    shutil.copytree(base_run[0] / 'datasets', tmp_path / 'datasets')
    shutil.copytree(base_run[0] / 'experiments' / BASE_EXP, tmp_path / 'experiments' / BASE_EXP)
    return tmp_path


def test_stage1_trains_the_plain_base(base_run):
    cwd, result = base_run
    assert result.returncode == 0, result.stderr[-3000:]
    exp = cwd / 'experiments' / BASE_EXP
    assert sorted(os.listdir(exp / 'models')) == ['net_g_best.pth', 'net_g_latest.pth']
    log = read_log(exp)
    assert 'Model [ModulationModel] is created' in log and 'network_g has no modulation layers' in log
    assert 'Validation SamplePhotosDenoiseVal @ 4 iter' in log and '# psnr:' in log
    assert not any('adafm' in k or 'ftn' in k for k in params(exp / 'models' / 'net_g_latest.pth'))


@pytest.mark.parametrize(
    'opt_file, name, kind, extra',
    [
        ('train_modulation_adafm.yml', 'train_AdaFMNet_adafm_sigma80', 'adafm', ['train.ema_decay=0.9']),
        ('train_modulation_ftn.yml', 'train_AdaFMNet_ftn_sigma80', 'ftn', []),
        ('train_modulation_ftn_gc16.yml', 'train_AdaFMNet_ftn_gc16_sigma80', 'ftn', []),
    ],
)
def test_stage2_trains_only_the_modulation_layers(tmp_path, base_run, opt_file, name, kind, extra):
    from basicsr.archs import build_network

    cwd = stage_dir(tmp_path, base_run)
    result = run_train(['-opt', option(opt_file), '--cfg-options', *SHRINK, *extra], cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    exp = cwd / 'experiments' / name
    resolved = yaml.safe_load((exp / opt_file).read_text())
    assert resolved['datasets']['train']['noise']['sigma'] == 80 and resolved['datasets']['val']['noise']['sigma'] == 80
    net = build_network(dict(resolved['network_g']))
    extra_names = modulation_param_names(net)
    n_extra = sum(p.numel() for n, p in net.named_parameters() if n in extra_names)
    n_all = sum(p.numel() for p in net.parameters())
    log = read_log(exp)
    assert f"train.trainable_params ['{kind}']: {n_extra:,} of {n_all:,} parameters train" in log
    assert 'Loaded the base network from experiments/train_AdaFMNet_base_sigma20/models/net_g_best.pth' in log
    assert 'will not be optimized' not in log  # one summary line, not a warning per frozen tensor
    base = params(cwd / 'experiments' / BASE_EXP / 'models' / 'net_g_best.pth')
    after = params(exp / 'models' / 'net_g_latest.pth')
    assert set(after) - set(base) == extra_names
    for key, value in base.items():  # frozen: bit-identical after stage 2
        assert torch.equal(after[key], value), key
    fresh = net.state_dict()
    assert any(not torch.equal(after[n], fresh[n]) for n in extra_names)  # the modulation layers did train
    if 'train.ema_decay=0.9' in extra:
        ema = params(exp / 'models' / 'net_g_latest.pth', 'params_ema')
        for key, value in base.items():
            assert torch.equal(ema[key], value), key


def test_dni_stage_finetunes_the_whole_base(tmp_path, base_run):
    cwd = stage_dir(tmp_path, base_run)
    result = run_train(['-opt', option('train_modulation_dni.yml'), '--cfg-options', *SHRINK], cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    exp = cwd / 'experiments' / 'train_AdaFMNet_dni_sigma80'
    base = params(cwd / 'experiments' / BASE_EXP / 'models' / 'net_g_best.pth')
    after = params(exp / 'models' / 'net_g_latest.pth')
    assert set(after) == set(base)  # the same network: the two endpoints of DNI
    assert sum(not torch.equal(after[k], v) for k, v in base.items()) == len(base)


def test_test_option_file_runs_at_a_coefficient(tmp_path, base_run):
    cwd = stage_dir(tmp_path, base_run)
    stage2 = ['-opt', option('train_modulation_adafm.yml'), '--cfg-options', *SHRINK]
    assert run_train(stage2, cwd).returncode == 0
    result = run_test(['-opt', option('test_modulation_adafm.yml'), '--cfg-options', *NET], cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    out = cwd / 'results' / 'test_AdaFMNet_adafm_coef0.5_sigma40'
    assert len(os.listdir(out / 'visualization' / 'SamplePhotosDenoiseSigma40')) == 8
    log = open(glob.glob(str(out / 'test_*.log'))[0]).read()
    assert '# psnr:' in log and 'coefficient 0.5' in log


def test_stage2_under_ddp_keeps_the_base_frozen(tmp_path, base_run):
    cwd = stage_dir(tmp_path, base_run)
    args = ['-opt', option('train_modulation_ftn_gc16.yml'), '--launcher', 'pytorch', '--cfg-options', *SHRINK]
    result = torchrun([*args, 'num_gpu=0'], cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    exp = cwd / 'experiments' / 'train_AdaFMNet_ftn_gc16_sigma80'
    base = params(cwd / 'experiments' / BASE_EXP / 'models' / 'net_g_best.pth')
    after = params(exp / 'models' / 'net_g_latest.pth')
    for key, value in base.items():
        assert torch.equal(after[key], value), key
    assert set(after) - set(base)


@pytest.mark.parametrize(
    'overrides, message',
    [
        (['train.trainable_params=[film]'], "train.trainable_params: 'film' matches no parameter of AdaFMNet"),
        (["train.trainable_params=['(']"], 'train.trainable_params: expected a list of regular expressions'),
        (['network_g.num_feat=16'], 'does not fit AdaFMNet: conv_first.weight has shape (8, 3, 3, 3)'),
        (['network_g.modulation.kernel_size=4'], 'modulation.kernel_size: expected an odd int'),
    ],
)
def test_stage2_errors_are_one_line(tmp_path, base_run, overrides, message):
    cwd = stage_dir(tmp_path, base_run)
    result = run_train(['-opt', option('train_modulation_adafm.yml'), '--cfg-options', *SHRINK, *overrides], cwd)
    assert result.returncode != 0
    assert message in result.stderr and 'Traceback' not in result.stderr, result.stderr[-2000:]


def test_modulated_net_wraps_the_base_through_train_py(tmp_path, base_run):
    """``type: ModulatedNet`` around the stage-1 network: its checkpoint loads, FTN on two chosen convs trains."""
    from basicsr_ext.utils.options import resolve_options

    cwd = stage_dir(tmp_path, base_run)
    opt = resolve_options(option('train_modulation_ftn.yml'), SHRINK)
    base_net = {k: v for k, v in opt['network_g'].items() if k != 'modulation'}
    opt['network_g'] = {
        'type': 'ModulatedNet',
        'base': base_net,
        'modulation': {'type': 'ftn', 'convs': [r'^conv_(first|last)$'], 'groups': 1},
    }
    opt['name'] = 'modulated_net'
    path = cwd / 'modulated_net.yml'
    path.write_text(yaml.safe_dump(opt))
    result = run_train(['-opt', str(path)], cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    exp = cwd / 'experiments' / 'modulated_net'
    log = read_log(exp)
    assert 'Network [AdaFMNet] is created' in log and 'Modulation: 2 layers (FTNConv2d)' in log
    base = params(cwd / 'experiments' / BASE_EXP / 'models' / 'net_g_best.pth')
    after = params(exp / 'models' / 'net_g_latest.pth')
    assert sorted({k.split('.ftn.')[0] for k in set(after) - set(base)}) == ['conv_first', 'conv_last']
    assert all(torch.equal(after[k], v) for k, v in base.items())
