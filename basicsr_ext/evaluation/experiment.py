"""The skeleton of the one-command experiment scripts (``scripts/*_experiment.py``): their common flags, training and
testing each run once with its output in a log (a finished run is reused, an interrupted one restarted), reading the
metrics back, and writing the summary JSON and the markdown report. Each script keeps only its runs and its table."""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from glob import glob
from os import path as osp

from basicsr_ext.evaluation.curves import parse_train_log
from basicsr_ext.utils.file_io import write_text_atomic

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


def positive_int(text):
    """An argparse ``type``: an integer >= 1 (iteration counts), else argparse's one-line usage error."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected an integer >= 1, got {text!r}') from None
    if value < 1:
        raise argparse.ArgumentTypeError(f'expected an integer >= 1, got {value}')
    return value


def parse_experiment_args(
    argv,
    description,
    iters,
    doc,
    cfg_help,
    iters_help='training iterations of each run',
    extra=(),
):
    """The flags every experiment script takes: ``--iters``, the script's own (``extra``), ``--doc``, ``--fresh`` and
    ``--cfg-options``.

    Args:
        argv (list[str] | None): Command line; None for ``sys.argv``.
        description (str): The script's one-line description.
        iters (int): Default of ``--iters``.
        doc (str): Default of ``--doc``, the markdown report (relative to the repository).
        cfg_help (str): Help of ``--cfg-options`` (which runs the overrides reach).
        iters_help (str): Help of ``--iters``. Default: 'training iterations of each run'.
        extra (tuple[tuple[str, dict]]): ``(flag, add_argument keywords)`` added after ``--iters``. Default: ().

    Returns:
        argparse.Namespace: The parsed flags.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('--iters', type=positive_int, default=iters, help=iters_help)
    for flag, kwargs in extra:
        parser.add_argument(flag, **kwargs)
    parser.add_argument('--doc', default=doc, help='markdown report to write')
    parser.add_argument('--fresh', action='store_true', help='rerun every step')
    parser.add_argument('--cfg-options', nargs='+', default=[], help=cfg_help)
    return parser.parse_args(argv)


def val_points(log, metric='psnr'):
    """``[(iter, value)]`` of ``metric`` on the first validation set of a train log."""
    return next(iter(parse_train_log(log)['val'].values()))[metric]


class Experiment:
    """The runs of one experiment script, run from the repository root ``repo``.

    Run ``name`` trains as ``experiments/<prefix>_<name>`` and tests as ``results/<prefix>_test_<name>.out``; figures
    go to ``docs/figures``, the summary to ``results/<prefix>.json``.

    Args:
        repo (str): Repository root (the runners' working directory).
        prefix (str): Prefix of every experiment and result name.
        what (str): The script's name, in the message when a runner fails.

    Attributes:
        train_seconds (dict[str, int]): BasicSR's training time (``Time consumed``) per trained run name.
        wall_seconds (dict[str, float]): Wall time of the runs this call trained (a reused run has none).
    """

    def __init__(self, repo, prefix, what):
        self.repo, self.prefix, self.what = repo, prefix, what
        self.train_seconds, self.wall_seconds = {}, {}

    def run(self, cmd, log):
        """Run a runner command from the repo root with its output in ``log``; returns the wall time in seconds."""
        return run_logged(cmd, log, self.repo, self.what)

    def train(self, name, opt_file, overrides, fresh):
        """``basicsr_ext/train.py -opt opt_file`` as ``<prefix>_<name>`` unless it finished before (``fresh``:
        always). Returns ``(best checkpoint, train log)`` and records the run's times."""
        full = f'{self.prefix}_{name}'
        exp = osp.join(self.repo, 'experiments', full)
        if fresh and osp.isdir(exp):
            shutil.rmtree(exp)
        if not osp.isfile(osp.join(exp, 'models', 'net_g_latest.pth')):
            if osp.isdir(exp):  # an interrupted run: start again rather than resume with other options
                shutil.rmtree(exp)
            cmd = [sys.executable, 'basicsr_ext/train.py', '-opt', opt_file, '--cfg-options', f'name={full}']
            self.wall_seconds[name] = self.run([*cmd, *overrides], osp.join(self.repo, 'experiments', f'{full}.out'))
        log = sorted(glob(osp.join(exp, 'train_*.log')))[-1]
        self.train_seconds[name] = training_seconds(log)
        return osp.join(exp, 'models', 'net_g_best.pth'), log

    def test(self, name, opt_file, overrides, fresh):
        """``basicsr_ext/test.py -opt opt_file`` as ``<prefix>_test_<name>`` unless its output exists (``fresh``:
        always). Returns ``{dataset: {metric: value}}``."""
        full = f'{self.prefix}_test_{name}'
        out = osp.join(self.repo, 'results', f'{full}.out')
        if fresh or not osp.isfile(out):
            cmd = [sys.executable, 'basicsr_ext/test.py', '-opt', opt_file, '--cfg-options', f'name={full}']
            self.run([*cmd, *overrides], out)
        with open(out) as f:
            text = f.read()
        return {
            m.group(1): {k: float(v) for k, v in re.findall(r'# (\S+): ([0-9.]+)', m.group(2))}
            for m in _RESULT.finditer(text)
        }

    def figure(self, filename):
        """Path of a figure in ``docs/figures``."""
        return osp.join(self.repo, 'docs', 'figures', filename)

    def finish(self, summary, lines, doc, text):
        """Write ``summary`` to ``results/<prefix>.json``, print the table ``lines``, write the report ``text`` to
        ``doc`` (relative to the repo)."""
        write_text_atomic(osp.join(self.repo, 'results', f'{self.prefix}.json'), json.dumps(summary, indent=2))
        print('\n'.join(lines))
        write_text_atomic(osp.join(self.repo, doc), text)
        print(f'wrote {doc}')
