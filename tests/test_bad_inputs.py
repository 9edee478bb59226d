"""The bad-input corpus: option files and overrides as users get them wrong (pretrained networks and training states:
``test_bad_checkpoints.py``).

Every case goes through the real entry point (``train.py`` or ``test.py`` main, in this process) and must end with
exactly one line on stderr, ``basicsr-ext: error: ...`` (the exact text asserted), exit status 2, no traceback, and
nothing half-written: option mistakes are found before anything is created (no experiments/results folder), and no
case leaves a temp file behind. Data mistakes (images, pairs, LMDBs) are in ``test_bad_data_inputs.py``.
"""

import os
from os import path as osp

import pytest
import torch

from conftest import run_test, run_train, tiny_options, write_yaml

ERR = 'basicsr-ext: error: '


def _set(opt, dotted, value):
    keys = dotted.split('.')
    node = opt
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value


def _drop(opt, dotted):
    keys = dotted.split('.')
    node = opt
    for key in keys[:-1]:
        node = node[key]
    del node[keys[-1]]


def setting(dotted, value):
    return lambda opt, tmp: _set(opt, dotted, value)


def dropping(dotted):
    return lambda opt, tmp: _drop(opt, dotted)


UNKNOWN = 'keys of your own go under the top-level extra: mapping'

# (id, edit of the tiny option dict, the expected message after '<option file>: ')
OPTION_CASES = [
    ('missing-name', dropping('name'), 'name: missing required key (expected a string)'),
    ('missing-model-type', dropping('model_type'), 'model_type: missing required key (expected a string)'),
    ('missing-network', dropping('network_g'), 'network_g: missing required key (expected a mapping of keys)'),
    ('missing-datasets', dropping('datasets'), 'datasets: missing required key (expected a mapping of keys)'),
    ('missing-train', dropping('train'), 'train: missing required key (expected a mapping of keys)'),
    (
        'missing-optimizer',
        dropping('train.optim_g'),
        'train.optim_g: missing required key (expected a mapping of keys)',
    ),
    (
        'missing-total-iter',
        dropping('train.total_iter'),
        'train.total_iter: missing required key (expected an integer >= 1)',
    ),
    (
        'misspelt-total-iter',
        lambda o, t: o['train'].update(total_iters=o['train'].pop('total_iter')),
        f'train.total_iters: unknown key (did you mean total_iter?); {UNKNOWN}',
    ),
    (
        'total-iter-text',
        setting('train.total_iter', 'abc'),
        "train.total_iter: expected an integer >= 1, got 'abc' (a string)",
    ),
    ('total-iter-negative', setting('train.total_iter', -5), 'train.total_iter: expected an integer >= 1, got -5'),
    ('total-iter-zero', setting('train.total_iter', 0), 'train.total_iter: expected an integer >= 1, got 0'),
    (
        'total-iter-fraction',
        setting('train.total_iter', 2.5),
        'train.total_iter: expected an integer >= 1, got 2.5 (a number)',
    ),
    (
        'total-iter-bool',
        setting('train.total_iter', True),
        'train.total_iter: expected an integer >= 1, got True (a boolean)',
    ),
    ('val-freq-zero', setting('val.val_freq', 0), 'val.val_freq: expected an integer >= 1, got 0'),
    ('val-freq-missing', dropping('val.val_freq'), 'val.val_freq: missing required key (expected an integer >= 1)'),
    (
        'checkpoint-freq-zero',
        setting('logger.save_checkpoint_freq', 0),
        'logger.save_checkpoint_freq: expected an integer >= 1, got 0',
    ),
    ('print-freq-zero', setting('logger.print_freq', 0), 'logger.print_freq: expected an integer >= 1, got 0'),
    ('warmup-below', setting('train.warmup_iter', -2), 'train.warmup_iter: expected an integer >= -1, got -2'),
    ('ema-decay-above-one', setting('train.ema_decay', 1.5), 'train.ema_decay: expected a number in [0, 1], got 1.5'),
    ('train-is-list', setting('train', [1, 2]), 'train: expected a mapping of keys, got [1, 2] (a list)'),
    ('val-is-list', setting('val', ['psnr']), "val: expected a mapping of keys or ~ (null), got ['psnr'] (a list)"),
    (
        'logger-is-text',
        setting('logger', 'verbose'),
        "logger: expected a mapping of keys or ~ (null), got 'verbose' (a string)",
    ),
    ('path-is-list', setting('path', []), 'path: expected a mapping of keys or ~ (null), got [] (a list)'),
    (
        'unknown-top-key',
        setting('modle_type', 'ExtSRModel'),
        f'modle_type: unknown key (did you mean model_type?); {UNKNOWN}',
    ),
    (
        'unknown-top-mapping',
        setting('trian', {'total_iter': 4}),
        f'trian: unknown key (did you mean train?); {UNKNOWN}',
    ),
    (
        'unknown-train-key',
        setting('train.ema_decy', 0.9),
        f'train.ema_decy: unknown key (did you mean ema_decay?); {UNKNOWN}',
    ),
    (
        'unknown-val-key',
        setting('val.save_imgs', True),
        f'val.save_imgs: unknown key (did you mean save_img?); {UNKNOWN}',
    ),
    (
        'unknown-logger-key',
        setting('logger.print_frq', 1),
        f'logger.print_frq: unknown key (did you mean print_freq?); {UNKNOWN}',
    ),
    (
        'unknown-path-key',
        setting('path.pretrain_netwrk_g', None),
        f'path.pretrain_netwrk_g: unknown key (did you mean pretrain_network_g?); {UNKNOWN}',
    ),
    ('runtime-key', setting('rank', 0), 'rank: set by basicsr-ext when it runs, not in option files: remove it'),
    (
        'unknown-dataset-key',
        setting('datasets.train.use_flip', True),
        f'datasets.train.use_flip: unknown key (did you mean use_hflip?); {UNKNOWN}',
    ),
    (
        'strict-load-text',
        setting('path.strict_load_g', 'yes'),
        "path.strict_load_g: expected true or false or ~ (null), got 'yes' (a string)",
    ),
    ('save-img-text', setting('val.save_img', 'no'), "val.save_img: expected true or false, got 'no' (a string)"),
    (
        'hflip-text',
        setting('datasets.train.use_hflip', 'true'),
        "datasets.train.use_hflip: expected true or false, got 'true' (a string)",
    ),
    ('lr-nan', setting('train.optim_g.lr', float('nan')), 'train.optim_g.lr: expected a finite number, got nan'),
    ('lr-inf', setting('train.optim_g.lr', float('inf')), 'train.optim_g.lr: expected a finite number, got inf'),
    ('lr-negative', setting('train.optim_g.lr', -1e-3), 'train.optim_g.lr: expected a number >= 0, got -0.001'),
    (
        'lr-yaml-text',
        setting('train.optim_g.lr', '1e-4'),
        "train.optim_g.lr: expected a number >= 0, got '1e-4' (a string); YAML reads 1e-4 as text: write it with a dot (1.0e-4) or as !!float 1e-4",
    ),
    ('lr-missing', dropping('train.optim_g.lr'), 'train.optim_g: missing required key lr (expected a number >= 0)'),
    (
        'optimizer-unknown',
        setting('train.optim_g.type', 'Adamm'),
        "train.optim_g.type: unknown optimizer 'Adamm'; did you mean Adam?",
    ),
    (
        'optimizer-betas-number',
        setting('train.optim_g.betas', 0.9),
        'train.optim_g.betas: expected a list, got 0.9 (a number) (Adam argument)',
    ),
    (
        'optimizer-unknown-arg',
        setting('train.optim_g.weight_decy', 0.1),
        "train.optim_g.weight_decy: Adam has no argument 'weight_decy'; did you mean weight_decay?",
    ),
    ('scheduler-unknown', setting('train.scheduler.type', 'CosineLR'), None),
    (
        'scheduler-unknown-arg',
        lambda o, t: o['train']['scheduler'].update(milestone=o['train']['scheduler'].pop('milestones')),
        "train.scheduler.milestone: MultiStepRestartLR has no argument 'milestone'; did you mean milestones?",
    ),
    (
        'scheduler-gamma-text',
        setting('train.scheduler.gamma', 'half'),
        "train.scheduler.gamma: expected a number, got 'half' (a string) (MultiStepRestartLR argument)",
    ),
    (
        'scheduler-is-list',
        setting('train.scheduler', ['MultiStepLR']),
        "train.scheduler: expected a mapping of keys or ~ (null), got ['MultiStepLR'] (a list)",
    ),
    (
        'network-type-missing',
        dropping('network_g.type'),
        'network_g: missing required key type (the arch name, e.g. SRCNN)',
    ),
    ('network-type-unknown', setting('network_g.type', 'SRCNNN'), None),
    (
        'swin-kwargs-sink-misspelt',
        setting('network_g', {'type': 'Swin2SR', 'in_chans': 3, 'embed_dim': 12, 'window_sise': 8, 'upscale': 2}),
        "network_g.window_sise: Swin2SR has no argument 'window_sise'; did you mean window_size?",
    ),
    (
        'network-unknown-arg',
        setting('network_g.num_feats', [8, 4]),
        "network_g.num_feats: SRCNN has no argument 'num_feats'; did you mean num_feat?",
    ),
    (
        'network-arg-text',
        setting('network_g.num_in_ch', 'three'),
        "network_g.num_in_ch: expected a number, got 'three' (a string) (SRCNN argument)",
    ),
    (
        'network-arg-bool',
        setting('network_g.upscale', True),
        'network_g.upscale: expected a number, got True (a boolean) (SRCNN argument)',
    ),
    (
        'network-arg-list',
        setting('network_g.num_feat', 64),
        'network_g.num_feat: expected a list, got 64 (an integer) (SRCNN argument)',
    ),
    (
        'network-is-list',
        setting('network_g', ['SRCNN']),
        "network_g: expected a mapping of keys, got ['SRCNN'] (a list)",
    ),
    ('loss-unknown', setting('train.pixel_opt.type', 'L1Los'), None),
    (
        'loss-unknown-arg',
        setting('train.pixel_opt.loss_weigth', 1.0),
        "train.pixel_opt.loss_weigth: L1Loss has no argument 'loss_weigth'; did you mean loss_weight?",
    ),
    (
        'loss-arg-text',
        setting('train.pixel_opt.loss_weight', 'one'),
        "train.pixel_opt.loss_weight: expected a number, got 'one' (a string) (L1Loss argument)",
    ),
    (
        'loss-is-number',
        setting('train.pixel_opt', 5),
        'train.pixel_opt: expected a mapping of keys or ~ (null), got 5 (an integer)',
    ),
    ('metric-unknown', setting('val.metrics.psnr.type', 'psnr'), None),
    (
        'metric-missing-arg',
        dropping('val.metrics.psnr.crop_border'),
        "val.metrics.psnr: calculate_psnr needs the argument 'crop_border'",
    ),
    (
        'metric-arg-text',
        setting('val.metrics.psnr.crop_border', 'two'),
        "val.metrics.psnr.crop_border: expected an integer >= 0, got 'two' (a string)",
    ),
    (
        'metric-better',
        setting('val.metrics.psnr.better', 'up'),
        "val.metrics.psnr.better: expected one of 'higher', 'lower', got 'up' (a string)",
    ),
    (
        'metric-not-mapping',
        setting('val.metrics.psnr', 'calculate_psnr'),
        "val.metrics.psnr: expected a mapping with a type key (e.g. type: calculate_psnr), got 'calculate_psnr' (a string)",
    ),
    (
        'batch-size-zero',
        setting('datasets.train.batch_size_per_gpu', 0),
        'datasets.train.batch_size_per_gpu: expected an integer >= 1, got 0',
    ),
    (
        'batch-size-missing',
        dropping('datasets.train.batch_size_per_gpu'),
        'datasets.train.batch_size_per_gpu: missing required key (expected an integer >= 1)',
    ),
    (
        'workers-negative',
        setting('datasets.train.num_worker_per_gpu', -1),
        'datasets.train.num_worker_per_gpu: expected an integer >= 0, got -1',
    ),
    (
        'enlarge-zero',
        setting('datasets.train.dataset_enlarge_ratio', 0),
        'datasets.train.dataset_enlarge_ratio: expected an integer >= 1, got 0',
    ),
    (
        'gt-size-text',
        setting('datasets.train.gt_size', 'big'),
        "datasets.train.gt_size: expected an integer >= 1 or ~ (null), got 'big' (a string)",
    ),
    (
        'prefetch-mode',
        setting('datasets.train.prefetch_mode', 'gpu'),
        "datasets.train.prefetch_mode: expected one of 'cpu', 'cuda' or ~ (null), got 'gpu' (a string)",
    ),
    (
        'prefetch-cuda-unpinned',
        setting('datasets.train.prefetch_mode', 'cuda'),
        'datasets.train.pin_memory: must be true with prefetch_mode: cuda',
    ),
    (
        'io-backend',
        setting('datasets.train.io_backend.type', 'disc'),
        "datasets.train.io_backend.type: expected one of 'disk', 'lmdb', 'memcached', got 'disc' (a string)",
    ),
    (
        'dataroot-number',
        setting('datasets.train.dataroot_gt', 5),
        'datasets.train.dataroot_gt: expected a folder path (or a list of them), got 5 (an integer)',
    ),
    (
        'dataset-not-mapping',
        setting('datasets.val', 'TinyVal'),
        "datasets.val: expected a mapping with a type key, got 'TinyVal' (a string)",
    ),
    ('dataset-type-unknown', setting('datasets.train.type', 'PairedImageDatset'), None),
    (
        'dataset-phase',
        lambda o, t: o['datasets'].update(validation=o['datasets'].pop('val')),
        'datasets.validation: training reads the phases train and val (val_1, val_2, ...): rename this entry',
    ),
    (
        'no-train-dataset',
        dropping('datasets.train'),
        'datasets: a train dataset (key datasets.train) is required for training',
    ),
    ('num-gpu-negative', setting('num_gpu', -1), "num_gpu: expected an integer >= 0 or 'auto', got -1"),
    ('num-gpu-text', setting('num_gpu', 'all'), "num_gpu: expected an integer >= 0 or 'auto', got 'all' (a string)"),
    (
        'seed-negative',
        setting('manual_seed', -1),
        'manual_seed: expected an integer in [0, 4294967295] or ~ (null), got -1',
    ),
    ('scale-zero', setting('scale', 0), 'scale: expected an integer >= 1, got 0'),
    (
        'dist-port',
        setting('dist_params', {'port': 0}),
        'dist_params.port: expected an integer in [1, 65535] or ~ (null), got 0',
    ),
    (
        'prepare-data-mapping',
        setting('prepare_data', {'type': 'x'}),
        "prepare_data: expected a list or ~ (null), got {'type': 'x'} (a mapping)",
    ),
    # model-level options: declared by the model class (option_keys), checked with the rest, before any folder
    (
        'save-best-mode',
        setting('val.save_best', {'metric': 'psnr', 'mode': 'up'}),
        "val.save_best.mode: expected one of 'max', 'min' or ~ (null), got 'up' (a string)",
    ),
    (
        'save-best-no-metric',
        setting('val.save_best', {'mode': 'max'}),
        'val.save_best.metric: missing required key (expected a string or a mapping of keys)',
    ),
    (
        'lsr-shape',
        lambda o, t: o.update(model_type='AnnealedLSRModel') or o['train'].update(lsr={'shape': 'step'}),
        "train.lsr.shape: expected one of 'cosine', 'linear', got 'step' (a string)",
    ),
    (
        'l0-gamma-without-l0-loss',
        lambda o, t: o.update(model_type='Noise2NoiseModel') or o['train'].update(l0_gamma={'start': 2}),
        'train.l0_gamma: only AnnealedL0Loss has an exponent to anneal; train.pixel_opt.type is L1Loss',
    ),
    (
        'multipass-zero',
        lambda o, t: o.update(model_type='AOSRestorationModel') or o['val'].update(multipass={'max_passes': 0}),
        'val.multipass.max_passes: expected an integer >= 1, got 0',
    ),
    (
        'report-variant',
        lambda o, t: o.update(model_type='AOSRestorationModel') or o['val'].update(report={'variants': ['tta']}),
        "val.report.variants.0: expected one of 'integral', 'oracle_constant', 'blind_constant', 'simple', "
        "'self_ensemble', 'multipass', got 'tta' (a string)",
    ),
]


def _expected_registry_line(case_id):
    """Registry misses list the closest registered names, which depend on what is registered: check the start."""
    return {
        'scheduler-unknown': "train.scheduler.type: unknown scheduler 'CosineLR'. Closest: ",
        'network-type-unknown': "network_g.type: unknown arch 'SRCNNN'. Closest registered names: SRCNN",
        'loss-unknown': "train.pixel_opt.type: unknown loss 'L1Los'. Closest registered names: L1Loss",
        'metric-unknown': "val.metrics.psnr.type: unknown metric 'psnr'. Closest registered names: ",
        'dataset-type-unknown': "datasets.train.type: unknown dataset 'PairedImageDatset'. Closest registered names: "
        'PairedImageDataset',
    }[case_id]


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


@pytest.mark.parametrize('case_id,edit,expected', OPTION_CASES, ids=[c[0] for c in OPTION_CASES])
def test_bad_option(tmp_path, tiny_data, case_id, edit, expected):
    opt = tiny_options(tiny_data)
    opt['logger']['use_tb_logger'] = True  # nothing of it either: the tb_logger folder is made after the check
    edit(opt, tmp_path)
    opt_file = write_yaml(tmp_path / 'bad.yml', opt)
    run = run_train(['-opt', opt_file], tmp_path)
    if expected is None:
        assert_one_line_error(run, f'{opt_file}: {_expected_registry_line(case_id)}', prefix=True)
    else:
        assert_one_line_error(run, f'{opt_file}: {expected}')
    assert_nothing_written(tmp_path)


# (id, the option file's text, the expected message after '<option file>')
FILE_CASES = [
    ('empty', '', ': the file is empty (or only comments): expected a mapping of option keys'),
    ('only-comments', '# name: x\n', ': the file is empty (or only comments): expected a mapping of option keys'),
    ('binary', b'\x89PNG\r\n\x1a\n\xff\x00', ': not a text file (byte 0 is not UTF-8): expected a YAML option file'),
    ('nul-bytes', 'name: x\x00\n', ': not a text file (it holds NUL bytes): expected a YAML option file'),
    ('top-level-list', '- name: x\n', ': expected a mapping of option keys at the top level, got a list'),
    ('top-level-text', 'just some words\n', ': expected a mapping of option keys at the top level, got a string'),
    (
        'duplicate-key',
        'name: a\nscale: 2\nname: b\n',
        ", line 3: invalid YAML: duplicate key 'name' (first given on line 1)",
    ),
    (
        'duplicate-nested',
        'train:\n  lr: 1\n  lr: 2\n',
        ", line 3: invalid YAML: duplicate key 'lr' (first given on line 2)",
    ),
    ('syntax', 'name: x\n  bad: [1, 2\n', ', line 2: invalid YAML: mapping values are not allowed in this context'),
    ('python-tag', 'name: !!python/object/apply:os.system ["true"]\n', None),
    ('base-number', '_base_: 5\nname: x\n', ': _base_: expected a path or a list of paths, got 5'),
    ('base-list-number', '_base_: [5]\nname: x\n', ': _base_ must be a path or a list of paths, got 5'),
    ('base-mapping', '_base_: {a: 1}\nname: x\n', ": _base_: expected a path or a list of paths, got {'a': 1}"),
    ('base-missing', '_base_: nope.yml\nname: x\n', None),
]


@pytest.mark.parametrize('case_id,text,expected', FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_bad_option_file(tmp_path, case_id, text, expected):
    opt_file = tmp_path / 'bad.yml'
    opt_file.write_bytes(text if isinstance(text, bytes) else text.encode())
    run = run_train(['-opt', opt_file], tmp_path)
    if case_id == 'python-tag':
        expected = (
            ", line 1: could not determine a constructor for the tag 'tag:yaml.org,2002:python/object/apply:os.system'. "
            'Option files are read with a safe YAML loader; Python object tags (!!python/...) are not allowed.'
        )
    elif case_id == 'base-missing':
        expected = f': _base_ file not found: nope.yml (looked for {tmp_path / "nope.yml"})'
    assert_one_line_error(run, f'{opt_file}{expected}')
    assert_nothing_written(tmp_path)


@pytest.mark.parametrize(
    'args,expected',
    [
        (['-opt', 'absent.yml'], 'option file not found: {tmp}/absent.yml'),
        (['-opt', 'opts.py'], '{tmp}/opts.py: option files are YAML: expected a .yml or .yaml file'),
        (['-opt', 'folder.yml'], '{tmp}/folder.yml: is a folder: expected a YAML option file'),
    ],
    ids=['not-found', 'python-file', 'folder'],
)
def test_bad_option_path(tmp_path, args, expected):
    (tmp_path / 'opts.py').write_text('name = "x"\n')
    (tmp_path / 'folder.yml').mkdir()
    run = run_train(args, tmp_path)
    assert_one_line_error(run, expected.format(tmp=tmp_path))
    assert_nothing_written(tmp_path)


# (id, override flags, the expected message)
OVERRIDE_CASES = [
    (
        'set-zero',
        ['--cfg-options', 'train.total_iter=0'],
        '--cfg-options train.total_iter=0: expected an integer >= 1, got 0',
    ),
    (
        'set-nan',
        ['--cfg-options', 'train.optim_g.lr=.nan'],
        '--cfg-options train.optim_g.lr=.nan: expected a finite number, got nan',
    ),
    (
        'set-mapping',
        ['--cfg-options', 'train.optim_g={type: Adam, lr: -1}'],
        '--cfg-options train.optim_g={type: Adam, lr: -1}: train.optim_g.lr: expected a number >= 0, got -1',
    ),
    (
        'unknown-key',
        ['--cfg-options', 'train.total_iters=4'],
        "--cfg-options train.total_iters: unknown key 'total_iters' under train; did you mean total_iter? (prefix with + to add a new key)",
    ),
    ('no-equals', ['--cfg-options', 'train.total_iter'], "--cfg-options 'train.total_iter': expected KEY.SUB=VALUE"),
    ('into-value', ['--cfg-options', 'scale.x=1'], '--cfg-options scale.x: scale is a value, not a mapping'),
    (
        'list-index',
        ['--cfg-options', 'network_g.num_feat.5=1'],
        "--cfg-options network_g.num_feat.5: network_g.num_feat is a list of 2 items, '5' is not an index into it",
    ),
    ('bad-value', ['--cfg-options', 'train.total_iter=[1,'], None),
    (
        'added-wrong-type',
        ['--cfg-options', '+logger.wandb=5'],
        '--cfg-options +logger.wandb=5: expected a mapping of keys or ~ (null), got 5 (an integer)',
    ),
    (
        'force-yml',
        ['--force_yml', 'train:total_iter=-1'],
        '--force_yml train:total_iter=-1: expected an integer >= 1, got -1',
    ),
]


@pytest.mark.parametrize('case_id,flags,expected', OVERRIDE_CASES, ids=[c[0] for c in OVERRIDE_CASES])
def test_bad_override(tmp_path, tiny_opt_file, case_id, flags, expected):
    run = run_train(['-opt', tiny_opt_file, *flags], tmp_path)
    if expected is None:
        assert_one_line_error(run, "value '[1,', line 2: invalid YAML: did not find expected node content")
    else:
        assert_one_line_error(run, expected)
    assert_nothing_written(tmp_path)


def test_own_keys_are_accepted_under_extra_and_with_plus(tmp_path, tiny_data):
    """The way out of the unknown-key check: an ``extra:`` mapping, or ``+key`` on the command line."""
    opt = tiny_options(tiny_data, total_iter=1)
    opt['extra'] = {'notes': 'anything', 'nested': {'a': [1, 2]}}
    opt['val']['val_freq'] = 8
    opt_file = write_yaml(tmp_path / 'ok.yml', opt)
    run = run_train(['-opt', opt_file, '--cfg-options', '+train.my_note=1', '+my_tag.run=a'], tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]


@pytest.mark.parametrize(
    'case_id,edit,expected',
    [
        (
            'num-gpu-too-many',
            setting('num_gpu', 64),
            'num_gpu: 64 requested but {n} CUDA devices are visible (use num_gpu: auto, or 0 for CPU)',
        ),
        (
            'dataroot-missing',
            setting('datasets.train.dataroot_gt', 'nowhere'),
            'datasets.train.dataroot_gt: path not found: nowhere',
        ),
        (
            'pretrain-missing',
            setting('path.pretrain_network_g', 'nowhere.pth'),
            'path.pretrain_network_g: pretrained network not found: nowhere.pth',
        ),
        ('wandb-missing', setting('logger.wandb', {'project': 'p'}), None),
    ],
    ids=lambda c: c if isinstance(c, str) else '',
)
def test_bad_runtime_option(tmp_path, tiny_data, case_id, edit, expected):
    import importlib.util

    if case_id == 'wandb-missing' and importlib.util.find_spec('wandb') is not None:
        pytest.skip('wandb is installed here')
    opt = tiny_options(tiny_data)
    edit(opt, tmp_path)
    opt_file = write_yaml(tmp_path / 'bad.yml', opt)
    run = run_train(['-opt', opt_file], tmp_path)
    if expected is None:
        expected = (
            'logger.wandb.project: the wandb package is not installed (pip install wandb), or remove logger.wandb'
        )
    assert_one_line_error(run, f'{opt_file}: ' + expected.format(n=torch.cuda.device_count()))
    assert_nothing_written(tmp_path)


# the test entry point: its own required keys (no train section, any dataset phase names)
TEST_CASES = [
    ('no-datasets', dropping('datasets'), 'datasets: missing required key (expected a mapping of keys)'),
    (
        'empty-datasets',
        setting('datasets', {}),
        'datasets: expected at least one dataset entry (train, val, test_1, ...)',
    ),
    ('unknown-val-key', setting('val.metric', {}), 'val.metric: unknown key (did you mean metrics?); ' + UNKNOWN),
    (
        'network-arg',
        setting('network_g.upscale', 'x2'),
        "network_g.upscale: expected a number, got 'x2' (a string) (SRCNN argument)",
    ),
    ('pretrain-empty', None, 'cannot read network checkpoint {tmp}/net.pth: the file is empty (0 bytes)'),
]


@pytest.mark.parametrize('case_id,edit,expected', TEST_CASES, ids=[c[0] for c in TEST_CASES])
def test_bad_test_option(tmp_path, tiny_data, case_id, edit, expected):
    opt = tiny_options(tiny_data)
    del opt['train'], opt['datasets']['train']
    opt['datasets']['test_1'] = opt['datasets'].pop('val')
    if edit is None:
        (tmp_path / 'net.pth').write_bytes(b'')
        opt['path']['pretrain_network_g'] = str(tmp_path / 'net.pth')
    else:
        edit(opt, tmp_path)
    opt_file = write_yaml(tmp_path / 'bad.yml', opt)
    run = run_test(['-opt', opt_file], tmp_path)
    if edit is None:
        assert_one_line_error(run, expected.format(tmp=tmp_path))
        assert_nothing_written(tmp_path, run_folders=False)
    else:
        assert_one_line_error(run, f'{opt_file}: {expected}')
        assert_nothing_written(tmp_path)


@pytest.mark.parametrize(
    'edit,expected',
    [
        (
            setting('network_g.kernel_sizes', [3, 3]),
            'network_g: SRCNN refused its arguments: SRCNN needs num_feat of length 2 and kernel_sizes of length 3',
        ),
        (
            setting('network_g.upsample', 'cubic'),
            "network_g: SRCNN refused its arguments: SRCNN upsample must be 'bicubic' or 'none', got 'cubic'",
        ),
    ],
    ids=['lengths', 'choice'],
)
def test_network_refusing_its_arguments(tmp_path, tiny_data, edit, expected):
    """Values of the right type that the arch's constructor refuses: found with the other option checks, by building
    the network on the meta device, before any folder is made; the line names the option file."""
    opt = tiny_options(tiny_data)
    opt['logger']['use_tb_logger'] = True
    edit(opt, tmp_path)
    opt_file = write_yaml(tmp_path / 'bad.yml', opt)
    run = run_train(['-opt', opt_file], tmp_path)
    assert_one_line_error(run, f'{opt_file}: {expected}')
    assert_nothing_written(tmp_path)


@pytest.mark.parametrize(
    'key,value',
    [('val.rgb2bgr', True), ('crop_border', 4), ('datasets.train.interval_list', [1])],
    ids=['older-basicsr-key', 'older-top-level-key', 'other-datasets-key'],
)
def test_keys_basicsr_ignores_are_warned_not_refused(tmp_path, tiny_data, key, value):
    """Keys of older BasicSR versions, and keys other models or datasets read (BasicSR's own option files carry
    some): BasicSR ignores them, so the run goes on with one warning line naming the key."""
    opt = tiny_options(tiny_data, total_iter=1)
    opt['val']['val_freq'] = 8
    _set(opt, key, value)
    opt_file = write_yaml(tmp_path / 'old.yml', opt)
    run = run_train(['-opt', opt_file], tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert f'basicsr-ext: warning: {opt_file}: {key}: ignored: read by other BasicSR models' in run.stderr


@pytest.mark.parametrize('where', ['model_type', 'network_g.type', 'datasets.train.type', 'train.pixel_opt.type'])
def test_a_list_where_a_registered_name_goes(tmp_path, tiny_data, where):
    opt = tiny_options(tiny_data)
    _set(opt, where, ['SRCNN'])
    opt_file = write_yaml(tmp_path / 'bad.yml', opt)
    run = run_train(['-opt', opt_file], tmp_path)
    assert run.returncode == 2 and 'Traceback' not in run.stderr, run.stderr[-3000:]
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith(f'{ERR}{opt_file}: {where}: expected ') and "['SRCNN'] (a list)" in last
    assert_nothing_written(tmp_path)
