"""Swin2SR (Conde et al., ECCVW 2022): SwinIR with SwinV2 blocks, registered with BasicSR as ``Swin2SR``.

Module structure, state-dict key names, defaults and formulas follow the official implementation
(mv-lab/swin2sr, ``models/network_swin2sr.py``), so the published checkpoints load through
``path.pretrain_network_g`` (bare or in BasicSR's ``{'params': ...}`` layout). The code style follows BasicSR's
``basicsr/archs/swinir_arch.py``, whose ``Mlp``, ``DropPath``, window helpers, ``PatchUnEmbed``, ``Upsample`` and
``UpsampleOneStep`` have the official parameter names and are reused as they are.

Differences from SwinIR (the SwinV2 changes):

* scaled cosine attention: ``cos(q, k) * exp(min(logit_scale, log(100)))`` with a learnable per-head ``logit_scale``;
* continuous relative position bias: a 2-512-heads MLP (``cpb_mlp``) over log-spaced relative coordinates,
  squashed to ``16 * sigmoid(.)``;
* res-post-norm: ``x = x + norm1(attn(x))``, ``x = x + norm2(mlp(x))``;
* separate ``q_bias`` / ``v_bias`` (the key bias is fixed at zero);
* the patch embedding has a (1x1 for ``patch_size=1``) convolution ``proj``.

Additions for AOS focal stacks (not in the official net): any ``in_chans`` and an optional grayscale head
``conv_gray`` (``gray_head=True``). ``adapt_first_conv`` turns an RGB or grey checkpoint into one for N planes.
"""

import math
from typing import Union

import torch
from basicsr.archs.arch_util import to_2tuple, trunc_normal_
from basicsr.archs.swinir_arch import (
    DropPath,
    Mlp,
    PatchEmbed,
    PatchUnEmbed,
    Upsample,
    UpsampleOneStep,
    window_partition,
    window_reverse,
)
from basicsr.utils.registry import ARCH_REGISTRY
from torch import nn
from torch.nn import functional as F
from torch.utils import checkpoint

from basicsr_ext.utils.checkpoint_adapt import adapt_channels

RGB_MEAN = (0.4488, 0.4371, 0.4040)


class WindowAttentionV2(nn.Module):
    r"""Window based multi-head self attention with scaled cosine attention and continuous position bias (SwinV2).

    Args:
        dim (int): Number of input channels.
        window_size (tuple[int]): The height and width of the window.
        num_heads (int): Number of attention heads.
        qkv_bias (bool, optional): If True, add learnable biases to query and value (the key bias is zero).
            Default: True
        attn_drop (float, optional): Dropout ratio of attention weight. Default: 0.0
        proj_drop (float, optional): Dropout ratio of output. Default: 0.0
        pretrained_window_size (tuple[int]): Window size in pre-training; the relative coordinates are normalised by
            it (instead of by ``window_size``) when it is positive. Default: (0, 0)
    """

    def __init__(
        self, dim, window_size, num_heads, qkv_bias=True, attn_drop=0.0, proj_drop=0.0, pretrained_window_size=(0, 0)
    ):
        super().__init__()
        self.dim = dim
        self.window_size = window_size  # wh, ww
        self.pretrained_window_size = pretrained_window_size
        self.num_heads = num_heads

        # per-head temperature of the cosine attention, stored as a log; starts at 10
        self.logit_scale = nn.Parameter(torch.log(10 * torch.ones((num_heads, 1, 1))))

        # continuous relative position bias: (dy, dx) -> one bias per head
        self.cpb_mlp = nn.Sequential(
            nn.Linear(2, 512, bias=True), nn.ReLU(inplace=True), nn.Linear(512, num_heads, bias=False)
        )

        self.register_buffer('relative_coords_table', self._coords_table())  # 1, 2*wh-1, 2*ww-1, 2
        self.register_buffer('relative_position_index', self._position_index())  # wh*ww, wh*ww

        self.qkv = nn.Linear(dim, dim * 3, bias=False)
        if qkv_bias:
            self.q_bias = nn.Parameter(torch.zeros(dim))
            self.v_bias = nn.Parameter(torch.zeros(dim))
        else:
            self.q_bias = None
            self.v_bias = None
        self.attn_drop = nn.Dropout(attn_drop)
        self.fused_attention = None  # None: scaled_dot_product_attention on CUDA, the explicit product elsewhere
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def _coords_table(self):
        """Relative offsets of a window, scaled to [-8, 8] and log-spaced: sign(t) * log2(1 + |t|) / log2(8)."""
        wh, ww = self.window_size
        dy = torch.arange(-(wh - 1), wh, dtype=torch.float32)
        dx = torch.arange(-(ww - 1), ww, dtype=torch.float32)
        table = torch.stack(torch.meshgrid(dy, dx, indexing='ij')).permute(1, 2, 0).contiguous().unsqueeze(0)
        norm_h, norm_w = self.pretrained_window_size if self.pretrained_window_size[0] > 0 else self.window_size
        table[..., 0] /= max(norm_h - 1, 1)  # a 1-pixel window has only the offset 0
        table[..., 1] /= max(norm_w - 1, 1)
        table *= 8
        return torch.sign(table) * torch.log2(torch.abs(table) + 1.0) / math.log2(8)

    def _position_index(self):
        """For every pair of tokens in a window, the flat index of their offset in the coordinates table."""
        wh, ww = self.window_size
        coords = torch.stack(torch.meshgrid(torch.arange(wh), torch.arange(ww), indexing='ij'))  # 2, wh, ww
        coords = torch.flatten(coords, 1)  # 2, wh*ww
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous()  # wh*ww, wh*ww, 2
        rel[:, :, 0] += wh - 1  # shift to start from 0
        rel[:, :, 1] += ww - 1
        rel[:, :, 0] *= 2 * ww - 1
        return rel.sum(-1)

    def forward(self, x, mask=None):
        """
        Args:
            x (Tensor): Input features with shape of (num_windows*b, n, c).
            mask (Tensor | None): (0/-inf) mask with shape of (num_windows, wh*ww, wh*ww) or None.
        """
        b_, n, c = x.shape
        bias = None
        if self.q_bias is not None:
            bias = torch.cat((self.q_bias, torch.zeros_like(self.v_bias), self.v_bias))
        qkv = F.linear(x, self.qkv.weight, bias).view(b_, n, 3, self.num_heads, c // self.num_heads)

        # scaled cosine attention: q and k normalised together, in the linear layer's layout (the head dim is the
        # contiguous one), by a multiply with the inverse norm (cheaper forward and backward than F.normalize's
        # division; the same max(|x|, 1e-12)); the temperature (capped at 100) is folded into the queries
        qk = qkv[:, :, :2]  # b_, n, 2, nh, c/nh
        scale = torch.clamp(self.logit_scale, max=math.log(1.0 / 0.01)).exp().view(1, 1, 1, -1, 1)  # 1, 1, 1, nh, 1
        factor = torch.cat((scale, torch.ones_like(scale)), dim=2)  # 1, 1, 2, nh, 1: temperature for q, 1 for k
        qk = qk * (torch.rsqrt(qk.square().sum(-1, keepdim=True).clamp_min(1e-24)) * factor)
        q, k = qk.permute(2, 0, 3, 1, 4).unbind(0)  # b_, nh, n, c/nh each
        v = qkv[:, :, 2].transpose(1, 2)  # b_, nh, n, c/nh

        bias_table = self.cpb_mlp(self.relative_coords_table).view(-1, self.num_heads)  # (2*wh-1)*(2*ww-1), nh
        pos_bias = bias_table[self.relative_position_index.view(-1)].view(n, n, -1)  # wh*ww, wh*ww, nh
        pos_bias = 16 * torch.sigmoid(pos_bias.permute(2, 0, 1))  # nh, wh*ww, wh*ww

        # softmax(q k^T + bias + mask) v: one fused kernel on GPUs; on the CPU the explicit product is faster (torch's
        # CPU path for a float mask adds a "safe softmax" pass that checks every row for -inf)
        if mask is None:
            attn_mask = pos_bias.unsqueeze(0)  # 1, nh, n, n
        else:
            nw = mask.shape[0]
            attn_mask = (pos_bias.unsqueeze(0) + mask.unsqueeze(1)).unsqueeze(0)  # 1, nw, nh, n, n
            q, k, v = (t.view(b_ // nw, nw, self.num_heads, n, -1) for t in (q, k, v))
        fused = self.fused_attention if self.fused_attention is not None else x.is_cuda
        if fused:
            dropout = self.attn_drop.p if self.training else 0.0
            x = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=dropout, scale=1.0)
        else:
            logits = q @ k.transpose(-2, -1)  # the product's backward needs q and k only: add the mask in place
            x = self.attn_drop(logits.add_(attn_mask).softmax(dim=-1)) @ v
        x = x.reshape(b_, self.num_heads, n, -1).transpose(1, 2).reshape(b_, n, c)
        x = self.proj_drop(self.proj(x))
        return x

    def extra_repr(self) -> str:
        return (
            f'dim={self.dim}, window_size={self.window_size}, '
            f'pretrained_window_size={self.pretrained_window_size}, num_heads={self.num_heads}'
        )


class SwinTransformerBlockV2(nn.Module):
    r"""SwinV2 Transformer Block (res-post-norm).

    Args:
        dim (int): Number of input channels.
        input_resolution (tuple[int]): Input resolution.
        num_heads (int): Number of attention heads.
        window_size (int): Window size. Default: 7
        shift_size (int): Shift size for SW-MSA. Default: 0
        mlp_ratio (float): Ratio of mlp hidden dim to embedding dim. Default: 4.0
        qkv_bias (bool, optional): If True, add learnable biases to query and value. Default: True
        drop (float, optional): Dropout rate. Default: 0.0
        attn_drop (float, optional): Attention dropout rate. Default: 0.0
        drop_path (float, optional): Stochastic depth rate. Default: 0.0
        act_layer (nn.Module, optional): Activation layer. Default: nn.GELU
        norm_layer (nn.Module, optional): Normalization layer.  Default: nn.LayerNorm
        pretrained_window_size (int): Window size in pre-training. Default: 0
    """

    def __init__(
        self,
        dim,
        input_resolution,
        num_heads,
        window_size=7,
        shift_size=0,
        mlp_ratio=4.0,
        qkv_bias=True,
        drop=0.0,
        attn_drop=0.0,
        drop_path=0.0,
        act_layer=nn.GELU,
        norm_layer=nn.LayerNorm,
        pretrained_window_size=0,
    ):
        super().__init__()
        self.dim = dim
        self.input_resolution = tuple(input_resolution)
        self.num_heads = num_heads
        self.window_size = window_size
        self.shift_size = shift_size
        self.mlp_ratio = mlp_ratio
        if min(self.input_resolution) <= self.window_size:
            # the window covers the whole (training) input: do not partition and do not shift
            self.shift_size = 0
            self.window_size = min(self.input_resolution)
        assert 0 <= self.shift_size < self.window_size, 'shift_size must in 0-window_size'

        self.norm1 = norm_layer(dim)
        self.attn = WindowAttentionV2(
            dim,
            window_size=to_2tuple(self.window_size),
            num_heads=num_heads,
            qkv_bias=qkv_bias,
            attn_drop=attn_drop,
            proj_drop=drop,
            pretrained_window_size=to_2tuple(pretrained_window_size),
        )
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()
        self.norm2 = norm_layer(dim)
        self.mlp = Mlp(in_features=dim, hidden_features=int(dim * mlp_ratio), act_layer=act_layer, drop=drop)

        attn_mask = self.calculate_mask(self.input_resolution) if self.shift_size > 0 else None
        self.register_buffer('attn_mask', attn_mask)  # persistent: the official checkpoints contain it

    def calculate_mask(self, x_size):
        """Attention mask for SW-MSA: -100 between tokens that the cyclic shift brought from different regions."""
        h, w = x_size
        img_mask = torch.zeros((1, h, w, 1))  # 1 h w 1
        slices = (
            slice(0, -self.window_size),
            slice(-self.window_size, -self.shift_size),
            slice(-self.shift_size, None),
        )
        cnt = 0
        for hs in slices:
            for ws in slices:
                img_mask[:, hs, ws, :] = cnt
                cnt += 1

        mask_windows = window_partition(img_mask, self.window_size)  # nw, window_size, window_size, 1
        mask_windows = mask_windows.view(-1, self.window_size * self.window_size)
        attn_mask = mask_windows.unsqueeze(1) - mask_windows.unsqueeze(2)
        return attn_mask.masked_fill(attn_mask != 0, -100.0).masked_fill(attn_mask == 0, 0.0)

    def forward(self, x, x_size):
        return self.mlp_part(self.attention_part(x, x_size))

    def attention_part(self, x, x_size):
        """The (shifted) window attention branch with its residual: ``x + norm1(attn(x))``."""
        h, w = x_size
        b, _, c = x.shape
        # x: b, h*w, c

        shortcut = x
        x = x.view(b, h, w, c)

        # cyclic shift
        if self.shift_size > 0:
            shifted_x = torch.roll(x, shifts=(-self.shift_size, -self.shift_size), dims=(1, 2))
        else:
            shifted_x = x

        # partition windows
        x_windows = window_partition(shifted_x, self.window_size)  # nw*b, window_size, window_size, c
        x_windows = x_windows.view(-1, self.window_size * self.window_size, c)  # nw*b, window_size*window_size, c

        # W-MSA/SW-MSA (the stored mask only fits the training resolution)
        if self.shift_size == 0:
            mask = None
        elif tuple(x_size) == self.input_resolution:
            mask = self.attn_mask
        else:
            mask = self.calculate_mask(x_size).to(x.device)
        attn_windows = self.attn(x_windows, mask=mask)  # nw*b, window_size*window_size, c

        # merge windows
        attn_windows = attn_windows.view(-1, self.window_size, self.window_size, c)
        shifted_x = window_reverse(attn_windows, self.window_size, h, w)  # b h' w' c

        # reverse cyclic shift
        if self.shift_size > 0:
            x = torch.roll(shifted_x, shifts=(self.shift_size, self.shift_size), dims=(1, 2))
        else:
            x = shifted_x
        x = x.view(b, h * w, c)

        # res-post-norm: normalise the branch output, then add the residual
        return shortcut + self.drop_path(self.norm1(x))

    def mlp_part(self, x):
        """The MLP branch with its residual: ``x + norm2(mlp(x))``."""
        return x + self.drop_path(self.norm2(self.mlp(x)))

    def extra_repr(self) -> str:
        return (
            f'dim={self.dim}, input_resolution={self.input_resolution}, num_heads={self.num_heads}, '
            f'window_size={self.window_size}, shift_size={self.shift_size}, mlp_ratio={self.mlp_ratio}'
        )


# ``use_checkpoint`` values and what each recomputes in the backward pass
CHECKPOINT_MODES = {False: None, None: None, True: 'block', 'block': 'block', 'parts': 'parts'}


class BasicLayerV2(nn.Module):
    """A stack of SwinV2 blocks, alternating regular and shifted windows (no downsampling).

    Args:
        dim (int): Number of input channels.
        input_resolution (tuple[int]): Input resolution.
        depth (int): Number of blocks.
        num_heads (int): Number of attention heads.
        window_size (int): Local window size.
        mlp_ratio (float): Ratio of mlp hidden dim to embedding dim. Default: 4.0
        qkv_bias (bool, optional): If True, add learnable biases to query and value. Default: True
        drop (float, optional): Dropout rate. Default: 0.0
        attn_drop (float, optional): Attention dropout rate. Default: 0.0
        drop_path (float | list[float], optional): Stochastic depth rate. Default: 0.0
        norm_layer (nn.Module, optional): Normalization layer. Default: nn.LayerNorm
        use_checkpoint (bool | str): Recompute activations in the backward pass (torch.utils.checkpoint,
            non-reentrant) instead of storing them: ``'block'`` (or True) each Swin block, ``'parts'`` its attention
            and its MLP branch separately (a lower peak: only one branch's activations at a time). Default: False
        pretrained_window_size (int): Local window size in pre-training. Default: 0
    """

    def __init__(
        self,
        dim,
        input_resolution,
        depth,
        num_heads,
        window_size,
        mlp_ratio=4.0,
        qkv_bias=True,
        drop=0.0,
        attn_drop=0.0,
        drop_path=0.0,
        norm_layer=nn.LayerNorm,
        use_checkpoint=False,
        pretrained_window_size=0,
    ):
        super().__init__()
        self.dim = dim
        self.input_resolution = input_resolution
        self.depth = depth
        if use_checkpoint not in CHECKPOINT_MODES:
            raise ValueError(f"use_checkpoint must be false, true, 'block' or 'parts', got {use_checkpoint!r}")
        self.use_checkpoint = use_checkpoint

        self.blocks = nn.ModuleList(
            [
                SwinTransformerBlockV2(
                    dim=dim,
                    input_resolution=input_resolution,
                    num_heads=num_heads,
                    window_size=window_size,
                    shift_size=0 if (i % 2 == 0) else window_size // 2,
                    mlp_ratio=mlp_ratio,
                    qkv_bias=qkv_bias,
                    drop=drop,
                    attn_drop=attn_drop,
                    drop_path=drop_path[i] if isinstance(drop_path, list) else drop_path,
                    norm_layer=norm_layer,
                    pretrained_window_size=pretrained_window_size,
                )
                for i in range(depth)
            ]
        )

    def forward(self, x, x_size):
        mode = CHECKPOINT_MODES[self.use_checkpoint] if torch.is_grad_enabled() else None
        for blk in self.blocks:
            if mode == 'block':
                x = checkpoint.checkpoint(blk, x, x_size, use_reentrant=False)
            elif mode == 'parts':
                x = checkpoint.checkpoint(blk.attention_part, x, x_size, use_reentrant=False)
                x = checkpoint.checkpoint(blk.mlp_part, x, use_reentrant=False)
            else:
                x = blk(x, x_size)
        return x

    def extra_repr(self) -> str:
        return f'dim={self.dim}, input_resolution={self.input_resolution}, depth={self.depth}'


class PatchEmbedV2(PatchEmbed):
    r"""Image to Patch Embedding with a projection convolution ``proj`` (kernel and stride ``patch_size``).

    Args:
        img_size (int): Image size.  Default: 224.
        patch_size (int): Patch token size. Default: 4.
        in_chans (int): Number of input image channels. Default: 3.
        embed_dim (int): Number of linear projection output channels. Default: 96.
        norm_layer (nn.Module, optional): Normalization layer. Default: None
    """

    def __init__(self, img_size=224, patch_size=4, in_chans=3, embed_dim=96, norm_layer=None):
        super().__init__(img_size, patch_size, in_chans, embed_dim, norm_layer)
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=self.patch_size, stride=self.patch_size)

    def forward(self, x):
        x = self.proj(x).flatten(2).transpose(1, 2)  # b, ph*pw, c
        if self.norm is not None:
            x = self.norm(x)
        return x


class RSTBV2(nn.Module):
    """Residual Swin Transformer Block (RSTB) made of SwinV2 blocks.

    Args:
        dim (int): Number of input channels.
        input_resolution (tuple[int]): Input resolution.
        depth (int): Number of blocks.
        num_heads (int): Number of attention heads.
        window_size (int): Local window size.
        mlp_ratio (float): Ratio of mlp hidden dim to embedding dim. Default: 4.0
        qkv_bias (bool, optional): If True, add learnable biases to query and value. Default: True
        drop (float, optional): Dropout rate. Default: 0.0
        attn_drop (float, optional): Attention dropout rate. Default: 0.0
        drop_path (float | list[float], optional): Stochastic depth rate. Default: 0.0
        norm_layer (nn.Module, optional): Normalization layer. Default: nn.LayerNorm
        use_checkpoint (bool): Whether to use checkpointing to save memory. Default: False
        img_size (int): Input image size. Default: 224
        patch_size (int): Patch size. Default: 4
        resi_connection (str): The convolutional block before residual connection, '1conv' or '3conv'.
            Default: '1conv'
        pretrained_window_size (int): Local window size in pre-training. Default: 0
    """

    def __init__(
        self,
        dim,
        input_resolution,
        depth,
        num_heads,
        window_size,
        mlp_ratio=4.0,
        qkv_bias=True,
        drop=0.0,
        attn_drop=0.0,
        drop_path=0.0,
        norm_layer=nn.LayerNorm,
        use_checkpoint=False,
        img_size=224,
        patch_size=4,
        resi_connection='1conv',
        pretrained_window_size=0,
    ):
        super().__init__()
        self.dim = dim
        self.input_resolution = input_resolution

        self.residual_group = BasicLayerV2(
            dim=dim,
            input_resolution=input_resolution,
            depth=depth,
            num_heads=num_heads,
            window_size=window_size,
            mlp_ratio=mlp_ratio,
            qkv_bias=qkv_bias,
            drop=drop,
            attn_drop=attn_drop,
            drop_path=drop_path,
            norm_layer=norm_layer,
            use_checkpoint=use_checkpoint,
            pretrained_window_size=pretrained_window_size,
        )
        self.conv = _resi_conv(dim, resi_connection)
        self.patch_embed = PatchEmbedV2(img_size=img_size, patch_size=patch_size, in_chans=dim, embed_dim=dim)
        self.patch_unembed = PatchUnEmbed(img_size=img_size, patch_size=patch_size, in_chans=dim, embed_dim=dim)

    def forward(self, x, x_size):
        # x: b, h*w, c
        res = self.patch_unembed(self.residual_group(x, x_size), x_size)  # b, c, h, w
        return self.patch_embed(self.conv(res)) + x


def _resi_conv(dim, resi_connection):
    """The convolution closing a residual group: one 3x3 conv, or 3x3 -> 1x1 -> 3x3 through dim/4 channels."""
    if resi_connection == '1conv':
        return nn.Conv2d(dim, dim, 3, 1, 1)
    if resi_connection == '3conv':
        return nn.Sequential(
            nn.Conv2d(dim, dim // 4, 3, 1, 1),
            nn.LeakyReLU(negative_slope=0.2, inplace=True),
            nn.Conv2d(dim // 4, dim // 4, 1, 1, 0),
            nn.LeakyReLU(negative_slope=0.2, inplace=True),
            nn.Conv2d(dim // 4, dim, 3, 1, 1),
        )
    raise ValueError(f"resi_connection must be '1conv' or '3conv', got {resi_connection!r}")


@ARCH_REGISTRY.register()
class Swin2SR(nn.Module):
    r"""Swin2SR: SwinV2 Transformer for Compressed Image Super-Resolution and Restoration (Conde et al., 2022).

    Same layout and state-dict keys as the official ``Swin2SR`` (mv-lab/swin2sr), so its checkpoints load
    strictly; the official ``pixelshuffle_aux`` / ``pixelshuffle_hf`` variants (extra outputs) are not provided.

    The input is reflect-padded to a multiple of ``window_size`` and the output cropped back to ``upscale`` times
    the input size. With ``upsampler=''`` (restoration: denoising, JPEG, de-occlusion) the net is residual:
    ``out = x + conv_last(features)``, at the input resolution. (The official net crops to ``upscale`` times the
    input even for ``upsampler=''``, which leaves the padding in when ``upscale != 1``; here ``upscale`` is ignored
    then.)

    Args:
        img_size (int | tuple(int)): Training input size; fixes the stored shifted-window masks (other sizes get
            theirs computed on the fly). Default: 64
        patch_size (int): Patch size; only 1 works (as in the official net). Default: 1
        in_chans (int): Number of input (and output) image channels, e.g. the focal planes of an AOS stack.
            Default: 3
        embed_dim (int): Patch embedding dimension. Default: 96
        depths (list[int]): Depth of each residual group (RSTB). Default: [6, 6, 6, 6]
        num_heads (list[int]): Number of attention heads of each residual group. Default: [6, 6, 6, 6]
        window_size (int): Window size. Default: 7
        mlp_ratio (float): Ratio of mlp hidden dim to embedding dim. Default: 4.0
        qkv_bias (bool): If True, add learnable biases to query and value. Default: True
        drop_rate (float): Dropout rate. Default: 0.0
        attn_drop_rate (float): Attention dropout rate. Default: 0.0
        drop_path_rate (float): Stochastic depth rate. Default: 0.1
        norm_layer (nn.Module): Normalization layer. Default: nn.LayerNorm
        ape (bool): If True, add absolute position embedding to the patch embedding. Default: False
        patch_norm (bool): If True, add normalization after patch embedding. Default: True
        use_checkpoint (bool | str): Gradient checkpointing (less memory, about one more forward pass of compute;
            same outputs and gradients): ``'block'`` (or True) recomputes every Swin block, ``'parts'`` its attention
            and MLP branches separately, for a lower peak. Default: False
        upscale (int): Upscale factor: 2/3/4/8 for SR, 1 for restoration. Default: 2
        img_range (float): Image range, 1. or 255. Default: 1.0
        upsampler (str): Reconstruction module: 'pixelshuffle' (classical SR), 'pixelshuffledirect' (lightweight
            SR), 'nearest+conv' (real-world SR, x4 only) or '' (restoration, same resolution). Default: ''
        resi_connection (str): The convolutional block before residual connection, '1conv' or '3conv'.
            Default: '1conv'
        pretrained_window_size (int): Window size the weights were pre-trained with, used to normalise the
            position-bias coordinates when fine-tuning with another window size; 0 normalises by ``window_size``.
            (The official net accepts no such option and always behaves as 0.) Default: 0
        gray_head (bool): Add a final 3x3 conv ``conv_gray`` (not in the official checkpoints) mapping the
            ``in_chans``-channel reconstruction to one grey channel (the CONV-G layer of the AOS pipeline). It runs
            last, on the de-normalised reconstruction, i.e. after the restoration residual ``x + conv_last(.)``:
            the output is ``conv_gray(x + body(x))``. It starts as the mean of the channels. Default: False
        zero_init_last (bool): Start ``conv_last`` at zero (``upsampler=''`` only), so the untrained net returns its
            input: training starts at the baseline (the integral for AOS) instead of the input plus a random
            residual, which on the small AOS job costs hundreds of iterations to undo. Not in the official net
            (it only changes the initialisation; checkpoints are unaffected). Default: False

    The mean subtracted before the body (and added back after) is (0.4488, 0.4371, 0.4040) for 3 channels and 0
    otherwise; it is a plain attribute, not part of the state dict (as in the official net).
    """

    option_keys = ()  # the **kwargs sink of the official signature reads nothing: a misspelt key is a mistake

    def __init__(
        self,
        img_size=64,
        patch_size=1,
        in_chans=3,
        embed_dim=96,
        depths=(6, 6, 6, 6),
        num_heads=(6, 6, 6, 6),
        window_size=7,
        mlp_ratio=4.0,
        qkv_bias=True,
        drop_rate=0.0,
        attn_drop_rate=0.0,
        drop_path_rate=0.1,
        norm_layer=nn.LayerNorm,
        ape=False,
        patch_norm=True,
        use_checkpoint: Union[bool, str] = False,
        upscale=2,
        img_range=1.0,
        upsampler='',
        resi_connection='1conv',
        pretrained_window_size=0,
        gray_head=False,
        zero_init_last=False,
        **kwargs,
    ):
        super().__init__()
        if upsampler not in ('', 'pixelshuffle', 'pixelshuffledirect', 'nearest+conv'):
            raise ValueError(
                f"Swin2SR upsampler must be '', 'pixelshuffle', 'pixelshuffledirect' or 'nearest+conv', got "
                f'{upsampler!r}'
            )
        if upsampler == 'nearest+conv' and upscale != 4:
            raise ValueError("Swin2SR upsampler 'nearest+conv' supports only upscale 4")
        if to_2tuple(patch_size) != (1, 1):
            raise ValueError(f'Swin2SR supports only patch_size 1, got {patch_size}')
        if len(depths) != len(num_heads):
            raise ValueError('Swin2SR depths and num_heads must have the same length')
        num_in_ch = in_chans
        num_out_ch = in_chans
        num_feat = 64
        self.img_range = img_range
        if in_chans == 3:
            self.mean = torch.Tensor(RGB_MEAN).view(1, 3, 1, 1)
        else:
            self.mean = torch.zeros(1, 1, 1, 1)
        self.upscale = upscale if upsampler else 1
        self.upsampler = upsampler
        self.window_size = window_size

        # ------------------------- 1, shallow feature extraction ------------------------- #
        self.conv_first = nn.Conv2d(num_in_ch, embed_dim, 3, 1, 1)

        # ------------------------- 2, deep feature extraction ------------------------- #
        self.num_layers = len(depths)
        self.embed_dim = embed_dim
        self.ape = ape
        self.patch_norm = patch_norm
        self.num_features = embed_dim
        self.mlp_ratio = mlp_ratio

        # split image into non-overlapping patches (a 1x1 conv + LayerNorm for patch_size 1)
        self.patch_embed = PatchEmbedV2(
            img_size=img_size,
            patch_size=patch_size,
            in_chans=embed_dim,
            embed_dim=embed_dim,
            norm_layer=norm_layer if self.patch_norm else None,
        )
        num_patches = self.patch_embed.num_patches
        patches_resolution = self.patch_embed.patches_resolution
        self.patches_resolution = patches_resolution

        # merge non-overlapping patches into image
        self.patch_unembed = PatchUnEmbed(
            img_size=img_size,
            patch_size=patch_size,
            in_chans=embed_dim,
            embed_dim=embed_dim,
            norm_layer=norm_layer if self.patch_norm else None,
        )

        # absolute position embedding
        if self.ape:
            self.absolute_pos_embed = nn.Parameter(torch.zeros(1, num_patches, embed_dim))
            trunc_normal_(self.absolute_pos_embed, std=0.02)

        self.pos_drop = nn.Dropout(p=drop_rate)

        # stochastic depth decay rule
        n = sum(depths)  # linspace(0, drop_path_rate, n) in plain floats: the net also builds on the meta device
        dpr = [drop_path_rate * i / (n - 1) if n > 1 else 0.0 for i in range(n)]

        # build Residual Swin Transformer blocks (RSTB)
        self.layers = nn.ModuleList()
        for i_layer in range(self.num_layers):
            layer = RSTBV2(
                dim=embed_dim,
                input_resolution=(patches_resolution[0], patches_resolution[1]),
                depth=depths[i_layer],
                num_heads=num_heads[i_layer],
                window_size=window_size,
                mlp_ratio=self.mlp_ratio,
                qkv_bias=qkv_bias,
                drop=drop_rate,
                attn_drop=attn_drop_rate,
                drop_path=dpr[sum(depths[:i_layer]) : sum(depths[: i_layer + 1])],  # no impact on SR results
                norm_layer=norm_layer,
                use_checkpoint=use_checkpoint,
                img_size=img_size,
                patch_size=patch_size,
                resi_connection=resi_connection,
                pretrained_window_size=pretrained_window_size,
            )
            self.layers.append(layer)
        self.norm = norm_layer(self.num_features)

        # build the last conv layer in deep feature extraction
        self.conv_after_body = _resi_conv(embed_dim, resi_connection)

        # ------------------------- 3, high quality image reconstruction ------------------------- #
        if self.upsampler == 'pixelshuffle':
            # for classical SR
            self.conv_before_upsample = nn.Sequential(
                nn.Conv2d(embed_dim, num_feat, 3, 1, 1), nn.LeakyReLU(inplace=True)
            )
            self.upsample = Upsample(upscale, num_feat)
            self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)
        elif self.upsampler == 'pixelshuffledirect':
            # for lightweight SR (to save parameters)
            self.upsample = UpsampleOneStep(
                upscale, embed_dim, num_out_ch, (patches_resolution[0], patches_resolution[1])
            )
        elif self.upsampler == 'nearest+conv':
            # for real-world SR (less artifacts)
            self.conv_before_upsample = nn.Sequential(
                nn.Conv2d(embed_dim, num_feat, 3, 1, 1), nn.LeakyReLU(inplace=True)
            )
            self.conv_up1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
            self.conv_up2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
            self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
            self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)
            self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)
        else:
            # for image restoration (denoising, JPEG artifact reduction, de-occlusion)
            self.conv_last = nn.Conv2d(embed_dim, num_out_ch, 3, 1, 1)

        self.apply(self._init_weights)
        if zero_init_last:
            if upsampler != '':
                raise ValueError("Swin2SR zero_init_last needs upsampler '' (the input residual)")
            nn.init.zeros_(self.conv_last.weight)
            nn.init.zeros_(self.conv_last.bias)

        self.gray_head = gray_head
        if gray_head:
            self.conv_gray = nn.Conv2d(num_out_ch, 1, 3, 1, 1)
            with torch.no_grad():  # start as the plain mean of the channels
                self.conv_gray.weight.zero_()
                self.conv_gray.weight[:, :, 1, 1] = 1.0 / num_out_ch
                self.conv_gray.bias.zero_()

    def _init_weights(self, m):
        if isinstance(m, nn.Linear):
            trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.LayerNorm):
            nn.init.constant_(m.bias, 0)
            nn.init.constant_(m.weight, 1.0)

    @torch.jit.ignore
    def no_weight_decay(self):
        return {'absolute_pos_embed'}

    @torch.jit.ignore
    def no_weight_decay_keywords(self):
        return {'cpb_mlp', 'logit_scale'}

    def check_image_size(self, x):
        """Reflect-pad the bottom and right so height and width are multiples of ``window_size``."""
        _, _, h, w = x.size()
        mod_pad_h = (self.window_size - h % self.window_size) % self.window_size
        mod_pad_w = (self.window_size - w % self.window_size) % self.window_size
        return F.pad(x, (0, mod_pad_w, 0, mod_pad_h), 'reflect')

    def forward_features(self, x):
        x_size = (x.shape[2], x.shape[3])
        x = self.patch_embed(x)  # b, h*w, c
        if self.ape:
            x = x + self.absolute_pos_embed
        x = self.pos_drop(x)

        for layer in self.layers:
            x = layer(x, x_size)

        x = self.norm(x)  # b, h*w, c
        x = self.patch_unembed(x, x_size)  # b, c, h, w
        return x

    def forward(self, x):
        h, w = x.shape[2:]
        x = self.check_image_size(x)

        mean = self.mean.type_as(x)
        x = (x - mean) * self.img_range

        if self.upsampler == 'pixelshuffle':
            # for classical SR
            x = self.conv_first(x)
            x = self.conv_after_body(self.forward_features(x)) + x
            x = self.conv_before_upsample(x)
            x = self.conv_last(self.upsample(x))
        elif self.upsampler == 'pixelshuffledirect':
            # for lightweight SR
            x = self.conv_first(x)
            x = self.conv_after_body(self.forward_features(x)) + x
            x = self.upsample(x)
        elif self.upsampler == 'nearest+conv':
            # for real-world SR
            x = self.conv_first(x)
            x = self.conv_after_body(self.forward_features(x)) + x
            x = self.conv_before_upsample(x)
            x = self.lrelu(self.conv_up1(F.interpolate(x, scale_factor=2, mode='nearest')))
            x = self.lrelu(self.conv_up2(F.interpolate(x, scale_factor=2, mode='nearest')))
            x = self.conv_last(self.lrelu(self.conv_hr(x)))
        else:
            # for restoration: residual on the (normalised) input
            x_first = self.conv_first(x)
            res = self.conv_after_body(self.forward_features(x_first)) + x_first
            x = x + self.conv_last(res)

        x = x / self.img_range + mean
        if self.gray_head:
            x = self.conv_gray(x)  # b, 1, h*upscale (padded), w*upscale (padded)
        return x[:, :, : h * self.upscale, : w * self.upscale]


def adapt_first_conv(state_dict, in_chans, mode='average'):
    """Adapt a Swin2SR/SwinIR checkpoint (e.g. RGB or grey) to ``in_chans`` input and output planes.

    ``conv_first`` is collapsed to one grey filter (the sum over the input colours) and copied to the N =
    ``in_chans`` planes, scaled by 1/N (``'average'``: N identical planes respond like the original on the grey
    image) or unscaled (``'replicate'``); ``conv_last`` (or pixelshuffledirect's ``upsample.0``) is averaged over
    the colours and copied to the N outputs. A BasicSR zoo dict (``{'params': ..., 'params_ema': ...}``) is handled
    group by group; the input is not modified. ``conv_gray`` (``gray_head``) is not in any checkpoint: load with
    ``strict_load_g: false`` or add it. The maths, the mean-shift caveat (the 3-channel net subtracts the RGB mean,
    an N != 3 net 0) and other archs: :func:`basicsr_ext.utils.checkpoint_adapt.adapt_channels`.

    Args:
        state_dict (dict): Bare state dict, or a dict of them (e.g. ``{'params': ...}``).
        in_chans (int): Target number of input (and output) planes.
        mode (str): 'average' or 'replicate'. Default: 'average'.

    Returns:
        dict: A new dict of the same layout with the adapted tensors.
    """
    return adapt_channels(state_dict, in_chans, in_chans, first='conv_first', mode=mode)
