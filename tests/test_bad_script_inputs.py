"""The bad-input corpus of the scripts users run on their own files: images, focal stacks, raw AOS samples,
checkpoints, option files, logs and flags as users get them wrong.

Every case goes through the script's ``main(argv)`` in this process and must end with exit status 2, exactly one line
on stderr equal to the expected ``<prog>: error: ...`` line (argparse's usage line before it for flags argparse
checks), no traceback, and nothing written: the case's folder and the shared inputs are byte for byte what they were,
so no output and no temp file is left. train.py / test.py have their own corpus
(``test_bad_options.py``, ``test_bad_inputs.py``, ``test_bad_checkpoints.py``).
"""

import glob
import hashlib
import os
import shutil
from collections import namedtuple
from os import path as osp

import cv2
import numpy as np
import pytest
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


@pytest.fixture(scope='module')
def shared(tmp_path_factory):
    """Inputs the cases only read: images good and bad, checkpoints, option files, logs, one raw AOS sample and its
    converted split."""
    f = tmp_path_factory.mktemp('shared')
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

CASES = [
    # ------------------------------------------------------------------ restore.py: images, outputs, models, flags
    Case(
        'restore-missing-input',
        'restore',
        [*SR, '--input', '{t}/nope.png', '--output', '{t}/out'],
        'restore: error: --input {t}/nope.png: no such file or folder',
    ),
    Case(
        'restore-empty-folder',
        'restore',
        [*SR, '--input', '{f}/empty', '--output', '{t}/out'],
        'restore: error: --input {f}/empty: no images (.png, .jpg, .jpeg, .bmp, .tif, .tiff, .webp)',
    ),
    Case(
        'restore-0-byte-image',
        'restore',
        [*SR, '--input', '{f}/zero.png', '--output', '{t}/out'],
        'restore: error: {f}/zero.png: cannot read the image (empty file, 0 bytes)',
    ),
    Case(
        'restore-text-as-png',
        'restore',
        [*SR, '--input', '{f}/text.png', '--output', '{t}/out'],
        'restore: error: {f}/text.png: cannot read the image (not an image, or damaged)',
    ),
    Case(
        'restore-truncated-png',
        'restore',
        [*SR, '--input', '{f}/trunc.png', '--output', '{t}/out'],
        f'restore: error: {{f}}/trunc.png: cannot read the image ({TRUNC_PNG})',
    ),
    Case(
        'restore-truncated-jpeg',
        'restore',
        [*SR, '--input', '{f}/trunc.jpg', '--output', '{t}/out'],
        f'restore: error: {{f}}/trunc.jpg: cannot read the image ({TRUNC_JPEG})',
    ),
    Case(
        'restore-bit-flip-png',
        'restore',
        [*SR, '--input', '{f}/flipped.png', '--output', '{t}/out'],
        "restore: error: {f}/flipped.png: cannot read the image (damaged PNG: CRC error in chunk 'IDAT')",
    ),
    Case(
        'restore-float-image-in-0-255',
        'restore',
        [*SR, '--input', '{f}/float255.tiff', '--output', '{t}/out'],
        'restore: error: {f}/float255.tiff: expected a float32 image in [0, 1], got values from 0 to 255',
    ),
    Case(
        'restore-output-is-a-file',
        'restore',
        [*SR, '--input', '{f}/rgb.png', '--output', '{f}/grey.png'],
        'restore: error: --output {f}/grey.png: a file; expected a folder (existing or new)',
    ),
    Case(
        'restore-output-under-a-file',
        'restore',
        [*SR, *ONE[:2], '--output', '{f}/grey.png/out'],
        'restore: error: --output {f}/grey.png/out: cannot create the folder, {f}/grey.png is a file',
    ),
    Case(
        'restore-output-is-the-input-folder',
        'restore',
        [*SR, '--input', '{t}/in', '--output', '{t}/in'],
        'restore: error: --output {t}/in: the input folder itself; write the outputs to another folder',
        copies('rgb.png:in/rgb.png'),
    ),
    Case(
        'restore-output-replaces-the-input',
        'restore',
        [*SR, '--input', '{t}/rgb.png', '--output', '{t}'],
        'restore: error: --output {t}: would replace the input {t}/rgb.png; write the outputs to another folder',
        copies('rgb.png:rgb.png'),
    ),
    Case(
        'restore-0-byte-pth',
        'restore',
        ['--model', '{f}/zero.pth', '--opt', '{f}/srcnn.yml', *ONE],
        'restore: error: cannot read model file {f}/zero.pth: the file is empty (0 bytes)',
    ),
    Case(
        'restore-bare-tensor-pth',
        'restore',
        ['--model', '{f}/tensor.pth', '--opt', '{f}/srcnn.yml', *ONE],
        'restore: error: {f}/tensor.pth: expected a state dict or a BasicSR checkpoint, got Tensor',
    ),
    Case(
        'restore-wrong-network',
        'restore',
        ['--model', SRCNN_W, '--opt', '{f}/n2n.yml', *ONE],
        "restore: error: {w}/srcnn_x2.pth: weights do not fit network_g 'N2NUNet' (missing ['enc_conv0.weight', "
        "'enc_conv0.bias', 'enc_conv1.weight'], unexpected ['conv1.weight', 'conv1.bias', 'conv2.weight'])",
    ),
    Case(
        'restore-wrong-shapes',
        'restore',
        ['--model', SRCNN_W, '--opt', '{f}/srcnn_wide.yml', *ONE],
        "restore: error: {w}/srcnn_x2.pth: weights do not fit network_g 'SRCNN': conv1.weight has shape (64, 3, 9, 9) "
        'in the file, (48, 3, 9, 9) in the network',
    ),
    Case(
        'restore-unknown-zoo-name',
        'restore',
        ['--model', 'srcnn_x3', *ONE],
        'restore: error: model file not found: srcnn_x3 (nor a zoo name: {zoo})',
    ),
    Case(
        'restore-opt-without-network',
        'restore',
        ['--model', SRCNN_W, '--opt', '{f}/nonet.yml', *ONE],
        'restore: error: {f}/nonet.yml: no network_g mapping to build the network from',
    ),
    Case(
        'restore-tile-0',
        'restore',
        [*SR, *ONE, '--tile', '0'],
        'restore: error: tile: expected an integer of at least 16 px, got 0',
    ),
    Case(
        'restore-overlap-without-tile',
        'restore',
        [*SR, *ONE, '--tile-overlap', '8'],
        'restore: error: --tile-overlap: only with --tile',
    ),
    Case(
        'restore-fp16-on-cpu',
        'restore',
        [*SR, *ONE, '--precision', 'fp16'],
        'restore: error: precision fp16: half precision runs on a GPU; use fp32 on the CPU',
    ),
    Case(
        'restore-unknown-device',
        'restore',
        ['--model', 'srcnn_x2', *ONE, '--device', 'tpu'],
        "restore: error: device: expected cpu, cuda or cuda:N, got 'tpu'",
    ),
    Case(
        'restore-coef-nan',
        'restore',
        ['--model', 'adafm_denoise', '--device', 'cpu', *ONE, '--coef', 'nan'],
        'restore: error: modulation coefficient: expected a number (0 = base level, 1 = end level), got nan',
    ),
    Case(
        'restore-coef-without-modulation',
        'restore',
        [*SR, *ONE, '--coef', '0.5'],
        'restore: error: --coef: srcnn_x2 has no modulation layers (AdaFM / FTN) to set',
    ),
    Case(
        'restore-dni-0-byte',
        'restore',
        [*SR, *ONE, '--dni', '{f}/zero.pth'],
        'restore: error: cannot read DNI checkpoint {f}/zero.pth: the file is empty (0 bytes)',
    ),
    Case(
        'restore-dni-other-network',
        'restore',
        [*SR, *ONE, '--dni', N2N],
        "restore: error: different keys: only in A: ['conv1.weight', 'conv1.bias', 'conv2.weight', 'conv2.bias', "
        "'conv3.weight'] and 1 more, only in B: ['enc_conv0.weight', 'enc_conv0.bias', 'enc_conv1.weight', "
        "'enc_conv1.bias', 'enc_conv2.weight'] and 31 more",
    ),
    Case(
        'restore-alpha-nan',
        'restore',
        ['--model', N2N, '--opt', '{f}/n2n.yml', '--dni', N2N, '--alpha', 'nan', *ONE],
        'restore: error: alpha: expected a finite number (0 = model A, 1 = model B), got nan',
    ),
    Case(
        'restore-gt-missing-for-stem',
        'restore',
        [*SR, *ONE, '--gt', '{f}/empty'],
        'restore: error: --gt {f}/empty: no ground truth for rgb (rgb.png, ...)',
    ),
    Case(
        'restore-gt-not-an-image',
        'restore',
        [*SR, *ONE, '--gt', '{t}/gt'],
        'restore: error: {t}/gt/rgb.png: cannot read the ground truth (not an image, or damaged)',
        copies('text.png:gt/rgb.png'),
    ),
    Case(
        'restore-gt-wrong-size',
        'restore',
        [*SR, *ONE, '--gt', '{t}/gt'],
        'restore: error: {t}/gt/rgb.png: ground truth is (24, 24, 3), the output (48, 48, 3)',
        copies('rgb.png:gt/rgb.png'),
    ),
    Case(
        'restore-negative-crop-border',
        'restore',
        [*SR, *ONE, '--crop-border', '-1'],
        'restore: error: --crop-border: expected pixels >= 0, got -1',
    ),
    Case(
        'restore-list-with-model',
        'restore',
        ['--list', '--model', 'srcnn_x2'],
        'restore: error: --list prints the zoo and restores nothing; drop --model (or --list)',
    ),
    Case(
        'restore-alpha-without-dni',
        'restore',
        [*SR, *ONE, '--alpha', '0.3'],
        'restore: error: --alpha: only with --dni (the weight of the second checkpoint)',
    ),
    Case(
        'restore-coef-for-aos-model',
        'restore',
        ['--model', 'aos_sim2real', '--device', 'cpu', *ONE, '--coef', '0.5'],
        'restore: error: --coef: not for the AOS restorer aos_sim2real (image restorers only)',
    ),
    Case(
        'restore-colour-to-aos-model',
        'restore',
        ['--model', 'aos_sim2real', '--device', 'cpu', *ONE],
        'restore: error: {f}/rgb.png: expected a grey integral image, got 3 channels that differ (a colour image)',
    ),
    # ------------------------------------------------------------------ aos_restore.py: stacks, planes, GTs, models
    Case(
        'aos-restore-empty-folder',
        'aos_restore',
        ['--input', '{f}/empty', '--output', '{t}/out', '--device', 'cpu'],
        'aos_restore: error: --input {f}/empty: no focal stacks in it (expected .tif/.tiff stacks, plane PNGs such '
        'as 000.png, raw samples R_S_pose_k_thermal.png, or folders of them)',
    ),
    Case(
        'aos-restore-png-named-tiff',
        'aos_restore',
        ['--input', '{t}/x.tiff', '--output', '{t}/out', '--heights', '0'],
        "aos_restore: error: {t}/x.tiff: cannot read focal stack (not a TIFF file: header=b'\\x89PNG')",
        copies('grey.png:x.tiff'),
    ),
    Case(
        'aos-restore-colour-tiff',
        'aos_restore',
        ['--input', '{f}/rgb.tiff', '--output', '{t}/out', '--heights', '0'],
        'aos_restore: error: {f}/rgb.tiff: cannot read focal stack: colour pages (3 samples per pixel that differ); '
        'expected grey focal planes',
    ),
    Case(
        'aos-restore-16-bit-tiff',
        'aos_restore',
        ['--input', '{f}/grey16.tiff', '--output', '{t}/out', '--heights', '0'],
        'aos_restore: error: {f}/grey16.tiff: expected an 8-bit (planes, H, W) stack, got uint16 (1, 32, 32)',
    ),
    Case(
        'aos-restore-truncated-plane',
        'aos_restore',
        AOS_IN,
        f'aos_restore: error: {{t}}/p/000.png: not a readable image ({TRUNC_PNG})',
        copies('trunc.png:p/000.png'),
    ),
    Case(
        'aos-restore-truncated-jpeg-plane',
        'aos_restore',
        AOS_IN,
        f'aos_restore: error: {{t}}/p/000.png: not a readable image ({TRUNC_JPEG})',
        copies('trunc.jpg:p/000.png'),
    ),
    Case(
        'aos-restore-colour-plane',
        'aos_restore',
        AOS_IN,
        'aos_restore: error: {t}/p/000.png: expected a single-channel (grey) image, got 3 channels that differ',
        copies('rgb.png:p/000.png'),
    ),
    Case(
        'aos-restore-damaged-gt',
        'aos_restore',
        AOS_IN,
        'aos_restore: error: {t}/p/gt.png: cannot read GT image (truncated or not an image)',
        copies('grey.png:p/000.png', 'text.png:p/gt.png'),
    ),
    Case(
        'aos-restore-colour-gt',
        'aos_restore',
        [*AOS_IN, '--gt', '{t}/g'],
        'aos_restore: error: {t}/g/p_gt.png: expected a grey GT image, got 3 channels that differ',
        copies('grey.png:p/000.png', 'rgb.png:g/p_gt.png'),
    ),
    Case(
        'aos-restore-0-byte-model',
        'aos_restore',
        [*AOS_IN, '--model', '{f}/zero.pth'],
        'aos_restore: error: cannot read model file {f}/zero.pth: the file is empty (0 bytes)',
        GREY_PLANE,
    ),
    Case(
        'aos-restore-sr-zoo-model',
        'aos_restore',
        [*AOS_IN, '--model', 'srcnn_x2'],
        'aos_restore: error: --model srcnn_x2: a sr model, not an AOS restorer: use scripts/restore.py',
        GREY_PLANE,
    ),
    Case(
        'aos-restore-multipass-0',
        'aos_restore',
        [*AOS_IN, '--multipass', '0'],
        'aos_restore: error: multipass: expected >= 1, got 0',
        GREY_PLANE,
    ),
    Case(
        'aos-restore-heights-nan',
        'aos_restore',
        [*AOS_IN, '--heights', 'nan'],
        'aos_restore: error: --heights: expected finite heights in metres, got nan',
        GREY_PLANE,
    ),
    Case(
        'aos-restore-output-is-a-file',
        'aos_restore',
        ['--input', '{t}/p', '--output', '{f}/rgb.png'],
        'aos_restore: error: --output {f}/rgb.png: a file; expected a folder (existing or new)',
        GREY_PLANE,
    ),
    Case(
        'aos-restore-output-is-the-input',
        'aos_restore',
        ['--input', '{t}/p', '--output', '{t}/p'],
        'aos_restore: error: --output {t}/p: the input folder itself; write the outputs to another folder',
        GREY_PLANE,
    ),
    # ------------------------------------------------------------------ aos_prepare.py / aos_simulate.py
    Case(
        'aos-prepare-missing-raw',
        'aos_prepare',
        ['--raw', '{t}/nope', '--out', '{t}/out'],
        'aos_prepare: error: {t}/nope: not a folder (expected raw AOS samples: R_S_pose_k_thermal.png, ...)',
    ),
    Case(
        'aos-prepare-empty-raw',
        'aos_prepare',
        ['--raw', '{f}/empty', '--out', '{t}/out'],
        'aos_prepare: error: {f}/empty: no raw samples (expected R_S_pose_0_thermal.png ... R_S_pose_10_thermal.png, '
        'R_S_GT_pose_0_thermal.png and R_S_Parameters.txt per sample)',
    ),
    Case(
        'aos-prepare-heights-nan',
        'aos_prepare',
        ['--raw', '{f}/raw', '--out', '{t}/out', '--heights', 'nan'],
        'aos_prepare: error: --heights: expected metres from 0 (the ground) up to --altitude 35, got nan',
    ),
    Case(
        'aos-prepare-fractions',
        'aos_prepare',
        ['--raw', '{f}/raw', '--out', '{t}/out', '--val', '0.6', '--test', '0.6'],
        'aos_prepare: error: --val 0.6 + --test 0.6: the held-out fractions add up to more than 1',
    ),
    Case(
        'aos-prepare-fov-0',
        'aos_prepare',
        ['--raw', '{f}/raw', '--out', '{t}/out', '--fov', '0'],
        'aos_prepare: error: --fov: expected degrees between 0 and 180, got 0',
    ),
    Case(
        'aos-prepare-split-run-absent',
        'aos_prepare',
        ['--raw', '{f}/raw', '--out', '{t}/out', '--split-run', '7'],
        'aos_prepare: error: split run 7: no sample of that run in {f}/raw (runs: [0])',
    ),
    Case(
        'aos-prepare-out-is-raw',
        'aos_prepare',
        ['--raw', '{f}/raw', '--out', '{f}/raw'],
        'aos_prepare: error: --out {f}/raw: the input folder itself; write the outputs to another folder',
    ),
    Case(
        'aos-simulate-num-0',
        'aos_simulate',
        ['--out', '{t}/out', '--num', '0'],
        'aos_simulate: error: --num: expected >= 1 simulations, got 0',
    ),
    Case(
        'aos-simulate-out-is-a-file',
        'aos_simulate',
        ['--out', '{f}/rgb.png', '--num', '1', '--workers', '1'],
        'aos_simulate: error: --out {f}/rgb.png: a file; expected a folder (existing or new)',
    ),
    Case(
        'aos-simulate-tree-top-reversed',
        'aos_simulate',
        ['--out', '{t}/out', '--num', '1', '--tree-top-k', '318', '295'],
        'aos_simulate: error: --tree-top-k: expected 0 < LOW <= HIGH kelvin, got [318, 295]',
    ),
    # ------------------------------------------------------------------ create_lmdb.py
    Case(
        'create-lmdb-missing-stacks',
        'create_lmdb',
        ['--stacks', '{t}/nope', '--out', '{t}/out'],
        'create_lmdb: error: --stacks {t}/nope: not a folder (expected the output folder of aos_prepare.py)',
    ),
    Case(
        'create-lmdb-raw-as-stacks',
        'create_lmdb',
        ['--stacks', '{f}/raw', '--out', '{t}/out'],
        'create_lmdb: error: --stacks {f}/raw: no split folder (train, val, test); expected the output folder of '
        'aos_prepare.py',
    ),
    Case(
        'create-lmdb-unknown-split',
        'create_lmdb',
        ['--stacks', '{f}/stacks', '--out', '{t}/out', '--splits', 'bogus'],
        'create_lmdb: error: --splits bogus: no folder {f}/stacks/bogus',
    ),
    Case(
        'create-lmdb-damaged-gt',
        'create_lmdb',
        ['--stacks', '{t}/st', '--out', '{t}/out'],
        'create_lmdb: error: {t}/st/train/gt/0_0_GT.png: cannot read the GT image (not an image file: it starts '
        "with b'not an i')",
        copies('stacks:st', 'text.png:st/train/gt/0_0_GT.png'),
    ),
    Case(
        'create-lmdb-damaged-stack',
        'create_lmdb',
        ['--stacks', '{t}/st', '--out', '{t}/out'],
        'create_lmdb: error: {t}/st/train/stacks/0_0_N_integral.tiff: cannot read focal stack (not a TIFF file: '
        "header=b'not ')",
        damaged_stack,
    ),
    # ------------------------------------------------------------------ dni_interpolate.py / adapt_checkpoint.py
    Case(
        'dni-0-byte',
        'dni_interpolate',
        [N2N, '{f}/zero.pth', '--alpha', '0.5', '-o', '{t}/o.pth'],
        'basicsr-ext: error: cannot read checkpoint {f}/zero.pth: the file is empty (0 bytes)',
    ),
    Case(
        'dni-text-pth',
        'dni_interpolate',
        [N2N, '{f}/text.pth', '--alpha', '0.5', '-o', '{t}/o.pth'],
        'basicsr-ext: error: cannot read checkpoint {f}/text.pth: not a torch checkpoint, or a damaged one (101)',
    ),
    Case(
        'dni-other-network',
        'dni_interpolate',
        [N2N, SRCNN_W, '--alpha', '0.5', '-o', '{t}/o.pth'],
        f'basicsr-ext: error: {{w}}/n2n_gaussian.pth vs {{w}}/srcnn_x2.pth [params]: different keys: {SRCNN_VS_N2N}',
    ),
    Case(
        'dni-alpha-nan',
        'dni_interpolate',
        [N2N, N2N, '--alpha', 'nan', '-o', '{t}/o.pth'],
        'basicsr-ext: error: alpha: expected a finite number (0 = model A, 1 = model B), got nan',
    ),
    Case(
        'dni-output-is-input',
        'dni_interpolate',
        ['{t}/a.pth', N2N, '--alpha', '0.5', '-o', '{t}/a.pth'],
        'basicsr-ext: error: -o {t}/a.pth: the input file itself; write the result to another file',
        copies('tensor.pth:a.pth'),
    ),
    Case(
        'dni-output-is-a-folder',
        'dni_interpolate',
        [N2N, N2N, '--alpha', '0.5', '-o', '{f}/empty'],
        'basicsr-ext: error: -o {f}/empty: a folder; expected a file name',
    ),
    Case(
        'adapt-bare-tensor',
        'adapt_checkpoint',
        ['{f}/tensor.pth', '-o', '{t}/o.pth', '--in-chans', '1'],
        'basicsr-ext: error: {f}/tensor.pth: expected a state dict, got Tensor',
    ),
    Case(
        'adapt-in-chans-0',
        'adapt_checkpoint',
        [SRCNN_W, '-o', '{t}/o.pth', '--in-chans', '0'],
        'basicsr-ext: error: --in-chans: expected >= 1, got 0',
    ),
    Case(
        'adapt-output-is-input',
        'adapt_checkpoint',
        ['{t}/a.pth', '-o', '{t}/a.pth', '--in-chans', '1'],
        'basicsr-ext: error: -o {t}/a.pth: the input file itself; write the result to another file',
        copies('tensor.pth:a.pth'),
    ),
    # ------------------------------------------------------------------ export_restorer.py
    Case(
        'export-empty-option-file',
        'export_restorer',
        [AOS_W, '{f}/empty.yml', '{t}/o.pth'],
        'export_restorer: error: {f}/empty.yml: the file is empty (or only comments): expected a mapping of option '
        'keys',
    ),
    Case(
        'export-wrong-network',
        'export_restorer',
        [SRCNN_W, '{f}/aos.yml', '{t}/o.pth'],
        "export_restorer: error: {w}/srcnn_x2.pth: weights do not fit network_g 'AOSGroundFillNet' (missing "
        "['unet.enc_conv0.weight', 'unet.enc_conv0.bias', 'unet.enc_conv1.weight'], unexpected ['conv1.weight', "
        "'conv1.bias', 'conv2.weight'])",
    ),
    Case(
        'export-output-is-checkpoint',
        'export_restorer',
        ['{t}/a.pth', '{f}/aos.yml', '{t}/a.pth'],
        'export_restorer: error: output {t}/a.pth: the input file itself; write the result to another file',
        copies('tensor.pth:a.pth'),
    ),
    # ------------------------------------------------------------------ realesr_data.py
    Case(
        'realesr-meta-info-truncated-jpeg',
        'realesr_data',
        ['meta-info', '{t}/i', '-o', '{t}/meta.txt'],
        f'basicsr-ext: error: {{t}}/i/b.jpg: cannot read the image ({TRUNC_JPEG})',
        copies('rgb.png:i/a.png', 'trunc.jpg:i/b.jpg'),
    ),
    Case(
        'realesr-lmdb-not-an-image',
        'realesr_data',
        ['lmdb', '{t}/i', '-o', '{t}/x.lmdb'],
        "basicsr-ext: error: {t}/i/a.png: cannot read the image (not an image file: it starts with b'not an i')",
        copies('text.png:i/a.png'),
    ),
    Case(
        'realesr-lmdb-0-byte',
        'realesr_data',
        ['lmdb', '{t}/i', '-o', '{t}/x.lmdb'],
        'basicsr-ext: error: {t}/i/a.png: cannot read the image (empty file, 0 bytes)',
        copies('zero.png:i/a.png'),
    ),
    Case(
        'realesr-val-pairs-scale-0',
        'realesr_data',
        ['val-pairs', '{f}/photos', '-o', '{t}/out', '--scale', '0'],
        'basicsr-ext: error: --scale: expected an integer >= 1, got 0',
    ),
    Case(
        'realesr-val-pairs-truncated',
        'realesr_data',
        ['val-pairs', '{t}/i', '-o', '{t}/out', '--size', '0'],
        f'basicsr-ext: error: {{t}}/i/a.jpg: cannot read the image ({TRUNC_JPEG})',
        copies('trunc.jpg:i/a.jpg'),
    ),
    # ------------------------------------------------------------------ modulation_sweep.py
    Case(
        'sweep-missing-option-file',
        'modulation_sweep',
        ['-opt', '{t}/nope.yml', *SWEEP[2:]],
        'basicsr-ext: error: -opt: option file not found: {t}/nope.yml',
    ),
    Case(
        'sweep-unknown-device',
        'modulation_sweep',
        [*SWEEP[:-2], '--device', 'tpu'],
        "basicsr-ext: error: device: expected cpu, cuda or cuda:N, got 'tpu'",
    ),
    Case(
        'sweep-unknown-param-key',
        'modulation_sweep',
        [*SWEEP, '--param-key', 'nope', '--images', '{f}/photos'],
        "basicsr-ext: error: {w}/adafm_denoise.pth has no parameter group 'nope' (top-level keys: ['params']); set "
        'path.param_key_g to one of them, or to ~ for a bare state dict',
    ),
    Case(
        'sweep-truncated-image',
        'modulation_sweep',
        [*SWEEP, '--images', '{t}/i'],
        f'basicsr-ext: error: {{t}}/i/a.jpg: cannot read the image ({TRUNC_JPEG})',
        copies('trunc.jpg:i/a.jpg'),
    ),
    Case(
        'sweep-checkpoint-and-dni',
        'modulation_sweep',
        [*SWEEP, '--dni', ADAFM_W, ADAFM_W, '--images', '{f}/photos'],
        'basicsr-ext: error: checkpoint: not used with dni (the two DNI checkpoints are the weights); give one',
    ),
    Case(
        'sweep-output-is-a-file',
        'modulation_sweep',
        [*SWEEP[:4], '-o', '{f}/rgb.png'],
        'basicsr-ext: error: -o {f}/rgb.png: a file; expected a folder (existing or new)',
    ),
    # ------------------------------------------------------------------ plot_curves.py / aos_domain_report.py
    Case(
        'plot-not-a-log',
        'plot_curves',
        ['{f}/text.log', '-o', '{t}/c.png'],
        'plot_curves: error: {f}/text.log: no training or validation lines found (is it a basicsr-ext train log?)',
    ),
    Case(
        'plot-bad-reference',
        'plot_curves',
        ['{f}/train.log', '-o', '{t}/c.png', '--reference', 'bicubic'],
        "plot_curves: error: --reference 'bicubic': expected LABEL=VALUE with a finite number, e.g. bicubic=33.10",
    ),
    Case(
        'plot-labels-count',
        'plot_curves',
        ['{f}/train.log', '-o', '{t}/c.png', '--labels', 'a', 'b'],
        'plot_curves: error: --labels: 2 label(s) for 1 log(s); give one per log',
    ),
    Case(
        'plot-output-is-the-log',
        'plot_curves',
        ['{t}/t.log', '-o', '{t}/t.log'],
        'plot_curves: error: -o {t}/t.log: the input file itself; write the result to another file',
        copies('train.log:t.log'),
    ),
    Case(
        'domain-report-empty-real',
        'aos_domain_report',
        ['--sim', '{f}/raw', '--real', '{f}/empty', '--output', '{t}/o'],
        'aos_domain_report: error: {f}/empty: no real samples (expected folders of plane PNGs such as 000.png + '
        'gt.png)',
    ),
    Case(
        'domain-report-output-is-a-file',
        'aos_domain_report',
        ['--sim', '{f}/raw', '--real', '{f}/empty', '--output', '{f}/rgb.png'],
        'aos_domain_report: error: --output {f}/rgb.png: a file; expected a folder (existing or new)',
    ),
    # ------------------------------------------------------------------ benchmark_inference.py, experiment drivers
    Case(
        'benchmark-repeats-0',
        'benchmark_inference',
        ['--repeats', '0'],
        'benchmark_inference: error: --repeats: expected >= 1 timed runs, got 0',
    ),
    Case(
        'benchmark-size-0',
        'benchmark_inference',
        ['--size', '0'],
        'benchmark_inference: error: --size: expected an image side of at least 16 px, got 0',
    ),
    Case(
        'benchmark-threads-negative',
        'benchmark_inference',
        ['--threads', '-1'],
        'benchmark_inference: error: --threads: expected >= 1, got -1',
    ),
    Case(
        'aos-experiment-iters-0',
        'aos_experiment',
        ['--iters', '0'],
        'aos_experiment.py: error: argument --iters: expected an integer >= 1, got 0',
    ),
    Case(
        'sr-lsr-experiment-wd-iters-0',
        'sr_lsr_experiment',
        ['--wd-iters', '0'],
        'sr_lsr_experiment.py: error: argument --wd-iters: expected an integer >= 1, got 0',
    ),
]
ARGPARSE = ('aos_experiment', 'sr_lsr_experiment')  # their flags are checked by argparse: usage lines first


def snapshot(folder):
    """{relative path: sha1 of the bytes (None for a folder)} of everything under ``folder``."""
    found = {}
    for path in sorted(glob.glob(osp.join(str(folder), '**'), recursive=True)):
        rel = osp.relpath(path, folder)
        found[rel] = None if osp.isdir(path) else hashlib.sha1(open(path, 'rb').read()).hexdigest()
    return found


def test_the_corpus_is_large_and_unique():
    assert len(CASES) >= 40 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize('case', CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line(case, shared, tmp_path):
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
