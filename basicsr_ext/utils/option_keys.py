"""Option keys a model or dataset class reads, found in its source.

BasicSR's models and datasets read their options with ``self.opt['key']``, ``self.opt.get('key')``,
``train_opt.get('key')`` and so on. The keys read that way are keys an option file may hold, though the typed tables
of :mod:`basicsr_ext.utils.option_schema` do not list them (Real-ESRNet's degradation settings, a video model's
``fix_flow``). The scan covers the modules of every class in the MRO that belongs to BasicSR or basicsr-ext; for
basicsr-ext's models, every module of ``basicsr_ext.models`` (they share helper modules).
"""

import functools
import inspect
import os
import re
import sys

_KEY = r"""(?:\.get\(|\[)\s*['"](\w+)['"]"""
# section -> the expressions that hold it in model code
MODEL_PATTERNS = {
    'root': [r'self\.opt', r'\bopt'],
    'train': [r'train_opt', r"""opt\[['"]train['"]\]""", r"""opt\.get\(['"]train['"]\)(?: or \{\}\))?"""],
    'val': [r'val_opt', r"""opt\[['"]val['"]\]""", r"""opt\.get\(['"]val['"]\)(?: or \{\}\))?"""],
    'path': [r"""opt\[['"]path['"]\]"""],
    'logger': [r"""opt\[['"]logger['"]\]"""],
}
DATASET_PATTERNS = [r'self\.opt', r'\bopt', r'dataset_opt']


def _module_sources(cls, whole_package=None):
    """Source texts of the modules of ``cls``'s MRO that belong to BasicSR or basicsr-ext."""
    paths = set()
    for klass in cls.__mro__:
        module = sys.modules.get(klass.__module__)
        if module is None or not klass.__module__.startswith(('basicsr.', 'basicsr_ext.')):
            continue
        path = inspect.getsourcefile(module)
        if whole_package and klass.__module__.startswith(whole_package):
            folder = os.path.dirname(path)
            paths.update(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith('.py'))
        else:
            paths.add(path)
    return [_read(p) for p in sorted(paths)]


@functools.cache
def _read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


def _find(sources, prefixes):
    pattern = re.compile('(?:' + '|'.join(prefixes) + ')' + _KEY)
    return {key for text in sources for key in pattern.findall(text)}


@functools.cache
def model_keys(cls):
    """``{section: keys}`` a model class reads (sections: root, train, val, path, logger)."""
    sources = _module_sources(cls, whole_package='basicsr_ext.models.')
    return {section: frozenset(_find(sources, prefixes)) for section, prefixes in MODEL_PATTERNS.items()}


@functools.cache
def dataset_keys(cls):
    """Keys one ``datasets:`` entry of this dataset class may hold."""
    return frozenset(_find(_module_sources(cls), DATASET_PATTERNS))
