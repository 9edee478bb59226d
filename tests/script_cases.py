"""The corpus machinery of the scripts users run on their own files (``test_bad_restore_inputs.py``,
``test_bad_script_inputs.py``): a case, the inputs the cases share, setups, and the check every case makes.

Every case goes through the script's ``main(argv)`` in this process and must end with exit status 2, exactly one line
on stderr equal to the expected ``<prog>: error: ...`` line (argparse's usage line before it for flags argparse
checks), no traceback, and nothing written: the case's folder and the shared inputs are byte for byte what they were,
so no output and no temp file is left.
"""

import glob
import hashlib
import os
import shutil
from collections import namedtuple
from os import path as osp

import cv2
import numpy as np
import tifffile
import torch
import yaml

from basicsr_ext.inference.zoo import WEIGHTS_DIR, load_zoo

from conftest import run_script, write_yaml

Case = namedtuple('Case', 'id script argv expected setup', defaults=(None,))  # setup(case folder, shared)


def image(shape, seed=0):
    """A smooth random uint8 image (a JPEG of it is long enough to be cut inside its image data)."""
    rng = np.random.default_rng(seed)
    small = rng.random((shape[0] // 4 + 1, shape[1] // 4 + 1) + tuple(shape[2:]))
    return np.rint(cv2.resize(small, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC).clip(0, 1) * 255).astype(
        np.uint8
    )


def make_shared(f):
    """Write into ``f`` the inputs the cases only read: images good and bad, checkpoints, option files, logs, one raw
    AOS sample and its converted split."""
    cv2.imwrite(str(f / 'rgb.png'), image((24, 24, 3)))
    cv2.imwrite(str(f / 'grey.png'), image((24, 24)))
    (f / 'zero.png').write_bytes(b'')
    (f / 'text.png').write_text('not an image\n')
    png = (f / 'rgb.png').read_bytes()
    (f / 'trunc.png').write_bytes(png[: len(png) // 2])
    flipped = bytearray(png)
    flipped[len(png) // 2] ^= 0x40  # inside IDAT: libpng would stop with a CRC error
    (f / 'flipped.png').write_bytes(bytes(flipped))
    jpg = cv2.imencode('.jpg', image((64, 64, 3)))[1].tobytes()
    (f / 'trunc.jpg').write_bytes(jpg[: len(jpg) * 3 // 4])  # OpenCV decodes it, the missing rows grey
    cv2.imwrite(str(f / 'rgb.tiff'), image((24, 24, 3)))  # LZW, 3 samples per pixel
    tifffile.imwrite(str(f / 'grey16.tiff'), np.zeros((1, 32, 32), np.uint16))
    float255 = image((24, 24, 3)).astype(np.float32)  # a float image saved in [0, 255] instead of [0, 1]
    float255[0, 0], float255[-1, -1] = 0, 255
    tifffile.imwrite(str(f / 'float255.tiff'), float255)
    (f / 'empty').mkdir()
    (f / 'zero.pth').write_bytes(b'')
    (f / 'text.pth').write_text('hello world\n')
    torch.save(torch.zeros(3), f / 'tensor.pth')
    zoo = yaml.safe_load(open(osp.join(WEIGHTS_DIR, 'zoo.yml')))
    for name, net, extra in (
        ('srcnn', 'srcnn_x2', {}),
        ('n2n', 'n2n_gaussian', {}),
        ('adafm', 'adafm_denoise', {'datasets': {'val': {'dataroot_gt': str(f / 'photos')}}}),
        ('aos', 'aos_sim2real', {'datasets': {'train': {'heights': [0.0]}}}),
    ):
        write_yaml(
            f / f'{name}.yml', {'name': name, 'model_type': 'ExtSRModel', 'network_g': zoo[net]['network_g'], **extra}
        )
    wide = {**zoo['srcnn_x2']['network_g'], 'num_feat': [48, 32]}  # the same keys, other shapes
    write_yaml(f / 'srcnn_wide.yml', {'name': 'wide', 'model_type': 'ExtSRModel', 'network_g': wide})
    (f / 'photos').mkdir()
    cv2.imwrite(str(f / 'photos' / 'a.png'), image((32, 32, 3)))
    (f / 'nonet.yml').write_text('name: x\n')
    (f / 'empty.yml').write_text('# nothing\n')
    (f / 'text.log').write_text('hello\n')
    (f / 'train.log').write_text(
        '2024-01-01 00:00:00,000 INFO: [tiny..][epoch:  0, iter:       2, lr:(1.000e-03,)] [eta: 0:00:00, '
        'time (data): 0.1 (0.0)] l_pix: 1.0e-01 \n'
        '2024-01-01 00:00:00,000 INFO: Validation TinyVal @ 2 iter\n\t # psnr: 20.1000\tBest: 20.1000 @ 2 iter\n\n'
    )
    from basicsr_ext.aos.simulator import simulate

    simulate(str(f / 'raw'), 1, size=32, workers=1, progress=False)
    run = run_script('aos_prepare', ['--raw', f / 'raw', '--out', f / 'stacks', '--heights', '0', '--montages', '0'])
    assert run.returncode == 0, run.stderr
    return f


def copies(*pairs):
    """Setup: copy shared ``src`` to the case folder's ``dst`` for each 'src:dst'."""

    def setup(t, f):
        for pair in pairs:
            src, dst = pair.split(':')
            os.makedirs(osp.dirname(t / dst), exist_ok=True)
            (shutil.copytree if osp.isdir(f / src) else shutil.copy)(f / src, t / dst)

    return setup


def writes(name, img):
    def setup(t, f):
        os.makedirs(osp.dirname(t / name), exist_ok=True)
        cv2.imwrite(str(t / name), img)

    return setup


def both(*setups):
    def setup(t, f):
        for s in setups:
            s(t, f)

    return setup


def damaged_stack(t, f):
    """The converted split with its stack (named after the simulated person) replaced by text."""
    shutil.copytree(f / 'stacks', t / 'st')
    (stack,) = glob.glob(str(t / 'st' / 'train' / 'stacks' / '*.tiff'))
    os.remove(stack)
    (t / 'st' / 'train' / 'stacks' / '0_0_N_integral.tiff').write_text('not a tiff\n')
    (t / 'st' / 'train' / 'meta_info.txt').write_text('0_0_N_integral.tiff\n')


SR = ['--model', 'srcnn_x2', '--device', 'cpu']
ONE = ['--input', '{f}/rgb.png', '--output', '{t}/out']
AOS_IN = ['--input', '{t}/p', '--output', '{t}/out', '--device', 'cpu']
GREY_PLANE = copies('grey.png:p/000.png')
N2N, SRCNN_W, AOS_W, ADAFM_W = (
    '{w}/n2n_gaussian.pth',
    '{w}/srcnn_x2.pth',
    '{w}/aos_sim2real.pth',
    '{w}/adafm_denoise.pth',
)
TRUNC_JPEG = 'truncated JPEG: no end-of-image marker after the image data'
TRUNC_PNG = "truncated PNG: chunk 'IDAT' ends after the file"
SRCNN_VS_N2N = (
    "only in A: ['enc_conv0.weight', 'enc_conv0.bias', 'enc_conv1.weight', 'enc_conv1.bias', 'enc_conv2.weight'] and "
    "31 more, only in B: ['conv1.weight', 'conv1.bias', 'conv2.weight', 'conv2.bias', 'conv3.weight'] and 1 more"
)
SWEEP = ['-opt', '{f}/adafm.yml', '--checkpoint', ADAFM_W, '-o', '{t}/out', '--device', 'cpu']

ARGPARSE = ('aos_experiment', 'sr_lsr_experiment')  # their flags are checked by argparse: usage lines first


def snapshot(folder):
    """{relative path: sha1 of the bytes (None for a folder)} of everything under ``folder``."""
    found = {}
    for path in sorted(glob.glob(osp.join(str(folder), '**'), recursive=True)):
        rel = osp.relpath(path, folder)
        found[rel] = None if osp.isdir(path) else hashlib.sha1(open(path, 'rb').read()).hexdigest()
    return found


def check_case(case, shared, tmp_path):
    """Run ``case`` in a folder of its own: exit 2, one error line (after argparse's usage for ``ARGPARSE``), no
    traceback, nothing written, the shared inputs unchanged."""
    t = tmp_path / 'case'
    t.mkdir()
    names = {'t': t, 'f': shared, 'w': WEIGHTS_DIR, 'zoo': ', '.join(load_zoo())}
    if case.setup is not None:
        case.setup(t, shared)
    before, shared_before = snapshot(tmp_path), snapshot(shared)

    run = run_script(case.script, [a.format(**names) for a in case.argv], cwd=t)

    lines = run.stderr.strip().splitlines()
    assert run.returncode == 2, run.stderr
    assert 'Traceback' not in run.stderr, run.stderr
    assert lines[-1] == case.expected.format(**names)
    if case.script in ARGPARSE:  # argparse's usage (wrapped to the terminal), then its one error line
        assert lines[0].startswith('usage: ') and not any('error' in line for line in lines[:-1]), run.stderr
    else:
        assert len(lines) == 1, run.stderr
    assert not glob.glob(str(tmp_path / '**' / '*.tmp*'), recursive=True)
    assert snapshot(tmp_path) == before, 'something was written'
    assert snapshot(shared) == shared_before, 'a shared input was changed'
