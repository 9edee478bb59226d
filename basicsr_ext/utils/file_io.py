"""Atomic writes and safe loading of torch checkpoints."""

import os
import pickle

import torch

from basicsr_ext.utils.errors import UserError


def atomic_torch_save(obj, path):
    """``torch.save`` to a temp name in the same folder, fsync, then rename over ``path``.

    A reader (or ``--auto_resume`` after ``kill -9``) sees either the old file or the complete new one, never a
    truncated file. The temp name does not end in ``.pth``/``.state`` so scans for checkpoints ignore it.
    """
    path = os.fspath(path)
    tmp = f'{path}.tmp{os.getpid()}'
    try:
        with open(tmp, 'wb') as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def remove_stale_temp_files(folder):
    """Remove the temp files ``atomic_torch_save`` leaves when its process is killed mid-write (``<name>.tmp<pid>``)."""
    if not os.path.isdir(folder):
        return
    for name in os.listdir(folder):
        stem, sep, pid = name.rpartition('.tmp')
        if sep and stem and pid.isdigit():
            os.remove(os.path.join(folder, name))


def safe_torch_load(path, map_location='cpu', what='checkpoint'):
    """Load a checkpoint with ``weights_only=True``: tensors and plain containers only, no code execution.

    Raises :class:`UserError` naming the file when it is missing, not a checkpoint, or holds pickled objects that
    are not allowed (a crafted ``__reduce__`` is refused here instead of being run).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise UserError(f'{what} not found: {path}')
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        lines = [line.strip() for line in str(err).splitlines() if line.strip()] or [type(err).__name__]
        detail = next((line for line in lines if 'Unsupported global' in line or 'GLOBAL' in line), None)
        if detail is None:  # not a refused object: garbage or a damaged file ("Unsupported operand 110")
            after = [lines[i + 1] for i, line in enumerate(lines[:-1]) if 'WeightsUnpickler error' in line]
            raise UserError(
                f'cannot read {what} {path}: not a torch checkpoint, or a damaged one ({(after or lines)[0]})'
            ) from None
        raise UserError(
            f'refusing to load {what} {path}: it contains pickled Python objects that are not '
            f'tensors or plain containers ({detail.strip()}); only weights are loaded '
            '(torch.load weights_only=True). Re-save it as a state dict if you trust it.'
        ) from None
    except (RuntimeError, EOFError, OSError) as err:
        raise UserError(f'cannot read {what} {path}: {str(err).splitlines()[0]}') from None
