"""Option files: BasicSR's flags and dict, plus ``_base_`` inheritance and ``--cfg-options`` overrides.

BasicSR receives exactly the dict a flat YAML would give it. Before that: every file of the ``_base_`` chain is read
with the safe YAML loader; mmengine's ``Config`` merges the chain (``_delete_: true`` replaces a mapping);
``--cfg-options a.b=1`` (and BasicSR's ``--force_yml a:b=1``) override existing keys (``+a.b=1`` adds one); then
:func:`~basicsr_ext.utils.option_check.validate_options` checks the result.
"""

import argparse
import os
import sys
from os import path as osp

import yaml

from basicsr_ext.utils.errors import UserError
from basicsr_ext.utils.option_check import validate_options
from basicsr_ext.utils.option_models import closest
from basicsr_ext.utils.yaml_io import SafeLoader, describe_yaml_error, load_yaml


def build_parser(is_train=True):
    """BasicSR's command-line flags plus ``--cfg-options``."""
    parser = argparse.ArgumentParser(
        prog=f'basicsr_ext/{"train" if is_train else "test"}.py',
        description=('Train' if is_train else 'Test') + ' a model from a BasicSR option file.',
    )
    add = parser.add_argument
    add('-opt', type=str, required=True, help='Path to option YAML file.')
    add('--launcher', choices=['none', 'pytorch', 'slurm'], default='none', help='job launcher')
    add('--auto_resume', action='store_true', help='resume from the newest training state')
    add('--debug', action='store_true', help='debug mode: name gets a debug_ prefix')
    add('--local_rank', '--local-rank', type=int, default=0, dest='local_rank', help='set by torch.distributed.launch')
    add('--force_yml', nargs='+', metavar='A:B=V', help="BasicSR's override syntax, e.g. train:ema_decay=0.999")
    add('--cfg-options', '--cfg_options', nargs='+', metavar='A.B=V', dest='cfg_options',
        help='override keys, e.g. train.total_iter=4; +a.b=v adds a new key')  # fmt: skip
    return parser


# ----------------------------------------------------------------------------------------------- resolution
def _check_chain(path, seen=()):
    """Read every file of the ``_base_`` chain safely so errors name the file at fault."""
    path = osp.abspath(path)
    if not path.lower().endswith(('.yml', '.yaml')):  # mmengine's Config would run a .py file as Python
        raise UserError(f'{path}: option files are YAML: expected a .yml or .yaml file')
    if path in seen:
        raise UserError(f'{path}: _base_ inheritance loops back to this file')
    data = load_yaml(path)
    bases = data.get('_base_', [])
    if not isinstance(bases, (str, list)):
        raise UserError(f'{path}: _base_: expected a path or a list of paths, got {bases!r}')
    for base in [bases] if isinstance(bases, str) else bases:
        if not isinstance(base, str):
            raise UserError(f'{path}: _base_ must be a path or a list of paths, got {base!r}')
        base_path = osp.join(osp.dirname(path), base)
        if not osp.isfile(base_path):
            raise UserError(f'{path}: _base_ file not found: {base} (looked for {base_path})')
        _check_chain(base_path, seen + (path,))


def _plain(obj):
    """mmengine ConfigDict/list/tuple -> plain dict/list (what BasicSR expects)."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def parse_value(text):
    """Value of a ``--cfg-options`` entry: int, float (``1e-4`` too), bool, null, list or string."""
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    try:
        return yaml.load(text, Loader=SafeLoader)
    except yaml.YAMLError as err:
        raise UserError(describe_yaml_error(err, f'value {text!r}')) from None


def apply_overrides(opt, entries, sep='.', flag='--cfg-options'):
    """Apply ``key.sub=value`` entries in place. Unknown key paths are errors unless prefixed with ``+``, which
    creates every missing level (``+a.b.c=1`` on an option dict without ``a`` gives ``{a: {b: {c: 1}}}``)."""
    for entry in entries or []:
        if '=' not in entry:
            raise UserError(f'{flag} {entry!r}: expected KEY{sep}SUB=VALUE')
        key_path, value = entry.split('=', 1)
        key_path = key_path.strip()
        create = key_path.startswith('+')
        keys = key_path.lstrip('+').split(sep)
        node, walked = opt, []
        for i, key in enumerate(keys):
            last = i == len(keys) - 1
            if isinstance(node, list):
                if not key.lstrip('-').isdigit() or not -len(node) <= int(key) < len(node):
                    raise UserError(
                        f'{flag} {key_path}: {sep.join(walked) or "<root>"} is a list of {len(node)} '
                        f'items, {key!r} is not an index into it'
                    )
                key = int(key)
            elif not isinstance(node, dict):
                raise UserError(f'{flag} {key_path}: {sep.join(walked)} is a value, not a mapping')
            elif key not in node and create and not last:  # +a.b.c=v creates the missing mappings on the way
                node[key] = {}
            elif key not in node and not (create and last):
                close = closest(key, [str(k) for k in node])
                hint = f'; did you mean {", ".join(close)}?' if close else f'; keys there: {", ".join(map(str, node))}'
                raise UserError(
                    f'{flag} {key_path}: unknown key {key!r} under {sep.join(walked) or "the top level"}'
                    f'{hint} (prefix with + to add a new key)'
                )
            if last:
                node[key] = parse_value(value.strip())
            else:
                node = node[key]
                walked.append(str(key))


def override_paths(args):
    """``({dotted key path: 'flag entry'}, [added key paths])`` of the ``--cfg-options`` / ``--force_yml`` entries:
    the first for naming the entry in an error about the key it set, the second (``+a.b=v``) exempt from the
    unknown-key check."""
    overrides, added = {}, []
    for flag, sep, entries in (('--cfg-options', '.', args.cfg_options), ('--force_yml', ':', args.force_yml)):
        for entry in entries or []:
            key_path = entry.split('=', 1)[0].strip()
            dotted = '.'.join(key_path.lstrip('+').split(sep))
            overrides[dotted] = f'{flag} {entry}'
            if key_path.startswith('+'):
                added.append(dotted)
    return overrides, added


def resolve_options(opt_path, cfg_options=None, force_yml=None):
    """Option file (with its ``_base_`` chain) + overrides -> plain dict, before any runtime keys are added."""
    from mmengine.config import Config

    _check_chain(opt_path)
    try:
        cfg = Config.fromfile(opt_path)
    except yaml.YAMLError as err:  # the safe loader refused something the first pass did not see
        raise UserError(describe_yaml_error(err, opt_path)) from None
    except (KeyError, TypeError) as err:
        raise UserError(f'{opt_path}: cannot merge _base_ chain: {err}') from None
    opt = _plain(cfg.to_dict())
    opt.pop('_base_', None)
    apply_overrides(opt, cfg_options)
    apply_overrides(opt, force_yml, sep=':', flag='--force_yml')
    return opt


# ----------------------------------------------------------------------------------------------- validation
def check_paths(opt, opt_file):
    """Input paths must exist; the error names the option key and the path."""
    for phase, dataset in (opt.get('datasets') or {}).items():
        for key, value in dataset.items():
            if (key.startswith('dataroot') or key in ('meta_info', 'meta_info_file')) and value is not None:
                for path in value if isinstance(value, list) else [value]:
                    if not osp.exists(path):
                        raise UserError(f'{opt_file}: datasets.{phase}.{key}: path not found: {path}')
    for key, value in (opt.get('path') or {}).items():
        if key.startswith('pretrain_network') and value is not None and not osp.isfile(value):
            raise UserError(f'{opt_file}: path.{key}: pretrained network not found: {value}')
        if key == 'resume_state' and value is not None and not osp.isfile(value):
            raise UserError(f'{opt_file}: path.resume_state: training state not found: {value}')


def read_options(is_train=True, argv=None):
    """Flags, the resolved option dict (checked; ignored keys warned about on rank 0) and a copy of it to save.

    Returns ``(opt, args, resolved)``: ``opt`` is the checked dict the runner adds its runtime keys to
    (:func:`basicsr_ext.utils.run_setup.parse_options`), ``resolved`` stays as the user's options resolved.
    """
    args = build_parser(is_train).parse_args(argv)
    resolved = resolve_options(args.opt, args.cfg_options, args.force_yml)
    opt = _plain(resolved)  # deep copy: models pop keys from their option dicts
    overrides, added = override_paths(args)
    for warning in validate_options(opt, args.opt, is_train, overrides, added):
        if int(os.environ.get('RANK', 0)) == 0:
            print(f'basicsr-ext: warning: {warning}', file=sys.stderr)
    return opt, args, resolved
