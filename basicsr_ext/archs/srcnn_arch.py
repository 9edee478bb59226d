from basicsr.utils.registry import ARCH_REGISTRY
from torch import nn
from torch.nn import functional as F


@ARCH_REGISTRY.register()
class SRCNN(nn.Module):
    """SRCNN (Dong et al., ECCV 2014 / TPAMI 2016): patch extraction, non-linear mapping, reconstruction.

    The original network works on a bicubic-upsampled image; with ``upsample='bicubic'`` the upsampling happens
    inside the net, so it takes the low-resolution image like every other BasicSR SR arch. Convolutions are
    padded so the output is exactly ``upscale`` x the input size.

    Args:
        num_in_ch (int): Input channels. Default: 3.
        num_out_ch (int): Output channels. Default: 3.
        upscale (int): Upsampling factor (1 for restoration). Default: 2.
        num_feat (tuple[int]): Filters of the first two layers. Default: (64, 32).
        kernel_sizes (tuple[int]): Kernel sizes of the three layers; (9, 5, 5) as in the SR lab report (Lab2 Super
            Resolution, Oct 2024), (9, 1, 5) for the original paper's base model. Default: (9, 5, 5).
        upsample (str): 'bicubic' to upsample the input inside the net, 'none' when the input is already at the
            output size. Default: 'bicubic'.
        residual (bool): Add the (upsampled) input to the output, so the three layers learn only the missing detail
            (VDSR's global skip). Not in the original SRCNN; it reaches the bicubic baseline in a few hundred
            iterations instead of thousands. Default: False.
    """

    def __init__(
        self,
        num_in_ch=3,
        num_out_ch=3,
        upscale=2,
        num_feat=(64, 32),
        kernel_sizes=(9, 5, 5),
        upsample='bicubic',
        residual=False,
    ):
        super().__init__()
        if upsample not in ('bicubic', 'none'):
            raise ValueError(f"SRCNN upsample must be 'bicubic' or 'none', got {upsample!r}")
        if len(num_feat) != 2 or len(kernel_sizes) != 3:
            raise ValueError('SRCNN needs num_feat of length 2 and kernel_sizes of length 3')
        if any(int(k) % 2 == 0 for k in kernel_sizes):
            raise ValueError(f'SRCNN kernel_sizes must be odd (same-size padding), got {list(kernel_sizes)}')
        self.upscale = upscale
        self.upsample = upsample
        self.residual = residual
        if residual and num_in_ch != num_out_ch:
            raise ValueError('SRCNN residual=True needs num_in_ch == num_out_ch')
        k1, k2, k3 = kernel_sizes
        self.conv1 = nn.Conv2d(num_in_ch, num_feat[0], k1, padding=k1 // 2)
        self.conv2 = nn.Conv2d(num_feat[0], num_feat[1], k2, padding=k2 // 2)
        self.conv3 = nn.Conv2d(num_feat[1], num_out_ch, k3, padding=k3 // 2)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        if self.upsample == 'bicubic' and self.upscale != 1:
            x = F.interpolate(x, scale_factor=self.upscale, mode='bicubic', align_corners=False)
        out = self.relu(self.conv1(x))
        out = self.relu(self.conv2(out))
        out = self.conv3(out)
        return out + x if self.residual else out
