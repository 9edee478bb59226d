"""One restorer for every model of the project: super-resolution, denoising, modulation and AOS focal stacks.

Three lines restore an image::

    from basicsr_ext.inference import Restorer
    restorer = Restorer('srcnn_x2')                     # a zoo name (weights/zoo.yml), or a .pth with opt=/network=
    out = restorer.restore('in.png')                    # a path, or an array as cv2.imread(..., IMREAD_UNCHANGED) gives
    cv2.imwrite('out.png', out)

and a focal stack::

    restorer = Restorer('aos_person')
    out = restorer.restore('stack.tiff')                # a TIFF stack, a folder of plane PNGs, or a raw sample
    out, persons, note = restorer.restore_sample(sample)  # with the person candidates (inference.aos_inputs)

What the checkpoint is (task, input planes or channels, scale, size multiple, precisions, tiling) is read once into
:attr:`Restorer.descriptor` (``inference/descriptor.py``); images go in and out through ``inference/image_io.py``
(the input's type kept: uint8, uint16, float TIFF, alpha). Self-ensemble and multi-pass are the functions the AOS
model's validation and test use (``utils/dihedral.py``, ``models/aos_inference.py``), and tiling is
``inference/tiling.py``; all three are applied here, in one forward, for every model.
"""

import numpy as np
import torch

from basicsr_ext.inference.descriptor import load_model
from basicsr_ext.inference.devices import check_precision, pick_device
from basicsr_ext.inference.image_io import from_plane, grey_plane, to_image, to_tensor
from basicsr_ext.inference.tiling import check_overlap, check_tile, tiled_forward
from basicsr_ext.models.aos_inference import check_self_ensemble, int_option, multipass
from basicsr_ext.utils.dihedral import self_ensemble as dihedral_self_ensemble
from basicsr_ext.utils.errors import UserError


def is_out_of_memory(err):
    """Whether ``err`` is torch running out of memory (CUDA's OutOfMemoryError, or the CPU allocator's RuntimeError)."""
    text = str(err)
    return isinstance(err, torch.cuda.OutOfMemoryError) or 'out of memory' in text or "can't allocate memory" in text


def one_line(err):
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


WHOLE_IMAGE_MAX = 512  # AOS: without a tile size, inputs up to this size go through whole, larger ones in such tiles
SE_DEFAULT = {'transforms': 8, 'reduce': 'median'}


class Restorer:
    """A trained restorer.

    Args:
        model (str): A zoo name (``scripts/restore.py --list``) or a checkpoint path (BasicSR's layout, a bare state
            dict, or an exported restorer with ``meta``).
        opt (str | None): Training option file whose ``network_g`` (and for AOS the focal heights) build the net, for
            a checkpoint path.
        network (dict | None): ``network_g`` options instead of ``opt``.
        param_key (str | None): Checkpoint group: 'params', 'params_ema', or 'auto' / None: the zoo entry's; with
            ``opt``, the one BasicSR uses with it (``path.param_key_g``, else what its validation scored: params_ema
            when it trains an EMA, else params); otherwise the EMA when present. :attr:`param_key` and
            :attr:`param_key_why` say which was used.
        device (str | None): 'cpu', 'cuda', or None (CUDA when available).
        precision (str): 'fp32', or on a GPU 'fp16' / 'bf16'.
        tile (int | None): Tile side in input pixels; None: whole images (AOS: whole up to 512 px, 512 px tiles above).
        tile_overlap (int | None): Overlap of neighbouring tiles in input pixels; a conv net whose receptive field
            reaches at most a quarter of it gives the untiled output. None: an eighth of the tile (AOS: half).
        self_ensemble (bool | dict | None): Median over the 8 dihedral transforms (True), or ``{transforms: 4 | 8,
            reduce: median | mean}``; None: the model's default (the zoo entry's ``self_ensemble``, else off).
        multipass (int): AOS: maximum passes (1 = off), the rule of the AOS course report (Aliyev et al., JKU, Jan
            2024, section 4.3.2).
        coef (float | None): Modulation coefficient of AdaFM / FTN layers (0 = the base network).
        dni (str | None): A second checkpoint of the same arch; the weights used are ``(1 - alpha) A + alpha B``.
        alpha (float): DNI weight of ``dni``.
        batch_size (int): Images of one size per forward in :meth:`restore_many`.
        channels_last (bool | None): Run the net in the channels-last memory layout; None: on the CPU (there oneDNN's
            convolutions run 1.25-1.65x faster in it at 512 px, the same output to 1e-6:
            ``scripts/benchmark_inference.py --contiguous``), not on a GPU (not measured there). A net with 5-D weights
            (a 3-D conv) stays contiguous.

    Attributes:
        descriptor (ModelDescriptor): What the model is and how it is fed.
        heights (list[float] | None): AOS: the focal planes (metres) the network takes, in input order.
        scale (int): Output pixels per input pixel.
        notes (list[str]): What was done to the inputs that the caller should know (each said once).
        last_passes (int): AOS: passes accepted in the last restoration.
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
        self_ensemble=None,
        multipass=1,
        coef=None,
        dni=None,
        alpha=0.5,
        batch_size=4,
        channels_last=None,
    ):
        self.device = pick_device(device)
        net, self.descriptor = load_model(model, opt, network, param_key)
        self.dtype = check_precision(precision, self.device, self.descriptor.precisions)
        d = self.descriptor
        if dni is not None:
            from basicsr_ext.inference.export import check_loads, select_params
            from basicsr_ext.utils.dni import interpolate_state_dicts
            from basicsr_ext.utils.file_io import safe_torch_load

            other, _ = select_params(
                safe_torch_load(dni, what='DNI checkpoint'), dni, None if param_key == 'auto' else param_key
            )
            net = check_loads(d.network_g, interpolate_state_dicts(net.state_dict(), other, alpha), model).eval()
        if coef is not None:
            from basicsr_ext.archs.modulation_arch import set_modulation_coef

            if set_modulation_coef(net, coef) == 0:
                raise UserError(f'--coef: {model} has no modulation layers (AdaFM / FTN) to set')
        self.memory_format = torch.contiguous_format
        flat = all(p.dim() <= 4 for p in net.parameters())  # channels-last is a layout of 4-D tensors only
        if flat and (channels_last or (channels_last is None and self.device.type == 'cpu')):
            self.memory_format = torch.channels_last
        self.net = net.to(self.device, self.dtype, memory_format=self.memory_format)
        self._se_default = self_ensemble is None
        if self_ensemble is None:
            self_ensemble = d.self_ensemble
        self.self_ensemble = check_self_ensemble(
            SE_DEFAULT if self_ensemble is True else self_ensemble, 'self_ensemble'
        )
        self.multipass = int_option(multipass, 'multipass', 1)
        if self.multipass > 1 and not d.is_aos:
            raise UserError(f'--multipass: for AOS restorers (focal stacks); {model} is a {d.task} model')
        self.tile = None if tile is None else check_tile(tile, d.size_multiple)
        if tile_overlap is not None and self.tile is None:
            raise UserError('--tile-overlap: only with --tile')
        self.tile_overlap = None if tile_overlap is None else check_overlap(tile_overlap, self.tile)
        self.batch_size = max(1, int(batch_size))
        self.notes, self.last_passes = [], 0
        if d.entry is not None and d.entry.stage_note:
            self.note(d.entry.stage_note)
        d.scale = 1 if d.is_aos else self._probe_scale()
        for name, value in (('DNI alpha', alpha if dni is not None else None), ('modulation coefficient', coef)):
            if value is not None and not 0 <= value <= 1:
                self.note(f'{name} {value:g} is outside [0, 1]: extrapolating beyond the trained levels')

    # ------------------------------------------------------------------------------------------- what it is
    @property
    def entry(self):
        return self.descriptor.entry

    @property
    def heights(self):
        return self.descriptor.heights

    @property
    def scale(self):
        return self.descriptor.scale

    @property
    def network_g(self):
        return self.descriptor.network_g

    @property
    def param_key(self):
        return self.descriptor.param_key

    @property
    def param_key_why(self):
        return self.descriptor.param_key_why

    @property
    def settings(self):
        """One line on how the model runs: its weights and self-ensemble (and why)."""
        se = 'off'
        if self.self_ensemble:
            se = f'{self.self_ensemble.get("transforms", 8)} transforms, {self.self_ensemble.get("reduce", "median")}'
        why = " (the model's default)" if self._se_default else ''
        return f'weights: {self.param_key} of {self.descriptor.name} ({self.param_key_why}); self-ensemble: {se}{why}'

    def note(self, text):
        """Add to :attr:`notes` once (a run over many images says each thing once, and the list stays small)."""
        if text not in self.notes:
            self.notes.append(text)

    def _probe_scale(self):
        """Output pixels per input pixel, measured on a small blank input (so any arch's scale is known)."""
        side = max(16, 2 * self.descriptor.size_multiple)
        probe = torch.zeros(1, self.descriptor.in_channels or 3, side, side, device=self.device, dtype=self.dtype)
        with torch.no_grad():
            out = self.net(probe)
        if out.shape[-1] % side or out.shape[-2] != out.shape[-1]:
            raise UserError(f'{self.network_g["type"]}: output {tuple(out.shape)} is no integer scale of {side} px')
        return out.shape[-1] // side

    # ------------------------------------------------------------------------------------------- the forward
    def _ensembled(self, fn, x):
        if self.self_ensemble:
            se = self.self_ensemble
            return dihedral_self_ensemble(fn, x, int(se.get('transforms', 8)), se.get('reduce', 'median'))
        return fn(x)

    def _tiled(self, x):
        """One pass of the network (self-ensembled) on the whole input, in blended tiles when asked or, for AOS, when
        it is larger than 512 px. A composable net has its per-pixel maps tiled and its global step (the ground level
        pooled over the clean pixels, the person gate) computed once over the whole input, so tiles agree."""
        d, tile, overlap = self.descriptor, self.tile, self.tile_overlap
        if d.is_aos and tile is None and max(x.shape[-2:]) > WHOLE_IMAGE_MAX:
            tile = WHOLE_IMAGE_MAX
        if d.composable:
            # a half-tile overlap: the U-Nets see far (5 poolings), and the maps feed a global pooling
            overlap = overlap if overlap is not None or tile is None else max(4, tile // 2)
            maps = tiled_forward(
                lambda t: self._ensembled(self.net.maps, t), x, tile, overlap, multiple=d.size_multiple
            )
            return self.net.compose(x, maps)
        return tiled_forward(
            lambda t: self._ensembled(self.net, t), x, tile, overlap, multiple=d.size_multiple, scale=d.scale
        )

    def forward(self, x):
        """The network on a (b, c, h, w) float tensor in [0, 1]: multi-pass (AOS) around the tiled, self-ensembled
        forward; no grad. Sets :attr:`last_passes`. Out of memory, the tile is halved (the whole image counts as one
        tile) and the forward run again, down to the smallest tile the net takes; :attr:`notes` says so."""
        while True:
            try:
                return self._forward(x)
            except (torch.cuda.OutOfMemoryError, RuntimeError) as err:
                if not is_out_of_memory(err):
                    raise
                self._halve_tile(x, err)

    def _halve_tile(self, x, err):
        smallest = max(16, 2 * self.descriptor.size_multiple)
        side = self.tile or max(x.shape[-2:])
        tile = side // 2 // self.descriptor.size_multiple * self.descriptor.size_multiple
        if tile < smallest:
            raise UserError(f'out of memory on {self.device} even with tiles of {side} px: {one_line(err)}') from None
        if self.device.type == 'cuda':
            torch.cuda.empty_cache()
        self.tile = tile
        self.note(f'out of memory on {self.device}: tiles halved to {tile} px')

    def _forward(self, x):
        x = x.to(self.device, self.dtype, memory_format=self.memory_format)
        with torch.no_grad():
            if self.descriptor.is_aos:
                out, passes = multipass(self._tiled, x, self.multipass, self.descriptor.multipass_plane)
                self.last_passes = int(passes[0])
            else:
                out = self._tiled(x)
        if self.descriptor.is_aos and out.shape[1] != 1:
            raise UserError(f'the network returns {out.shape[1]} channels; a restorer must return one grey channel')
        return out

    # ------------------------------------------------------------------------------------------- images
    def restore(self, img):
        """Restore one image (a path or an array; see ``inference/image_io.py`` for the formats); returns it in the
        input's type. An AOS model takes its input as it comes: a one-plane model the 0 m integral as a grey image, a
        focal-stack model a path to a stack (TIFF, plane folder, raw sample; the restored uint8 image comes back)."""
        if self.descriptor.is_aos:
            return self._restore_aos(img)
        x, undo = to_tensor(img, self.descriptor.in_channels, self.note)
        return to_image(self.forward(x)[0], undo, self.note)

    def restore_many(self, images):
        """Restore a list of images, ``batch_size`` same-sized ones per forward; returns them in order."""
        if self.descriptor.is_aos:
            return [self.restore(img) for img in images]
        prepared = [to_tensor(img, self.descriptor.in_channels, self.note) for img in images]
        out = [None] * len(prepared)
        by_shape = {}
        for i, (x, _) in enumerate(prepared):
            by_shape.setdefault(tuple(x.shape), []).append(i)
        for indices in by_shape.values():
            for start in range(0, len(indices), self.batch_size):
                chunk = indices[start : start + self.batch_size]
                y = self.forward(torch.cat([prepared[i][0] for i in chunk]))
                for i, yi in zip(chunk, y):
                    out[i] = to_image(yi, prepared[i][1], self.note)
        return out

    # ------------------------------------------------------------------------------------------- AOS focal stacks
    def _aos_only(self, what):
        if not self.descriptor.is_aos:
            raise UserError(f'{what}: for AOS restorers (focal stacks); {self.descriptor.name} is an image restorer')

    def _restore_aos(self, img):
        from os import fspath, path

        is_path = isinstance(img, (str, bytes)) or hasattr(img, '__fspath__')
        source = fspath(img) if is_path else None
        stack = is_path and (path.isdir(source) or source.lower().endswith(('.tif', '.tiff')))
        if len(self.heights) == 1 and not stack:  # the 0 m integral as a grey image
            plane, undo = grey_plane(img)
            return from_plane(self.restore_stack(plane[None]), undo)
        if not is_path:
            raise UserError(
                f'the model takes {len(self.heights)} planes ({self.heights} m): give a stack path, or arrays to '
                'restore_stack'
            )
        from basicsr_ext.inference.aos_inputs import load_input

        if not path.exists(source):
            raise UserError(f'{source}: focal stack not found')
        samples = load_input(source)
        if len(samples) != 1:
            raise UserError(
                f'{source}: {len(samples)} focal stacks in it (expected one: a .tif stack, a plane folder or a raw '
                'sample); restore several with restore_sample'
            )
        restored, _, note = self.restore_sample(samples[0])
        if note:
            self.note(note)
        return restored

    def restore_stack(self, stack):
        """Restore one focal stack: (P, H, W) float in [0, 1] (uint8 values / 255), the planes at :attr:`heights` in
        that order; returns (H, W) float32 in [0, 1]."""
        self._aos_only('restore_stack')
        x = torch.as_tensor(stack, dtype=torch.float32)
        if x.ndim != 3 or x.shape[0] != len(self.heights):
            raise UserError(
                f'expected a ({len(self.heights)}, H, W) stack (planes at {self.heights} m), got {tuple(x.shape)}'
            )
        return self.forward(x[None])[0, 0].clamp(0, 1).float().cpu().numpy()

    def restore_sample(self, sample, candidates=5):
        """Restore one input of :func:`~basicsr_ext.inference.aos_inputs.load_input` and find the person in it.

        Returns:
            tuple: ``(restored, persons, note)``: the restored image (uint8 (H, W), rounded as BasicSR's tensor2img),
            up to ``candidates`` person candidates best first (:class:`~basicsr_ext.aos.candidates.Candidate`: pixel,
            ground position in metres through the stack's camera or the course camera, score, evidence in the 0 m
            integral, which ranks them), and a note naming the planes that stood in for missing heights ('' when none
            did).
        """
        from basicsr_ext.aos.candidates import find_candidates
        from basicsr_ext.inference.aos_inputs import integral_plane, select_planes

        self._aos_only('restore_sample')
        planes, note = select_planes(sample, self.heights)
        restored = self.restore_stack(planes.astype(np.float32) / 255.0)
        restored = np.clip(np.rint(restored * 255.0), 0, 255).astype(np.uint8)
        integral = integral_plane(sample)[0]
        found = find_candidates(restored, k=candidates, camera=sample.ground_camera, evidence=integral)
        return restored, found, note
