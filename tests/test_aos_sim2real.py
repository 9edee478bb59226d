"""The AOS main job end to end: options/train_aos.yml (shrunk) trains, exports, restores its test split and reports the
person scores beside the baselines."""

import csv
import glob
import sys
from os import path as osp

import cv2
import pytest
import torch

from conftest import REPO, run_train

sys.path.insert(0, osp.join(REPO, 'scripts'))
import aos_restore  # noqa: E402
import export_restorer as export_script  # noqa: E402

SHRINK = [
    'prepare_data.0.num_samples=10',
    'prepare_data.0.size=64',
    'train.total_iter=2',
    'val.val_freq=2',
    'logger.print_freq=1',
    'datasets.train.gt_size=32',
    'datasets.train.batch_size_per_gpu=2',
    'datasets.train.num_worker_per_gpu=0',
    'datasets.train.dataset_enlarge_ratio=1',
    'train.position_opt.full_size=64',
    f'path.pretrain_network_g={osp.join(REPO, "weights", "aos_ground.pth")}',  # the test runs in a temp folder
]


def test_main_job_trains_exports_and_restores_its_test_split(tmp_path, capsys):
    result = run_train(['-opt', osp.join(REPO, 'options', 'train_aos.yml'), '--cfg-options', *SHRINK], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    exp = tmp_path / 'experiments' / 'train_AOS_person'
    log = open(glob.glob(str(exp / 'train_*.log'))[0]).read()
    assert 'Network: AOSPersonFillNet' in log and 'l_pos:' in log and 'Validation AOSSim2RealVal @ 2 iter' in log
    assert '# person_contrast:' in log and '# person_found:' in log
    # every phase of the data preparation says what it does (the integration was silent for minutes)
    output = result.stdout + result.stderr
    for phase in ('aos simulate', 'aos integrate: 10 complete samples', 'aos_synthetic: integrated in'):
        assert phase in output, phase
    data = tmp_path / 'datasets' / 'aos_person512'
    assert not (data / 'raw').exists()  # keep_raw: false
    net = exp / 'models' / 'net_g_latest.pth'
    assert 'params_ema' not in torch.load(net, weights_only=True)  # no EMA: validation scores what ships

    # the shipped-weights path: export (the option file's network and planes), then restore
    shipped = tmp_path / 'weights' / 'aos_person.pth'
    export_script.main([str(net), osp.join(REPO, 'options', 'train_aos.yml'), str(shipped)])
    meta = torch.load(shipped, weights_only=True)['meta']
    assert meta['heights'] == [0.0, 0.4, 0.8] and meta['network_g']['type'] == 'AOSPersonFillNet'
    assert meta['network_g']['person_top_k'] == 1  # the gate ships with the weights
    assert meta['param_key'] == 'params'
    with pytest.raises(SystemExit) as info:  # a group the checkpoint lacks is a one-line error
        export_script.main([str(net), osp.join(REPO, 'options', 'train_aos.yml'), str(shipped), '--param-key', 'ema'])
    assert info.value.code == 2 and "no parameter group 'ema'" in capsys.readouterr().err
    out = tmp_path / 'restored'
    stacks = data / 'test' / 'stacks'
    aos_restore.main(
        ['--input', str(stacks), '--gt', str(data / 'test' / 'gt'), '--output', str(out)]
        + ['--model', str(shipped), '--device', 'cpu']
    )
    names = sorted(p.stem.replace('_integral', '') for p in stacks.glob('*.tiff'))
    written = sorted(p.name for p in out.glob('*.png') if p.name != 'montages.png')  # montages.png: the sheet
    assert len(written) == len(names) >= 1
    img = cv2.imread(str(out / written[0]), cv2.IMREAD_UNCHANGED)
    assert img.shape == (64, 64) and img.dtype.name == 'uint8'
    with open(out / 'report.csv') as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4 * len(names)  # per sample: integral, the two constants, restored
    assert [r['method'] for r in rows[:4]] == ['integral', 'oracle constant', 'blind constant', 'restored']
    assert float(rows[3]['psnr']) > 0
    assert (out / 'report.md').read_text() in capsys.readouterr().out  # the table is printed too
    assert (out / 'persons.csv').read_text().count('\n') > len(names)  # a header and >= 1 candidate per input
