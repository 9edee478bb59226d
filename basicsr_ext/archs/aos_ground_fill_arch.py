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
``x0 + sigmoid(mask_bias) (g - x0)``, close to its input.
"""

import torch
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
        **unet: Remaining N2NUNet options (num_feat, dec_feat, out_feat, depth, negative_slope, ...).
    """

    def __init__(self, num_in_ch=1, mask_bias=-2.0, eps=1e-3, **unet):
        super().__init__()
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
        return self.unet(x)

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
