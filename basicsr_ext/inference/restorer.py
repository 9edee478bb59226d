"""Run a trained image restorer (super-resolution, denoising, modulation) on images of any size.

Three lines restore an image::

    from basicsr_ext.inference.restorer import Restorer
    restorer = Restorer('srcnn_x2')                     # a zoo name (weights/zoo.yml), or a .pth with opt=/network=
    out = restorer.restore('in.png')                    # a path, or an array as cv2.imread(..., IMREAD_UNCHANGED) gives
    cv2.imwrite('out.png', out)

Images are numpy arrays as OpenCV reads them: (H, W) grey, (H, W, 3) BGR or (H, W, 4) BGRA, uint8, uint16 or float
in [0, 1]; the output has the input's dtype and range. An alpha channel is kept: resized to the output by bicubic
interpolation, not restored (said in :attr:`notes`). The network's input channels decide: a grey image given to a
colour net is repeated to three channels, a colour image given to a grey net is converted to grey (both said in
:attr:`notes`).
Colour images reach the net as RGB, as BasicSR's datasets feed it. Large images run in blended tiles
(``inference/tiling.py``), padded to the window multiple for Swin nets. Self-ensemble is the function the models'
validation uses (``utils/dihedral.py``). AOS focal stacks have their own restorer (``inference/aos_restorer.py``).
"""

import inspect
import os

import cv2
import numpy as np
import torch

from basicsr_ext.inference.export import PARAM_KEYS, check_loads, scored_param_key, select_params
from basicsr_ext.inference.tiling import check_overlap, check_tile, tiled_forward
from basicsr_ext.inference.zoo import resolve
from basicsr_ext.utils.checkpoint_adapt import checkpoint_groups
from basicsr_ext.utils.dihedral import self_ensemble as dihedral_self_ensemble
from basicsr_ext.utils.errors import UserError
from basicsr_ext.utils.file_io import safe_torch_load
from basicsr_ext.utils.images import read_image

PRECISIONS = {'fp32': torch.float32, 'fp16': torch.float16, 'bf16': torch.bfloat16}
CHANNEL_KEYS = ('num_in_ch', 'in_chans', 'in_nc')  # BasicSR's / Swin's / old ESRGAN's name for input channels


def pick_device(device=None):
    """``torch.device``: ``device`` ('cpu', 'cuda', 'cuda:1'), or CUDA when available, else the CPU."""
    if device is None:
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise UserError(f'device: expected cpu, cuda or cuda:N, got {device!r}') from None
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise UserError('device: cuda asked for, but no CUDA device is visible (use --device cpu)')
    return device


def check_precision(precision, device):
    """The torch dtype of ``precision`` ('fp32', or on a GPU 'fp16' / 'bf16'); UserError otherwise."""
    if precision not in PRECISIONS:
        raise UserError(f'precision: expected one of {", ".join(PRECISIONS)}, got {precision!r}')
    if precision != 'fp32' and device.type != 'cuda':
        raise UserError(f'precision {precision}: half precision runs on a GPU; use fp32 on the CPU')
    return PRECISIONS[precision]


def check_float_range(img):
    """A float image must hold finite values in [0, 1] (the range every restorer takes): one a tool saved in [0, 255]
    would come out clipped white, a NaN would spread through the network."""
    if img.size and not np.isfinite(img).all():
        raise UserError(f'expected finite values in a {img.dtype} image, got NaN or infinity')
    if img.size and (img.min() < 0 or img.max() > 1):
        raise UserError(
            f'expected a {img.dtype} image in [0, 1], got values from {float(img.min()):g} to {float(img.max()):g}'
        )


def image_array(img):
    """``img`` as a numpy array; a path (str or ``os.PathLike``) is read as OpenCV reads it unchanged, a missing or
    unreadable file being a UserError naming it; None (what ``cv2.imread`` returns for a file it cannot read) is a
    UserError saying so, not a dtype puzzle."""
    if img is None:
        raise UserError('expected an image array, got None (cv2.imread returns None for a missing or unreadable file)')
    if isinstance(img, (str, os.PathLike)):
        return read_image(os.fspath(img))
    return np.asarray(img)


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


class Restorer:
    """A trained restorer for 2-D images.

    Args:
        model (str): A zoo name (``scripts/restore.py --list``) or a checkpoint path (BasicSR's layout, a bare state
            dict, or an exported restorer with ``meta``).
        opt (str | None): Option file whose ``network_g`` (and ``scale``) build the net, for a checkpoint path.
        network (dict | None): ``network_g`` options instead of ``opt``.
        param_key (str | None): Checkpoint group: 'params', 'params_ema', or 'auto' / None: the zoo entry's; with
            ``opt``, the one BasicSR uses with it (``path.param_key_g``, else what its validation scored: params_ema
            when it trains an EMA, else params); otherwise the EMA when present. :attr:`param_key` and
            :attr:`param_key_why` say which was used.
        device (str | None): 'cpu', 'cuda', or None (CUDA when available).
        precision (str): 'fp32', or on a GPU 'fp16' / 'bf16'.
        tile (int | None): Tile side in input pixels for large images; None: whole images.
        tile_overlap (int | None): Overlap of neighbouring tiles in input pixels; a conv net whose receptive field
            reaches at most a quarter of it gives the untiled output. None: an eighth of the tile.
        self_ensemble (bool): Median over the 8 dihedral transforms.
        coef (float | None): Modulation coefficient of AdaFM / FTN layers (0 = the base network).
        dni (str | None): A second checkpoint of the same arch; the weights used are ``(1 - alpha) A + alpha B``.
        alpha (float): DNI weight of ``dni``.
        batch_size (int): Images of one size per forward in :meth:`restore_many`.
    """

    def __init__(
        self,
        model,
        opt=None,
        network=None,
        param_key=None,
        device=None,
        precision='fp32',
        tile=None,
        tile_overlap=None,
        self_ensemble=False,
        coef=None,
        dni=None,
        alpha=0.5,
        batch_size=4,
    ):
        self.device = pick_device(device)
        self.dtype = check_precision(precision, self.device)
        self.entry = resolve(model)
        if self.entry is not None and self.entry.task == 'aos':
            raise UserError(f'--model {model}: an AOS restorer of focal stacks: use scripts/aos_restore.py')
        params, self.network_g = self._weights(model, opt, network, param_key)
        if dni is not None:
            from basicsr_ext.utils.dni import interpolate_state_dicts

            other, _ = select_params(safe_torch_load(dni, what='DNI checkpoint'), dni, param_key)
            params = interpolate_state_dicts(params, other, alpha)
        self.net = check_loads(self.network_g, params, model).to(self.device).eval()
        if coef is not None:
            from basicsr_ext.archs.modulation_arch import set_modulation_coef

            if set_modulation_coef(self.net, coef) == 0:
                raise UserError(f'--coef: {model} has no modulation layers (AdaFM / FTN) to set')
        self.net = self.net.to(self.dtype)
        self.in_channels = input_channels(self.network_g)
        self.window = int(self.network_g.get('window_size') or 1)
        self.scale = self._probe_scale()
        self.tile = None if tile is None else check_tile(tile, self.window)
        if tile_overlap is not None and self.tile is None:
            raise UserError('--tile-overlap: only with --tile')
        self.tile_overlap = None if tile_overlap is None else check_overlap(tile_overlap, self.tile)
        self.self_ensemble = bool(self_ensemble)
        self.batch_size = max(1, int(batch_size))
        self.notes = []
        for name, value in (('DNI alpha', alpha if dni is not None else None), ('modulation coefficient', coef)):
            if value is not None and not 0 <= value <= 1:
                self.note(f'{name} {value:g} is outside [0, 1]: extrapolating beyond the trained levels')

    def note(self, text):
        """Add to :attr:`notes` once (a run over many images says each thing once, and the list stays small)."""
        if text not in self.notes:
            self.notes.append(text)

    def _weights(self, model, opt, network, param_key):
        if param_key not in (None, *PARAM_KEYS):
            raise UserError(f'--param-key: expected one of {", ".join(PARAM_KEYS)}, got {param_key!r}')
        asked = None if param_key == 'auto' else param_key
        self.param_key_why = 'asked for'
        if self.entry is not None:
            key = asked or self.entry.param_key
            params, key = select_params(safe_torch_load(self.entry.path), self.entry.path, key)
            self.param_key = key or 'state dict'
            self.param_key_why = 'asked for' if asked else f'the zoo entry {self.entry.name}'
            return params, self.entry.network()
        checkpoint = safe_torch_load(model, what='model file')
        meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
        if network is None and opt is not None:
            from basicsr_ext.utils.options import resolve_options

            opt_dict = resolve_options(opt)
            if not isinstance(opt_dict.get('network_g'), dict):
                raise UserError(f'{opt}: no network_g mapping to build the network from')
            network = opt_dict['network_g']
            if asked is None:  # the group the option file's own run used (a training file: what it validated)
                groups = checkpoint_groups(checkpoint, model)
                asked, self.param_key_why = scored_param_key(opt_dict, groups)
                if asked not in groups:
                    asked, self.param_key_why = None, 'the only parameters it holds'
        elif network is None and isinstance(meta, dict) and 'network_g' in meta:
            network = meta['network_g']
        if network is None:
            raise UserError(f'{model}: no arch options: pass --opt OPTION_FILE (its network_g) for this checkpoint')
        if asked is None and self.param_key_why == 'asked for':
            self.param_key_why = 'the EMA when present (no option file to say which)'
        params, key = select_params(checkpoint, model, asked)
        self.param_key = key or 'state dict'
        return params, dict(network)

    def _probe_scale(self):
        """Output pixels per input pixel, measured on a small blank input (so any arch's scale is known)."""
        side = max(16, 2 * self.window)
        probe = torch.zeros(1, self.in_channels or 3, side, side, device=self.device, dtype=self.dtype)
        with torch.no_grad():
            out = self.net(probe)
        if out.shape[-1] % side or out.shape[-2] != out.shape[-1]:
            raise UserError(f'{self.network_g["type"]}: output {tuple(out.shape)} is no integer scale of {side} px')
        return out.shape[-1] // side

    # ------------------------------------------------------------------------------------------- images
    def _to_tensor(self, img):
        """(1, C, H, W) float in [0, 1], RGB, with the net's channel count; returns (tensor, how to undo)."""
        img = image_array(img)
        if img.dtype == np.uint8:
            peak = 255.0
        elif img.dtype == np.uint16:
            peak = 65535.0
        elif np.issubdtype(img.dtype, np.floating):
            peak = 1.0
            check_float_range(img)
        else:
            raise UserError(f'expected a uint8, uint16 or float image, got {img.dtype}')
        alpha = None
        if img.ndim == 3 and img.shape[2] == 4:  # the alpha channel is kept: resized, not restored (_to_image)
            alpha, img = img[..., 3].astype(np.float32) / peak, img[..., :3]
        if img.ndim == 3 and img.shape[2] == 1:
            img = img[..., 0]
        if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] != 3):
            raise UserError(f'expected an (H, W) or (H, W, 3) image, got shape {img.shape}')
        grey_in = img.ndim == 2
        x = img.astype(np.float32) / peak
        if self.in_channels == 3 and grey_in:
            x = np.repeat(x[..., None], 3, axis=2)
            self.note('grey input repeated to the 3 channels the network takes')
        elif self.in_channels == 1 and not grey_in:
            x = cv2.cvtColor(x, cv2.COLOR_BGR2GRAY)
            self.note('colour input converted to grey for the 1-channel network')
        if x.ndim == 3:
            x = x[..., ::-1].transpose(2, 0, 1)  # BGR -> RGB, CHW
        else:
            x = x[None]
        tensor = torch.from_numpy(np.ascontiguousarray(x))[None]
        return tensor, (img.dtype, peak, grey_in, alpha)

    def _to_image(self, y, undo):
        dtype, peak, grey_in, alpha = undo
        y = y.float().clamp(0, 1).cpu().numpy()
        y = y[0] if y.shape[0] == 1 else y[::-1].transpose(1, 2, 0)  # RGB -> BGR
        if grey_in and y.ndim == 3:
            y = cv2.cvtColor(np.ascontiguousarray(y), cv2.COLOR_BGR2GRAY)
        if alpha is not None:  # as Real-ESRGAN's inference can: the alpha resized to the output by bicubic
            self.note('alpha channel kept: resized by bicubic interpolation, not restored')
            if y.ndim == 2:
                y = np.repeat(y[..., None], 3, axis=2)
            a = cv2.resize(alpha, (y.shape[1], y.shape[0]), interpolation=cv2.INTER_CUBIC).clip(0, 1)
            y = np.dstack([y, a])
        if np.issubdtype(dtype, np.floating):
            return y.astype(dtype)
        return np.clip(np.rint(y * peak), 0, peak).astype(dtype)

    def forward(self, x):
        """The network on a (b, c, h, w) float tensor in [0, 1]: tiles, padding, self-ensemble; no grad."""

        def net(t):
            t = t.to(self.device, self.dtype)
            if self.self_ensemble:
                return dihedral_self_ensemble(self.net, t, 8, 'median')
            return self.net(t)

        with torch.no_grad():
            return tiled_forward(net, x, self.tile, self.tile_overlap, multiple=self.window, scale=self.scale)

    def restore(self, img):
        """Restore one image (see the module docstring for the formats); returns the restored image."""
        x, undo = self._to_tensor(img)
        return self._to_image(self.forward(x)[0], undo)

    def restore_many(self, images):
        """Restore a list of images, ``batch_size`` same-sized ones per forward; returns them in order."""
        prepared = [self._to_tensor(img) for img in images]
        out = [None] * len(prepared)
        by_shape = {}
        for i, (x, _) in enumerate(prepared):
            by_shape.setdefault(tuple(x.shape), []).append(i)
        for indices in by_shape.values():
            for start in range(0, len(indices), self.batch_size):
                chunk = indices[start : start + self.batch_size]
                y = self.forward(torch.cat([prepared[i][0] for i in chunk]))
                for i, yi in zip(chunk, y):
                    out[i] = self._to_image(yi, prepared[i][1])
        return out
