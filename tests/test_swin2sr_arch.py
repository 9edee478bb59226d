"""Swin2SR arch: shapes, padding, AOS grey head, checkpointing, official key names, loading, adapt_first_conv."""

import math

import pytest
import torch
from basicsr.archs import build_network
from basicsr.models.base_model import BaseModel
from basicsr.utils.registry import ARCH_REGISTRY
from torch.nn import functional as F

from basicsr_ext.archs.swin2sr_arch import Swin2SR, adapt_first_conv
from basicsr_ext.utils.file_io import safe_torch_load

TINY = dict(img_size=16, embed_dim=12, depths=[2], num_heads=[2], window_size=4, mlp_ratio=2)


def tiny(seed=0, **kwargs):
    torch.manual_seed(seed)
    return Swin2SR(**{**TINY, **kwargs}).eval()


def perturbed(net, seed=1, std=0.1):
    """Move every weight off its initial value, so zero/one inits cannot hide a bug."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * std)
    return net


def test_registered_and_buildable_from_options():
    assert ARCH_REGISTRY.get('Swin2SR') is Swin2SR
    net = build_network({'type': 'Swin2SR', **TINY, 'upsampler': '', 'upscale': 1})
    assert isinstance(net, Swin2SR)


@pytest.mark.parametrize(
    'upsampler, upscale',
    [('', 1), ('', 2), ('pixelshuffle', 2), ('pixelshuffle', 3), ('pixelshuffledirect', 2), ('nearest+conv', 4)],
)
@pytest.mark.parametrize('size', [(13, 17), (16, 16), (5, 9)])
def test_output_shape_for_odd_sizes(upsampler, upscale, size):
    net = tiny(upsampler=upsampler, upscale=upscale)
    scale = upscale if upsampler else 1  # restoration keeps the resolution whatever upscale says
    with torch.no_grad():
        out = net(torch.rand(1, 3, *size))
    assert out.shape == (1, 3, size[0] * scale, size[1] * scale)


@pytest.mark.parametrize('upsampler, upscale', [('', 1), ('pixelshuffle', 2)])
def test_pads_by_reflection_to_the_window_and_crops_back(upsampler, upscale):
    net = perturbed(tiny(upsampler=upsampler, upscale=upscale))
    x = torch.rand(2, 3, 13, 17)
    padded = F.pad(x, (0, 3, 0, 3), 'reflect')  # 16 x 20: multiples of window_size 4
    with torch.no_grad():
        out, ref = net(x), net(padded)
    assert ref.shape[-2:] == (16 * upscale, 20 * upscale)
    assert torch.allclose(out, ref[:, :, : 13 * upscale, : 17 * upscale], atol=1e-6)


def test_restoration_is_residual_on_the_input():
    net = perturbed(tiny(upsampler='', upscale=1, in_chans=4))
    x = torch.rand(1, 4, 13, 17)
    with torch.no_grad():
        assert not torch.allclose(net(x), x, atol=1e-3)
        net.conv_last.weight.zero_()
        net.conv_last.bias.zero_()
        assert torch.allclose(net(x), x, atol=1e-6)


def test_focal_stack_with_gray_head_gives_one_channel_after_the_residual():
    net = perturbed(tiny(upsampler='', upscale=1, in_chans=4, gray_head=True))
    x = torch.rand(2, 4, 13, 17)
    with torch.no_grad():
        assert net(x).shape == (2, 1, 13, 17)
        assert net.mean.shape == (1, 1, 1, 1) and not net.mean.any()  # no RGB mean for focal planes
        # zero body -> the output is conv_gray(x), and conv_gray starts as the mean of the planes
        net.conv_last.weight.zero_()
        net.conv_last.bias.zero_()
        fresh = tiny(upsampler='', upscale=1, in_chans=4, gray_head=True)
        net.conv_gray.load_state_dict(fresh.conv_gray.state_dict())
        assert torch.allclose(net(x), x.mean(1, keepdim=True), atol=1e-6)
    assert 'conv_gray.weight' in net.state_dict() and 'conv_gray.weight' not in tiny(in_chans=4).state_dict()


def test_gray_head_on_sr_output():
    net = tiny(upsampler='pixelshuffle', upscale=2, in_chans=4, gray_head=True)
    with torch.no_grad():
        assert net(torch.rand(1, 4, 13, 17)).shape == (1, 1, 26, 34)


@pytest.mark.parametrize('upsampler, upscale', [('', 1), ('pixelshuffle', 2)])
@pytest.mark.parametrize('mode, recomputed', [(True, 4), ('block', 4), ('parts', 8)])
def test_gradient_checkpointing_gives_same_output_and_gradients(upsampler, upscale, mode, recomputed, monkeypatch):
    plain = perturbed(tiny(upsampler=upsampler, upscale=upscale, depths=[2, 2], num_heads=[2, 2], drop_path_rate=0.2))
    ckpt = tiny(
        upsampler=upsampler, upscale=upscale, depths=[2, 2], num_heads=[2, 2], drop_path_rate=0.2, use_checkpoint=mode
    )
    ckpt.load_state_dict(plain.state_dict(), strict=True)
    plain.train()
    ckpt.train()

    calls = []
    real = torch.utils.checkpoint.checkpoint

    def spy(*args, **kwargs):
        calls.append(kwargs.get('use_reentrant'))
        return real(*args, **kwargs)

    monkeypatch.setattr(torch.utils.checkpoint, 'checkpoint', spy)
    x = torch.rand(2, 3, 13, 17)
    results = []
    for net in (plain, ckpt):
        torch.manual_seed(123)  # same stochastic-depth draws in both
        out = net(x)
        out.square().mean().backward()
        results.append((out.detach(), {n: p.grad.clone() for n, p in net.named_parameters()}))
    # every block (or its attention and MLP branches) of the checkpointed net, non-reentrant; none of the plain net
    assert calls == [False] * recomputed
    (out_a, grads_a), (out_b, grads_b) = results
    assert torch.allclose(out_a, out_b, atol=1e-6)
    assert grads_a.keys() == grads_b.keys()
    for name, grad in grads_a.items():
        assert torch.allclose(grad, grads_b[name], atol=1e-6, rtol=1e-5), name


def test_unknown_checkpoint_mode_is_refused():
    with pytest.raises(ValueError, match="use_checkpoint must be false, true, 'block' or 'parts', got 'layer'"):
        tiny(use_checkpoint='layer')


# Key names and shapes of the official Swin2SR (mv-lab/swin2sr, models/network_swin2sr.py) for
# Swin2SR(img_size=16, embed_dim=12, depths=[2], num_heads=[2], window_size=4, mlp_ratio=2,
#         upsampler='pixelshuffle', upscale=2): written out by hand from the official module structure.
E, HEADS, WIN = 12, 2, 4
BLOCK = {
    'norm1.weight': (E,),
    'norm1.bias': (E,),
    'attn.logit_scale': (HEADS, 1, 1),
    'attn.q_bias': (E,),
    'attn.v_bias': (E,),
    'attn.relative_coords_table': (1, 2 * WIN - 1, 2 * WIN - 1, 2),  # persistent buffer in the official net
    'attn.relative_position_index': (WIN * WIN, WIN * WIN),  # persistent buffer in the official net
    'attn.cpb_mlp.0.weight': (512, 2),
    'attn.cpb_mlp.0.bias': (512,),
    'attn.cpb_mlp.2.weight': (HEADS, 512),  # no bias
    'attn.qkv.weight': (3 * E, E),  # no qkv.bias: q_bias / v_bias instead
    'attn.proj.weight': (E, E),
    'attn.proj.bias': (E,),
    'norm2.weight': (E,),
    'norm2.bias': (E,),
    'mlp.fc1.weight': (2 * E, E),
    'mlp.fc1.bias': (2 * E,),
    'mlp.fc2.weight': (E, 2 * E),
    'mlp.fc2.bias': (E,),
}
OFFICIAL_KEYS = {
    'conv_first.weight': (E, 3, 3, 3),
    'conv_first.bias': (E,),
    'patch_embed.proj.weight': (E, E, 1, 1),
    'patch_embed.proj.bias': (E,),
    'patch_embed.norm.weight': (E,),
    'patch_embed.norm.bias': (E,),
    **{f'layers.0.residual_group.blocks.{i}.{k}': v for i in range(2) for k, v in BLOCK.items()},
    'layers.0.residual_group.blocks.1.attn_mask': (16, WIN * WIN, WIN * WIN),  # only the shifted block has one
    'layers.0.conv.weight': (E, E, 3, 3),
    'layers.0.conv.bias': (E,),
    'layers.0.patch_embed.proj.weight': (E, E, 1, 1),
    'layers.0.patch_embed.proj.bias': (E,),
    'norm.weight': (E,),
    'norm.bias': (E,),
    'conv_after_body.weight': (E, E, 3, 3),
    'conv_after_body.bias': (E,),
    'conv_before_upsample.0.weight': (64, E, 3, 3),
    'conv_before_upsample.0.bias': (64,),
    'upsample.0.weight': (256, 64, 3, 3),
    'upsample.0.bias': (256,),
    'conv_last.weight': (3, 64, 3, 3),
    'conv_last.bias': (3,),
}


def test_state_dict_keys_match_the_official_naming():
    state = tiny(upsampler='pixelshuffle', upscale=2).state_dict()
    assert {k: tuple(v.shape) for k, v in state.items()} == OFFICIAL_KEYS


@pytest.mark.parametrize(
    'kwargs, present, absent',
    [
        (
            dict(upsampler='', upscale=1, resi_connection='3conv'),
            [
                'layers.0.conv.0.weight',
                'layers.0.conv.2.weight',
                'layers.0.conv.4.weight',
                'conv_after_body.4.bias',
                'conv_last.weight',
            ],
            ['upsample.0.weight', 'conv_before_upsample.0.weight', 'layers.0.conv.weight'],
        ),
        (dict(upsampler='pixelshuffledirect', upscale=3), ['upsample.0.weight'], ['conv_last.weight']),
        (
            dict(upsampler='nearest+conv', upscale=4),
            ['conv_up1.weight', 'conv_up2.weight', 'conv_hr.weight', 'conv_last.weight'],
            ['upsample.0.weight'],
        ),
        (dict(ape=True), ['absolute_pos_embed'], []),
        (dict(patch_norm=False), ['patch_embed.proj.weight'], ['patch_embed.norm.weight']),
        (dict(qkv_bias=False), [], ['layers.0.residual_group.blocks.0.attn.q_bias']),
    ],
)
def test_head_and_option_key_names(kwargs, present, absent):
    keys = set(tiny(**kwargs).state_dict())
    assert set(present) <= keys
    assert not set(absent) & keys
    if kwargs.get('upsampler') == 'pixelshuffledirect':
        assert tiny(**kwargs).state_dict()['upsample.0.weight'].shape == (9 * 3, E, 3, 3)


def test_position_bias_formulas():
    attn = tiny().layers[0].residual_group.blocks[0].attn
    table = attn.relative_coords_table
    # offsets -3..3 scaled to [-8, 8] then log-spaced: the corner is log2(9)/log2(8), the centre 0
    assert torch.allclose(table[0, 0, 0], torch.full((2,), -math.log2(9) / 3))
    assert torch.equal(table[0, WIN - 1, WIN - 1], torch.zeros(2))
    assert attn.relative_position_index.min() == 0 and attn.relative_position_index.max() == (2 * WIN - 1) ** 2 - 1
    # a pretrained window of 8 normalises the offsets by 7 instead of 3
    wide = tiny(pretrained_window_size=8).layers[0].residual_group.blocks[0].attn.relative_coords_table
    assert torch.allclose(wide[0, 0, 0], torch.full((2,), -math.log2(1 + 3 / 7 * 8) / 3))


def test_logit_scale_is_clamped_at_log_100():
    net = perturbed(tiny(upsampler='', upscale=1))
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        for blk in net.layers[0].residual_group.blocks:
            blk.attn.logit_scale.fill_(math.log(100))
        capped = net(x)
        for blk in net.layers[0].residual_group.blocks:
            blk.attn.logit_scale.fill_(50.0)
        assert torch.equal(net(x), capped)
        for blk in net.layers[0].residual_group.blocks:
            blk.attn.logit_scale.fill_(1.0)
        assert not torch.allclose(net(x), capped)


def _loader():
    return BaseModel({'num_gpu': 0, 'is_train': False, 'dist': False})


@pytest.mark.parametrize('zoo', [True, False])
def test_strict_load_through_basicsr_load_network(tmp_path, zoo):
    src = perturbed(tiny(upsampler='pixelshuffle', upscale=2))
    path = tmp_path / 'net_g.pth'
    torch.save({'params': src.state_dict()} if zoo else src.state_dict(), path)
    dst = tiny(seed=5, upsampler='pixelshuffle', upscale=2)
    _loader().load_network(dst, str(path), strict=True, param_key='params' if zoo else None)
    x = torch.rand(1, 3, 13, 17)
    with torch.no_grad():
        assert torch.equal(dst(x), src(x))


def _grey_response(weight, bias, planes, grey):
    return F.conv2d(grey.expand(-1, planes, -1, -1), weight, bias, padding=1)


@pytest.mark.parametrize('upsampler, upscale', [('', 1), ('pixelshuffle', 2), ('pixelshuffledirect', 2)])
def test_adapt_rgb_checkpoint_to_four_planes(upsampler, upscale):
    rgb = perturbed(tiny(upsampler=upsampler, upscale=upscale))
    state = rgb.state_dict()
    before = {k: v.clone() for k, v in state.items()}
    adapted = adapt_first_conv(state, 4)
    assert all(torch.equal(state[k], before[k]) for k in state)  # the input is left alone

    planes = tiny(upsampler=upsampler, upscale=upscale, in_chans=4)
    planes.load_state_dict(adapted, strict=True)

    grey = torch.rand(1, 1, 13, 17)
    want = _grey_response(state['conv_first.weight'], state['conv_first.bias'], 3, grey)
    got = _grey_response(adapted['conv_first.weight'], adapted['conv_first.bias'], 4, grey)
    assert torch.allclose(got, want, atol=1e-5)
    with torch.no_grad():
        assert torch.allclose(
            planes.conv_first(grey.expand(-1, 4, -1, -1)), rgb.conv_first(grey.expand(-1, 3, -1, -1)), atol=1e-5
        )
        assert planes(torch.rand(1, 4, 13, 17)).shape == (1, 4, 13 * upscale, 17 * upscale)

    # 'replicate': each plane alone responds like the original to the grey image
    replicated = adapt_first_conv(state, 4, mode='replicate')
    one_plane = F.conv2d(
        F.pad(grey, (0, 0, 0, 0, 0, 3)), replicated['conv_first.weight'], state['conv_first.bias'], padding=1
    )
    assert torch.allclose(one_plane, want, atol=1e-5)


def test_adapt_output_head_averages_colours():
    state = perturbed(tiny(upsampler='', upscale=1)).state_dict()
    grey = adapt_first_conv(state, 1)
    assert torch.allclose(grey['conv_last.weight'], state['conv_last.weight'].mean(0, keepdim=True))
    assert torch.allclose(grey['conv_last.bias'], state['conv_last.bias'].mean(0, keepdim=True))
    assert torch.allclose(grey['conv_first.weight'], state['conv_first.weight'].sum(1, keepdim=True))
    tiny(upsampler='', upscale=1, in_chans=1).load_state_dict(grey, strict=True)
    four = adapt_first_conv(state, 4)
    assert all(torch.equal(four['conv_last.weight'][i], grey['conv_last.weight'][0]) for i in range(4))


def test_adapt_grey_checkpoint_and_zoo_layout():
    state = perturbed(tiny(upsampler='', upscale=1, in_chans=1)).state_dict()
    zoo = adapt_first_conv({'params': state, 'params_ema': state, 'iter': 7}, 4)
    assert zoo['iter'] == 7
    assert torch.allclose(zoo['params']['conv_first.weight'], state['conv_first.weight'].repeat(1, 4, 1, 1) / 4)
    gray_head = tiny(upsampler='', upscale=1, in_chans=4, gray_head=True)
    missing, unexpected = gray_head.load_state_dict(zoo['params_ema'], strict=False)
    assert missing == ['conv_gray.weight', 'conv_gray.bias'] and not unexpected
    assert adapt_first_conv(state, 1) == state  # nothing to do


def test_bad_options_raise():
    with pytest.raises(ValueError, match='upsampler'):
        tiny(upsampler='pixelshuffle_hf')
    with pytest.raises(ValueError, match='nearest'):
        tiny(upsampler='nearest+conv', upscale=2)
    with pytest.raises(ValueError, match='resi_connection'):
        tiny(resi_connection='2conv')
    with pytest.raises(ValueError, match='mode'):
        adapt_first_conv(tiny().state_dict(), 4, mode='sum')


def test_adapt_checkpoint_script_writes_a_strictly_loadable_file(tmp_path):
    from conftest import run_script

    rgb = perturbed(tiny(upsampler='', upscale=1))
    src = tmp_path / 'rgb.pth'
    torch.save({'params': rgb.state_dict(), 'params_ema': rgb.state_dict()}, src)
    out = tmp_path / 'planes.pth'
    result = run_script('adapt_checkpoint', [src, '-o', out, '--in-chans', '2'])
    assert result.returncode == 0, result.stderr
    loaded = safe_torch_load(out)  # the digest written with it is checked and removed
    assert set(loaded) == {'params', 'params_ema'}
    tiny(upsampler='', upscale=1, in_chans=2).load_state_dict(loaded['params'], strict=True)
    # the RGB filters become 2 grey planes, each half of their sum ('average')
    want = rgb.state_dict()['conv_first.weight'].sum(1, keepdim=True).repeat(1, 2, 1, 1) / 2
    assert torch.allclose(loaded['params']['conv_first.weight'], want)
    # a file without conv_first: one line naming it, nothing written
    bad = tmp_path / 'bad.pth'
    torch.save({'params': {'x': torch.zeros(1)}}, bad)
    result = run_script('adapt_checkpoint', [bad, '-o', tmp_path / 'x.pth', '--in-chans', '3'])
    assert result.returncode == 2 and result.stderr.startswith(f'basicsr-ext: error: {bad}: ')
    assert 'conv_first.weight' in result.stderr and not (tmp_path / 'x.pth').exists()


def test_zero_init_last_starts_as_the_identity():
    x = torch.rand(2, 3, 13, 17)
    with torch.no_grad():
        assert torch.allclose(tiny(upsampler='', upscale=1, zero_init_last=True)(x), x, atol=1e-6)  # mean off, on
        assert not torch.allclose(tiny(upsampler='', upscale=1)(x), x, atol=1e-3)  # the official init does not
        # with the grey head: the mean of the planes, as the head starts
        grey = tiny(upsampler='', upscale=1, zero_init_last=True, gray_head=True)(x)
        assert torch.allclose(grey, x.mean(1, keepdim=True), atol=1e-6)
    with pytest.raises(ValueError, match='zero_init_last'):
        tiny(upsampler='pixelshuffle', upscale=2, zero_init_last=True)


@pytest.mark.parametrize('fused', [True, False, None])
def test_fused_attention_equals_the_explicit_formula(fused):
    """WindowAttentionV2 (through scaled_dot_product_attention, through its own explicit product, and as picked by
    device) against SwinV2's attention written out."""
    from basicsr_ext.archs.swin2sr_arch import WindowAttentionV2

    torch.manual_seed(0)
    attn = perturbed(WindowAttentionV2(dim=12, window_size=(4, 4), num_heads=3)).eval()
    attn.fused_attention = fused
    b, n, c, nh = 6, 16, 12, 3
    x = torch.randn(b, n, c)
    mask = torch.where(torch.rand(2, n, n) < 0.3, -100.0, 0.0)  # 2 windows per image, as the shifted blocks pass

    def explicit(x, mask):
        bias = torch.cat((attn.q_bias, torch.zeros_like(attn.v_bias), attn.v_bias))
        q, k, v = F.linear(x, attn.qkv.weight, bias).reshape(b, n, 3, nh, c // nh).permute(2, 0, 3, 1, 4)
        logits = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
        logits = logits * torch.clamp(attn.logit_scale, max=math.log(100.0)).exp()
        table = attn.cpb_mlp(attn.relative_coords_table).view(-1, nh)
        pos = table[attn.relative_position_index.view(-1)].view(n, n, nh).permute(2, 0, 1)
        logits = logits + 16 * torch.sigmoid(pos)
        if mask is not None:
            logits = (logits.view(b // 2, 2, nh, n, n) + mask[None, :, None]).view(b, nh, n, n)
        out = (logits.softmax(-1) @ v).transpose(1, 2).reshape(b, n, c)
        return attn.proj(out)

    with torch.no_grad():
        for m in (None, mask):
            assert torch.allclose(attn(x, m), explicit(x, m), atol=1e-5)
