"""Inference on users' own data: one :class:`Restorer` for every zoo model and checkpoint (AOS focal stacks included),
its model descriptor, input readers for focal stacks, and restorer export.

The names below are imported on first use, so ``import basicsr_ext.inference`` (and the command-line parsers that
import from it) start without torch and BasicSR.
"""

import importlib

_HOMES = {
    'AOSInput': 'aos_inputs',
    'load_input': 'aos_inputs',
    'ModelDescriptor': 'descriptor',
    'export_restorer': 'export',
    'Restorer': 'restorer',
}

__all__ = sorted(_HOMES)


def __getattr__(name):
    if name not in _HOMES:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    value = getattr(importlib.import_module(f'{__name__}.{_HOMES[name]}'), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_HOMES))
