"""Restore AOS focal stacks of any size with a trained restorer: padding, tiling, self-ensemble, multi-pass.

The network gets exactly what ``AOSFocalStackDataset`` fed it in training: the planes at its heights, in its order,
as float32 values / 255 in [0, 1]. Self-ensemble and multi-pass are the functions ``AOSRestorationModel.test()``
uses, combined as there: multi-pass (keep pass k + 1 only where it lowers the output's std) around the self-ensembled
forward. Tiling sits inside that forward, so the multi-pass decision is taken on the whole image; for the ground-fill
nets only their local per-pixel maps are tiled, and the ground level is pooled over the whole input.
"""

import numpy as np
import torch

from basicsr_ext.aos.candidates import find_candidates
from basicsr_ext.inference.aos_inputs import integral_plane, select_planes
from basicsr_ext.inference.export import (
    PARAM_KEYS,
    check_loads,
    params_sha256,
    restorer_settings,
    scored_param_key,
    select_params,
)
from basicsr_ext.inference.restorer import check_float_range, check_precision, image_array, pick_device
from basicsr_ext.inference.tiling import check_tile, tiled_forward
from basicsr_ext.inference.zoo import resolve
from basicsr_ext.models.aos_inference import check_self_ensemble, int_option, multipass
from basicsr_ext.utils.checkpoint_adapt import checkpoint_groups
from basicsr_ext.utils.dihedral import self_ensemble as dihedral_self_ensemble
from basicsr_ext.utils.errors import UserError
from basicsr_ext.utils.file_io import safe_torch_load

DEFAULT_MODEL = 'aos_person'  # the shipped weights: weights/zoo.yml's entry (sha256 checked on load)
WHOLE_IMAGE_MAX = 512  # without --tile, images up to this size go through whole, larger ones in tiles of this size
SE_DEFAULT = {'transforms': 8, 'reduce': 'median'}


def load_restorer_checkpoint(model, opt=None, param_key='auto'):
    """``(state_dict, settings)`` of a restorer checkpoint; settings = ``{network_g, heights, multipass_plane,
    param_key, param_key_why}``.

    With ``opt`` (a training option file) any BasicSR checkpoint works and the settings come from the option file;
    ``param_key`` 'auto' takes the group its validation scored (:func:`scored_param_key`). Without it the checkpoint
    must carry ``meta`` (see :mod:`basicsr_ext.inference.export`), whose parameter checksum is verified; an exported
    file has one group, ``params``.
    """
    if param_key not in PARAM_KEYS:
        raise UserError(f'--param-key: expected one of {", ".join(PARAM_KEYS)}, got {param_key!r}')
    checkpoint = safe_torch_load(model, what='model file')
    if opt is not None:
        from basicsr_ext.utils.options import resolve_options

        opt_dict = resolve_options(opt)
        settings = restorer_settings(opt_dict, opt)
        key, why = param_key, 'asked for'
        if param_key == 'auto':
            groups = checkpoint_groups(checkpoint, model)
            key, why = scored_param_key(opt_dict, groups)
            if key not in groups:  # a bare state dict, or only the other group
                key, why = None, 'the only parameters it holds'
        params, key = select_params(checkpoint, model, key)
        return params, {**settings, 'param_key': key or 'state dict', 'param_key_why': why}
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    if not isinstance(meta, dict) or 'network_g' not in meta or 'heights' not in meta:
        raise UserError(
            f'{model}: no meta with network_g and heights (a plain BasicSR checkpoint): pass --opt with its training '
            'option file, or export it with scripts/export_restorer.py'
        )
    if param_key == 'params_ema':
        raise UserError(f'{model}: an exported restorer holds one parameter group, params (not params_ema)')
    params, _ = select_params(checkpoint, model, 'params')
    if meta.get('sha256') and params_sha256(params) != meta['sha256']:
        raise UserError(f'{model}: the weights do not match the checksum in its meta (damaged or edited file)')
    settings = {
        'network_g': dict(meta['network_g']),
        'heights': [float(h) for h in meta['heights']],
        'multipass_plane': int(meta.get('multipass_plane', 0)),
        'param_key': 'params',
        'param_key_why': 'an exported restorer',
    }
    return params, settings


class AOSRestorer:
    """A trained AOS restorer, ready for focal stacks of any size.

    Args:
        model (str): A zoo name of an AOS restorer (``weights/zoo.yml``), a restorer checkpoint
            (``scripts/export_restorer.py``), or any BasicSR checkpoint with ``opt``. Default: ``aos_person``, the
            shipped ``weights/aos_person.pth`` on the 0, 0.4 and 0.8 m planes (``aos_person0`` and ``aos_sim2real``
            take the 0 m plane alone).
        opt (str | None): Training option file giving network_g and the heights (for checkpoints without meta).
        device (str | None): 'cpu', 'cuda' or None (CUDA when available). Default: None.
        self_ensemble (bool | dict): Median over the 8 dihedral transforms (True), or ``{transforms: 4 | 8, reduce:
            median | mean}``. Default: False.
        multipass (int): Maximum passes (1 = off), the rule of the AOS course report (Aliyev et al., JKU, Jan
            2024, section 4.3.2). Default: 1.
        tile (int | None): Tile size in px; None: whole images up to 512 px, 512 px tiles above. Default: None.
        precision (str): 'fp32', or on a GPU 'fp16' / 'bf16'. Default: 'fp32'.
        param_key (str): A training checkpoint's parameter group: 'params', 'params_ema', or 'auto' (the one its
            validation scored: params_ema when ``opt`` trains an EMA, else params); :attr:`param_key` and
            :attr:`param_key_why` say which was used. Exported and zoo files hold params only. Default: 'auto'.

    Attributes:
        heights (list[float]): The focal planes (metres) the network takes, in input order.
        last_passes (int): Passes accepted in the last :meth:`restore`.
    """

    def __init__(
        self,
        model=DEFAULT_MODEL,
        opt=None,
        device=None,
        self_ensemble=False,
        multipass=1,
        tile=None,
        precision='fp32',
        param_key='auto',
    ):
        self.device = pick_device(device)
        self.dtype = check_precision(precision, self.device)
        self.self_ensemble = check_self_ensemble(
            SE_DEFAULT if self_ensemble is True else self_ensemble, 'self_ensemble'
        )
        self.multipass = int_option(multipass, 'multipass', 1)
        entry = resolve(model)
        if entry is not None and entry.task != 'aos':
            raise UserError(f'--model {model}: a {entry.task} model, not an AOS restorer: use scripts/restore.py')
        params, settings = load_restorer_checkpoint(model if entry is None else entry.path, opt, param_key)
        self.param_key, self.param_key_why = settings['param_key'], settings['param_key_why']
        if entry is not None and settings['network_g'] != entry.network_g:
            raise UserError(f"{entry.path}: its meta network_g differs from weights/zoo.yml's {model} entry")
        self.network_g = settings['network_g']
        self.heights = settings['heights']
        self.multipass_plane = settings['multipass_plane']
        if not 0 <= self.multipass_plane < len(self.heights):
            raise UserError(f'{model}: multipass_plane {self.multipass_plane} outside the {len(self.heights)} planes')
        self.window = int(self.network_g.get('window_size') or 1)
        self.tile = None if tile is None else check_tile(tile, self.window)
        self.net = check_loads(self.network_g, params, model).to(self.device, self.dtype).eval()
        self.last_passes = 0
        self.entry, self.scale, self.notes = entry, 1, []  # as Restorer has them (scripts/restore.py reads them)

    def restore(self, stack):
        """Restore one focal stack.

        Args:
            stack (np.ndarray | Tensor): (P, H, W) float in [0, 1] (uint8 values / 255), the planes at
                :attr:`heights` in that order.

        Returns:
            np.ndarray: (H, W) float32 in [0, 1].
        """
        x = torch.as_tensor(stack, dtype=torch.float32)
        if x.ndim != 3 or x.shape[0] != len(self.heights):
            raise UserError(
                f'expected a ({len(self.heights)}, H, W) stack (planes at {self.heights} m), got {tuple(x.shape)}'
            )
        x = x[None].to(self.device, self.dtype)  # 1, p, h, w
        with torch.no_grad():
            out, passes = multipass(self._forward, x, self.multipass, self.multipass_plane)
        self.last_passes = int(passes[0])
        return out[0, 0].clamp(0, 1).float().cpu().numpy()

    def restore_sample(self, sample, candidates=5):
        """Restore one input of :func:`~basicsr_ext.inference.aos_inputs.load_input` and find the person in it.

        Returns:
            tuple: ``(restored, persons, note)``: the restored image (uint8 (H, W), rounded as BasicSR's tensor2img),
            up to ``candidates`` person candidates best first (:class:`~basicsr_ext.aos.candidates.Candidate`: pixel,
            ground position in metres through the stack's camera or the course camera, score, evidence in the 0 m
            integral, which ranks them), and a note naming the
            planes that stood in for missing heights ('' when none did).
        """
        planes, note = select_planes(sample, self.heights)
        restored = self.restore(planes.astype(np.float32) / 255.0)
        restored = np.clip(np.rint(restored * 255.0), 0, 255).astype(np.uint8)
        integral = integral_plane(sample)[0]
        found = find_candidates(restored, k=candidates, camera=sample.ground_camera, evidence=integral)
        return restored, found, note

    def restore_image(self, img):
        """Restore a single-plane model's input given as an image (the integral as a grey PNG, uint8 or uint16, or
        a float array in [0, 1]); returns the restored image in the input's dtype and range (what
        ``scripts/restore.py --model aos_person0`` runs)."""
        if len(self.heights) != 1:
            raise UserError(
                f'the model takes {len(self.heights)} planes ({self.heights} m): restore focal stacks with '
                'scripts/aos_restore.py'
            )
        img = image_array(img)
        if img.ndim == 3:  # integrals stored with three equal channels; a colour image is no integral
            colour = img[..., : min(img.shape[2], 3)]
            if any(not np.array_equal(colour[..., 0], colour[..., c]) for c in range(1, colour.shape[2])):
                raise UserError(
                    f'expected a grey integral image, got {img.shape[2]} channels that differ (a colour image)'
                )
            img = img[..., 0]
        peak = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(img.dtype, 1.0)
        if peak == 1.0:
            if not np.issubdtype(img.dtype, np.floating):
                raise UserError(f'expected a uint8, uint16 or float image, got {img.dtype}')
            check_float_range(img)
        out = self.restore(img[None].astype(np.float32) / peak)
        if peak == 1.0:
            return out.astype(img.dtype)
        return np.clip(np.rint(out * peak), 0, peak).astype(img.dtype)

    def _forward(self, x):
        """The network (with self-ensemble) on a whole image, in blended tiles when it is larger than the tile.

        A net with ``maps``/``compose`` (the ground-fill nets) has its per-pixel maps tiled and its global part (the
        ground level pooled over the clean pixels) computed once over the whole image, so tiles agree.
        """
        h, w = x.shape[-2:]
        tile = self.tile or (WHOLE_IMAGE_MAX if max(h, w) > WHOLE_IMAGE_MAX else None)
        if hasattr(self.net, 'maps') and hasattr(self.net, 'compose'):
            # a half-tile overlap: the U-Nets see far (5 poolings), and the maps feed a global pooling
            overlap = None if tile is None else max(4, tile // 2)
            maps = tiled_forward(lambda t: self._ensembled(self.net.maps, t), x, tile, overlap, multiple=self.window)
            return self._one_channel(self.net.compose(x, maps))
        return tiled_forward(lambda t: self._one_channel(self._ensembled(self.net, t)), x, tile, multiple=self.window)

    def _ensembled(self, fn, x):
        if self.self_ensemble:
            se = self.self_ensemble
            return dihedral_self_ensemble(fn, x, int(se.get('transforms', 8)), se.get('reduce', 'median'))
        return fn(x)

    @staticmethod
    def _one_channel(y):
        if y.shape[1] != 1:
            raise UserError(f'the network returns {y.shape[1]} channels; a restorer must return one grey channel')
        return y
