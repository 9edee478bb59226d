"""Shared fixtures: tiny paired-image data and option files made by the tests, and runners for the entry points
(in this process; a subprocess only where the process boundary itself is under test)."""

import contextlib
import gc
import glob
import importlib.util
import io
import logging
import multiprocessing
import os
import signal
import subprocess
import sys
from collections import namedtuple
from os import path as osp

import cv2
import numpy as np
import pytest
import torch
import yaml

import basicsr_ext  # noqa: F401  (applies compat before any test imports basicsr)
from basicsr_ext.data import realesr_pairs

# One intra-op thread, as the entry points always had in their subprocesses (OMP_NUM_THREADS=1): the tests' tensors
# are tiny, and on a 2-core machine shared with other jobs two threads per op mostly wait for each other (3-5x
# slower under load).
torch.set_num_threads(1)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TRAIN_PY = osp.join(REPO, 'basicsr_ext', 'train.py')
TEST_PY = osp.join(REPO, 'basicsr_ext', 'test.py')


@contextlib.contextmanager
def workers_killed_after():
    """Kill the DataLoader worker processes started inside the block when it ends, as a command line's exit does.

    For runs that end in a data error with workers: the iterator the error leaves in a reference cycle would be shut
    down by the garbage collector at some later moment, and in this long-lived, multi-threaded process its forked
    workers often do not exit when asked, so torch joins each for 5 s. Hence no automatic collection inside the
    block (it could start that shutdown before the workers are gone), and SIGCHLD at its default while they are
    killed and reaped (torch's DataLoader handler would report them as failed; once reaped it skips them). When the
    iterator is collected later, its shutdown finds the workers gone and returns at once.
    """
    before = set(multiprocessing.active_children())
    gc.disable()
    try:
        yield
    finally:
        left = set(multiprocessing.active_children()) - before
        previous = signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        try:
            for child in left:
                child.kill()
            for child in left:
                child.join(timeout=5)
        finally:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL if previous is None else previous)
            gc.enable()


def free_port():
    """A TCP port that was free on 127.0.0.1 a moment ago (for torchrun's master port, the demo's server)."""
    import socket

    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def make_pairs(root, n, size, scale=2, seed=0):
    """``n`` smooth random colour images (size x size) as HR, with cv2-bicubic LR at 1/scale."""
    rng = np.random.default_rng(seed)
    hr_dir, lr_dir = osp.join(root, 'HR'), osp.join(root, 'LR')
    os.makedirs(hr_dir)
    os.makedirs(lr_dir)
    for i in range(n):
        small = rng.integers(0, 256, (size // 4, size // 4, 3), dtype=np.uint8)
        hr = cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)
        lr = cv2.resize(hr, (size // scale, size // scale), interpolation=cv2.INTER_AREA)
        cv2.imwrite(osp.join(hr_dir, f'img{i:03d}.png'), hr)
        cv2.imwrite(osp.join(lr_dir, f'img{i:03d}.png'), lr)
    return hr_dir, lr_dir


def tiny_options(data_root, name='tiny', total_iter=4, **train_extra):
    """A complete option dict: a tiny SRCNN (3x3 kernels, 8/4 filters) on the tiny pairs, CPU, no workers."""
    train_gt, train_lq = osp.join(data_root, 'train', 'HR'), osp.join(data_root, 'train', 'LR')
    val_gt, val_lq = osp.join(data_root, 'val', 'HR'), osp.join(data_root, 'val', 'LR')
    train = {
        'optim_g': {'type': 'Adam', 'lr': 1e-3},
        'scheduler': {'type': 'MultiStepLR', 'milestones': [1000], 'gamma': 0.5},
        'total_iter': total_iter,
        'warmup_iter': -1,
        'pixel_opt': {'type': 'L1Loss', 'loss_weight': 1.0, 'reduction': 'mean'},
    }
    train.update(train_extra)
    return {
        'name': name,
        'model_type': 'ExtSRModel',
        'scale': 2,
        'num_gpu': 0,
        'manual_seed': 0,
        'datasets': {
            'train': {
                'name': 'TinyTrain',
                'type': 'PairedImageDataset',
                'dataroot_gt': train_gt,
                'dataroot_lq': train_lq,
                'io_backend': {'type': 'disk'},
                'gt_size': 16,
                'use_hflip': True,
                'use_rot': True,
                'num_worker_per_gpu': 0,
                'batch_size_per_gpu': 2,
                'dataset_enlarge_ratio': 1,
            },
            'val': {
                'name': 'TinyVal',
                'type': 'PairedImageDataset',
                'dataroot_gt': val_gt,
                'dataroot_lq': val_lq,
                'io_backend': {'type': 'disk'},
            },
        },
        'network_g': {
            'type': 'SRCNN',
            'num_in_ch': 3,
            'num_out_ch': 3,
            'upscale': 2,
            'num_feat': [8, 4],
            'kernel_sizes': [3, 3, 3],
        },
        'path': {'pretrain_network_g': None, 'strict_load_g': True, 'resume_state': None},
        'train': train,
        'val': {
            'val_freq': 2,
            'save_img': False,
            'metrics': {'psnr': {'type': 'calculate_psnr', 'crop_border': 2, 'test_y_channel': False}},
        },
        'logger': {'print_freq': 1, 'save_checkpoint_freq': 2, 'use_tb_logger': False},
    }


# a shipped option file shrunk to 4 iterations of 2 small crops, validated once (after training, at iter 4: a
# val_freq of 4 would validate twice at iter 4), no data workers
SHRINK_4_ITERS = [
    'train.total_iter=4',
    'val.val_freq=8',
    'logger.print_freq=1',
    'datasets.train.gt_size=32',
    'datasets.train.batch_size_per_gpu=2',
    'datasets.train.num_worker_per_gpu=0',
]


def check_options(opt, is_train=True, opt_file='unit.yml'):
    """Run the option check (``utils.option_check.validate_options``, what train.py and test.py do before anything
    is written) on a unit test's runtime-style option dict: the keys the runners add are dropped first."""
    import copy

    from basicsr_ext.utils.option_check import validate_options
    from basicsr_ext.utils.option_lines import RUNTIME

    user = {k: copy.deepcopy(v) for k, v in opt.items() if k not in RUNTIME['']}
    user['path'] = {k: v for k, v in (user.get('path') or {}).items() if k not in RUNTIME['path']}
    user.setdefault(
        'datasets', {'train': {'type': 'SingleImageDataset', 'batch_size_per_gpu': 1, 'num_worker_per_gpu': 0}}
    )
    if is_train and isinstance(user.get('val'), dict):
        user['val'].setdefault('val_freq', 1)
    if is_train and isinstance(user.get('train'), dict):
        user['train'].setdefault('total_iter', 1)
    return validate_options(user, opt_file, is_train)


def option(name):
    """Path of a shipped option file."""
    return osp.join(REPO, 'options', name)


def read_log(exp):
    """Text of the newest training log of an experiment folder."""
    return open(sorted(glob.glob(str(exp / 'train_*.log')))[-1]).read()


def write_yaml(path, data):
    with open(path, 'w') as f:
        yaml.safe_dump(data, f, sort_keys=False)
    return str(path)


@pytest.fixture
def tiny_data(tmp_path):
    """``tmp_path/data/{train,val}/{HR,LR}``: 8 train images of 32x32, 2 val images of 24x24 (x2 pairs)."""
    root = tmp_path / 'data'
    make_pairs(str(root / 'train'), 8, 32, seed=1)
    make_pairs(str(root / 'val'), 2, 24, seed=2)
    return str(root)


@pytest.fixture
def tiny_opt_file(tmp_path, tiny_data):
    return write_yaml(tmp_path / 'tiny.yml', tiny_options(tiny_data))


def run_entry(script, args, cwd, timeout=300, env_extra=None):
    """Run ``python <script> <args>`` in a subprocess in ``cwd`` and return the CompletedProcess (text output). Only
    for tests of the process boundary itself; everything else goes through :func:`run_main`."""
    env = dict(os.environ)
    env['PYTHONPATH'] = REPO + os.pathsep + env.get('PYTHONPATH', '')
    env.setdefault('OMP_NUM_THREADS', '1')
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, script, *args], cwd=str(cwd), capture_output=True, text=True, timeout=timeout, env=env
    )


Run = namedtuple('Run', 'returncode stdout stderr')


def reset_basicsr_logger():
    """Drop the handlers of BasicSR's root logger and forget that it was configured, as in a new process:
    ``get_root_logger`` configures it once per process, so without this a run would log to the previous run's
    file and to a console stream that no longer exists."""
    from basicsr.utils import logger as basicsr_logger

    logger = logging.getLogger('basicsr')
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(logging.NOTSET)
    basicsr_logger.initialized_logger.pop('basicsr', None)


@contextlib.contextmanager
def _environ(extra):
    saved = {key: os.environ.get(key) for key in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_main(main, argv, cwd=None, env_extra=None):
    """Call an entry point's ``main(argv)`` in this process the way its command line runs it: in ``cwd``, with
    ``env_extra`` in the environment, ``sys.argv[0]`` the script, BasicSR's logger configured afresh, stdout and
    stderr captured (log lines included: BasicSR's console handler writes to stderr). Returns ``Run(returncode,
    stdout, stderr)``: ``SystemExit.code`` (a message given to ``sys.exit`` goes to stderr with code 1, as Python
    does), else main's integer result or 0. Any other exception propagates with its traceback (a crash fails the
    test), after the output captured so far is passed on."""
    out, err = io.StringIO(), io.StringIO()
    script = getattr(sys.modules.get(main.__module__), '__file__', None) or main.__module__
    saved_argv, saved_cwd, saved_threads = sys.argv, os.getcwd(), torch.get_num_threads()
    reset_basicsr_logger()
    try:
        sys.argv = [script, *map(str, argv)]
        if cwd is not None:
            os.chdir(cwd)
        with _environ(env_extra or {}), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                result = main([str(a) for a in argv])
                code = result if isinstance(result, int) else 0
            except SystemExit as exit_:
                code = exit_.code
                if code is None:
                    code = 0
                elif not isinstance(code, int):
                    print(code, file=sys.stderr)
                    code = 1
    except BaseException:
        sys.stdout.write(out.getvalue())  # what the run printed before it crashed, for pytest's report
        sys.stderr.write(err.getvalue())
        raise
    finally:
        reset_basicsr_logger()
        os.chdir(saved_cwd)
        sys.argv = saved_argv
        torch.set_num_threads(saved_threads)  # a --threads flag must not outlive its run
    return Run(code, out.getvalue(), err.getvalue())


def run_train(args, cwd, env_extra=None):
    """``python basicsr_ext/train.py <args>`` in ``cwd``, in this process (see :func:`run_main`)."""
    from basicsr_ext.train import main

    return run_main(main, args, cwd, env_extra)


def run_test(args, cwd, env_extra=None):
    """``python basicsr_ext/test.py <args>`` in ``cwd``, in this process (see :func:`run_main`)."""
    from basicsr_ext.test import main

    return run_main(main, args, cwd, env_extra)


_scripts = {}


def load_script(name):
    """The module of ``scripts/<name>.py`` (loaded once), for calling its ``main(argv)``."""
    if name not in _scripts:
        spec = importlib.util.spec_from_file_location(f'_script_{name}', osp.join(REPO, 'scripts', f'{name}.py'))
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        _scripts[name] = module
    return _scripts[name]


@pytest.fixture(scope='module')
def script_inputs(tmp_path_factory):
    """The inputs the script corpora's cases only read (``script_cases.make_shared``), made once per test file."""
    from script_cases import make_shared

    return make_shared(tmp_path_factory.mktemp('shared'))


def run_script(name, args, cwd=None, env_extra=None):
    """``python scripts/<name>.py <args>`` in ``cwd``, in this process (see :func:`run_main`)."""
    return run_main(load_script(name).main, args, cwd, env_extra)


# Real-ESRGAN's x4 degradation settings (options/train_realesrnet_x4plus.yml), GT sharpening on as there
REALESR_DEGRADATIONS = {**realesr_pairs.REALESR_DEGRADATIONS, 'gt_usm': True}


def realesr_options(model_type, train_extra=None, **top):
    """In-memory options for BasicSR's Real-ESR models (and subclasses) on the CPU: tiny MSRResNet x4, Real-ESRGAN's
    degradations, a 4-sample training-pair pool, 32 px GT crops."""
    train = {
        'optim_g': {'type': 'Adam', 'lr': 1e-3},
        'scheduler': {'type': 'MultiStepLR', 'milestones': [100], 'gamma': 0.5},  # one BasicSR's own models know
        'total_iter': 10,
        'warmup_iter': -1,
        'pixel_opt': {'type': 'L1Loss', 'loss_weight': 1.0},
        **(train_extra or {}),
    }
    return {
        'name': 'realesr_cpu',
        'model_type': model_type,
        'is_train': True,
        'dist': False,
        'num_gpu': 0,
        'rank': 0,
        'world_size': 1,
        'scale': 4,
        'gt_size': 32,
        'queue_size': 4,
        **REALESR_DEGRADATIONS,
        'network_g': dict(type='MSRResNet', num_in_ch=3, num_out_ch=3, num_feat=8, num_block=1, upscale=4),
        'path': {'pretrain_network_g': None, 'strict_load_g': True, 'resume_state': None},
        'train': train,
        'val': {},
        **top,
    }


def realesr_batch(seed=0):
    """What RealESRGANDataset yields for 2 samples with blur off (identity kernels), seeded (python's random too:
    BasicSR draws the degradations with it). 256 px as Real-ESRGAN: the strongest first-order downsize (0.15) must
    stay larger than the 21-tap kernels."""
    import random

    import torch

    random.seed(seed)
    kernel = torch.zeros(2, 21, 21)
    kernel[:, 10, 10] = 1.0
    gt = torch.rand(2, 3, 256, 256, generator=torch.Generator().manual_seed(seed))
    return {'gt': gt, 'kernel1': kernel, 'kernel2': kernel, 'sinc_kernel': kernel}
