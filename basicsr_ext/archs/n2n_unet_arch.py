"""The Noise2Noise U-Net (Lehtinen et al., ICML 2018, appendix table 2), registered with BasicSR as ``N2NUNet``.

Layer names, order, widths, activations and initialisation follow the paper's table and the official TensorFlow
network (NVlabs/noise2noise, ``network.py``, ``autoencoder``), so state-dict keys read as the table's rows
(``enc_conv0.weight``, ..., ``dec_conv1c.bias``).
"""

import math

import torch
from basicsr.utils.registry import ARCH_REGISTRY
from torch import nn
from torch.nn import functional as F

INITS = ('he_normal', 'he_uniform')


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f'N2NUNet {name}: expected an int >= {minimum}, got {value!r}')
    return value


@ARCH_REGISTRY.register()
class N2NUNet(nn.Module):
    """U-Net of Noise2Noise: 3x3 convolutions, 2x2 max-pooling, nearest x2 upsampling and concatenated skips.

    Default layers (n = ``num_in_ch``, m = ``num_out_ch``; every conv 3x3, stride 1, 'same' padding)::

        name          in ch    out ch   then
        enc_conv0     n        48       LReLU
        enc_conv1     48       48       LReLU, maxpool 2x2 (pool1)
        enc_conv2..5  48       48       LReLU, maxpool 2x2 (pool2..pool5)
        enc_conv6     48       48       LReLU
        upsample5, concat pool4 -> 96
        dec_conv5a    96       96       LReLU
        dec_conv5b    96       96       LReLU
        upsample4..2, concat pool3..pool1 -> 144
        dec_conv4a..2a 144     96       LReLU
        dec_conv4b..2b 96      96       LReLU
        upsample1, concat input -> 96 + n
        dec_conv1a    96 + n   64       LReLU
        dec_conv1b    64       32       LReLU
        dec_conv1c    32       m        linear

    With n = m = 3 this has 991,203 parameters (988,609 for n = m = 1). LReLU is leaky ReLU with slope 0.1.

    Initialisation (the official ``get_weight``): weights ~ N(0, gain^2 / fan_in) with fan_in = 9 * in_ch,
    gain = sqrt(2) for every layer followed by an activation (He et al.'s ReLU gain; the official code does not adjust
    it for the 0.1 slope) and gain = 1 for the linear ``dec_conv1c``; biases zero. ``init='he_uniform'`` draws from
    U(-b, b) with b = gain * sqrt(3 / fan_in) instead (same variance; PyTorch's ``kaiming_uniform_``).

    Inputs of any size work: the image is padded at the bottom and right to the next multiple of ``2 ** depth``
    (reflect, or replicate when the padding is not smaller than the image side, which reflect cannot do) and the
    output is cropped back. The official network requires multiples of 32 instead.

    The Noise2Noise mini-project report (Xu, Song, Peng, EPFL EE-559, 2022) says its network is the paper's, described
    in blocks: an encoder block is a 3x3 conv + ReLU + 2x2 max-pool, a decoder block two 3x3 convs + ReLU + nearest x2
    upsampling, padding 1, Kaiming uniform initialisation (its bound gain * sqrt(3 / fan_mode)). It states no widths or
    depth, so these stay the paper's. As a configuration:

    * the paper's network with the report's choices: ``negative_slope=0`` (ReLU) and ``init='he_uniform'``; the
      paper's layer list already falls into those blocks (enc_conv_k + pool; dec_conv_ka + dec_conv_kb + upsample),
      except that the first encoder block has two convs and the bottleneck one;
    * the report's blocks read literally (every encoder block one conv, two convs before every upsampling):
      additionally ``stem_convs=1`` and ``bottleneck_convs=2``.

    Args:
        num_in_ch (int): Input channels. Default: 3.
        num_out_ch (int): Output channels. Default: 3.
        num_feat (int): Width of every encoder conv (enc_conv0..enc_conv6). Default: 48.
        dec_feat (int): Width of the decoder convs dec_conv{depth}a/b .. dec_conv2a/b. Default: 96.
        out_feat (tuple[int]): Widths of the convs after the last concatenation, before the linear output conv
            (dec_conv1a, dec_conv1b). Default: (64, 32).
        depth (int): Number of 2x2 max-poolings (and of upsamplings). Default: 5.
        negative_slope (float): Leaky ReLU slope; 0 gives ReLU. Default: 0.1.
        stem_convs (int): Convs at full resolution before the first pooling (enc_conv0, enc_conv1). Default: 2.
        bottleneck_convs (int): Convs after the last pooling (enc_conv6). Default: 1.
        init (str): 'he_normal' (the official code) or 'he_uniform' (the report). Default: 'he_normal'.
        residual (bool): Add the first ``num_out_ch`` input channels to the output, so the net learns a correction
            of its input (for AOS: of the 0 m integral, which is already right where nothing occludes); the output
            conv then starts at zero, so the untrained net returns its input. Not part of the paper. Default: False.
    """

    def __init__(
        self,
        num_in_ch=3,
        num_out_ch=3,
        num_feat=48,
        dec_feat=96,
        out_feat=(64, 32),
        depth=5,
        negative_slope=0.1,
        stem_convs=2,
        bottleneck_convs=1,
        init='he_normal',
        residual=False,
    ):
        super().__init__()
        _check_int('num_in_ch', num_in_ch, 1)
        _check_int('num_out_ch', num_out_ch, 1)
        _check_int('num_feat', num_feat, 1)
        _check_int('dec_feat', dec_feat, 1)
        _check_int('depth', depth, 1)
        _check_int('stem_convs', stem_convs, 1)
        _check_int('bottleneck_convs', bottleneck_convs, 1)
        if isinstance(out_feat, int) or not all(
            isinstance(c, int) and not isinstance(c, bool) and c >= 1 for c in out_feat
        ):
            raise ValueError(f'N2NUNet out_feat: expected a list of ints >= 1, got {out_feat!r}')
        out_feat = tuple(out_feat)
        if len(out_feat) > 25:
            raise ValueError(f'N2NUNet out_feat: expected at most 25 widths, got {len(out_feat)}')
        if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float)) or negative_slope < 0:
            raise ValueError(f'N2NUNet negative_slope: expected a number >= 0, got {negative_slope!r}')
        if init not in INITS:
            raise ValueError(f'N2NUNet init: expected one of {INITS}, got {init!r}')
        if not isinstance(residual, bool):
            raise ValueError(f'N2NUNet residual: expected true or false, got {residual!r}')
        if residual and num_out_ch > num_in_ch:
            raise ValueError(f'N2NUNet residual: expected num_out_ch <= num_in_ch, got {num_out_ch} > {num_in_ch}')
        self.depth = depth
        self.negative_slope = float(negative_slope)
        self.init = init
        self.residual = residual

        # encoder: convs numbered enc_conv0, enc_conv1, ... in the order they run
        index = 0
        in_ch = num_in_ch
        self.stem = []
        for _ in range(stem_convs):
            self.stem.append(self._add_conv(f'enc_conv{index}', in_ch, num_feat))
            in_ch, index = num_feat, index + 1
        self.down = []  # one conv before each pooling after the first
        for _ in range(depth - 1):
            self.down.append(self._add_conv(f'enc_conv{index}', num_feat, num_feat))
            index += 1
        self.bottleneck = []
        for _ in range(bottleneck_convs):
            self.bottleneck.append(self._add_conv(f'enc_conv{index}', num_feat, num_feat))
            index += 1

        # decoder levels depth..2: upsample, concat the pooled skip (num_feat channels), two convs
        self.up = []
        in_ch = num_feat
        for level in range(depth, 1, -1):
            conv_a = self._add_conv(f'dec_conv{level}a', in_ch + num_feat, dec_feat)
            conv_b = self._add_conv(f'dec_conv{level}b', dec_feat, dec_feat)
            self.up.append((conv_a, conv_b))
            in_ch = dec_feat
        # last level: upsample, concat the input, out_feat convs, linear output conv
        in_ch += num_in_ch
        self.head = []
        for i, width in enumerate(out_feat):
            self.head.append(self._add_conv(f'dec_conv1{chr(ord("a") + i)}', in_ch, width))
            in_ch = width
        self.conv_last = self._add_conv(f'dec_conv1{chr(ord("a") + len(out_feat))}', in_ch, num_out_ch)

        self.act = nn.ReLU(inplace=True) if self.negative_slope == 0 else nn.LeakyReLU(self.negative_slope, True)
        self.reset_parameters()

    def _add_conv(self, name, in_ch, out_ch):
        self.add_module(name, nn.Conv2d(in_ch, out_ch, 3, 1, 1))
        return name

    def reset_parameters(self):
        """The official He initialisation (see the class docstring); biases zero."""
        for name, module in self.named_children():
            if not isinstance(module, nn.Conv2d):
                continue
            gain = 1.0 if name == self.conv_last else math.sqrt(2.0)
            fan_in = module.weight[0].numel()  # in_ch * 3 * 3
            with torch.no_grad():
                if self.init == 'he_normal':
                    module.weight.normal_(0.0, gain / math.sqrt(fan_in))
                else:
                    bound = gain * math.sqrt(3.0 / fan_in)
                    module.weight.uniform_(-bound, bound)
                module.bias.zero_()
                if self.residual and name == self.conv_last:
                    module.weight.zero_()  # the untrained residual net is the identity

    def _conv(self, name, x):
        return self.act(getattr(self, name)(x))

    def forward(self, x):
        h, w = x.shape[-2:]
        multiple = 2**self.depth
        pad_h, pad_w = -h % multiple, -w % multiple
        if pad_h or pad_w:
            mode = 'reflect' if pad_h < h and pad_w < w else 'replicate'
            x = F.pad(x, (0, pad_w, 0, pad_h), mode=mode)

        skips = [x]
        n = x
        for name in self.stem:
            n = self._conv(name, n)
        n = F.max_pool2d(n, 2)
        for name in self.down:
            skips.append(n)
            n = F.max_pool2d(self._conv(name, n), 2)
        for name in self.bottleneck:
            n = self._conv(name, n)

        for conv_a, conv_b in self.up:
            n = torch.cat([F.interpolate(n, scale_factor=2, mode='nearest'), skips.pop()], dim=1)
            n = self._conv(conv_b, self._conv(conv_a, n))
        n = torch.cat([F.interpolate(n, scale_factor=2, mode='nearest'), skips.pop()], dim=1)  # b, dec_feat + n, h, w
        for name in self.head:
            n = self._conv(name, n)
        n = getattr(self, self.conv_last)(n)
        if self.residual:
            n = n + x[:, : n.shape[1]]
        return n[..., :h, :w]
