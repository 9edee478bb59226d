"""Ground fill with a person branch: the restorer keeps (and restores) the person instead of filling it with ground.

:class:`~basicsr_ext.archs.aos_ground_fill_arch.AOSGroundFillNet` decides per pixel "occluded or clean" and fills the
occluded pixels with the pooled ground level. A person seen through gaps in the canopy is a mix of warm person and
canopy residue in the 0 m integral; to that net it looks like residue, and it comes out as a faint smudge. This net
adds a third decision, "person", with its own value:

    base = x0 + m (g - x0) + r                                   # the ground fill, as AOSGroundFillNet
    out  = base + p (v - base)                                   # person pixels take the person's value v
    g    = sum((1 - m)(1 - p) x0) / sum((1 - m)(1 - p))          # the ground level, pooled over clean ground

with ``m, p, v = sigmoid(.)`` and ``r`` four output channels of an N2NUNet fed the focal planes. The person is told
apart from canopy residue by the planes above 0 m: in focus at 0 m, it blurs within a plane or two (a few pixels by
0.8 m), while residue from crowns 10-20 m up is smeared alike in every low plane. At the start ``p`` is
``sigmoid(person_bias)`` (2 %) and ``v`` is ``value_init`` (a thermal person is near white), so the untrained net is
the ground-fill net.
"""

import math

import torch
from basicsr.utils.registry import ARCH_REGISTRY
from torch import nn

from basicsr_ext.archs.aos_ground_fill_arch import pooled_level
from basicsr_ext.archs.n2n_unet_arch import N2NUNet


@ARCH_REGISTRY.register()
class AOSPersonFillNet(nn.Module):
    """N2NUNet that predicts an occlusion mask, a detail residual, a person mask and the person's value.

    Args:
        num_in_ch (int): Focal planes in, lowest (0 m) first; the first is the plane that is restored. Default: 3.
        mask_bias (float): Initial bias of the occlusion logit. Default: -2.
        person_bias (float): Initial bias of the person logit (-4: 2 %). Default: -4.
        value_init (float): Initial person value in [0, 1] (0.95: a thermal person is near white). Default: 0.95.
        eps (float): Added to the pooled weight, so an image taken as occluded everywhere stays finite. Default: 1e-3.
        **unet: Remaining N2NUNet options (num_feat, dec_feat, out_feat, depth, negative_slope, ...).
    """

    def __init__(self, num_in_ch=3, mask_bias=-2.0, person_bias=-4.0, value_init=0.95, eps=1e-3, **unet):
        super().__init__()
        for key in ('num_out_ch', 'residual'):
            if key in unet:
                raise ValueError(
                    f'AOSPersonFillNet {key}: set by the net itself (4 channels: mask, detail, person, value)'
                )
        if not 0 < value_init < 1:
            raise ValueError(f'AOSPersonFillNet value_init: expected a value between 0 and 1, got {value_init!r}')
        self.unet = N2NUNet(num_in_ch=num_in_ch, num_out_ch=4, **unet)
        self.eps = float(eps)
        last = getattr(self.unet, self.unet.conv_last)
        value_logit = math.log(value_init / (1 - value_init))
        with torch.no_grad():
            last.weight.zero_()
            last.bias.copy_(torch.tensor([float(mask_bias), 0.0, float(person_bias), value_logit]))

    def maps(self, x):
        """The U-Net's per-pixel outputs (B, 4, H, W): occlusion logit, detail, person logit, value logit. Local, so
        tiled inference tiles this and pools the ground level over the whole image in :meth:`compose`."""
        return self.unet(x)

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
        return base + person * (value - base)

    def forward(self, x):
        return self.compose(x, self.maps(x))
