"""An option dict checked before anything runs: one :class:`UserError` naming the file and the key path.

The fixed sections (:mod:`~basicsr_ext.utils.option_models`) are widened for this file by what its model class and
each dataset class declare in ``option_keys`` (a section model, or a tuple of key names; BasicSR's classes get theirs
in ``compat_options.py``). Networks, losses, metrics and optimizers are bound to their signatures. A key another
registered class reads is ignored with a warning, as BasicSR ignores it; keys of the user's own go under ``extra:``.
"""

import difflib
from typing import Any, Optional

import torch
from pydantic import BaseModel, create_model

from basicsr_ext.utils.errors import UserError, constructor_refusal, one_line
from basicsr_ext.utils.option_lines import check_kwargs, model_problems
from basicsr_ext.utils.option_models import SECTIONS, Dataset, IntRange, Metric, NumberRange, closest, describe

# keys of older BasicSR versions that 1.4.2 reads nowhere (its own shipped option files still carry some)
LEGACY = {'': ('suffix', 'crop_border', 'save_img'), 'val': ('rgb2bgr', 'use_image')}
TEST_RELAXED = {  # keys only training needs
    'val': {'val_freq': (Optional[IntRange(1)], None)},
    'train': {'total_iter': (Optional[IntRange(1)], None), 'optim_g': (Optional[dict], None)},
}
LOADER_RELAXED = {'batch_size_per_gpu': (Any, None), 'num_worker_per_gpu': (Any, None)}  # train entry's keys


def lookup(registry, name):
    """A registered object by name (BasicSR's suffixed copies too) without Registry.get's print on a miss."""
    for key in (name, f'{name}_basicsr') if isinstance(name, str) else ():
        if key in registry:
            return registry.get(key)
    return None


def declared(cls, section=None):
    """``(section models, key names)`` a class declares in ``option_keys`` along its MRO (a model class: by
    ``section``, '' the top level)."""
    models, names = [], set()
    for klass in reversed(getattr(cls, '__mro__', ())):
        keys = klass.__dict__.get('option_keys')
        keys = keys.get(section) if section is not None and isinstance(keys, dict) else keys
        if isinstance(keys, type) and issubclass(keys, BaseModel):
            models.append(keys)
        elif isinstance(keys, (tuple, list)):
            names.update(keys)
    return models, names


def _compose(base, classes, section, data, **overrides):
    """``base`` widened by the declarations of ``classes`` and by the pattern keys ``data`` holds."""
    models, names = [], set()
    for found in (declared(cls, section) for cls in classes):
        models += [m for m in found[0] if m not in models and m not in base.__mro__]
        names |= found[1]
    bases = (base, *models)
    fields = {n: (Any, None) for n in names if all(n not in m.model_fields for m in bases)}
    patterns = {k: v for m in reversed(bases) for k, v in m.patterns.items()}
    for key in data if isinstance(data, dict) else ():
        if isinstance(key, str) and key not in fields and all(key not in m.model_fields for m in bases):
            match = [a for p, a in patterns.items() if (key.endswith(p[1:]) if p[0] == '*' else key.startswith(p))]
            if match:
                fields[key] = (match[0], None)
    return create_model(base.__name__, __base__=bases, **fields, **overrides)


def keys_read_anywhere():
    """``{section: keys}`` declared by any registered model, and ``'dataset'``: by any registered dataset."""
    from basicsr.utils.registry import DATASET_REGISTRY, MODEL_REGISTRY

    found = {section: set(keys) for section, keys in LEGACY.items()}
    pairs = [(cls, section, section) for _, cls in MODEL_REGISTRY for section in SECTIONS]
    for cls, section, key in pairs + [(cls, None, 'dataset') for _, cls in DATASET_REGISTRY]:
        models, names = declared(cls, section)
        found.setdefault(key, set()).update(names, *(m.model_fields for m in models))
    return found


def _options_model(opt, is_train, classes):
    sections = {}
    for section, base in SECTIONS.items():
        if section:
            relax = {} if is_train else TEST_RELAXED.get(section, {})
            sections[section] = (Optional[_compose(base, classes, section, opt.get(section), **relax)], None)
    if is_train:
        sections['train'] = (sections['train'][0].__args__[0], ...)
    return _compose(SECTIONS[''], classes, '', opt, **sections)


def options_schema():
    """The JSON Schema of a training option file, with the keys basicsr-ext's models declare (for YAML editors;
    ``scripts/option_schema.py`` writes it to docs/)."""
    from basicsr.utils.registry import MODEL_REGISTRY

    ours = sorted((cls for _, cls in MODEL_REGISTRY if cls.__module__.startswith('basicsr_ext.')), key=str)
    schema = _options_model({}, True, ours).model_json_schema()
    schema['title'] = 'basicsr-ext option file'
    return schema


def _dataset_problems(opt, is_train, added, elsewhere, notes, context):
    from basicsr.utils.registry import DATASET_REGISTRY

    datasets = opt['datasets']
    if not datasets:
        yield 'datasets', 'expected at least one dataset entry (train, val, test_1, ...)'
    if is_train and 'train' not in datasets:
        yield 'datasets', 'a train dataset (key datasets.train) is required for training'
    for phase, entry in datasets.items():
        path = f'datasets.{phase}'
        relax = {} if is_train and phase == 'train' else LOADER_RELAXED
        if is_train and phase != 'train' and str(phase).split('_')[0] != 'val':
            yield path, 'training reads the phases train and val (val_1, val_2, ...): rename this entry'
        model = _compose(Dataset, [lookup(DATASET_REGISTRY, entry['type'])], None, entry, **relax)
        where = {**context, 'where': path, 'phase': str(phase).split('_')[0]}
        yield from model_problems(model, entry, path, added, {'': elsewhere.get('dataset', ())}, notes, where)
        for key, value in entry.items():
            if str(key).startswith('dataroot') and value is not None:
                for item in value if isinstance(value, list) else [value]:
                    if not isinstance(item, str):
                        yield f'{path}.{key}', f'expected a folder path (or a list of them), got {describe(item)}'


def _built(opt):
    """``(key path, value, kind)`` of what a ``type:`` names, in the order it is checked: networks (``arch``),
    datasets, the ``train`` section's losses and optimizers, metrics (``bad metric``: not a mapping with a type)."""
    yield from ((key, v, 'arch') for key, v in opt.items() if str(key).startswith('network_') and isinstance(v, dict))
    yield from ((f'datasets.{phase}', entry, 'dataset') for phase, entry in opt['datasets'].items())
    for key, value in (opt.get('train') or {}).items():
        if str(key).endswith('_opt') and isinstance(value, dict) and 'type' in value:
            yield f'train.{key}', value, 'loss'
        elif str(key).startswith('optim_') and isinstance(value, dict):
            yield f'train.{key}', value, 'optimizer'
    for name, metric in ((opt.get('val') or {}).get('metrics') or {}).items():
        good = isinstance(metric, dict) and 'type' in metric
        yield f'val.metrics.{name}', metric, 'metric' if good else 'bad metric'


def _registries():
    from basicsr.utils import registry as r

    kinds = ('model', 'arch', 'dataset', 'loss', 'metric')
    return {kind: getattr(r, f'{kind.upper()}_REGISTRY') for kind in kinds}


def _type_problems(opt):
    """Every ``type:`` against BasicSR's registries (``import basicsr_ext`` registered ours): the first problem."""
    registries, checks = _registries(), [('model_type', opt['model_type'], 'model')]
    for path, value, kind in _built(opt):
        if kind == 'arch' and 'type' not in value:
            return [(path, 'missing required key type (the arch name, e.g. SRCNN)')]
        if kind == 'dataset' and (not isinstance(value, dict) or 'type' not in value):
            return [(path, f'expected a mapping with a type key, got {describe(value)}')]
        if kind in registries:
            checks.append((f'{path}.type', value['type'], kind))
    for key, name, kind in checks:
        if not isinstance(name, str):
            return [(key, f'expected the name of a registered {kind} (a string), got {describe(name)}')]
        if lookup(registries[kind], name) is None:
            names = sorted(registries[kind].keys())
            close = difflib.get_close_matches(name, names, n=5, cutoff=0.4)
            close += [n for n in names if n.lower() == name.lower() and n not in close]
            hint = f' Closest registered names: {", ".join(close)}.' if close else f' Registered: {", ".join(names)}.'
            return [(key, f'unknown {kind} {name!r}.{hint}')]
    return []


def _kwargs_problems(opt):
    """Networks, losses and metrics against their registered classes; optimizers against torch.optim."""
    registries = _registries()
    for path, value, kind in _built(opt):
        if kind == 'bad metric':
            yield path, f'expected a mapping with a type key (e.g. type: calculate_psnr), got {describe(value)}'
        elif kind == 'optimizer':
            yield from _optimizer_problems(value, path)
        elif kind == 'arch':
            fn = lookup(registries[kind], value['type'])
            yield from check_kwargs(fn, value, path, skip=('type',)) or _constructor_problems(fn, value, path)
        elif kind == 'loss':
            yield from check_kwargs(lookup(registries[kind], value['type']), value, path, skip=('type',))
        elif kind == 'metric':
            typed = {k: v for k, v in value.items() if k in Metric.model_fields}
            fn, skip = lookup(registries[kind], value['type']), ('type', 'better')
            problems = list(model_problems(Metric, typed, path)) or check_kwargs(
                fn, value, path, skip=skip, data_args=('img', 'img2', 'pos')
            )
            yield from problems[:1]


def _constructor_problems(cls, net, key):
    """The arch built on the meta device (no memory), else on the CPU (a constructor that needs real tensors): what
    its ``__init__`` refuses is found before any folder is made. Only the CPU build's errors count (a meta tensor
    refuses numpy); an arch that reads files (``*path`` arguments: SpyNet) is built by BasicSR only."""
    kwargs = {k: v for k, v in net.items() if k != 'type'}
    for device in ('meta',) if any('path' in str(k) for k in kwargs) else ('meta', 'cpu'):
        try:
            with torch.device(device):
                cls(**kwargs)
            return []
        except UserError as err:  # an arch of ours says what is wrong itself
            return [(key, f'{net["type"]} refused its arguments: {one_line(err)}')]
        except Exception as err:  # noqa: BLE001  (an argument refusal is the user's; anything else is not)
            message = constructor_refusal(err) if device == 'cpu' else None
            if message is not None:
                return [(key, f'{net["type"]} refused its arguments: {message}')]
    return []


def _optimizer_problems(optim, path):
    cls = getattr(torch.optim, str(optim.get('type')), None)
    if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
        names = sorted(n for n, c in vars(torch.optim).items() if isinstance(c, type) and n[0].isupper()
                       and issubclass(c, torch.optim.Optimizer) and n != 'Optimizer')  # fmt: skip
        close = closest(optim.get('type'), names)
        hint = f'did you mean {" or ".join(close)}?' if close else f'torch.optim has {", ".join(names)}'
        yield f'{path}.type', f'unknown optimizer {optim.get("type")!r}; {hint}'
    elif 'lr' not in optim:
        yield path, 'missing required key lr (expected a number >= 0)'
    else:
        yield from model_problems(create_model('Optim', lr=(NumberRange(0), ...)), {'lr': optim['lr']}, path)
        yield from check_kwargs(cls, optim, path, skip=('type',), data_args=('params',), lenient=True)


def option_problems(opt, is_train=True, added=(), notes=None):
    """Every problem of a resolved option dict as ``(key_path, message)``, in the order they are checked; checking
    stops at the first group that has a problem. Ignored keys go to ``notes``."""
    from basicsr.utils.registry import MODEL_REGISTRY

    cls, elsewhere = lookup(MODEL_REGISTRY, opt.get('model_type')), keys_read_anywhere()
    context = {'opt': opt, 'is_train': is_train}
    for group in (
        lambda: model_problems(_options_model(opt, is_train, [cls]), opt, '', set(added), elsewhere, notes, context),
        lambda: _type_problems(opt),
        lambda: _dataset_problems(opt, is_train, set(added), elsewhere, notes, context),
        lambda: _kwargs_problems(opt),
    ):
        problems = list(group())
        yield from problems
        if problems:  # later checks would trip over what is wrong here
            return


def validate_options(opt, opt_file, is_train=True, overrides=None, added=()):
    """Raise a :class:`UserError` for the first problem, naming ``opt_file`` and the key path, or the override entry
    that set the key (``overrides``: ``{key_path: 'flag entry'}``, e.g. ``'--cfg-options train.total_iter=0'``).
    Returns the warnings, one line each (keys that are ignored)."""
    notes = []
    for key_path, message in option_problems(opt, is_train, added, notes):
        for path, entry in (overrides or {}).items():
            if key_path == path or key_path.startswith(path + '.'):
                raise UserError(f'{entry}: {message}' if key_path == path else f'{entry}: {key_path}: {message}')
        inside = [entry for path, entry in (overrides or {}).items() if key_path and path.startswith(key_path + '.')]
        where = f'{opt_file} with {", ".join(inside)}' if inside else opt_file  # a mapping the file and flags made
        raise UserError(f'{where}: {key_path}: {message}' if key_path else f'{opt_file}: {message}')
    return [f'{opt_file}: {key_path}: {message}' for key_path, message in notes]
