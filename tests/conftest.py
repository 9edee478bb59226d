"""Shared fixtures: tiny paired-image data and option files made by the tests, and a runner for the entry points."""

import glob
import os
import subprocess
import sys
from os import path as osp

import cv2
import numpy as np
import pytest
import yaml

import basicsr_ext  # noqa: F401  (applies compat before any test imports basicsr)
from basicsr_ext.data import realesr_pairs

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TRAIN_PY = osp.join(REPO, 'basicsr_ext', 'train.py')
TEST_PY = osp.join(REPO, 'basicsr_ext', 'test.py')


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


# a shipped option file shrunk to 4 iterations of 2 small crops, validated once, no data workers
SHRINK_4_ITERS = [
    'train.total_iter=4',
    'val.val_freq=4',
    'logger.print_freq=1',
    'datasets.train.gt_size=32',
    'datasets.train.batch_size_per_gpu=2',
    'datasets.train.num_worker_per_gpu=0',
]


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
    """Run ``python <script> <args>`` in ``cwd`` and return the CompletedProcess (text output)."""
    env = dict(os.environ)
    env['PYTHONPATH'] = REPO + os.pathsep + env.get('PYTHONPATH', '')
    env.setdefault('OMP_NUM_THREADS', '1')
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, script, *args], cwd=str(cwd), capture_output=True, text=True, timeout=timeout, env=env
    )


def run_train(args, cwd, **kwargs):
    return run_entry(TRAIN_PY, args, cwd, **kwargs)


def run_test(args, cwd, **kwargs):
    return run_entry(TEST_PY, args, cwd, **kwargs)


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
