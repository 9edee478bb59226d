"""Shipped restorer checkpoints: BasicSR weights plus what inference needs to rebuild and feed the network.

Format (a plain dict, loadable with ``torch.load(..., weights_only=True)``)::

    {'params': state_dict,
     'meta': {'format': 'basicsr-ext restorer', 'version': 1,
              'network_g': {...the option file's network_g...},
              'heights': [0.0, ...],          # focal planes the net takes, metres, in input-channel order
              'multipass_plane': 0,           # input plane the next pass replaces (val.multipass.plane)
              'param_key': 'params_ema',      # which group of the source checkpoint was taken
              'sha256': '...',                # of the parameters (names, dtypes, shapes, bytes): checked on load
              'source': 'net_g_1500.pth', 'source_sha256': '...', 'option_file': 'train_aos.yml',
              'command': '...', ...}}         # plus extra_meta
"""

import hashlib
import os
from os import path as osp

from basicsr_ext.utils.checkpoint_adapt import checkpoint_groups
from basicsr_ext.utils.errors import UserError
from basicsr_ext.utils.file_io import atomic_torch_save, safe_torch_load

FORMAT = 'basicsr-ext restorer'
VERSION = 1


def file_sha256(path):
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def params_sha256(state_dict):
    """Hex sha256 over a state dict's names, dtypes, shapes and bytes (sorted by name); independent of pickling."""
    import torch

    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().cpu().contiguous()
        digest.update(f'{name}|{tensor.dtype}|{tuple(tensor.shape)}|'.encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def restorer_settings(opt, option_file):
    """``{network_g, heights, multipass_plane}`` from a resolved training option dict.

    The heights are ``datasets.train.heights``; when that is ~ (every plane) the planes that exist are the first
    ``prepare_data`` entry's ``heights``. Their number must equal the net's input channels.
    """
    network_g = opt.get('network_g')
    if not isinstance(network_g, dict) or 'type' not in network_g:
        raise UserError(f'{option_file}: missing network_g (a mapping with a type key)')
    heights = ((opt.get('datasets') or {}).get('train') or {}).get('heights')
    if heights is None:
        prepared = [p.get('heights') for p in opt.get('prepare_data') or [] if isinstance(p, dict)]
        heights = next((h for h in prepared if h is not None), None)
    if not isinstance(heights, (list, tuple)) or not heights:
        raise UserError(
            f'{option_file}: no focal heights: expected datasets.train.heights or prepare_data[].heights (metres)'
        )
    heights = [float(h) for h in heights]
    chans = network_g.get('in_chans', network_g.get('num_in_ch'))
    if chans is not None and int(chans) != len(heights):
        raise UserError(
            f'{option_file}: network_g takes {chans} input channels but the heights list {len(heights)} planes '
            f'({", ".join(f"{h:g}" for h in heights)} m)'
        )
    plane = ((opt.get('val') or {}).get('multipass') or {}).get('plane', 0)
    return {'network_g': dict(network_g), 'heights': heights, 'multipass_plane': int(plane)}


PARAM_KEYS = ('auto', 'params', 'params_ema')


def scored_param_key(opt_dict, groups):
    """``(key, why)``: the parameter group BasicSR itself uses with this option file: ``path.param_key_g`` when it names
    one (what BasicSR's ``test.py`` loads); else the group its validation scored: ``params_ema`` when it trains an EMA
    (``train.ema_decay`` > 0: BasicSR validates ``net_g_ema``) and the checkpoint has it, else ``params`` (also
    ``load_network``'s default)."""
    opt_dict = opt_dict or {}
    named = (opt_dict.get('path') or {}).get('param_key_g')
    if named:
        return named, "the option file's path.param_key_g"
    decay = float((opt_dict.get('train') or {}).get('ema_decay') or 0)
    if decay > 0 and 'params_ema' in groups:
        return 'params_ema', f'what its validation scored: train.ema_decay {decay:g}'
    return 'params', 'what its validation scored: no EMA' if decay <= 0 else 'the checkpoint has no params_ema'


def select_params(checkpoint, path, param_key=None):
    """``(state_dict, key)``: ``param_key`` if given, else ``params_ema`` when present, else ``params``, else a bare
    state dict; ``module.`` prefixes (DDP) removed. UserError naming ``path`` when there is none."""
    groups = checkpoint_groups(checkpoint, path)
    order = [param_key] if param_key else ['params_ema', 'params', None]
    key = next((k for k in order if k in groups), False)
    if key is False:
        raise UserError(f'{path}: no parameter group {order[0]!r} (groups: {[k for k in groups if k]})')
    return dict(groups[key]), key


def check_loads(network_g, state_dict, path):
    """Build ``network_g`` with BasicSR's ``build_network`` and load ``state_dict`` strictly; returns the net."""
    import copy

    from basicsr.archs import build_network

    import basicsr_ext  # noqa: F401  (registers our archs)

    try:
        net = build_network(copy.deepcopy(network_g))
    except (KeyError, TypeError, ValueError) as err:
        raise UserError(f'{path}: cannot build network_g {network_g.get("type")!r}: {err}') from None
    own = net.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    if missing or unexpected:
        raise UserError(
            f'{path}: weights do not fit network_g {network_g.get("type")!r} (missing {missing[:3]}, '
            f'unexpected {unexpected[:3]})'
        )
    for key, tensor in state_dict.items():  # load_state_dict raises on a shape mismatch even with strict=False
        if tuple(tensor.shape) != tuple(own[key].shape):
            raise UserError(
                f'{path}: weights do not fit network_g {network_g.get("type")!r}: {key} has shape '
                f'{tuple(tensor.shape)} in the file, {tuple(own[key].shape)} in the network'
            )
    net.load_state_dict(state_dict, strict=True)
    return net


def export_restorer(checkpoint_path, option_file, out_path, extra_meta=None, param_key=None):
    """Write a BasicSR checkpoint and its training option file as one shipped restorer checkpoint (atomically).

    Args:
        checkpoint_path (str): ``net_g_*.pth`` (``params`` / ``params_ema``; the EMA is taken when present) or a bare
            state dict.
        option_file (str): The training option YAML (``_base_`` resolved).
        out_path (str): Where to write the restorer checkpoint.
        extra_meta (dict | None): Added to ``meta`` (e.g. ``command``, ``task``). Default: None.
        param_key (str | None): The checkpoint's parameter group to take ('params', 'params_ema'); None: the EMA
            when present. Default: None.

    Returns:
        dict: ``{'path', 'sha256' (of the written file), 'meta'}``.

    Raises:
        UserError: A file is missing or unreadable, the option file lacks network_g or heights, or the weights do not
            fit the network.
    """
    from basicsr_ext.utils.options import resolve_options

    if not osp.isfile(option_file):
        raise UserError(f'option file not found: {option_file}')
    settings = restorer_settings(resolve_options(option_file), option_file)
    params, key = select_params(safe_torch_load(checkpoint_path), checkpoint_path, param_key)
    check_loads(settings['network_g'], params, checkpoint_path)
    meta = {
        'format': FORMAT,
        'version': VERSION,
        **settings,
        'param_key': key,
        'sha256': params_sha256(params),
        'source': osp.basename(checkpoint_path),
        'source_sha256': file_sha256(checkpoint_path),
        'option_file': osp.basename(option_file),
        **(extra_meta or {}),
    }
    atomic_torch_save({'params': params, 'meta': meta}, os.fspath(out_path))
    return {'path': os.fspath(out_path), 'sha256': file_sha256(out_path), 'meta': meta}
