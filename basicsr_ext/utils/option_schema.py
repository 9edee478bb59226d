"""What an option file may hold: the keys BasicSR's training/test pipelines and basicsr-ext read, with types and ranges.

The tables below are derived from BasicSR 1.4.2's code paths (``basicsr/train.py``, ``basicsr/data/__init__.py``,
``basicsr/models/base_model.py``, ``sr_model.py``, ``basicsr/utils/logger.py``) and our option docs. Keys a model or
dataset class reads that are not typed here are found in its source (:mod:`basicsr_ext.utils.option_keys`) and are
accepted untyped; network, loss, metric and optimizer settings are checked against their constructor signatures
(:mod:`basicsr_ext.utils.option_signature`). :func:`basicsr_ext.utils.options.validate_options` walks them.

A :class:`Spec` says what one key holds. Integers accept integral floats, as BasicSR does (``val_freq: !!float 5e3``).
"""

import difflib
import math
from numbers import Real


class Spec:
    """One option key.

    Args:
        kind (str): 'int', 'number', 'bool', 'str', 'list', 'mapping' or 'any'.
        required (str | None): None, 'always', 'train' (training needs it) or 'test'.
        low / high (float | None): inclusive range for numbers.
        choices (tuple | None): the allowed values.
        also (tuple): literal values accepted besides ``kind`` (``num_gpu: auto``).
        none (bool): ``~`` (null) is allowed.
        keys (dict | None): for a mapping, the specs of its keys (None: any keys).
        patterns (dict | None): for a mapping, specs of keys by prefix (``'optim_'``) or suffix (``'*_opt'``).
    """

    def __init__(self, kind, required=None, low=None, high=None, choices=None, also=(), none=False, keys=None,
                 patterns=None):  # fmt: skip
        self.kind, self.required, self.low, self.high = kind, required, low, high
        self.choices, self.also, self.none, self.keys, self.patterns = choices, also, none, keys, patterns

    def spec_for(self, key):
        """The spec of ``key`` in this mapping, or None when the key is unknown here."""
        if self.keys is not None and key in self.keys:
            return self.keys[key]
        for pattern, spec in (self.patterns or {}).items():
            if (pattern.startswith('*') and str(key).endswith(pattern[1:])) or (
                not pattern.startswith('*') and str(key).startswith(pattern)
            ):
                return spec
        return None

    def expected(self):
        """What this key holds, in words (for error messages)."""
        words = {
            'int': 'an integer',
            'number': 'a number',
            'bool': 'true or false',
            'str': 'a string',
            'list': 'a list',
            'mapping': 'a mapping of keys',
            'any': 'a value',
        }[self.kind]
        if self.choices is not None:
            words = 'one of ' + ', '.join(repr(c) for c in self.choices)
        if self.low is not None and self.high is not None:
            words += f' in [{self.low}, {self.high}]'
        elif self.low is not None:
            words += f' >= {self.low}'
        elif self.high is not None:
            words += f' <= {self.high}'
        extras = [repr(a) for a in self.also] + (['~ (null)'] if self.none else [])
        return words + (f' or {" or ".join(extras)}' if extras else '')

    def problem(self, value):
        """Why ``value`` does not fit, or None."""
        if value is None:
            return None if self.none or self.kind == 'any' else f'expected {self.expected()}, got ~ (null)'
        if value in self.also or self.kind == 'any':
            return None
        if self.choices is not None:
            return None if value in self.choices else f'expected {self.expected()}, got {describe(value)}'
        fits = {
            'int': is_int(value),
            'number': isinstance(value, Real) and not isinstance(value, bool),
            'bool': isinstance(value, bool),
            'str': isinstance(value, str),
            'list': isinstance(value, (list, tuple)),
            'mapping': isinstance(value, dict),
        }[self.kind]
        if not fits:
            return f'expected {self.expected()}, got {describe(value)}{yaml_number_hint(value)}'
        if self.kind in ('int', 'number'):
            if not math.isfinite(value):
                return f'expected a finite number, got {value}'
            if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
                return f'expected {self.expected()}, got {value}'
        return None


def closest(word, names):
    """The names most like ``word`` (the best one, and any as close as it): the "did you mean" of an error."""
    scored = sorted(((difflib.SequenceMatcher(None, str(word), n).ratio(), n) for n in set(names)), reverse=True)
    if not scored or scored[0][0] < 0.6:
        return []
    return [n for ratio, n in scored if ratio >= scored[0][0] - 0.05 and ratio >= 0.6][:3]


def is_int(value):
    """An integer, or a float with an integral value (``!!float 5e3``); never a bool."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value) and value.is_integer())


def describe(value):
    """A value and its YAML type, for error messages."""
    kind = {bool: 'a boolean', int: 'an integer', float: 'a number', str: 'a string', list: 'a list', dict: 'a mapping'}
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + '...'
    return f'{text} ({kind.get(type(value), type(value).__name__)})'


def yaml_number_hint(value):
    """PyYAML reads ``1e-4`` (no dot) as a string: say so when a number was meant."""
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return ''
        return f'; YAML reads {value} as text: write it with a dot (1.0e-4) or as !!float {value}'
    return ''


def _int(low=None, high=None, **kw):
    return Spec('int', low=low, high=high, **kw)


BOOL = Spec('bool')
STR = Spec('str')
OPT_STR = Spec('str', none=True)
ANY = Spec('any')

# ``path:`` (BasicSR BaseModel.load_network / resume; our experiments root)
PATH = Spec(
    'mapping',
    none=True,
    keys={'resume_state': OPT_STR, 'root': OPT_STR, 'ignore_resume_networks': Spec('list', none=True)},
    patterns={'pretrain_network_': OPT_STR, 'strict_load_': Spec('bool', none=True), 'param_key_': OPT_STR},
)
# ``train.optim_*``: the learning rate here; the type and the other keys are checked against the torch.optim class
LR = Spec('number', low=0)
TRAIN = Spec(
    'mapping',
    required='train',
    keys={
        'total_iter': _int(1, required='train'),  # basicsr/train.py: int(opt['train']['total_iter'])
        'warmup_iter': _int(-1),
        'ema_decay': Spec('number', low=0, high=1),
        'scheduler': Spec('mapping', none=True, keys=None),
        'optim_g': Spec('mapping', required='train', keys=None),  # every model here optimises net_g (setup_optimizers)
        'net_d_iters': _int(1),
        'net_d_init_iters': _int(0),
        # basicsr-ext's ExtSRModel (models/ext_sr_model.py documents them)
        'accumulate_grad_batches': _int(1),
        'use_amp': BOOL,
        'amp_dtype': Spec('str', choices=('float16', 'bfloat16', 'fp16', 'bf16'), none=True),
        'grad_clip_norm': Spec('number', low=0, none=True),
        'max_nonfinite_steps': _int(0),
        'trainable_params': Spec('list', none=True),
    },
    patterns={'optim_': Spec('mapping', keys=None), '*_opt': Spec('mapping', none=True, keys=None)},
)
VAL = Spec(
    'mapping',
    none=True,
    keys={
        'val_freq': _int(1, required='train'),  # basicsr/train.py: current_iter % opt['val']['val_freq']
        'save_img': BOOL,
        'suffix': OPT_STR,
        'pbar': BOOL,
        'metrics': Spec('mapping', none=True, keys=None),
    },
)
LOGGER = Spec(
    'mapping',
    none=True,
    keys={
        'print_freq': _int(1),
        'save_checkpoint_freq': _int(1),
        'use_tb_logger': Spec('bool', none=True),
        'wandb': Spec('mapping', none=True, keys={'project': OPT_STR, 'resume_id': OPT_STR, 'entity': OPT_STR}),
    },
)
DIST_PARAMS = Spec(
    'mapping',
    none=True,
    keys={'backend': Spec('str', choices=('nccl', 'gloo', 'mpi'), none=True), 'port': _int(1, 65535, none=True)},
)
# one entry of ``datasets:`` (basicsr/data/__init__.py build_dataset / build_dataloader, the prefetchers, and the
# keys every image dataset here shares); dataset-specific keys come from the dataset class's source
DATASET = Spec(
    'mapping',
    keys={
        'name': STR,
        'type': Spec('str', required='always'),
        'phase': STR,
        'scale': _int(1),
        'batch_size_per_gpu': _int(1, required='train'),
        'num_worker_per_gpu': _int(0, required='train'),
        'use_shuffle': BOOL,
        'dataset_enlarge_ratio': _int(1),
        'prefetch_mode': Spec('str', choices=('cpu', 'cuda'), none=True),
        'pin_memory': BOOL,
        'persistent_workers': BOOL,
        'num_prefetch_queue': _int(1),
        'io_backend': Spec('mapping', keys=None),
        'gt_size': _int(1, none=True),  # ~: whole images (AOS)
        'use_hflip': BOOL,
        'use_rot': BOOL,
        'filename_tmpl': STR,
        'meta_info_file': OPT_STR,
    },
    patterns={'dataroot_': ANY},  # dataroot_gt, dataroot_lq, dataroot_flow, ... (checked by validate_options)
)
IO_BACKENDS = ('disk', 'lmdb', 'memcached')
# the arguments every BasicSR metric takes (basicsr/metrics/psnr_ssim.py), typed before the signature check
METRIC_ARGS = {
    'crop_border': _int(0),
    'test_y_channel': BOOL,
    'input_order': Spec('str', choices=('HWC', 'CHW')),
    'better': Spec('str', choices=('higher', 'lower')),
}
ROOT = Spec(
    'mapping',
    keys={
        'name': Spec('str', required='always'),
        'model_type': Spec('str', required='always'),
        'scale': _int(1),
        'num_gpu': _int(0, also=('auto',)),
        'manual_seed': _int(0, 2**32 - 1, none=True),
        'datasets': Spec('mapping', required='always', keys=None),
        'path': PATH,
        'train': TRAIN,
        'val': VAL,
        'logger': LOGGER,
        'dist_params': DIST_PARAMS,
        'find_unused_parameters': BOOL,
        'prepare_data': Spec('list', none=True),  # data/prepare.py checks each entry
        'extra': ANY,  # the user's own keys: never read, never checked
    },
    patterns={'network_': Spec('mapping', keys=None)},
)
ROOT.keys['network_g'] = Spec('mapping', required='always', keys=None)  # every model here builds network_g
