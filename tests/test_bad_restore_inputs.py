"""The bad-input corpus of the inference CLIs, ``restore.py`` and ``aos_restore.py``: images, focal stacks, planes,
GTs, models and flags as users get them wrong (the other scripts: ``test_bad_script_inputs.py``; what every case must
end with: ``script_cases.py``)."""

import pytest

from script_cases import (
    AOS_IN,
    GREY_PLANE,
    N2N,
    ONE,
    SR,
    SRCNN_W,
    TRUNC_JPEG,
    TRUNC_PNG,
    Case,
    check_case,
    copies,
)

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
]


def test_the_corpus_is_large_and_unique():
    assert len(CASES) >= 40 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize('case', CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line(case, script_inputs, tmp_path):
    check_case(case, script_inputs, tmp_path)
