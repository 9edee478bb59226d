"""Data that option files can ask to be generated when missing (``prepare_data:`` in an option file).

Each preparer is registered by name in :data:`PREPARE_REGISTRY` and called with the keys of its entry. It must be
idempotent (a finished dataset has a ``.complete`` marker and is left alone) and atomic (it builds in a temp folder
and renames it into place), so an interrupted run never leaves a half-written dataset behind. The runner calls
preparers on rank 0 only; the other ranks wait at a barrier.
"""

import inspect
import json
import os
import shutil
import tempfile
from os import path as osp

from basicsr.utils import get_root_logger
from basicsr.utils.registry import Registry

from basicsr_ext.utils.errors import UserError

PREPARE_REGISTRY = Registry('prepare')
COMPLETE_MARKER = '.complete'


def is_complete(root):
    return osp.isfile(osp.join(root, COMPLETE_MARKER))


TMP_MARKER = '.basicsr_ext_build'  # inside a temp build folder: it is ours to remove when its process died
MANIFEST = '.manifest.json'  # relative path -> size of every file of a finished dataset


def _remove_stale_builds(root):
    """Temp folders of earlier builds of ``root`` whose process was killed (name pattern and marker both ours)."""
    parent, name = osp.dirname(osp.abspath(root)), osp.basename(osp.normpath(root))
    for entry in os.listdir(parent) if osp.isdir(parent) else []:
        path = osp.join(parent, entry)
        if entry.startswith(f'.{name}.tmp-') and osp.isfile(osp.join(path, TMP_MARKER)):
            pid = open(osp.join(path, TMP_MARKER)).read().strip()
            if not (pid.isdigit() and _alive(int(pid))):
                shutil.rmtree(path, ignore_errors=True)
                get_root_logger().info(f'Removed {path}, the temp folder of an interrupted build')


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid != os.getpid()


def _files(root):
    found = {}
    for folder, _, names in os.walk(root):
        for name in names:
            rel = osp.relpath(osp.join(folder, name), root)
            if rel not in (COMPLETE_MARKER, MANIFEST, TMP_MARKER):
                found[rel] = osp.getsize(osp.join(folder, name))
    return found


def check_manifest(root):
    """A finished dataset still has every file its manifest lists, at its size; UserError saying what is missing.
    Datasets made before manifests were written are not checked."""
    path = osp.join(root, MANIFEST)
    if not osp.isfile(path):
        return
    with open(path) as f:
        expected = json.load(f)
    actual = _files(root)
    bad = sorted(rel for rel, size in expected.items() if actual.get(rel) != size)
    if bad:
        raise UserError(
            f'{root}: {len(bad)} of {len(expected)} generated files are missing or changed (e.g. {bad[0]}); remove '
            f'{root} to rebuild it'
        )


def build_atomically(root, build):
    """Run ``build(tmp_dir)`` and move the result to ``root``; skip when ``root`` is already complete.

    The temp folder (``.<name>.tmp-*`` next to ``root``) carries a marker with the builder's process id, so a later
    run removes the leftovers of a killed build; the finished folder gets the usual permissions (``mkdtemp`` makes it
    private), a ``.complete`` marker and a manifest of its files, checked whenever the dataset is reused.
    """
    if is_complete(root):
        check_manifest(root)
        return False
    if osp.exists(root):
        raise UserError(
            f'{root} exists but is not a complete generated dataset (no {COMPLETE_MARKER}); '
            'remove it or point the option file elsewhere'
        )
    parent = osp.dirname(osp.abspath(root))
    os.makedirs(parent, exist_ok=True)
    _remove_stale_builds(root)
    tmp = tempfile.mkdtemp(prefix=f'.{osp.basename(osp.normpath(root))}.tmp-', dir=parent)
    try:
        with open(osp.join(tmp, TMP_MARKER), 'w') as f:
            f.write(str(os.getpid()))
        build(tmp)
        with open(osp.join(tmp, MANIFEST), 'w') as f:
            json.dump(_files(tmp), f, indent=0, sort_keys=True)
        os.remove(osp.join(tmp, TMP_MARKER))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)
        open(osp.join(tmp, COMPLETE_MARKER), 'w').close()
        os.replace(tmp, root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return True


def run_prepare(entries, opt_file='options'):
    """Run the ``prepare_data`` entries of an option file; every entry is bound to its preparer before the first
    runs, so a mistake in the last one is found before anything is built."""
    logger = get_root_logger()
    calls = []
    for i, entry in enumerate(entries or []):
        entry = dict(entry)
        name = entry.pop('type', None)
        if not isinstance(name, str) or name not in PREPARE_REGISTRY:
            raise UserError(
                f'{opt_file}: prepare_data[{i}].type: unknown data preparer {name!r}; registered: '
                f'{", ".join(sorted(PREPARE_REGISTRY.keys()))}'
            )
        fn = PREPARE_REGISTRY.get(name)
        try:
            inspect.signature(fn).bind(**entry)
        except TypeError as err:
            params = ', '.join(inspect.signature(fn).parameters)
            raise UserError(f'{opt_file}: prepare_data[{i}] ({name}): {err}; it takes: {params}') from None
        calls.append((i, name, fn, entry))
    for i, name, fn, entry in calls:
        logger.info(f'Preparing data: {name} {entry}')
        try:
            done = fn(**entry)
        except UserError as err:
            raise UserError(f'{opt_file}: prepare_data[{i}] ({name}): {err}') from None
        logger.info(f'{"Prepared data" if done else "Data already prepared"}: {name} {entry}')
