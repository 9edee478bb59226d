"""The fixed sections of an option file as pydantic models: what BasicSR 1.4.2's pipelines and basicsr-ext read.

Derived from BasicSR's code paths (``basicsr/train.py``, ``basicsr/data/__init__.py``, ``base_model.py``,
``sr_model.py``, ``basicsr/utils/logger.py``). Every section forbids unknown keys; keys a model or dataset class reads
besides these are declared by the class (``option_keys``, see :mod:`basicsr_ext.utils.option_check`), and keys that
only follow a naming pattern (``optim_g``, ``pixel_opt``, ``pretrain_network_d``, ``dataroot_flow``) are added as
fields for the keys a file holds. ``python scripts/option_schema.py`` writes the JSON Schema (docs/).

Integers accept integral floats, as BasicSR does (``val_freq: !!float 5e3``); no number accepts a boolean or text.
"""

import difflib
import math
from numbers import Real
from typing import Annotated, Any, ClassVar, Literal, Optional

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError


def _pattern_properties(schema, cls):
    """JSON Schema: keys that follow a pattern (``optim_<name>``) are allowed besides the listed ones."""
    if cls.patterns:
        schema['patternProperties'] = {f'{p[1:]}$' if p[0] == '*' else f'^{p}': {} for p in sorted(cls.patterns)}


class Section(BaseModel):
    """A mapping of option keys; unknown keys are errors. ``patterns``: ``{prefix or *suffix: annotation}``."""

    model_config = ConfigDict(extra='forbid', protected_namespaces=(), json_schema_extra=_pattern_properties)
    patterns: ClassVar[dict] = {}


def option_error(path, message):
    """What a declared section's own check raises: ``path: message`` is the line the user reads."""
    return PydanticCustomError('option', '{message}', {'path': path, 'message': message})


def _int(value):
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise PydanticCustomError('int_type', 'not an integer')
    return value


def to_number(value):
    if isinstance(value, bool) or not isinstance(value, Real):
        raise PydanticCustomError('float_type', 'not a number')
    if not math.isfinite(value):
        raise PydanticCustomError('finite_number', 'expected a finite number, got {value}', {'value': value})
    return float(value)


Int = Annotated[int, BeforeValidator(_int)]
Number = Annotated[float, BeforeValidator(to_number)]
Bool = Annotated[bool, Field(strict=True)]
Str = Annotated[str, Field(strict=True)]


def IntRange(low=None, high=None):  # noqa: N802 (a type)
    return Annotated[int, Field(ge=low, le=high), BeforeValidator(_int)]


def NumberRange(low=None, high=None):  # noqa: N802 (a type)
    return Annotated[float, Field(ge=low, le=high), BeforeValidator(to_number)]


class Path(Section):
    resume_state: Optional[Str] = None
    root: Optional[Str] = None
    ignore_resume_networks: Optional[list] = None
    patterns: ClassVar[dict] = {
        'pretrain_network_': Optional[Str],
        'strict_load_': Optional[Bool],
        'param_key_': Optional[Str],
    }


class Train(Section):
    total_iter: IntRange(1)  # basicsr/train.py: int(opt['train']['total_iter'])
    optim_g: dict  # every model here optimises net_g (setup_optimizers); its keys: the torch.optim class's
    warmup_iter: IntRange(-1) = -1
    ema_decay: NumberRange(0, 1) = 0
    scheduler: Optional[dict] = None
    net_d_iters: IntRange(1) = 1
    net_d_init_iters: IntRange(0) = 0
    patterns: ClassVar[dict] = {'optim_': dict, '*_opt': Optional[dict]}


class Val(Section):
    val_freq: IntRange(1)  # basicsr/train.py: current_iter % opt['val']['val_freq']
    save_img: Bool = False
    suffix: Optional[Str] = None
    pbar: Bool = False
    metrics: Optional[dict] = None


class Wandb(Section):
    project: Optional[Str] = None  # BasicSR starts wandb (and imports it) only with a project, and not in debug runs
    resume_id: Optional[Str] = None
    entity: Optional[Str] = None

    @model_validator(mode='after')
    def _wandb_installed(self, info: ValidationInfo):
        import importlib.util

        name = str(((info.context or {}).get('opt') or {}).get('name'))
        if self.project is not None and 'debug' not in name and importlib.util.find_spec('wandb') is None:
            message = 'the wandb package is not installed (pip install wandb), or remove logger.wandb'
            raise option_error('logger.wandb.project', message)
        return self


class Logger(Section):
    print_freq: IntRange(1) = 100
    save_checkpoint_freq: IntRange(1) = 5000
    use_tb_logger: Optional[Bool] = None
    wandb: Optional[Wandb] = None


class DistParams(Section):
    backend: Optional[Literal['nccl', 'gloo', 'mpi']] = None
    port: Optional[IntRange(1, 65535)] = None


class IoBackend(BaseModel):
    """``io_backend`` of a dataset entry: BasicSR's FileClient backend, and that backend's own keys (``db_paths``)."""

    model_config = ConfigDict(extra='allow')
    type: Literal['disk', 'lmdb', 'memcached']


class Dataset(Section):
    """One entry of ``datasets:`` (build_dataset / build_dataloader, the prefetchers, keys the image datasets share)."""

    type: Str
    name: Str = ''
    phase: Str = ''
    scale: IntRange(1) = 1
    batch_size_per_gpu: IntRange(1)  # required in the train entry only (the checker relaxes it elsewhere)
    num_worker_per_gpu: IntRange(0)
    use_shuffle: Bool = True
    dataset_enlarge_ratio: IntRange(1) = 1
    prefetch_mode: Optional[Literal['cpu', 'cuda']] = None
    pin_memory: Bool = False
    persistent_workers: Bool = False
    num_prefetch_queue: IntRange(1) = 1
    io_backend: IoBackend = IoBackend(type='disk')
    gt_size: Optional[IntRange(1)] = None  # ~: whole images (AOS)
    use_hflip: Bool = False
    use_rot: Bool = False
    filename_tmpl: Str = '{}'
    meta_info_file: Optional[Str] = None
    patterns: ClassVar[dict] = {'dataroot_': Any}

    @model_validator(mode='after')
    def _cuda_prefetch_pins_memory(self, info: ValidationInfo):
        if self.prefetch_mode == 'cuda' and not self.pin_memory:
            where = (info.context or {}).get('where', 'datasets')
            raise option_error(f'{where}.pin_memory', 'must be true with prefetch_mode: cuda')
        return self


class Metric(Section):
    """The arguments every BasicSR metric takes (basicsr/metrics/psnr_ssim.py), typed before the signature check."""

    type: Str
    crop_border: IntRange(0) = 0
    test_y_channel: Bool = False
    input_order: Literal['HWC', 'CHW'] = 'HWC'
    better: Literal['higher', 'lower'] = 'higher'


class Options(Section):
    """The top level. Keys of the user's own go under ``extra:``."""

    name: Str
    model_type: Str
    network_g: dict  # every model here builds network_g
    datasets: dict
    train: Train  # required for training (the checker relaxes it for tests)
    scale: IntRange(1) = 1
    num_gpu: IntRange(0) | Literal['auto'] = 'auto'
    manual_seed: Optional[IntRange(0, 2**32 - 1)] = None
    path: Optional[Path] = None
    val: Optional[Val] = None
    logger: Optional[Logger] = None
    dist_params: Optional[DistParams] = None
    find_unused_parameters: Bool = False
    prepare_data: Optional[list] = None  # data/prepare.py binds each entry to its preparer
    extra: Any = None  # the user's own keys: never read, never checked
    patterns: ClassVar[dict] = {'network_': dict}


SECTIONS = {'': Options, 'path': Path, 'train': Train, 'val': Val, 'logger': Logger, 'dist_params': DistParams}


def closest(word, names):
    """The names most like ``word`` (the best one, and any as close as it): the "did you mean" of an error."""
    scored = sorted(((difflib.SequenceMatcher(None, str(word), n).ratio(), n) for n in set(names)), reverse=True)
    if not scored or scored[0][0] < 0.6:
        return []
    return [n for ratio, n in scored if ratio >= scored[0][0] - 0.05 and ratio >= 0.6][:3]


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


_WORDS = {
    'integer': 'an integer',
    'number': 'a number',
    'boolean': 'true or false',
    'string': 'a string',
    'array': 'a list',
    'object': 'a mapping of keys',
}


def expected(schema, defs=None):
    """What a JSON Schema (of one field) accepts, in words: ``an integer >= 1``, ``a mapping of keys or ~ (null)``."""
    defs = defs or {}
    if '$ref' in schema:
        schema = defs.get(schema['$ref'].rsplit('/', 1)[-1], {'type': 'object'})
    if 'anyOf' in schema:
        options = [s for s in schema['anyOf'] if s.get('type') != 'null']
        words = ' or '.join(expected(s, defs) for s in options)
        return words + (' or ~ (null)' if len(options) < len(schema['anyOf']) else '')
    if 'const' in schema:
        return repr(schema['const'])
    if schema.get('type') == 'array' and 'enum' in schema.get('items', {}):
        return 'a list of ' + ', '.join(map(str, schema['items']['enum']))
    if 'enum' in schema:
        return 'one of ' + ', '.join(repr(c) for c in schema['enum'])
    words = _WORDS.get(schema.get('type'), 'a value')
    low, high = schema.get('minimum'), schema.get('maximum')
    if low is not None and high is not None:
        return f'{words} in [{low}, {high}]'
    bounds = [(' >= ', low), (' > ', schema.get('exclusiveMinimum')), (' <= ', high)]
    return words + ''.join(f'{sign}{bound}' for sign, bound in bounds if bound is not None)
