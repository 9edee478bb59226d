"""The bad-input corpus of the scripts users run on their own files besides the inference CLIs: raw AOS samples,
LMDBs, checkpoints, option files, logs and flags as users get them wrong (restore.py and aos_restore.py:
``test_bad_restore_inputs.py``; what every case must end with: ``script_cases.py``; train.py / test.py have their own
corpus: ``test_bad_options.py``, ``test_bad_inputs.py``, ``test_bad_checkpoints.py``)."""

import pytest

from script_cases import (
    ADAFM_W,
    AOS_W,
    N2N,
    SRCNN_VS_N2N,
    SRCNN_W,
    SWEEP,
    TRUNC_JPEG,
    Case,
    check_case,
    copies,
    damaged_stack,
)

CASES = [
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


def test_the_corpus_is_large_and_unique():
    assert len(CASES) >= 40 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize('case', CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line(case, script_inputs, tmp_path):
    check_case(case, script_inputs, tmp_path)
