"""Ground fill with a person branch: the restorer keeps (and restores) the person instead of filling it with ground.

:class:`~basicsr_ext.archs.aos_ground_fill_arch.AOSGroundFillNet` decides per pixel "occluded or clean" and fills the
occluded pixels with the pooled ground level. A person seen through gaps in the canopy is a mix of warm person and
canopy residue in the 0 m integral; to that net it looks like residue, and it comes out as a faint smudge. This net
adds a second U-Net, the person branch, that decides "person" and the person's value:

    base = x0 + m (g - x0) + r                                   # the ground fill, as AOSGroundFillNet (on x0)
    out  = base + p (v - base)                                   # person pixels take the person's value v
    g    = sum((1 - m)(1 - p) x0) / sum((1 - m)(1 - p))          # the ground level, pooled over clean ground

``m`` and ``r`` come from the ground U-Net (``unet``, on the 0 m plane ``x0``: the same module, names and shapes as
AOSGroundFillNet's, so a trained ground-fill checkpoint loads into it with ``strict_load_g: false``); ``p`` and ``v``
(sigmoids) from the person U-Net (``person_unet``, on every focal plane). The person is told apart from canopy residue
by the planes above 0 m: in focus at 0 m, it blurs within a plane or two (a few pixels by 0.8 m), while residue from
crowns 10-20 m up is smeared alike in every low plane. At the start ``p`` is ``sigmoid(person_bias)`` (2 %) and ``v``
is ``value_init`` (a thermal person is near white), so the net starts as the ground-fill net.

**Person gate** (``person_top_k`` > 0, evaluation only). Per pixel, the person branch also whitens warm canopy
fragments that a person could be, and every false warm pixel costs ground PSNR. In evaluation the person's value is
kept only around the ``person_top_k`` best person candidates of the ungated output, ranked with the 0 m plane's
evidence exactly as the restorer's candidate list is (:func:`~basicsr_ext.aos.candidates.find_candidates`), in a disc
of ``gate_radius`` px (at 512 px, scaled with the width); elsewhere the output is the ground fill:

    out = base + gate p (v - base)

The gate is taken on the whole input (:meth:`compose`), so tiles agree; training is ungated (the person branch
learns per pixel), and validation scores the gated output that ships.
"""

import math

import numpy as np
import torch
from basicsr.utils.registry import ARCH_REGISTRY

from basicsr_ext.aos.candidates import find_candidates, scaled
from basicsr_ext.archs.aos_ground_fill_arch import AOSGroundFillNet, pooled_level
from basicsr_ext.archs.n2n_unet_arch import N2NUNet


@ARCH_REGISTRY.register()
class AOSPersonFillNet(AOSGroundFillNet):
    """AOSGroundFillNet on the 0 m plane plus a person U-Net on every plane (person mask and value).

    Args:
        num_in_ch (int): Focal planes in, lowest (0 m) first; the ground branch reads the first. Default: 3.
        person_feat (int): Encoder width of the person U-Net (decoder 2x, output convs 1.5x and 0.75x). Default: 16.
        person_depth (int): Poolings of the person U-Net. Default: 4.
        person_bias (float): Initial bias of the person logit (-4: 2 %). Default: -4.
        value_init (float): Initial person value in (0, 1) (0.95: a thermal person is near white). Default: 0.95.
        person_top_k (int): In evaluation, keep the person's value only around this many best candidates (0: every
            pixel, no gate). Default: 0.
        gate_radius (float): Radius of the gate's disc around a candidate, px at 512 px. Default: 24.
        mask_bias, eps, border_pad, **unet: The ground branch, as :class:`AOSGroundFillNet` (its ``num_in_ch`` is
            1).
    """

    def __init__(
        self,
        num_in_ch=3,
        person_feat=16,
        person_depth=4,
        person_bias=-4.0,
        value_init=0.95,
        person_top_k=0,
        gate_radius=24.0,
        mask_bias=-2.0,
        eps=1e-3,
        border_pad=0,
        **unet,
    ):
        if not 0 < value_init < 1:
            raise ValueError(f'AOSPersonFillNet value_init: expected a value between 0 and 1, got {value_init!r}')
        if isinstance(person_top_k, bool) or not isinstance(person_top_k, int) or person_top_k < 0:
            raise ValueError(f'AOSPersonFillNet person_top_k: expected an integer >= 0, got {person_top_k!r}')
        if not float(gate_radius) > 0:
            raise ValueError(f'AOSPersonFillNet gate_radius: expected a radius > 0 px, got {gate_radius!r}')
        super().__init__(num_in_ch=1, mask_bias=mask_bias, eps=eps, border_pad=border_pad, **unet)
        self.person_top_k, self.gate_radius = person_top_k, float(gate_radius)
        self.num_in_ch = int(num_in_ch)
        feat = int(person_feat)
        self.person_unet = N2NUNet(
            num_in_ch=self.num_in_ch,
            num_out_ch=2,
            num_feat=feat,
            dec_feat=2 * feat,
            out_feat=(max(1, 3 * feat // 2), max(1, 3 * feat // 4)),
            depth=person_depth,
            negative_slope=unet.get('negative_slope', 0.1),
        )
        last = getattr(self.person_unet, self.person_unet.conv_last)
        with torch.no_grad():
            last.weight.zero_()
            last.bias.copy_(torch.tensor([float(person_bias), math.log(value_init / (1 - value_init))]))

    def maps(self, x):
        """The per-pixel outputs (B, 4, H, W): occlusion logit, detail (ground U-Net on the 0 m plane), person logit,
        value logit (person U-Net on every plane). Local, so tiled inference tiles this and pools the ground level over
        the whole image in :meth:`compose`."""
        return torch.cat([self.ground_maps(x[:, :1]), self.person_unet(x)], dim=1)

    def parts(self, x, maps=None):
        """``(occlusion m, ground level g, detail r, person p, value v)`` of ``x``, as in the module docstring."""
        logit, detail, person_logit, value_logit = (self.maps(x) if maps is None else maps).split(1, dim=1)
        mask, person = torch.sigmoid(logit), torch.sigmoid(person_logit)
        level = pooled_level(x[:, :1], (1 - mask) * (1 - person), self.eps)
        return mask, level, detail, person, torch.sigmoid(value_logit)

    def compose(self, x, maps):
        """The output from the input and its :meth:`maps`; the ground level is pooled over the whole of ``x``."""
        mask, level, detail, person, value = self.parts(x, maps)
        x0 = x[:, :1]
        base = x0 + mask * (level - x0) + detail
        if self.person_top_k and not self.training:
            person = person * self.gate(x0, base + person * (value - base))
        return base + person * (value - base)

    @torch.no_grad()
    def gate(self, x0, out):
        """(B, 1, H, W) in [0, 1]: 1 within ``gate_radius`` of the ``person_top_k`` best candidates of ``out``
        (ranked with the evidence of the 0 m plane ``x0``), falling to 0 over the outer quarter of the radius."""
        b, _, h, w = out.shape
        radius = scaled(self.gate_radius, w)
        rows = torch.arange(h, device=out.device, dtype=torch.float32)[:, None]
        cols = torch.arange(w, device=out.device, dtype=torch.float32)[None, :]
        gates = []
        for img, evidence in zip(out[:, 0].float().cpu().numpy(), x0[:, 0].float().cpu().numpy()):
            gate = torch.zeros(h, w, device=out.device)
            for cand in find_candidates(np.clip(img, 0, 1) * 255, k=self.person_top_k, evidence=evidence * 255):
                dist = torch.sqrt((rows - cand.row) ** 2 + (cols - cand.col) ** 2)
                gate = torch.maximum(gate, ((radius - dist) / (0.25 * radius)).clamp(0, 1))
            gates.append(gate)
        return torch.stack(gates)[:, None].to(out.dtype)

    def mask_and_level(self, x, maps=None):
        mask, level, detail, _, _ = self.parts(x, maps)
        return mask, level, detail
