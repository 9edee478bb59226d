"""The bad-input corpus of option files: each key of each section as users get it wrong (the file, its overrides and the
test entry point: ``test_bad_inputs.py``; pretrained networks and training states: ``test_bad_checkpoints.py``).

Every case goes through ``train.py``'s main in this process and must end with exactly one line on stderr,
``basicsr-ext: error: <option file>: <expected>``, exit status 2, no traceback, and nothing written: no experiments,
results or tb_logger folder, no temp file.
"""

import pytest

from conftest import run_train, tiny_options, write_yaml
from error_lines import UNKNOWN, assert_nothing_written, assert_one_line_error, dropping, setting

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
    ('num-gpu-list', setting('num_gpu', [1]), "num_gpu: expected an integer >= 0 or 'auto', got [1] (a list)"),
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
        'save-best-metric-list',  # a list where a union (string or mapping) goes
        setting('val.save_best', {'metric': ['psnr']}),
        "val.save_best.metric: expected a string or a mapping of keys, got ['psnr'] (a list)",
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
