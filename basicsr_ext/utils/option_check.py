"""An option dict checked before anything runs: one :class:`UserError` naming the file and the key path.

The fixed sections are the pydantic models of :mod:`~basicsr_ext.utils.option_models`, widened for this file by
what its model class and each dataset class declare in ``option_keys`` (a pydantic section model, or a tuple of key
names; BasicSR's own classes get theirs in ``basicsr_ext/compat_options.py``). Networks, losses, metrics and
optimizers are bound to their signatures (:mod:`~basicsr_ext.utils.option_signature`). A key another registered
class reads (or an older BasicSR) is ignored with a warning, as BasicSR ignores it; keys of the user's own go under
the top-level ``extra:`` mapping, or are added with ``--cfg-options +a.b=v``.
"""

import difflib
from typing import Any, Optional

import torch
from pydantic import BaseModel, create_model

from basicsr_ext.utils.errors import UserError, constructor_refusal, one_line
from basicsr_ext.utils.option_lines import RUNTIME, check_kwargs, model_problems  # noqa: F401  (RUNTIME: API)
from basicsr_ext.utils.option_models import (
    IO_BACKENDS,
    SECTIONS,
    Dataset,
    IntRange,
    Metric,
    NumberRange,
    closest,
    describe,
)

# keys of older BasicSR versions that 1.4.2 reads nowhere (its own shipped option files still carry some)
LEGACY = {'': ('suffix', 'crop_border', 'save_img'), 'val': ('rgb2bgr', 'use_image')}


def lookup(registry, name):
    """A registered object by name (BasicSR's suffixed copies too) without Registry.get's print on a miss."""
    for key in (name, f'{name}_basicsr') if isinstance(name, str) else ():
        if key in registry:
            return registry.get(key)
    return None


def declared(cls, section=None):
    """``(pydantic section models, key names)`` a class declares in ``option_keys`` along its MRO (for a model
    class: of ``section``; '' is the top level)."""
    models, names = [], set()
    for klass in reversed(getattr(cls, '__mro__', ())):
        keys = klass.__dict__.get('option_keys')
        if section is not None and isinstance(keys, dict):
            keys = keys.get(section)
        if isinstance(keys, type) and issubclass(keys, BaseModel):
            models.append(keys)
        elif isinstance(keys, (tuple, list)):
            names.update(keys)
    return models, names


def _compose(base, classes, section, data, **overrides):
    """``base`` widened by the declarations of ``classes`` and by the pattern keys ``data`` holds."""
    models, names = [], set()
    for cls in classes:
        found = declared(cls, section)
        models += [m for m in found[0] if m not in models]
        names |= found[1]
    bases = (base, *[m for m in models if m not in base.__mro__])
    patterns = {k: v for m in reversed(bases) for k, v in m.patterns.items()}
    fields = {n: (Any, None) for n in names if all(n not in m.model_fields for m in bases)}
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
    for _, cls in MODEL_REGISTRY:
        for section in SECTIONS:
            models, names = declared(cls, section)
            found.setdefault(section, set()).update(names, *(m.model_fields for m in models))
    for _, cls in DATASET_REGISTRY:
        models, names = declared(cls)
        found.setdefault('dataset', set()).update(names, *(m.model_fields for m in models))
    return found


TEST_RELAXED = {
    'val': {'val_freq': (Optional[IntRange(1)], None)},
    'train': {'total_iter': (Optional[IntRange(1)], None), 'optim_g': (Optional[dict], None)},
}


def _options_model(opt, is_train, classes):
    sections = {}
    for section, base in SECTIONS.items():
        if section:
            relax = {} if is_train else TEST_RELAXED.get(section, {})  # keys only training needs
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
        if is_train and phase != 'train' and str(phase).split('_')[0] != 'val':
            yield path, 'training reads the phases train and val (val_1, val_2, ...): rename this entry'
        if not isinstance(entry, dict) or 'type' not in entry:
            yield path, f'expected a mapping with a type key, got {describe(entry)}'
            continue
        cls = lookup(DATASET_REGISTRY, entry['type'])
        relax = (
            {}
            if is_train and phase == 'train'
            else {'batch_size_per_gpu': (Any, None), 'num_worker_per_gpu': (Any, None)}
        )
        model = _compose(Dataset, [cls], None, entry, **relax)
        other = {'': elsewhere.get('dataset', set())}
        yield from model_problems(
            model,
            entry,
            path,
            added,
            other,
            notes,
            context={**context, 'where': path, 'phase': str(phase).split('_')[0]},
        )
        backend = entry.get('io_backend')
        if isinstance(backend, dict) and backend.get('type') not in IO_BACKENDS:
            yield f'{path}.io_backend.type', f'expected one of {", ".join(IO_BACKENDS)}, got {backend.get("type")!r}'
        for key, value in entry.items():
            if str(key).startswith('dataroot') and value is not None:
                for item in value if isinstance(value, list) else [value]:
                    if not isinstance(item, str):
                        yield f'{path}.{key}', f'expected a folder path (or a list of them), got {describe(item)}'


def _registry_problem(key, name, registry, kind):
    if not isinstance(name, str):
        return key, f'expected the name of a registered {kind} (a string), got {describe(name)}'
    if lookup(registry, name) is not None:
        return None
    names = sorted(registry.keys())
    close = difflib.get_close_matches(str(name), names, n=5, cutoff=0.4)
    close += [n for n in names if n.lower() == str(name).lower() and n not in close]
    hint = f' Closest registered names: {", ".join(close)}.' if close else f' Registered: {", ".join(names)}.'
    return key, f'unknown {kind} {name!r}.{hint}'


def _type_problems(opt):
    """Every ``type:`` against BasicSR's registries (``import basicsr_ext`` registered ours)."""
    from basicsr.utils.registry import ARCH_REGISTRY, DATASET_REGISTRY, LOSS_REGISTRY, METRIC_REGISTRY, MODEL_REGISTRY

    checks = [('model_type', opt['model_type'], MODEL_REGISTRY, 'model')]
    for key, value in opt.items():
        if str(key).startswith('network_') and isinstance(value, dict):
            if 'type' not in value:
                return [(key, 'missing required key type (the arch name, e.g. SRCNN)')]
            checks.append((f'{key}.type', value['type'], ARCH_REGISTRY, 'arch'))
    for phase, dataset in (opt.get('datasets') or {}).items():
        if not isinstance(dataset, dict) or 'type' not in dataset:
            return [(f'datasets.{phase}', f'expected a mapping with a type key, got {describe(dataset)}')]
        checks.append((f'datasets.{phase}.type', dataset['type'], DATASET_REGISTRY, 'dataset'))
    for key, value in (opt.get('train') or {}).items():
        if str(key).endswith('_opt') and isinstance(value, dict) and 'type' in value:
            checks.append((f'train.{key}.type', value['type'], LOSS_REGISTRY, 'loss'))
    for name, metric in ((opt.get('val') or {}).get('metrics') or {}).items():
        if isinstance(metric, dict) and 'type' in metric:
            checks.append((f'val.metrics.{name}.type', metric['type'], METRIC_REGISTRY, 'metric'))
    return [problem for problem in map(lambda c: _registry_problem(*c), checks) if problem][:1]


def _kwargs_problems(opt):
    """Networks, losses and metrics against their registered classes; optimizers against torch.optim."""
    from basicsr.utils.registry import ARCH_REGISTRY, LOSS_REGISTRY, METRIC_REGISTRY

    for key, net in opt.items():
        if str(key).startswith('network_') and isinstance(net, dict) and 'type' in net:
            cls = lookup(ARCH_REGISTRY, net['type'])
            problems = check_kwargs(cls, net, key, skip=('type',))
            yield from problems or _constructor_problems(cls, net, key)
    for key, value in (opt.get('train') or {}).items():
        if str(key).endswith('_opt') and isinstance(value, dict) and 'type' in value:
            yield from check_kwargs(lookup(LOSS_REGISTRY, value['type']), value, f'train.{key}', skip=('type',))
        elif str(key).startswith('optim_') and isinstance(value, dict):
            yield from _optimizer_problems(value, f'train.{key}')
    for name, metric in (((opt.get('val') or {}).get('metrics')) or {}).items():
        path = f'val.metrics.{name}'
        if not isinstance(metric, dict) or 'type' not in metric:
            yield path, f'expected a mapping with a type key (e.g. type: calculate_psnr), got {describe(metric)}'
            continue
        typed = {k: v for k, v in metric.items() if k in Metric.model_fields}
        problems = list(model_problems(Metric, typed, path))
        if problems:
            yield problems[0]
            continue
        fn = lookup(METRIC_REGISTRY, metric['type'])
        yield from check_kwargs(fn, metric, path, skip=('type', 'better'), data_args=('img', 'img2', 'pos'))


def _constructor_problems(cls, net, key):
    """The arch built on the meta device (no memory), else on the CPU (a constructor that needs real tensors): what
    its own ``__init__`` refuses (a list of lengths, a choice) is found here, before any folder is made. Only the
    CPU build's errors count (a meta tensor refuses numpy); an arch that reads files (``*path`` arguments: SpyNet,
    DFDNet) is not built twice, BasicSR's ``build_network`` reports it when it runs."""
    kwargs = {k: v for k, v in net.items() if k != 'type'}
    devices = ('meta',) if any('path' in str(k) for k in kwargs) else ('meta', 'cpu')
    for device in devices:
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


def optimizer_names():
    return sorted(
        n for n in dir(torch.optim) if isinstance(getattr(torch.optim, n), type) and n[0].isupper()
        and issubclass(getattr(torch.optim, n), torch.optim.Optimizer) and n != 'Optimizer'
    )  # fmt: skip


def _optimizer_problems(optim, path):
    name = optim.get('type')
    cls = getattr(torch.optim, str(name), None)
    if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
        close = closest(name, optimizer_names())
        hint = f'did you mean {" or ".join(close)}?' if close else f'torch.optim has {", ".join(optimizer_names())}'
        yield f'{path}.type', f'unknown optimizer {name!r}; {hint}'
        return
    if 'lr' not in optim:
        yield path, 'missing required key lr (expected a number >= 0)'
        return
    yield from model_problems(create_model('Optim', lr=(NumberRange(0), ...)), {'lr': optim['lr']}, path)
    yield from check_kwargs(cls, optim, path, skip=('type',), data_args=('params',), lenient=True)


def option_problems(opt, is_train=True, added=(), notes=None):
    """Every problem of a resolved option dict as ``(key_path, message)``, in the order they are checked; checking
    stops at the first group that has a problem. Ignored keys go to ``notes``."""
    from basicsr.utils.registry import MODEL_REGISTRY

    added = set(added)
    model_cls = lookup(MODEL_REGISTRY, opt.get('model_type'))
    elsewhere = keys_read_anywhere()
    context = {'opt': opt, 'is_train': is_train}
    for group in (
        lambda: model_problems(_options_model(opt, is_train, [model_cls]), opt, '', added, elsewhere, notes, context),
        lambda: _type_problems(opt),
        lambda: _dataset_problems(opt, is_train, added, elsewhere, notes, context),
    ):
        problems = list(group())
        yield from problems
        if problems:  # later checks would trip over what is wrong here
            return
    yield from _kwargs_problems(opt)


def validate_options(opt, opt_file, is_train=True, overrides=None, added=()):
    """Raise a :class:`UserError` for the first problem, naming ``opt_file`` and the key path, or the override entry
    that set the key (``overrides``: ``{key_path: 'flag entry'}``, e.g. ``'--cfg-options train.total_iter=0'``).
    Returns the warnings, one line each (keys that are ignored)."""
    notes = []
    for key_path, message in option_problems(opt, is_train, added, notes):
        for path, entry in (overrides or {}).items():
            if key_path == path:
                raise UserError(f'{entry}: {message}')
            if key_path and key_path.startswith(path + '.'):
                raise UserError(f'{entry}: {key_path}: {message}')
        inside = [entry for path, entry in (overrides or {}).items() if key_path and path.startswith(key_path + '.')]
        where = f'{opt_file} with {", ".join(inside)}' if inside else opt_file  # a mapping the file and flags made
        raise UserError(f'{where}: {key_path}: {message}' if key_path else f'{opt_file}: {message}')
    return [f'{opt_file}: {key_path}: {message}' for key_path, message in notes]
