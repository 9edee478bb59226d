"""The real entry points: shipped option files, _base_ variants, test.py, and user errors. ``main(argv)`` runs in
this process, except the acceptance command, run once as ``python basicsr_ext/train.py`` from a checkout."""

import glob
import os
import shutil
from os import path as osp

import pytest
import torch
import yaml

from conftest import REPO, TRAIN_PY, run_entry, run_test, run_train, tiny_options, write_yaml

SHIPPED = osp.join(REPO, 'options', 'train_srcnn.yml')


def one_line_error(result, after_logging=False):
    """The run ended with exit 2 and one error line, no traceback. Errors found before training starts are the only
    stderr line; ``after_logging`` errors come after BasicSR's log lines (its logger writes to stderr)."""
    assert result.returncode == 2, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert 'Traceback' not in result.stderr
    assert [line for line in lines if 'error: ' in line and line.startswith('basicsr-ext')] == lines[-1:]
    assert lines[-1].startswith('basicsr-ext: error: '), result.stderr[-2000:]
    if not after_logging:
        assert len(lines) == 1, result.stderr[-2000:]
    return lines[-1]


@pytest.fixture(scope='module')
def shipped_run(tmp_path_factory):
    """The acceptance command on a shipped option file, run once from an empty directory: the one test of
    ``python basicsr_ext/train.py`` as a script in its own process."""
    cwd = tmp_path_factory.mktemp('shipped')
    overrides = ['train.total_iter=4', 'val.val_freq=2', 'logger.print_freq=2']
    result = run_entry(TRAIN_PY, ['-opt', SHIPPED, '--cfg-options', *overrides], cwd)
    return cwd, result


def test_shipped_option_trains_validates_and_checkpoints(shipped_run):
    cwd, result = shipped_run
    assert result.returncode == 0, result.stderr[-3000:]
    exp = cwd / 'experiments' / 'train_SRCNNx2_sample_photos'
    assert (cwd / 'datasets' / 'sample_photos' / '.complete').is_file()  # generated on first use
    assert len(glob.glob(str(cwd / 'datasets' / 'sample_photos' / 'train' / 'HR' / '*.png'))) == 6
    models = sorted(os.listdir(exp / 'models'))
    assert models == ['net_g_best.pth', 'net_g_latest.pth']
    params = torch.load(exp / 'models' / 'net_g_latest.pth', weights_only=True)['params']
    assert set(params) == {f'conv{i}.{p}' for i in (1, 2, 3) for p in ('weight', 'bias')}
    log = open(glob.glob(str(exp / 'train_*.log'))[0]).read()
    assert log.count('Validation SamplePhotosVal') == 2  # iters 2 and 4; not again after training (it ends at 4)
    assert '# val_loss:' in log and '# psnr:' in log
    assert 'Best: ' in log and '@ 4 iter' in log and '@ 5 iter' not in log  # final validation is at iter 4
    assert 'eta: 0:00:00,' in log and 'day' not in log  # the last iteration has nothing left (BasicSR: -1 day)


def test_resolved_option_file_is_what_ran(shipped_run):
    cwd, _ = shipped_run
    copied = cwd / 'experiments' / 'train_SRCNNx2_sample_photos' / 'train_srcnn.yml'
    resolved = yaml.safe_load(copied.read_text())
    original = yaml.safe_load(open(SHIPPED))
    assert resolved['train']['total_iter'] == 4 and resolved['val']['val_freq'] == 2
    original['train']['total_iter'], original['val']['val_freq'], original['logger']['print_freq'] = 4, 2, 2
    assert resolved == original
    assert copied.read_text().startswith('# Resolved from')


def test_base_variant_changes_only_what_it_states(tmp_path, shipped_run):
    shipped_cwd, _ = shipped_run
    shutil.copytree(shipped_cwd / 'datasets', tmp_path / 'datasets')  # skip regenerating the photos
    variant = osp.join(REPO, 'options', 'train_srcnn_adamw_plateau.yml')
    result = run_train(['-opt', variant, '--cfg-options', 'train.total_iter=4', 'val.val_freq=2'], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    exp = tmp_path / 'experiments' / 'train_SRCNNx2_sample_photos_adamw_plateau'
    resolved = yaml.safe_load((exp / 'train_srcnn_adamw_plateau.yml').read_text())
    base = yaml.safe_load(open(SHIPPED))
    child = yaml.safe_load(open(variant))
    assert resolved['train']['scheduler'] == {k: v for k, v in child['train']['scheduler'].items() if k != '_delete_'}
    assert resolved['train']['optim_g'] == {**base['train']['optim_g'], **child['train']['optim_g']}
    assert resolved['train']['accumulate_grad_batches'] == 2
    for key in set(base) | set(resolved):  # every other top-level block is the base's
        if key not in ('name', 'train', 'val'):
            assert resolved[key] == base[key], key
    log = open(glob.glob(str(exp / 'train_*.log'))[0]).read()
    assert 'accumulate_grad_batches=2' in log and 'AdamW' in log


def test_test_runner_writes_results_and_metrics(tmp_path, shipped_run):
    shipped_cwd, _ = shipped_run
    shutil.copytree(shipped_cwd / 'datasets', tmp_path / 'datasets')
    net = shipped_cwd / 'experiments' / 'train_SRCNNx2_sample_photos' / 'models' / 'net_g_best.pth'
    result = run_test(
        ['-opt', osp.join(REPO, 'options', 'test_srcnn.yml'), '--cfg-options', f'path.pretrain_network_g={net}'],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / 'results' / 'test_SRCNNx2_sample_photos'
    assert sorted(os.listdir(out / 'visualization' / 'SamplePhotosVal')) == [
        'chelsea_test_SRCNNx2_sample_photos.png',
        'coffee_test_SRCNNx2_sample_photos.png',
    ]
    log = open(glob.glob(str(out / 'test_*.log'))[0]).read()
    assert '# psnr:' in log and '# ssim:' in log and 'val_loss' not in log


def test_experiments_go_under_path_root(tmp_path, tiny_data):
    root = tmp_path / 'elsewhere'
    opt = write_yaml(tmp_path / 'o.yml', tiny_options(tiny_data, total_iter=2))
    result = run_train(['-opt', opt, '--cfg-options', f'+path.root={root}'], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (root / 'experiments' / 'tiny' / 'models' / 'net_g_latest.pth').is_file()
    assert not (tmp_path / 'experiments').exists()


def test_unknown_type_is_one_line_with_suggestions(tmp_path, tiny_data):
    opt = tiny_options(tiny_data)
    opt['network_g']['type'] = 'SRCN'
    line = one_line_error(run_train(['-opt', write_yaml(tmp_path / 'o.yml', opt)], tmp_path))
    assert "network_g.type: unknown arch 'SRCN'. Closest registered names: SRCNN" in line
    assert not (tmp_path / 'experiments').exists()


def test_missing_dataroot_names_key_and_path(tmp_path, tiny_data):
    opt = tiny_options(tiny_data)
    opt['datasets']['train']['dataroot_gt'] = str(tmp_path / 'missing')
    line = one_line_error(run_train(['-opt', write_yaml(tmp_path / 'o.yml', opt)], tmp_path))
    assert f'datasets.train.dataroot_gt: path not found: {tmp_path / "missing"}' in line
    assert not (tmp_path / 'experiments').exists()


def test_missing_pretrained_network_names_key(tmp_path, tiny_opt_file):
    line = one_line_error(
        run_train(['-opt', tiny_opt_file, '--cfg-options', 'path.pretrain_network_g=/no/net.pth'], tmp_path)
    )
    assert 'path.pretrain_network_g: pretrained network not found: /no/net.pth' in line


def test_unknown_cfg_option_and_missing_file(tmp_path, tiny_opt_file):
    line = one_line_error(run_train(['-opt', tiny_opt_file, '--cfg-options', 'train.total_iters=4'], tmp_path))
    assert "--cfg-options train.total_iters: unknown key 'total_iters' under train; did you mean total_iter" in line
    line = one_line_error(run_train(['-opt', str(tmp_path / 'nope.yml')], tmp_path))
    assert f'option file not found: {tmp_path / "nope.yml"}' in line
    assert not (tmp_path / 'experiments').exists()


def test_console_script_is_installed():
    exe = shutil.which('basicsr-ext-train')
    assert exe is not None, 'pip install -e . provides basicsr-ext-train'


def test_small_dataset_still_reaches_total_iter(tmp_path):
    from conftest import make_pairs

    make_pairs(str(tmp_path / 'd' / 'train'), 3, 32, seed=3)  # 3 images, batch 2: one batch per epoch
    make_pairs(str(tmp_path / 'd' / 'val'), 1, 24, seed=4)
    opt = tiny_options(str(tmp_path / 'd'), total_iter=7)
    opt['logger']['save_checkpoint_freq'] = 100
    result = run_train(['-opt', write_yaml(tmp_path / 'o.yml', opt)], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    log = open(glob.glob(str(tmp_path / 'experiments' / 'tiny' / 'train_*.log'))[0]).read()
    assert 'iter:       7,' in log and 'iter:       8,' not in log
    assert 'epoch:  6, iter:       7,' in log  # one iteration per epoch, epochs counted from 0


def test_dataset_smaller_than_a_batch_is_one_line(tmp_path):
    from conftest import make_pairs

    make_pairs(str(tmp_path / 'd' / 'train'), 1, 32, seed=3)
    make_pairs(str(tmp_path / 'd' / 'val'), 1, 24, seed=4)
    opt = tiny_options(str(tmp_path / 'd'))
    opt_file = write_yaml(tmp_path / 'o.yml', opt)
    line = one_line_error(run_train(['-opt', opt_file], tmp_path), after_logging=True)
    assert f'{opt_file}: datasets.train: 1 samples give no full batch of batch_size_per_gpu=2' in line
