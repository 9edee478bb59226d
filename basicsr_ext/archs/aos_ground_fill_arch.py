"""A restorer built on what the AOS ground truth is: one flat ground level per image, and a warm person on it.

Occluder residue in an integral is local (textured canopy, cold streaks of wood), but the value that belongs under
it, the ground's level, is a property of the whole image: it shows where some views see the ground through gaps.
A convolutional net has to carry that level across whole crowns, which it learns slowly and gets wrong by whole
grey levels (dark blocks on grey ground). Here the net only makes local decisions and the level is pooled:

    m = sigmoid(logit)                                  # per pixel: occluded (1) or clean (0)
    g = sum((1 - m) x0) / sum(1 - m)                    # per image: the level of the clean pixels
    out = x0 + m (g - x0) + r                           # occluded pixels take g; r restores detail (the person)

with ``logit`` and ``r`` the two output channels of an :class:`~basicsr_ext.archs.n2n_unet_arch.N2NUNet` and ``x0``
the first input plane (the 0 m integral). Every term is differentiable, so the mask is learnt from the restoration
loss alone. The output conv starts at zero with the mask bias at ``mask_bias``: the untrained net returns
``x0 + sigmoid(mask_bias) (g - x0)``, close to its input. With ``border_pad`` the U-Net sees its input reflected by
that many pixels beyond the image border (its maps cropped back): zero padding at the image border otherwise biases
the outer ~16 px (docs/aos_person.md).
"""

import torch
import torch.nn.functional as F
from basicsr.utils.registry import ARCH_REGISTRY
from torch import nn

from basicsr_ext.archs.n2n_unet_arch import N2NUNet


@ARCH_REGISTRY.register()
class AOSGroundFillNet(nn.Module):
    """N2NUNet that predicts an occlusion mask and a detail residual; occluded pixels take the pooled ground level.

    Args:
        num_in_ch (int): Focal planes in; the first is the plane that is restored (0 m). Default: 1.
        mask_bias (float): Initial bias of the mask logit (-2: 12 % towards the pooled level). Default: -2.
        eps (float): Added to the pooled weight, so an image the net takes as occluded everywhere stays finite.
            Default: 1e-3.
        border_pad (int): Pixels of the input reflected beyond each image border before the U-Net (0: none). The
            maps stay the input's size. Default: 0.
        **unet: Remaining N2NUNet options (num_feat, dec_feat, out_feat, depth, negative_slope, ...).
    """

    def __init__(self, num_in_ch=1, mask_bias=-2.0, eps=1e-3, border_pad=0, **unet):
        super().__init__()
        if isinstance(border_pad, bool) or not isinstance(border_pad, int) or border_pad < 0:
            raise ValueError(f'{type(self).__name__} border_pad: expected an integer >= 0 (pixels), got {border_pad!r}')
        self.border_pad = border_pad
        for key in ('num_out_ch', 'residual'):
            if key in unet:
                raise ValueError(f'AOSGroundFillNet {key}: set by the net itself (2 channels: mask, detail)')
        self.unet = N2NUNet(num_in_ch=num_in_ch, num_out_ch=2, **unet)
        self.eps = float(eps)
        last = getattr(self.unet, self.unet.conv_last)
        with torch.no_grad():
            last.weight.zero_()
            last.bias.copy_(torch.tensor([float(mask_bias), 0.0]))

    def maps(self, x):
        """The U-Net's per-pixel outputs (B, 2, H, W): mask logit and detail. They are local (a tile of the input
        gives the same maps as the whole, up to the receptive field), so tiled inference tiles this and only this."""
        return self.ground_maps(x)

    def ground_maps(self, x):
        """The ground U-Net on ``x`` (B, C, H, W), reflected by :attr:`border_pad` px beyond the border first."""
        pad = min(self.border_pad, x.shape[-2] - 1, x.shape[-1] - 1)
        if pad <= 0:
            return self.unet(x)
        return self.unet(F.pad(x, (pad, pad, pad, pad), mode='reflect'))[..., pad:-pad, pad:-pad]

    def mask_and_level(self, x, maps=None):
        """The occlusion mask (B, 1, H, W), the pooled ground level (B, 1, 1, 1) and the detail (B, 1, H, W)."""
        logit, detail = (self.maps(x) if maps is None else maps).split(1, dim=1)
        mask = torch.sigmoid(logit)
        return mask, pooled_level(x[:, :1], 1 - mask, self.eps), detail

    def compose(self, x, maps):
        """The output from the input and its :meth:`maps`; the ground level is pooled over the whole of ``x``."""
        mask, level, detail = self.mask_and_level(x, maps)
        x0 = x[:, :1]
        return x0 + mask * (level - x0) + detail

    def forward(self, x):
        return self.compose(x, self.maps(x))


def pooled_level(x0, weight, eps):
    """The per-image mean of ``x0`` weighted by ``weight`` (B, 1, 1, 1): the ground level of the clean pixels."""
    return (weight * x0).sum(dim=(2, 3), keepdim=True) / (weight.sum(dim=(2, 3), keepdim=True) + eps)
