"""Atomic writes and safe loading of torch checkpoints, with a content digest written into every checkpoint.

:func:`atomic_torch_save` adds ``'digest'``, a sha256 over the object's structure and every tensor's bytes, to the
dicts it writes; :func:`safe_torch_load` checks it and removes it, so a file whose bytes changed after it was written
(a flipped bit that torch still loads) is refused with one line. Files without a digest (BasicSR's zoo, other tools)
load as before. BasicSR's own loaders ignore the extra key.
"""

import hashlib
import os
import pickle

from basicsr_ext.utils.errors import UserError


class OutputError(UserError, OSError):
    """An output that cannot be written where it was asked for (a file in the way of its folder, a folder in the way of
    the file, no permission, a full disk): one line naming it. Also an ``OSError``, for callers that catch those."""


def _file_in_the_way(folder):
    """The nearest existing ancestor of ``folder`` (itself included) when it is not a folder, else None."""
    folder = os.path.abspath(folder)
    while not os.path.exists(folder):
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent
    return None if os.path.isdir(folder) else folder


def _same_file(a, b):
    a, b = os.fspath(a), os.fspath(b)
    if os.path.exists(a) and os.path.exists(b):
        return os.path.samefile(a, b)
    return os.path.abspath(a) == os.path.abspath(b)


def check_output_folder(path, flag, inputs=()):
    """Refuse an output folder that is a file, lies under a file, or is one of the ``inputs`` (outputs would mix with
    or replace them): UserError ``'<flag> <path>: ...'``. Nothing is created."""
    path = os.fspath(path)
    if os.path.exists(path) and not os.path.isdir(path):
        raise UserError(f'{flag} {path}: a file; expected a folder (existing or new)')
    blocker = _file_in_the_way(path)
    if blocker is not None:
        raise UserError(f'{flag} {path}: cannot create the folder, {blocker} is a file')
    for item in inputs:
        if os.path.isdir(item) and _same_file(path, item):
            raise UserError(f'{flag} {path}: the input folder itself; write the outputs to another folder')


def check_output_file(path, flag, inputs=()):
    """Refuse an output file that is a folder, lies under a file, or is one of the ``inputs`` (it would be replaced):
    UserError ``'<flag> <path>: ...'``. Nothing is created."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise UserError(f'{flag} {path}: a folder; expected a file name')
    blocker = _file_in_the_way(os.path.dirname(os.path.abspath(path)))
    if blocker is not None:
        raise UserError(f'{flag} {path}: cannot create its folder, {blocker} is a file')
    for item in inputs:
        if _same_file(path, item):
            raise UserError(f'{flag} {path}: the input file itself; write the result to another file')


def atomic_write(path, write, suffix=''):
    """Call ``write(tmp)`` to write a temp file next to ``path``, then rename it over ``path``.

    Readers (and ``--auto_resume`` after ``kill -9``) see the old file or the complete new one, never a truncated
    one; on any error the temp file is removed. The temp name is ``<path>.tmp<pid><suffix>``: ``suffix`` keeps an
    extension for writers that need one (``cv2.imwrite``), and without it the name does not end in ``.pth``,
    ``.state`` or ``.png``, so scans for those files skip it. The folder is created when missing. An ``OSError`` of
    the folder, the write or the rename becomes an :class:`OutputError` naming ``path``.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise OutputError(f'cannot write {path}: it is a folder')
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as err:
        blocker = _file_in_the_way(folder)
        why = f'{blocker} is a file' if blocker else (err.strerror or str(err))
        raise OutputError(f'cannot write {path}: cannot create the folder {folder} ({why})') from None
    tmp = f'{path}.tmp{os.getpid()}{suffix}'
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException as err:
        if os.path.exists(tmp):
            os.remove(tmp)
        if isinstance(err, OSError) and not isinstance(err, UserError):
            raise OutputError(f'cannot write {path}: {err.strerror or err}') from None
        raise


def write_bytes_atomic(path, data):
    def write(tmp):
        with open(tmp, 'wb') as f:
            f.write(data)

    atomic_write(path, write)


def write_text_atomic(path, text):
    write_bytes_atomic(path, text.encode('utf-8'))


DIGEST_KEY = 'digest'


class RefusedCheckpoint(UserError):
    """A checkpoint holding pickled Python objects (code could run): refused, never skipped over silently."""


def content_digest(obj):
    """Hex sha256 of a checkpoint object: containers in order, keys, scalars, and each tensor's dtype, shape and
    bytes (independent of how torch pickles it)."""
    import torch

    digest = hashlib.sha256()

    def feed(value):
        if torch.is_tensor(value):
            tensor = value.detach().cpu().contiguous()
            digest.update(f'T{tensor.dtype}{tuple(tensor.shape)}'.encode())
            digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
        elif isinstance(value, dict):
            digest.update(f'D{len(value)}'.encode())
            for key, item in value.items():
                digest.update(repr(key).encode())
                feed(item)
        elif isinstance(value, (list, tuple)):
            digest.update(f'{"L" if isinstance(value, list) else "U"}{len(value)}'.encode())
            for item in value:
                feed(item)
        else:
            digest.update(f'S{value!r}'.encode())

    feed(obj)
    return digest.hexdigest()


def atomic_torch_save(obj, path):
    """``torch.save`` through :func:`atomic_write`, fsynced (checkpoints must survive a crash right after); a dict
    of groups (BasicSR's ``params``/``params_ema``, training states) gets its :func:`content_digest` under
    ``'digest'``. A bare state dict (tensors only) stays as it is, so BasicSR loads it with ``param_key: ~``."""
    import torch

    if isinstance(obj, dict) and not all(torch.is_tensor(v) for v in obj.values()):
        obj = {**obj, DIGEST_KEY: content_digest(obj)}

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


def safe_torch_load(path, map_location='cpu', what='checkpoint', verify=True):
    """Load a checkpoint with ``weights_only=True``: tensors and plain containers only, no code execution.

    Raises :class:`UserError` naming the file when it is missing, empty, not a checkpoint, damaged (its digest does
    not match; ``verify=False`` skips that check, for a file whose bytes the caller has just checked against a
    published sha256), or holds pickled objects that are not allowed (a crafted ``__reduce__`` is refused here
    instead of being run). The digest is removed from the returned dict.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise UserError(f'{what} not found: {path}')
    if os.path.getsize(path) == 0:
        raise UserError(f'cannot read {what} {path}: the file is empty (0 bytes)')
    obj = _torch_load(path, map_location, what)
    if isinstance(obj, dict) and DIGEST_KEY in obj:
        stored = obj.pop(DIGEST_KEY)
        if verify and content_digest(obj) != stored:
            raise UserError(
                f'{what} {path} is damaged: its content does not match the digest written with it '
                '(changed or corrupted after it was saved)'
            )
    return obj


def _torch_load(path, map_location, what):
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
        raise RefusedCheckpoint(
            f'refusing to load {what} {path}: it contains pickled Python objects that are not '
            f'tensors or plain containers ({detail.strip()}); only weights are loaded '
            '(torch.load weights_only=True). Re-save it as a state dict if you trust it.'
        ) from None
    except (RuntimeError, EOFError, OSError, IndexError, ValueError, KeyError) as err:
        detail = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UserError(f'cannot read {what} {path}: not a torch checkpoint, or a damaged one ({detail})') from None


def load_network_params(path, param_key='params', logger=None, fallback=True):
    """The state dict of one parameter group of a BasicSR network checkpoint, as ``BaseModel.load_network`` reads it.

    ``param_key`` (``params``, ``params_ema``, or None for a bare state dict) falls back to ``params`` when absent
    (unless ``fallback`` is False: a key asked for by name must exist);
    ``module.`` prefixes (DDP) are removed. Returns ``(state_dict, param_key used)``; one-line errors name the file.
    """
    load_net = safe_torch_load(path, what='network checkpoint')
    if not isinstance(load_net, dict):
        raise UserError(
            f'{path}: expected a BasicSR checkpoint (parameter groups such as params) or a state dict, got a '
            f'{type(load_net).__name__}'
        )
    if param_key is not None:
        if fallback and param_key not in load_net and 'params' in load_net:
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
