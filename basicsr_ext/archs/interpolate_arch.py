from basicsr.utils.registry import ARCH_REGISTRY
from torch import nn
from torch.nn import functional as F


@ARCH_REGISTRY.register()
class InterpolateSR(nn.Module):
    """Parameter-free upsampling (``torch.nn.functional.interpolate``): the baseline every SR table starts from.

    Use it in a test option file to get the interpolation row of a results table with the same data, metrics and
    cropping as the learned models (``options/test_bicubic.yml``).

    Args:
        upscale (int): Upsampling factor. Default: 2.
        mode (str): 'bicubic', 'bilinear' or 'nearest'. Default: 'bicubic'.
    """

    def __init__(self, upscale=2, mode='bicubic'):
        super().__init__()
        if mode not in ('bicubic', 'bilinear', 'nearest'):
            raise ValueError(f"InterpolateSR mode must be 'bicubic', 'bilinear' or 'nearest', got {mode!r}")
        self.upscale = upscale
        self.mode = mode

    def forward(self, x):
        align = False if self.mode != 'nearest' else None
        return F.interpolate(x, scale_factor=self.upscale, mode=self.mode, align_corners=align).clamp(0, 1)
