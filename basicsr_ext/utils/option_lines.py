"""pydantic's validation errors of an option file as ``(key path, message)`` pairs: the lines users read.

The key path is walked through the user's own dict (a union's member tags and list positions the file does not have
are left out); what a key expects and which keys are known come from the model's JSON Schema.
"""

from pydantic import ValidationError

from basicsr_ext.utils.option_models import closest, describe, expected, yaml_number_hint
from basicsr_ext.utils.option_signature import signature_model

# keys the runners set; a file that sets them is mistaken (BasicSR overwrites them)
RUNTIME = {
    '': {'dist', 'rank', 'world_size', 'is_train', 'auto_resume', 'root_path'},
    'path': {'experiments_root', 'models', 'training_states', 'log', 'visualization', 'results_root'},
}
IGNORED = 'ignored: read by other BasicSR models or datasets (or older versions), not by the ones this file uses'
UNKNOWN = 'keys of your own go under the top-level extra: mapping'


def _resolve(node, want, defs):
    """``node`` with its ``$ref`` followed; of a union, the member that has ``want`` (``properties``, ``items``)."""
    node = defs[node['$ref'].rsplit('/', 1)[-1]] if '$ref' in node else node
    for option in node.get('anyOf', [node]):
        option = defs[option['$ref'].rsplit('/', 1)[-1]] if '$ref' in option else option
        if want in option:
            return option
    return node


def _parent(schema, keys, defs):
    """The JSON Schema of the mapping that holds the last of ``keys`` (mapping keys and list indices)."""
    for key in keys[:-1]:
        node = _resolve(schema, 'items' if isinstance(key, int) else 'properties', defs)
        schema = node.get('items', {}) if isinstance(key, int) else node.get('properties', {}).get(key, {})
    return _resolve(schema, 'items' if keys and isinstance(keys[-1], int) else 'properties', defs)


def _unknown(parent, key):
    known = list(parent.get('properties', ()))
    close = closest(key, known)
    if close:
        return f'unknown key (did you mean {" or ".join(close)}?); {UNKNOWN}'
    names = sorted(known) + [p.strip('^').replace('$', '') for p in parent.get('patternProperties', ())]
    names = [f'<name>{n}' if n.startswith('_') else f'{n}<name>' if n.endswith('_') else n for n in names]
    return f'unknown key (known here: {", ".join(names[:15])}{", ..." if len(names) > 15 else ""}); {UNKNOWN}'


def check_kwargs(fn, kwargs, key, skip=(), data_args=(), lenient=False):
    """Problems of calling ``fn(**kwargs)`` as ``(key_path, message)`` pairs (empty when it fits; ``fn`` None: an
    unknown type, reported by the registry check). The arguments: :func:`~.option_signature.signature_model`."""
    model = signature_model(fn, skip, data_args, lenient) if fn is not None else None
    return [] if model is None else list(model_problems(model, kwargs, key))


def _argument_problem(model, error, path, key, node):
    """The line for one error of a signature's model, naming the callable."""
    if error['type'] == 'extra_forbidden':
        close = closest(key, model.takes)
        hint = f'did you mean {", ".join(close)}?' if close else f'it takes: {", ".join(model.takes) or "nothing"}'
        return path, f'{model.owner} has no argument {key!r}; {hint}'
    if error['type'] == 'missing':
        return path.rsplit('.', 1)[0], f'{model.owner} needs the argument {key!r}'
    if error['type'] == 'finite_number':
        return path, f'{error["msg"]} ({model.owner} argument)'
    words = expected(model.model_json_schema()['properties'][key]).removesuffix(' or ~ (null)')  # ~: the default
    return path, f'expected {words}, got {describe(node)}{yaml_number_hint(node)} ({model.owner} argument)'


def model_problems(model, data, prefix='', added=(), elsewhere=None, notes=None, context=None):
    """``(key_path, message)`` of ``model.model_validate(data)``: unknown keys first (a misspelt required key is
    reported as the unknown key it is), then the rest in field order; one line per key. ``added``: key paths
    ``--cfg-options +a.b=v`` added; ``elsewhere``: ``{section: keys other classes read}``, which go to ``notes``."""
    try:
        model.model_validate(data, context=context)
        return
    except ValidationError as err:
        errors = sorted(err.errors(), key=lambda e: e['type'] != 'extra_forbidden')
    schema, seen = model.model_json_schema(), set()
    defs = schema.get('$defs', {})
    for error in errors:
        keys, node = [], data
        for item in error['loc']:
            if isinstance(node, (dict, list)) and (
                item in node if isinstance(node, dict) else isinstance(item, int) and 0 <= item < len(node)
            ):
                keys.append(item)
                node = node[item]
            else:
                keys += [item] if error['type'] == 'missing' else []
                break
        path, key, kind = '.'.join(map(str, [prefix] * bool(prefix) + keys)), keys[-1] if keys else '', error['type']
        if kind == 'option':  # a declared class's own check: its message names what it checks
            yield error['ctx'].get('path', path), error['ctx']['message']
            return
        if path in seen:  # a union reports each member
            continue
        seen.add(path)
        if getattr(model, 'owner', None):
            yield _argument_problem(model, error, path, key, node)
            continue
        section, parent = '.'.join(map(str, keys[:-1])), _parent(schema, keys, defs)
        field = parent.get('items', {}) if isinstance(key, int) else parent.get('properties', {}).get(key, {})
        if kind == 'extra_forbidden':
            if any(a == path or a.startswith(path + '.') or path.startswith(a + '.') for a in added):
                continue
            if key in RUNTIME.get(section, ()):
                yield path, 'set by basicsr-ext when it runs, not in option files: remove it'
            elif key in (elsewhere or {}).get(section, ()) and not closest(key, parent.get('properties', ())):
                if notes is not None and node is not None:  # a ~ that clears an inherited key: nothing ignored
                    notes.append((path, IGNORED))
            else:
                yield path, _unknown(parent, key)
        elif kind == 'missing':
            yield path, f'missing required key (expected {expected(field, defs)})'
        elif kind == 'finite_number':
            yield path, error['msg']
        else:
            got = node if kind.startswith(('greater', 'less')) else describe(node) + yaml_number_hint(node)
            yield path, f'expected {expected(field, defs)}, got {got}'
