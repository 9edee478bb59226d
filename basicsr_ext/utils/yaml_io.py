"""Safe YAML reading and writing for option files.

BasicSR 1.4.2 and mmengine both parse YAML with PyYAML's full ``Loader``, which constructs arbitrary Python
objects (``!!python/object/apply:os.system [...]`` runs a command). Option files are shared between people, so
every YAML we read goes through :class:`SafeLoader`, which knows only the standard tags.
"""

import os

import yaml

from basicsr_ext.utils.errors import UserError
from basicsr_ext.utils.file_io import write_text_atomic

try:  # the C loaders are ~10x faster and behave the same
    _BaseSafeLoader = yaml.CSafeLoader
    _BaseSafeDumper = yaml.CSafeDumper
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _BaseSafeLoader = yaml.SafeLoader
    _BaseSafeDumper = yaml.SafeDumper


class SafeLoader(_BaseSafeLoader):
    """PyYAML's safe loader: standard tags only (``!!float 1e-4`` works, ``!!python/...`` is refused), and a key
    given twice in one mapping is an error (PyYAML keeps the last one silently). Keys merged in with ``<<:`` may be
    overridden, as YAML intends."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = {}
            for key_node, _ in node.value:
                if key_node.tag == 'tag:yaml.org,2002:merge':
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    if key in seen:
                        raise yaml.constructor.ConstructorError(
                            None, None, f'duplicate key {key!r} (first given on line {seen[key]})', key_node.start_mark
                        )
                    seen[key] = key_node.start_mark.line + 1
                except TypeError:  # an unhashable key: PyYAML reports it below
                    continue
        return super().construct_mapping(node, deep=deep)


class SafeDumper(_BaseSafeDumper):
    """Safe dumper that keeps key order (BasicSR option files read top to bottom)."""


def _represent_ordered(dumper, data):
    return dumper.represent_dict(data.items())


SafeDumper.add_representer(dict, _represent_ordered)
try:
    from collections import OrderedDict

    SafeDumper.add_representer(OrderedDict, _represent_ordered)
except ImportError:  # pragma: no cover
    pass


def describe_yaml_error(err, path):
    """One-line description of a PyYAML error, naming the file and line."""
    mark = getattr(err, 'problem_mark', None) or getattr(err, 'context_mark', None)
    where = f'{path}, line {mark.line + 1}' if mark is not None else str(path)
    problem = getattr(err, 'problem', None) or str(err).splitlines()[0]
    if 'python/' in problem:
        return (
            f'{where}: {problem}. Option files are read with a safe YAML loader; '
            'Python object tags (!!python/...) are not allowed.'
        )
    return f'{where}: invalid YAML: {problem}'


def load_yaml(path):
    """Read a YAML file with the safe loader; errors become :class:`UserError` naming the file and line. The file
    must hold a mapping: an empty file, a binary file or a top-level list is an error."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise UserError(f'{path}: is a folder: expected a YAML option file')
    if not os.path.isfile(path):
        raise UserError(f'option file not found: {path}')
    with open(path, 'rb') as f:
        raw = f.read()
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError as err:
        raise UserError(
            f'{path}: not a text file (byte {err.start} is not UTF-8): expected a YAML option file'
        ) from None
    if '\x00' in text:
        raise UserError(f'{path}: not a text file (it holds NUL bytes): expected a YAML option file')
    try:
        data = yaml.load(text, Loader=SafeLoader)
    except yaml.YAMLError as err:
        raise UserError(describe_yaml_error(err, path)) from None
    if data is None:
        raise UserError(f'{path}: the file is empty (or only comments): expected a mapping of option keys')
    if not isinstance(data, dict):
        kind = {list: 'a list', str: 'a string'}.get(type(data), type(data).__name__)
        raise UserError(f'{path}: expected a mapping of option keys at the top level, got {kind}')
    return data


def dump_yaml(data, path, header=''):
    """Write ``data`` as YAML atomically (temp file in the same folder, then rename)."""
    text = header + yaml.dump(data, Dumper=SafeDumper, sort_keys=False, default_flow_style=None, width=120)
    write_text_atomic(path, text)
