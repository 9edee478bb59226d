"""Sharded validation and testing under DDP: every rank runs its share of the set, the sums are all-reduced, and the
results equal a single-process run's (torchrun with two gloo processes on the CPU, against ``test.py`` in-process)."""

import csv
import glob
import re

import pytest
import torch
from test_aos_model import aos_options
from test_distributed import output_of, torchrun

from basicsr_ext.archs.srcnn_arch import SRCNN

from conftest import TEST_PY, make_pairs, run_test, tiny_options, write_yaml


def _srcnn_weights(net_opt, path):
    with torch.random.fork_rng():
        torch.manual_seed(7)
        net = SRCNN(**{k: v for k, v in net_opt.items() if k != 'type'})
    torch.save({'params': net.state_dict()}, path)
    return str(path)


def _logged_results(results_dir):
    log = open(sorted(glob.glob(str(results_dir / 'test_*.log')))[-1]).read()
    return dict(re.findall(r'# (\w+): ([-\d.na]+)', log))


def test_sharded_test_metrics_equal_the_single_process_ones(tmp_path):
    make_pairs(str(tmp_path / 'data' / 'train'), 2, 32, seed=1)
    make_pairs(str(tmp_path / 'data' / 'val'), 5, 24, seed=2)  # 5 images: ranks get 3 and 2
    opt = tiny_options(str(tmp_path / 'data'))
    del opt['train'], opt['datasets']['train']
    opt['datasets']['test_1'] = opt['datasets'].pop('val')
    opt['val']['metrics']['ssim'] = {'type': 'calculate_ssim', 'crop_border': 2}
    opt['val']['save_img'] = True
    opt['path']['pretrain_network_g'] = _srcnn_weights(opt['network_g'], tmp_path / 'net.pth')
    single = dict(opt, name='single')
    assert run_test(['-opt', write_yaml(tmp_path / 'single.yml', single)], tmp_path).returncode == 0
    ddp_file = write_yaml(tmp_path / 'ddp.yml', dict(opt, name='ddp'))
    proc = torchrun(['-opt', ddp_file, '--launcher', 'pytorch'], tmp_path, script=TEST_PY)
    assert proc.returncode == 0, output_of(proc)[-4000:]

    one, two = _logged_results(tmp_path / 'results' / 'single'), _logged_results(tmp_path / 'results' / 'ddp')
    assert set(one) == {'psnr', 'ssim'} and one == two
    # every image was restored once, by one of the ranks
    saved = sorted(p.name for p in (tmp_path / 'results' / 'ddp' / 'visualization' / 'TinyVal').glob('*.png'))
    assert saved == [f'img{i:03d}_ddp.png' for i in range(5)]


def test_sharded_aos_report_equals_the_single_process_one(tmp_path):
    from basicsr_ext.data.prepare import run_prepare

    opt = aos_options(tmp_path)
    run_prepare(opt.pop('prepare_data'))
    del opt['train'], opt['datasets']['train']
    root = tmp_path / 'aos' / 'train'  # the largest split: a test set of several samples, uneven shares
    opt['datasets']['test_1'] = dict(
        opt['datasets'].pop('val'), name='AOSTest', dataroot_lq=str(root / 'stacks'), dataroot_gt=str(root / 'gt')
    )
    opt['val'] = {
        'metrics': {
            'psnr': {'type': 'calculate_psnr', 'crop_border': 0},
            'mae': {'type': 'calculate_mae', 'better': 'lower'},
        },
        'report': {'montages': 3, 'max_passes': 2},
        'save_img': False,
    }
    opt['path']['pretrain_network_g'] = _srcnn_weights(opt['network_g'], tmp_path / 'net.pth')
    assert run_test(['-opt', write_yaml(tmp_path / 'single.yml', dict(opt, name='single'))], tmp_path).returncode == 0
    ddp_file = write_yaml(tmp_path / 'ddp.yml', dict(opt, name='ddp'))
    proc = torchrun(['-opt', ddp_file, '--launcher', 'pytorch'], tmp_path, script=TEST_PY)
    assert proc.returncode == 0, output_of(proc)[-4000:]

    def table(name):
        with open(tmp_path / 'results' / name / 'AOSTest_report.csv') as f:
            return {
                row['variant']: {k: float(v) for k, v in row.items() if k != 'variant'} for row in csv.DictReader(f)
            }

    one, two = table('single'), table('ddp')
    assert (
        list(one)
        == list(two)
        == [
            'integral',
            'oracle_constant',
            'blind_constant',
            'simple',
            'self_ensemble',
            'multipass',
        ]
    )
    for variant in one:
        for metric, value in one[variant].items():
            assert two[variant][metric] == pytest.approx(value, rel=1e-12, abs=1e-12), (variant, metric)
    # the montages are those of the set's first samples, as in one process
    montages = [
        sorted(p.name for p in (tmp_path / 'results' / n / 'AOSTest_montages').glob('*.png')) for n in ('single', 'ddp')
    ]
    assert len(montages[0]) == 3 and montages[0] == montages[1]
