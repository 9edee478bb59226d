"""Atomic writes and safe loading of torch checkpoints."""

import os
import pickle

from basicsr_ext.utils.errors import UserError


def atomic_write(path, write, suffix=''):
    """Call ``write(tmp)`` to write a temp file next to ``path``, then rename it over ``path``.

    Readers (and ``--auto_resume`` after ``kill -9``) see the old file or the complete new one, never a truncated
    one; on any error the temp file is removed. The temp name is ``<path>.tmp<pid><suffix>``: ``suffix`` keeps an
    extension for writers that need one (``cv2.imwrite``), and without it the name does not end in ``.pth``,
    ``.state`` or ``.png``, so scans for those files skip it. The folder is created when missing.
    """
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f'{path}.tmp{os.getpid()}{suffix}'
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_bytes_atomic(path, data):
    def write(tmp):
        with open(tmp, 'wb') as f:
            f.write(data)

    atomic_write(path, write)


def write_text_atomic(path, text):
    write_bytes_atomic(path, text.encode('utf-8'))


def atomic_torch_save(obj, path):
    """``torch.save`` through :func:`atomic_write`, fsynced (checkpoints must survive a crash right after)."""
    import torch

    def write(tmp):
        with open(tmp, 'wb') as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())

    atomic_write(path, write)


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
    import torch

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


def load_network_params(path, param_key='params', logger=None):
    """The state dict of one parameter group of a BasicSR network checkpoint, as ``BaseModel.load_network`` reads it.

    ``param_key`` (``params``, ``params_ema``, or None for a bare state dict) falls back to ``params`` when absent;
    ``module.`` prefixes (DDP) are removed. Returns ``(state_dict, param_key used)``; one-line errors name the file.
    """
    load_net = safe_torch_load(path, what='network checkpoint')
    if param_key is not None:
        if param_key not in load_net and 'params' in load_net:
            if logger is not None:
                logger.info(f'Loading: {param_key} does not exist in {path}, use params.')
            param_key = 'params'
        if param_key not in load_net:
            keys = [k for k in load_net if not hasattr(load_net[k], 'shape')][:8] or list(load_net)[:8]
            raise UserError(
                f'{path} has no parameter group {param_key!r} (top-level keys: {keys}); set '
                'path.param_key_g to one of them, or to ~ for a bare state dict'
            )
        load_net = load_net[param_key]
    return {(k[7:] if k.startswith('module.') else k): v for k, v in load_net.items()}, param_key
