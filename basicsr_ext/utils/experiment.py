"""What the one-command experiment scripts (``scripts/*_experiment.py``) share: run a runner with its output in a
log, train once (a finished run is reused, an interrupted one restarted), test once and read the metrics back."""

import os
import re
import shutil
import subprocess
import sys
import time
from glob import glob
from os import path as osp

_RESULT = re.compile(r'Validation (\S+)(?: @ .*)?\n((?:\s*# \S+: \S+.*\n)+)')


def run_logged(cmd, log, cwd, what):
    """Run ``cmd`` in ``cwd`` with stdout and stderr to ``log``; exit naming ``what`` and the log if it fails.
    Returns the wall time in seconds."""
    print('$ ' + ' '.join(cmd), flush=True)
    start = time.time()
    os.makedirs(osp.dirname(log), exist_ok=True)
    with open(log, 'w') as f:
        result = subprocess.run(cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        sys.exit(f'{what}: failed (exit {result.returncode}), see {log}')
    return time.time() - start


def training_seconds(log):
    """BasicSR's own measure of a run's training loop (``Time consumed``; data preparation and start-up excluded)."""
    with open(log) as f:
        h, m, s = re.findall(r'Time consumed: (\d+):(\d+):(\d+)', f.read())[-1]
    return 3600 * int(h) + 60 * int(m) + int(s)


def train_once(repo, name, opt_file, overrides, fresh, what):
    """``basicsr_ext/train.py -opt opt_file`` as experiment ``name`` unless it finished before (``fresh``: always).
    Returns ``(best checkpoint, train log, training seconds)``."""
    exp = osp.join(repo, 'experiments', name)
    if fresh and osp.isdir(exp):
        shutil.rmtree(exp)
    if not osp.isfile(osp.join(exp, 'models', 'net_g_latest.pth')):
        if osp.isdir(exp):  # an interrupted run: start again rather than resume with other options
            shutil.rmtree(exp)
        cmd = [sys.executable, 'basicsr_ext/train.py', '-opt', opt_file, '--cfg-options', f'name={name}', *overrides]
        run_logged(cmd, osp.join(repo, 'experiments', f'{name}.out'), repo, what)
    log = sorted(glob(osp.join(exp, 'train_*.log')))[-1]
    return osp.join(exp, 'models', 'net_g_best.pth'), log, training_seconds(log)


def test_once(repo, name, opt_file, overrides, fresh, what):
    """``basicsr_ext/test.py -opt opt_file`` as ``name`` unless its output exists; ``{dataset: {metric: value}}``."""
    out = osp.join(repo, 'results', f'{name}.out')
    if fresh or not osp.isfile(out):
        cmd = [sys.executable, 'basicsr_ext/test.py', '-opt', opt_file, '--cfg-options', f'name={name}', *overrides]
        run_logged(cmd, out, repo, what)
    with open(out) as f:
        text = f.read()
    return {
        m.group(1): {k: float(v) for k, v in re.findall(r'# (\S+): ([0-9.]+)', m.group(2))}
        for m in _RESULT.finditer(text)
    }
