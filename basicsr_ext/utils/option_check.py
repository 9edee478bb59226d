"""An option dict checked against :mod:`~basicsr_ext.utils.option_schema` before anything runs.

:func:`validate_options` raises one :class:`UserError` naming the file (or the ``--cfg-options`` entry that set the
value) and the key path: required keys, types and ranges, unknown keys anywhere (with the closest known ones),
dataset phases, and the keyword arguments of networks, losses, metrics, the optimizer and (through the model class's
``option_problems`` hook) the scheduler. Keys of the user's own go under the top-level ``extra:`` mapping, or are added
with ``--cfg-options +a.b=v``.
"""

import difflib

import torch

from basicsr_ext.utils.errors import UserError
from basicsr_ext.utils.option_keys import dataset_keys, model_keys
from basicsr_ext.utils.option_schema import DATASET, IO_BACKENDS, LR, METRIC_ARGS, ROOT, closest, describe
from basicsr_ext.utils.option_signature import check_kwargs

# keys the runners set; a file that sets them is mistaken (BasicSR overwrites them)
RUNTIME = {
    '': {'dist', 'rank', 'world_size', 'is_train', 'auto_resume', 'root_path'},
    'path': {'experiments_root', 'models', 'training_states', 'log', 'visualization', 'results_root'},
}
METRIC_DATA = ('img', 'img2', 'pos')  # filled by the validation loop, not by the option file


# keys of older BasicSR versions that 1.4.2 reads nowhere (its own shipped option files still carry some): ignored
# with a warning, as BasicSR ignores them, not refused
LEGACY = {'': {'suffix', 'crop_border', 'save_img'}, 'val': {'rgb2bgr', 'use_image'}}


IGNORED = 'ignored: read by other BasicSR models or datasets (or older versions), not by the ones this file uses'


def lookup(registry, name):
    """A registered object by name (BasicSR's suffixed copies too) without Registry.get's print on a miss."""
    if not isinstance(name, str):
        return None
    for key in (name, f'{name}_basicsr'):
        if key in registry:  # Registry.__contains__; get() would print on the suffixed fallback
            return registry.get(key)
    return None


def keys_read_anywhere():
    """``{section: keys}`` read by any registered model, and ``'dataset'``: keys read by any registered dataset."""
    from basicsr.utils.registry import DATASET_REGISTRY, MODEL_REGISTRY

    found = {}
    for cls in {cls for _, cls in MODEL_REGISTRY}:
        for section, keys in model_keys(cls).items():
            found.setdefault('' if section == 'root' else section, set()).update(keys)
    found['dataset'] = set().union(*(dataset_keys(cls) for cls in {cls for _, cls in DATASET_REGISTRY}))
    for section, keys in LEGACY.items():
        found.setdefault(section, set()).update(keys)
    return found


def _join(path, key):
    return f'{path}.{key}' if path else str(key)


def _unknown(path, key, known, patterns=()):
    close = closest(key, known)
    if close:
        hint = f'did you mean {" or ".join(close)}?'
    else:
        names = sorted(map(str, known)) + [p.replace('*', '<name>') if '*' in p else p + '<name>' for p in patterns]
        hint = 'known here: ' + ', '.join(names[:15]) + (', ...' if len(names) > 15 else '')
    return _join(path, key), f'unknown key ({hint}); keys of your own go under the top-level extra: mapping'


def _mapping_problems(value, spec, path, is_train, extras, added, elsewhere=None, notes=None):
    """Unknown, mistyped and missing required keys of one mapping, recursing into typed sub-mappings (a misspelt
    required key is reported as the unknown key it is, with the right name as the suggestion). A key this model or
    dataset does not read but another one (or an older BasicSR) does is ignored, as BasicSR ignores it: a line in
    ``notes``, not a problem."""
    known = set(spec.keys or {}) | (extras.get(path, set()) - RUNTIME.get(path, set()))
    for key, item in value.items():
        key_path = _join(path, key)
        if path == '' and key == 'extra':
            continue
        sub = spec.spec_for(key)
        if sub is None:
            if key in known or any(a == key_path or a.startswith(key_path + '.') for a in added):
                continue
            if key in RUNTIME.get(path, set()):
                yield key_path, 'set by basicsr-ext when it runs, not in option files: remove it'
            elif elsewhere is not None and key in elsewhere.get(path, set()) and not closest(key, known):
                if notes is not None:
                    notes.append((key_path, IGNORED))
            else:
                yield _unknown(path, key, known, spec.patterns or ())
            continue
        problem = sub.problem(item)
        if problem:
            yield key_path, problem
        elif isinstance(item, dict) and (sub.keys is not None or sub.patterns):
            yield from _mapping_problems(item, sub, key_path, is_train, extras, added, elsewhere, notes)
    for key, sub in (spec.keys or {}).items():
        if key not in value and (sub.required == 'always' or (sub.required == 'train' and is_train)):
            yield _join(path, key), f'missing required key (expected {sub.expected()})'


def _dataset_problems(opt, is_train, added, elsewhere=None, notes=None):
    from basicsr.utils.registry import DATASET_REGISTRY

    datasets = opt.get('datasets') or {}
    if not datasets:
        yield 'datasets', 'expected at least one dataset entry (train, val, test_1, ...)'
    if is_train and 'train' not in datasets:
        yield 'datasets', 'a train dataset (key datasets.train) is required for training'
    for phase, entry in datasets.items():
        path = f'datasets.{phase}'
        if is_train and phase != 'train' and str(phase).split('_')[0] != 'val':
            yield path, 'training reads the phases train and val (val_1, val_2, ...): rename this entry'
        if not isinstance(entry, dict):
            yield path, f'expected a mapping with a type key, got {describe(entry)}'
            continue
        cls = lookup(DATASET_REGISTRY, entry.get('type'))
        extras = {path: set(dataset_keys(cls)) if cls else set()}
        other = {path: (elsewhere or {}).get('dataset', set())}
        # keys required for training (batch size, workers) only in the train entry
        yield from _mapping_problems(entry, DATASET, path, is_train and phase == 'train', extras, added, other, notes)
        backend = entry.get('io_backend')
        if isinstance(backend, dict) and backend.get('type') not in IO_BACKENDS:
            yield f'{path}.io_backend.type', f'expected one of {", ".join(IO_BACKENDS)}, got {backend.get("type")!r}'
        for key, value in entry.items():
            if str(key).startswith('dataroot') and value is not None:
                for item in value if isinstance(value, list) else [value]:
                    if not isinstance(item, str):
                        yield _join(path, key), f'expected a folder path (or a list of them), got {describe(item)}'


def _kwargs_problems(opt):
    """Networks, losses and metrics against their registered classes; optimizers against torch.optim."""
    from basicsr.utils.registry import ARCH_REGISTRY, LOSS_REGISTRY, METRIC_REGISTRY

    for key, net in opt.items():
        if str(key).startswith('network_') and isinstance(net, dict) and 'type' in net:
            yield from check_kwargs(lookup(ARCH_REGISTRY, net['type']), net, key, skip=('type',))
    for key, value in (opt.get('train') or {}).items():
        path = f'train.{key}'
        if str(key).endswith('_opt') and isinstance(value, dict) and 'type' in value:
            yield from check_kwargs(lookup(LOSS_REGISTRY, value['type']), value, path, skip=('type',))
        elif str(key).startswith('optim_') and isinstance(value, dict):
            yield from _optimizer_problems(value, path)
    for name, metric in (((opt.get('val') or {}).get('metrics')) or {}).items():
        path = f'val.metrics.{name}'
        if not isinstance(metric, dict) or 'type' not in metric:
            yield path, f'expected a mapping with a type key (e.g. type: calculate_psnr), got {describe(metric)}'
            continue
        typed = [(f'{path}.{k}', spec.problem(metric[k])) for k, spec in METRIC_ARGS.items() if k in metric]
        typed = [(k, problem) for k, problem in typed if problem]
        if typed:
            yield typed[0]
            continue
        fn = lookup(METRIC_REGISTRY, metric['type'])
        yield from check_kwargs(fn, metric, path, skip=('type', 'better'), data_args=METRIC_DATA)


def _optimizer_problems(optim, path):
    name = optim.get('type')
    cls = getattr(torch.optim, str(name), None)
    if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
        known = sorted(
            n for n in dir(torch.optim) if isinstance(getattr(torch.optim, n), type) and n[0].isupper()
            and issubclass(getattr(torch.optim, n), torch.optim.Optimizer) and n != 'Optimizer'
        )  # fmt: skip
        close = closest(name, known)
        hint = f'did you mean {" or ".join(close)}?' if close else f'torch.optim has {", ".join(known)}'
        yield f'{path}.type', f'unknown optimizer {name!r}; {hint}'
        return
    if 'lr' not in optim:
        yield path, f'missing required key lr (expected {LR.expected()})'
    elif LR.problem(optim['lr']):
        yield f'{path}.lr', LR.problem(optim['lr'])
    yield from check_kwargs(cls, optim, path, skip=('type',), data_args=('params',), lenient=True)


def _registry_problem(key, name, registry, kind):
    if not isinstance(name, str):
        return key, f'expected the name of a registered {kind} (a string), got {describe(name)}'
    names = sorted(registry.keys())
    if lookup(registry, name) is not None:
        return None
    close = difflib.get_close_matches(str(name), names, n=5, cutoff=0.4)
    close += [n for n in names if n.lower() == str(name).lower() and n not in close]
    hint = f' Closest registered names: {", ".join(close)}.' if close else f' Registered: {", ".join(names)}.'
    return key, f'unknown {kind} {name!r}.{hint}'


def _type_problems(opt):
    """Every ``type:`` against BasicSR's registries (``import basicsr_ext`` registered ours), then each dataset's own
    ``check_options`` consistency checks against the other options."""
    from basicsr.utils.registry import ARCH_REGISTRY, DATASET_REGISTRY, LOSS_REGISTRY, METRIC_REGISTRY, MODEL_REGISTRY

    checks = [('model_type', opt['model_type'], MODEL_REGISTRY, 'model')]
    for key, value in opt.items():
        if str(key).startswith('network_') and isinstance(value, dict):
            if 'type' not in value:
                yield key, 'missing required key type (the arch name, e.g. SRCNN)'
                return
            checks.append((f'{key}.type', value['type'], ARCH_REGISTRY, 'arch'))
    for phase, dataset in (opt.get('datasets') or {}).items():
        if not isinstance(dataset, dict) or 'type' not in dataset:
            yield f'datasets.{phase}', f'expected a mapping with a type key, got {describe(dataset)}'
            return
        checks.append((f'datasets.{phase}.type', dataset['type'], DATASET_REGISTRY, 'dataset'))
    for key, value in (opt.get('train') or {}).items():
        if str(key).endswith('_opt') and isinstance(value, dict) and 'type' in value:
            checks.append((f'train.{key}.type', value['type'], LOSS_REGISTRY, 'loss'))
    for name, metric in ((opt.get('val') or {}).get('metrics') or {}).items():
        if isinstance(metric, dict) and 'type' in metric:
            checks.append((f'val.metrics.{name}.type', metric['type'], METRIC_REGISTRY, 'metric'))
    for check in checks:
        problem = _registry_problem(*check)
        if problem:
            yield problem
            return
    for phase, dataset in (opt.get('datasets') or {}).items():
        check = getattr(lookup(DATASET_REGISTRY, dataset['type']), 'check_options', None)
        if check is not None:
            try:
                check(dataset, opt, f'datasets.{phase}')
            except UserError as err:  # its message starts with the key path
                yield None, str(err)
                return


def option_problems(opt, is_train=True, added=(), notes=None):
    """Every problem of a resolved option dict as ``(key_path, message)``, in the order they are checked; a key path
    of None means the message names its keys itself. Checking stops at the first group that has a problem. Keys that
    are ignored (read by other models or datasets only, or by older BasicSR versions) go to ``notes``."""
    from basicsr.utils.registry import MODEL_REGISTRY

    added = set(added)
    model_cls = lookup(MODEL_REGISTRY, opt.get('model_type'))
    extras = {k: set(v) for k, v in model_keys(model_cls).items()} if model_cls else {}
    extras[''] = extras.pop('root', set())
    elsewhere = keys_read_anywhere()
    for group in (
        lambda: _mapping_problems(opt, ROOT, '', is_train, extras, added, elsewhere, notes),
        lambda: _type_problems(opt),
        lambda: _dataset_problems(opt, is_train, added, elsewhere, notes),
    ):
        problems = list(group())
        yield from problems
        if problems:  # later checks would trip over what is wrong here
            return
    yield from _kwargs_problems(opt)
    check = getattr(model_cls, 'option_problems', None)  # the model's own, e.g. the scheduler's arguments
    if check is not None:
        yield from check(opt, is_train)


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
        raise UserError(f'{opt_file}: {key_path}: {message}' if key_path else f'{opt_file}: {message}')
    return [f'{opt_file}: {key_path}: {message}' for key_path, message in notes]


def check_types(opt, opt_file):
    """Raise for the first ``type:`` not in BasicSR's registries (the closest registered names in the message)."""
    if 'model_type' not in opt:
        raise UserError(f'{opt_file}: missing required key model_type (e.g. ExtSRModel)')
    for key_path, message in _type_problems(opt):
        raise UserError(f'{opt_file}: {key_path}: {message}' if key_path else f'{opt_file}: {message}')
