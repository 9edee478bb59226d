"""What a restorer checkpoint is, read once: its weights and a :class:`ModelDescriptor` that says how to feed it.

Every way of naming a model ends here: a zoo name (``weights/zoo.yml``: the file's sha256 is checked against the zoo),
an exported restorer (``scripts/export_restorer.py``: ``meta`` carries ``network_g``, and for AOS the focal heights),
or any BasicSR checkpoint with the training option file (``opt``) or ``network_g`` options (``network``). Each file
is checked once: a zoo file by its sha256 in the zoo, any other by the content digest written with it
(:func:`~basicsr_ext.utils.file_io.safe_torch_load`); a file without one (BasicSR's zoo, other tools) loads as it is.

The descriptor (in the spirit of spandrel's model descriptions) is what inference needs to know about the network:
its task, input planes (AOS: the focal heights) or channels, scale, size multiple, the precisions it runs in, and
whether its per-pixel maps can be tiled apart from a global step (the AOS ground-fill nets).
"""

import copy
import inspect
from dataclasses import dataclass, field
from typing import List, Optional

from basicsr_ext.inference.export import PARAM_KEYS, check_loads, restorer_settings, scored_param_key, select_params
from basicsr_ext.inference.zoo import resolve
from basicsr_ext.utils.checkpoint_adapt import checkpoint_groups
from basicsr_ext.utils.errors import UserError
from basicsr_ext.utils.file_io import safe_torch_load

PRECISIONS = ('fp32', 'fp16', 'bf16')
CHANNEL_KEYS = ('num_in_ch', 'in_chans', 'in_nc')  # BasicSR's / Swin's / old ESRGAN's name for input channels


@dataclass
class ModelDescriptor:
    """How to feed a restorer network.

    Attributes:
        name (str): The zoo name or the checkpoint path given.
        task (str): 'aos', 'sr', 'denoise', 'modulation' (zoo entries), or 'image' for another image checkpoint.
        network_g (dict): The arch options.
        in_channels (int | None): Input channels (an AOS net: one per focal plane).
        heights (list[float] | None): AOS: the focal planes (metres) the net takes, in input order; None otherwise.
        multipass_plane (int): AOS: the input plane the next pass replaces.
        scale (int): Output pixels per input pixel (measured by the restorer on a blank input).
        size_multiple (int): Inputs are padded to a multiple of this (the window size of Swin nets).
        precisions (tuple): 'fp32' everywhere; 'fp16' / 'bf16' on a GPU.
        composable (bool): The net has ``maps``/``compose``: its per-pixel maps are tiled and its global step (the
            pooled ground level, the person gate) runs once on the whole input.
        param_key (str): The checkpoint group used ('params', 'params_ema', 'state dict').
        param_key_why (str): Why that group.
        self_ensemble (bool): The model's default for self-ensemble (the zoo entry's ``self_ensemble``; False for a
            checkpoint path).
        entry: The :class:`~basicsr_ext.inference.zoo.ZooEntry`, or None for a path.
    """

    name: str
    task: str
    network_g: dict
    in_channels: Optional[int] = None
    heights: Optional[List[float]] = None
    multipass_plane: int = 0
    scale: int = 1
    size_multiple: int = 1
    precisions: tuple = PRECISIONS
    composable: bool = False
    param_key: str = 'params'
    param_key_why: str = ''
    self_ensemble: bool = False
    entry: object = field(default=None, repr=False)

    @property
    def is_aos(self):
        return self.heights is not None


def input_channels(network_g):
    """The net's input channels from its options, or its constructor's default."""
    from basicsr.utils.registry import ARCH_REGISTRY

    for key in CHANNEL_KEYS:
        if key in network_g:
            return int(network_g[key])
    try:
        params = inspect.signature(ARCH_REGISTRY.get(network_g['type'])).parameters
    except (KeyError, TypeError, ValueError):
        return None
    base = network_g.get('base')
    if 'base' in params and isinstance(base, dict):  # ModulatedNet: the base network's channels
        return input_channels(base)
    return next((int(params[k].default) for k in CHANNEL_KEYS if k in params), None)


def _aos_settings(opt_dict, option_file):
    """The AOS settings (heights, multipass plane) of a training option file, or None for an image restorer's."""
    if 'AOS' not in str(opt_dict.get('model_type', '')):
        return None
    return restorer_settings(opt_dict, option_file)


def load_model(model, opt=None, network=None, param_key=None):
    """``(net, descriptor)``: the network built and loaded (eval mode, CPU, float32) and its :class:`ModelDescriptor`
    (``scale`` still 1: the restorer measures it on its device).

    Args:
        model (str): A zoo name or a checkpoint path.
        opt (str | None): Training option file: ``network_g`` (AOS: the heights) and the group its run validated.
        network (dict | None): ``network_g`` options instead of ``opt`` (image restorers).
        param_key (str | None): 'params', 'params_ema', or 'auto' / None: the zoo entry's; with ``opt`` the one
            BasicSR uses with it (:func:`scored_param_key`); otherwise the EMA when present.
    """
    if param_key not in (None, *PARAM_KEYS):
        raise UserError(f'--param-key: expected one of {", ".join(PARAM_KEYS)}, got {param_key!r}')
    asked = None if param_key == 'auto' else param_key
    entry = resolve(model)  # a zoo name: its file's sha256 checked here
    if entry is not None:
        if opt is not None or network is not None:
            raise UserError(f'--opt: {model} is a zoo model; its network options come from weights/zoo.yml')
        checkpoint = safe_torch_load(entry.path, what='model file', verify=False)
        params, key = select_params(checkpoint, entry.path, asked or entry.param_key)
        meta = _meta(checkpoint)
        if meta is not None and 'network_g' in meta and meta['network_g'] != entry.network_g:
            raise UserError(f"{entry.path}: its meta network_g differs from weights/zoo.yml's {model} entry")
        why = 'asked for' if asked else f'the zoo entry {entry.name}'
        settings = _meta_settings(meta) if entry.task == 'aos' else None
        if entry.task == 'aos' and settings is None:
            raise UserError(f'{entry.path}: an AOS zoo file without meta heights (export it with export_restorer.py)')
        return _build(model, entry.task, entry.network(), params, key, why, settings, entry)
    checkpoint = safe_torch_load(model, what='model file')
    meta = _meta(checkpoint)
    settings, why = None, 'asked for'
    if network is None and opt is not None:
        from basicsr_ext.utils.options import resolve_options

        opt_dict = resolve_options(opt)
        if not isinstance(opt_dict.get('network_g'), dict):
            raise UserError(f'{opt}: no network_g mapping to build the network from')
        network = opt_dict['network_g']
        settings = _aos_settings(opt_dict, opt)
        if asked is None:  # the group the option file's own run used (a training file: what it validated)
            groups = checkpoint_groups(checkpoint, model)
            asked, why = scored_param_key(opt_dict, groups)
            if asked not in groups:
                asked, why = None, 'the only parameters it holds'
    elif network is None and meta is not None and 'network_g' in meta:
        network = meta['network_g']
        settings = _meta_settings(meta)
        if settings is not None:  # an exported AOS restorer holds one group
            if asked == 'params_ema':
                raise UserError(f'{model}: an exported restorer holds one parameter group, params (not params_ema)')
            asked, why = 'params', 'an exported restorer'
    if network is None:
        raise UserError(f'{model}: no arch options: pass --opt OPTION_FILE (its network_g) for this checkpoint')
    if asked is None and why == 'asked for':
        why = 'the EMA when present (no option file to say which)'
    params, key = select_params(checkpoint, model, asked)
    task = 'aos' if settings is not None else str((meta or {}).get('task') or 'image')
    return _build(model, 'aos' if task.startswith('aos') else task, dict(network), params, key, why, settings, None)


def _meta(checkpoint):
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    return meta if isinstance(meta, dict) else None


def _meta_settings(meta):
    """AOS settings from an exported restorer's meta, or None when it names no heights (an image restorer)."""
    if meta is None or 'heights' not in meta:
        return None
    return {'heights': [float(h) for h in meta['heights']], 'multipass_plane': int(meta.get('multipass_plane', 0))}


def _build(name, task, network_g, params, key, why, settings, entry):
    net = check_loads(network_g, params, name).eval()
    heights = None if settings is None else settings['heights']
    channels = len(heights) if heights is not None else input_channels(network_g)
    descriptor = ModelDescriptor(
        name=name,
        task=task,
        network_g=copy.deepcopy(network_g),
        in_channels=channels,
        heights=heights,
        multipass_plane=0 if settings is None else settings['multipass_plane'],
        size_multiple=int(network_g.get('window_size') or 1),
        composable=hasattr(net, 'maps') and hasattr(net, 'compose'),
        param_key=key or 'state dict',
        param_key_why=why,
        self_ensemble=entry is not None and entry.self_ensemble,
        entry=entry,
    )
    if not 0 <= descriptor.multipass_plane < (len(heights) if heights else 1):
        raise UserError(f'{name}: multipass_plane {descriptor.multipass_plane} outside the {len(heights)} planes')
    return net, descriptor
