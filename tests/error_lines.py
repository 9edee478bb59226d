"""Helpers of the bad-input corpora: edits of an option dict, and the checks every case makes (one line, exit 2,
nothing written)."""

import os
from os import path as osp

ERR = 'basicsr-ext: error: '
UNKNOWN = 'keys of your own go under the top-level extra: mapping'


def set_key(opt, dotted, value):
    keys = dotted.split('.')
    node = opt
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value


def drop_key(opt, dotted):
    keys = dotted.split('.')
    node = opt
    for key in keys[:-1]:
        node = node[key]
    del node[keys[-1]]


def setting(dotted, value):
    return lambda opt, tmp: set_key(opt, dotted, value)


def dropping(dotted):
    return lambda opt, tmp: drop_key(opt, dotted)


def assert_one_line_error(run, expected, prefix=False):
    """Exit 2, no traceback, and the last stderr line is exactly ``basicsr-ext: error: <expected>``."""
    assert run.returncode == 2, run.stderr[-3000:]
    assert 'Traceback' not in run.stderr, run.stderr[-3000:]
    last = run.stderr.strip().splitlines()[-1]
    if prefix:
        assert last.startswith(ERR + expected), last
    else:
        assert last == ERR + expected


def assert_nothing_written(tmp_path, run_folders=True):
    """No temp file anywhere; with ``run_folders`` no experiments/results folder either."""
    leftovers = [osp.join(d, f) for d, _, files in os.walk(tmp_path) for f in files if '.tmp' in f]
    assert not leftovers, leftovers
    if run_folders:
        made = [name for name in ('experiments', 'results', 'tb_logger') if (tmp_path / name).exists()]
        assert not made, made
