"""Options that become keyword arguments (``network_g``, losses, metrics, optimizers, the scheduler) as a pydantic
model made from the signature of what receives them; :func:`basicsr_ext.utils.option_lines.check_kwargs` validates
with it (:mod:`~basicsr_ext.utils.option_lines` words the errors).

A parameter's type is its annotation when that is a plain type (any other annotation, e.g. ``Union[bool, str]``,
takes anything), else the type of its default: an ``int`` or ``float`` default takes any number (BasicSR's
``EDSR(res_scale=1)`` is given 0.1; only an ``int`` annotation asks for an integer), a ``bool`` default true/false,
a ``str`` default a string, a list or tuple default a list; a ``None`` default or no default takes anything. A
``**kwargs`` sink takes anything, unless the class declares the keys it reads from it in ``option_keys`` (Swin2SR:
none, the sink only keeps the official signature).
"""

import inspect
import typing
from typing import Annotated, Any, ClassVar, Optional

from pydantic import BaseModel, ConfigDict, Field, create_model

from basicsr_ext.utils.option_models import Bool, Int, Number, Str

_NAMED = {'int': int, 'float': float, 'bool': bool, 'str': str, 'list': list, 'tuple': tuple}
_KEYWORD = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


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


class Arguments(BaseModel):
    """The keyword arguments of ``owner``; ``takes``: the names a user may give."""

    model_config = ConfigDict(extra='forbid', protected_namespaces=())
    owner: ClassVar[str] = ''
    takes: ClassVar[tuple] = ()


class OpenArguments(Arguments):
    """Arguments of a callable with an undeclared ``**kwargs`` sink: any other key is taken too."""

    model_config = ConfigDict(extra='allow')


def signature_model(fn, skip=(), data_args=(), lenient=False):
    """The :class:`Arguments` model of ``fn`` (a class: its ``__init__``), or None when it has no signature.

    Args:
        skip (tuple): keys of the mapping that are not arguments (``type``).
        data_args (tuple): parameters the caller fills itself (a metric's ``img``, ``img2``).
        lenient (bool): integer arguments also take integral floats (``!!float 5e5``), for optimizers and
            schedulers; a network's channel counts must be true integers.
    """
    target = fn.__init__ if inspect.isclass(fn) else fn
    try:
        params = dict(inspect.signature(target).parameters)
    except (TypeError, ValueError):  # a builtin without a signature: nothing to check against
        return None
    params.pop('self', None)
    declared = getattr(fn, 'option_keys', None)  # a class with a **kwargs sink names the keys it reads from it
    sink = declared is None and any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    types = {
        int: Int if lenient else Annotated[int, Field(strict=True)],
        float: Number,
        bool: Bool,
        str: Str,
        list: list,
        tuple: list,
    }
    fields = {n: (Any, None) for n in (*skip, *data_args, *(declared or ()))}
    takes = [n for n, p in params.items() if p.kind in _KEYWORD and n not in fields]
    for name in takes:
        annotation = types.get(_kind(params[name]), Any)
        fields[name] = (Optional[annotation], ... if params[name].default is inspect.Parameter.empty else None)
    try:
        model = create_model('Arguments', __base__=OpenArguments if sink else Arguments, **fields)
    except Exception:  # noqa: BLE001  (a parameter pydantic cannot hold as a field: nothing to check against)
        return None
    model.owner, model.takes = getattr(fn, '__name__', str(fn)), tuple(takes)
    return model
