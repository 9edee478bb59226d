"""The bad-input corpus of the entry points: option files that cannot be read, overrides, runtime and test-run options
as users get them wrong (each key of each section: ``test_bad_options.py``; pretrained networks and training states:
``test_bad_checkpoints.py``).

Every case goes through the real entry point (``train.py`` or ``test.py`` main, in this process) and must end with
exactly one line on stderr, ``basicsr-ext: error: ...`` (the exact text asserted), exit status 2, no traceback, and
nothing half-written: option mistakes are found before anything is created (no experiments/results folder), and no
case leaves a temp file behind. Data mistakes (images, pairs, LMDBs) are in ``test_bad_data_inputs.py``.
"""

import pytest
import torch

from conftest import run_test, run_train, tiny_options, write_yaml
from error_lines import ERR, UNKNOWN, assert_nothing_written, assert_one_line_error, dropping, set_key, setting

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
    set_key(opt, key, value)
    opt_file = write_yaml(tmp_path / 'old.yml', opt)
    run = run_train(['-opt', opt_file], tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert f'basicsr-ext: warning: {opt_file}: {key}: ignored: read by other BasicSR models' in run.stderr


@pytest.mark.parametrize('where', ['model_type', 'network_g.type', 'datasets.train.type', 'train.pixel_opt.type'])
def test_a_list_where_a_registered_name_goes(tmp_path, tiny_data, where):
    opt = tiny_options(tiny_data)
    set_key(opt, where, ['SRCNN'])
    opt_file = write_yaml(tmp_path / 'bad.yml', opt)
    run = run_train(['-opt', opt_file], tmp_path)
    assert run.returncode == 2 and 'Traceback' not in run.stderr, run.stderr[-3000:]
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith(f'{ERR}{opt_file}: {where}: expected ') and "['SRCNN'] (a list)" in last
    assert_nothing_written(tmp_path)
