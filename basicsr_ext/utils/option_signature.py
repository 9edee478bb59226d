"""Options that become keyword arguments (``network_g``, losses, metrics, optimizers) checked against the signature
of what receives them: unknown names (with the closest ones), missing required arguments, and types.

A parameter's type is its annotation when that is a plain type (any other annotation, e.g. ``Union[bool, str]``,
takes anything), else the type of its default: an ``int`` or ``float`` default takes any number (BasicSR's
``EDSR(res_scale=1)`` is given 0.1; only an ``int`` annotation asks for an integer), a ``bool`` default true/false,
a ``str`` default a string, a list or tuple default a list; a ``None`` default or no default takes anything.
"""

import inspect
import math
import typing
from numbers import Real

from basicsr_ext.utils.option_models import closest, describe, yaml_number_hint

_NAMED = {'int': int, 'float': float, 'bool': bool, 'str': str, 'list': list, 'tuple': tuple}


def is_int(value):
    """An integer, or a float with an integral value (``!!float 5e3``); never a bool."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value) and value.is_integer())


def _kind(param):
    annotation = _NAMED.get(param.annotation, param.annotation)  # 'int' under ``from __future__ import annotations``
    if annotation in (int, float, bool, str, list, tuple):
        return annotation
    if typing.get_origin(annotation) in (tuple, list):  # tuple[float, float]
        return list
    if annotation is not inspect.Parameter.empty:  # Union[bool, str], a class, ...: not one type to check against
        return None
    default = param.default
    if default is inspect.Parameter.empty or default is None:
        return None
    if type(default) is int:  # ``res_scale=1`` takes 0.1: without an annotation an int default means a number
        return float
    return type(default) if type(default) in (float, bool, str, list, tuple) else None


def _type_problem(kind, value, lenient):
    if kind is None or value is None:
        return None
    if kind is bool:
        ok, words = isinstance(value, bool), 'true or false'
    elif kind is int:
        ok, words = (is_int(value) if lenient else isinstance(value, int) and not isinstance(value, bool)), 'an integer'
    elif kind is float:
        ok, words = isinstance(value, Real) and not isinstance(value, bool), 'a number'
        if ok and not math.isfinite(value):
            return f'expected a finite number, got {value}'
    elif kind is str:
        ok, words = isinstance(value, str), 'a string'
    else:
        ok, words = isinstance(value, (list, tuple)), 'a list'
    return None if ok else f'expected {words}, got {describe(value)}{yaml_number_hint(value)}'


def check_kwargs(fn, kwargs, key, skip=(), data_args=(), lenient=False):
    """Problems of calling ``fn(**kwargs)`` as ``(key_path, message)`` pairs (empty when it fits).

    Args:
        fn (callable): a class (its ``__init__`` is read) or a function.
        kwargs (dict): the options that become its keyword arguments.
        key (str): the option key of the mapping, e.g. ``network_g``.
        skip (tuple): keys of the mapping that are not arguments (``type``).
        data_args (tuple): parameters the caller fills itself (a metric's ``img``, ``img2``).
        lenient (bool): integer arguments also take integral floats (``!!float 5e5``), for optimizers and
            schedulers; a network's channel counts must be true integers.

    A ``**kwargs`` sink accepts anything, unless the class declares the keys it reads from it in a
    ``option_keys`` tuple (empty: none, the sink only keeps the official signature): then any other key is a
    mistake, named with the closest argument.
    """
    if fn is None:  # an unknown type: reported by the registry check
        return []
    target = fn.__init__ if inspect.isclass(fn) else fn
    try:
        params = dict(inspect.signature(target).parameters)
    except (TypeError, ValueError):  # a builtin without a signature: nothing to check against
        return []
    name = getattr(fn, '__name__', str(fn))
    params.pop('self', None)
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    declared = getattr(fn, 'option_keys', None)  # a class with a **kwargs sink names the keys it reads from it
    if takes_any and declared is not None:
        takes_any = False
        data_args = (*data_args, *declared)
    named = {
        n: p
        for n, p in params.items()
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY) and n not in data_args
    }
    problems = []
    for arg, value in kwargs.items():
        if arg in skip:
            continue
        if arg not in named:
            if not takes_any and arg not in data_args:
                close = closest(arg, named)
                hint = f'did you mean {", ".join(close)}?' if close else f'it takes: {", ".join(named) or "nothing"}'
                problems.append((f'{key}.{arg}', f'{name} has no argument {arg!r}; {hint}'))
            continue
        problem = _type_problem(_kind(named[arg]), value, lenient)
        if problem:
            problems.append((f'{key}.{arg}', f'{problem} ({name} argument)'))
    for arg, param in named.items():
        if param.default is inspect.Parameter.empty and arg not in kwargs:
            problems.append((key, f'{name} needs the argument {arg!r}'))
    return problems
