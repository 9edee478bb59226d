"""Data that option files can ask to be generated when missing (``prepare_data:`` in an option file).

Each preparer is registered by name in :data:`PREPARE_REGISTRY` and called with the keys of its entry. It must be
idempotent (a finished dataset has a ``.complete`` marker and is left alone) and atomic (it builds in a temp folder
and renames it into place), so an interrupted run never leaves a half-written dataset behind. The runner calls
preparers on rank 0 only; the other ranks wait at a barrier.
"""

import inspect
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


def build_atomically(root, build):
    """Run ``build(tmp_dir)`` and move the result to ``root``; skip when ``root`` is already complete."""
    if is_complete(root):
        return False
    if osp.exists(root):
        raise UserError(
            f'{root} exists but is not a complete generated dataset (no {COMPLETE_MARKER}); '
            'remove it or point the option file elsewhere'
        )
    parent = osp.dirname(osp.abspath(root))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f'.{osp.basename(root)}.tmp-', dir=parent)
    try:
        build(tmp)
        open(osp.join(tmp, COMPLETE_MARKER), 'w').close()
        os.replace(tmp, root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return True


def run_prepare(entries, opt_file='options'):
    """Run the ``prepare_data`` entries of an option file."""
    logger = get_root_logger()
    for i, entry in enumerate(entries or []):
        entry = dict(entry)
        name = entry.pop('type', None)
        if name not in PREPARE_REGISTRY._obj_map:
            raise UserError(
                f'{opt_file}: prepare_data[{i}].type: unknown data preparer {name!r}; registered: '
                f'{", ".join(sorted(PREPARE_REGISTRY._obj_map))}'
            )
        fn = PREPARE_REGISTRY.get(name)
        try:
            inspect.signature(fn).bind(**entry)
        except TypeError as err:
            params = ', '.join(inspect.signature(fn).parameters)
            raise UserError(f'{opt_file}: prepare_data[{i}] ({name}): {err}; it takes: {params}') from None
        logger.info(f'Preparing data: {name} {entry}')
        if fn(**entry):
            logger.info(f'Prepared data: {name} {entry}')
        else:
            logger.info(f'Data already prepared: {name} {entry}')
