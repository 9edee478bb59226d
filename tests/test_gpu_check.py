"""The prepared GPU check runs on the CPU in its dry-run mode, so it works the day a GPU is lent (a subprocess: the
shell script and torchrun's processes are what is tested)."""

import json
import os
import subprocess
import sys
from os import path as osp

import pytest
import torch

from conftest import REPO, run_script


def test_gpu_check_dry_run_prints_every_row(tmp_path):
    out = tmp_path / 'rows.json'
    run = subprocess.run(
        ['bash', osp.join(REPO, 'scripts', 'gpu_check.sh'), '--dry-run', '--out', str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, PYTHON=sys.executable),  # the interpreter running the tests, whatever python3 is
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    rows = {row[0]: row[2] for row in json.loads(out.read_text())['rows']}
    assert rows['train step, AMP fp16'].startswith('skipped')  # CUDA only
    for name in ('train step, fp32', 'train step, AMP bf16'):
        assert rows[name].endswith('it/s')
    assert 'self-ensemble x8, 1 per forward (auto)' in rows  # the CPU's automatic chunk
    assert rows['inference, tiled'].endswith('images/s')
    for name in ('aos_person', 'msrresnet_x2'):
        assert rows[f'Restorer {name}, channels-last vs contiguous'].endswith('x)')
    assert rows['DDP smoke run (train.py, torchrun)'].startswith('ok: 4 iterations')
    assert '| check ' in run.stdout and 'gpu_check on CPU (dry run)' in run.stdout


def test_gpu_check_without_a_gpu_says_so(tmp_path):
    if torch.cuda.is_available():
        pytest.skip('a GPU is visible')
    run = run_script('gpu_check', [], tmp_path)
    assert run.returncode == 2
    assert (
        run.stderr.strip()
        == 'gpu_check: error: no CUDA device is visible (use --dry-run to check the script on the CPU)'
    )
