"""pydantic validation errors of an option file as ``(key path, message)`` pairs: the lines users read.

The key path is walked through the user's own dict (a union's member tags and a list's positions the file does not
have are left out); what a key expects is said from the model's JSON Schema (``option_models.expected``); an unknown
key gets the closest known ones. Models made from a signature (``option_signature.Arguments``) name the callable.
"""

import typing

from pydantic import BaseModel, ValidationError

from basicsr_ext.utils.option_models import closest, describe, expected, yaml_number_hint
from basicsr_ext.utils.option_signature import argument_problem, signature_model

# keys the runners set; a file that sets them is mistaken (BasicSR overwrites them)
RUNTIME = {
    '': {'dist', 'rank', 'world_size', 'is_train', 'auto_resume', 'root_path'},
    'path': {'experiments_root', 'models', 'training_states', 'log', 'visualization', 'results_root'},
}
IGNORED = 'ignored: read by other BasicSR models or datasets (or older versions), not by the ones this file uses'
RANGE_ERRORS = ('greater_than', 'greater_than_equal', 'less_than', 'less_than_equal')
UNKNOWN = 'keys of your own go under the top-level extra: mapping'


def _fields_at(model, keys):
    """The known key names of the mapping at ``keys`` in ``model`` (None when it is not a section model)."""
    for key in keys:
        annotation = model.model_fields[key].annotation if key in model.model_fields else None
        args = [a for a in typing.get_args(annotation) or (annotation,) if isinstance(a, type)]
        model = next((a for a in args if issubclass(a, BaseModel)), None)
        if model is None:
            return None
    return model


def _schema_at(schema, keys):
    """``expected`` words of the value at ``keys`` (mapping keys and list indices) in a model's JSON Schema."""
    defs = schema.get('$defs', {})

    def resolve(node, want):
        node = defs[node['$ref'].rsplit('/', 1)[-1]] if '$ref' in node else node
        for option in node.get('anyOf', [node]):
            option = defs[option['$ref'].rsplit('/', 1)[-1]] if '$ref' in option else option
            if want in option:
                return option
        return node

    for key in keys:
        if isinstance(key, int):
            schema = resolve(schema, 'items').get('items', {})
        else:
            schema = resolve(schema, 'properties').get('properties', {}).get(key, {})
    return expected(schema, defs)


def _unknown(model, key):
    known = list(model.model_fields) if model else []
    close = closest(key, known)
    if close:
        return f'unknown key (did you mean {" or ".join(close)}?); {UNKNOWN}'
    names = sorted(known) + [
        p.replace('*', '<name>') if '*' in p else p + '<name>' for p in getattr(model, 'patterns', ())
    ]
    return f'unknown key (known here: {", ".join(names[:15])}{", ..." if len(names) > 15 else ""}); {UNKNOWN}'


def check_kwargs(fn, kwargs, key, skip=(), data_args=(), lenient=False):
    """Problems of calling ``fn(**kwargs)`` as ``(key_path, message)`` pairs (empty when it fits; ``fn`` None: an
    unknown type, reported by the registry check). The arguments: :func:`~.option_signature.signature_model`."""
    model = signature_model(fn, skip, data_args, lenient) if fn is not None else None
    return [] if model is None else list(model_problems(model, kwargs, key))


def model_problems(model, data, prefix='', added=(), elsewhere=None, notes=None, context=None):
    """``(key_path, message)`` of ``model.model_validate(data)``: unknown keys first (a misspelt required key is
    reported as the unknown key it is), then the rest in field order."""
    try:
        model.model_validate(data, context=context)
        return
    except ValidationError as err:
        errors = sorted(err.errors(), key=lambda e: e['type'] != 'extra_forbidden')
    schema, seen = model.model_json_schema(), set()
    for error in errors:
        keys, node = [], data
        for item in error['loc']:
            if isinstance(node, dict) and item in node:
                keys.append(item)
                node = node[item]
            elif isinstance(node, list) and isinstance(item, int) and 0 <= item < len(node):
                keys.append(item)
                node = node[item]
            else:
                if error['type'] == 'missing':
                    keys.append(item)
                break
        path = '.'.join(map(str, [prefix] * bool(prefix) + keys))
        ctx = error.get('ctx') or {}
        if error['type'] == 'option':  # a declared class's own check: its message names what it checks
            yield ctx.get('path', path), ctx['message']
            return
        if path in seen:  # one line per key (a union reports each member)
            continue
        seen.add(path)
        parent, key = _fields_at(model, keys[:-1]), keys[-1] if keys else ''
        if getattr(model, 'owner', None):
            yield argument_problem(model, error, path, key, node)
            continue
        section = '.'.join(map(str, keys[:-1]))
        if error['type'] == 'extra_forbidden':
            if any(a == path or a.startswith(path + '.') or path.startswith(a + '.') for a in added):
                continue
            if key in RUNTIME.get(section, ()):
                yield path, 'set by basicsr-ext when it runs, not in option files: remove it'
            elif (
                elsewhere is not None
                and key in elsewhere.get(section, ())
                and not closest(key, getattr(parent, 'model_fields', ()))
            ):
                if notes is not None and node is not None:  # a ~ that clears an inherited key: nothing ignored
                    notes.append((path, IGNORED))
            else:
                yield path, _unknown(parent, key)
        elif error['type'] == 'missing':
            yield path, f'missing required key (expected {_schema_at(schema, keys)})'
        elif error['type'] == 'finite_number':
            yield path, error['msg']
        elif error['type'] in RANGE_ERRORS:
            yield path, f'expected {_schema_at(schema, keys)}, got {node}'
        else:
            yield path, f'expected {_schema_at(schema, keys)}, got {describe(node)}{yaml_number_hint(node)}'
