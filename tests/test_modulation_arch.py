"""AdaFM and FTN layers, AdaFMNet and ModulatedNet: identity starts, coefficient 0 = the base network exactly, the
parameter counts of the FTN paper's Table 3, and the option errors."""

import pytest
import torch
from torch import nn

import basicsr_ext  # noqa: F401  (before basicsr)
from basicsr_ext.archs.modulation_arch import (
    FTN,
    AdaFM,
    AdaFMConv2d,
    AdaFMNet,
    FTNConv2d,
    adafm_num_params,
    add_modulation,
    ftn_num_params,
    modulation_layers,
    modulation_param_names,
    set_modulation_coef,
)
from basicsr_ext.utils.errors import UserError

TINY = {'num_feat': 8, 'num_block': 2}
MODULATIONS = [
    {'type': 'adafm'},
    {'type': 'adafm', 'kernel_size': 3},
    {'type': 'ftn'},
    {'type': 'ftn', 'groups': 4},
]


def count(net):
    return sum(p.numel() for p in net.parameters())


def randomise_modulation(net, seed=1):
    gen = torch.Generator().manual_seed(seed)
    params = dict(net.named_parameters())
    with torch.no_grad():
        for name in sorted(modulation_param_names(net)):  # sorted: a set's order changes with PYTHONHASHSEED
            params[name].copy_(torch.randn(params[name].shape, generator=gen) * 0.2)


def modulated_copy(base, modulation, **net_kwargs):
    net = AdaFMNet(**net_kwargs, modulation=modulation)
    result = net.load_state_dict(base.state_dict(), strict=False)
    assert not result.unexpected_keys and set(result.missing_keys) == modulation_param_names(net)
    return net


# ------------------------------------------------------------------------------------------ parameter counts
def test_adafm_net_matches_the_papers_table3_counts():
    assert count(AdaFMNet()) == 1_406_787  # Table 3: AdaFM-Net 1.41M
    assert count(AdaFMNet(modulation={'type': 'ftn'})) == 1_832_094  # + FTN: 1.83M
    assert count(AdaFMNet(modulation={'type': 'ftn', 'groups': 16})) == 1_440_414  # + FTN (G=16): 1.44M
    assert count(AdaFMNet(modulation={'type': 'ftn', 'groups': 4})) == 1_518_750
    assert count(AdaFMNet(modulation={'type': 'adafm', 'kernel_size': 5})) == 1_461_699  # + AdaFM: 1.46M
    assert count(AdaFMNet(modulation={'type': 'adafm'})) == 1_411_011
    for groups, millions in ((1, 1.83), (16, 1.44)):
        assert round(count(AdaFMNet(modulation={'type': 'ftn', 'groups': groups})) / 1e6, 2) == millions


@pytest.mark.parametrize('groups', [1, 4, 16])
def test_ftn_counts_follow_the_formula_per_conv(groups):
    base = AdaFMNet()
    convs = [m for m in base.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 37  # head, 32 in blocks, trunk end, upsampler, hr, last
    net = AdaFMNet(modulation={'type': 'ftn', 'groups': groups})
    layers = modulation_layers(net)
    assert len(layers) == 37 and all(isinstance(m, FTNConv2d) for m in layers.values())
    for m in layers.values():
        assert count(m.ftn) == ftn_num_params(m.out_channels, groups)
    extra = sum(ftn_num_params(c.out_channels, groups) for c in convs)
    assert count(net) - count(base) == extra
    # the formula itself: two grouped 1x1 convs with biases and a PReLU slope per channel; groups -> gcd
    assert ftn_num_params(64, groups) == 2 * (64 * 64 // groups + 64) + 64
    assert ftn_num_params(3, 16) == 2 * (9 + 3) + 3


def test_adafm_sits_at_the_official_33_positions():
    net = AdaFMNet(modulation={'type': 'adafm', 'kernel_size': 5})
    names = sorted(modulation_layers(net))
    assert len(names) == 33 and 'conv_body' in names and 'conv_first' not in names and 'conv_last' not in names
    assert all(count(m.adafm) == adafm_num_params(64, 5) for m in modulation_layers(net).values())


# ------------------------------------------------------------------------------------------ identity starts
def test_adafm_starts_as_the_identity_and_scales_with_the_coefficient():
    layer = AdaFM(6, kernel_size=3)
    assert not layer.weight.any() and not layer.bias.any()
    x = torch.randn(2, 6, 9, 7)
    assert torch.equal(layer(x), x)
    with torch.no_grad():
        layer.weight.normal_()
        layer.bias.normal_()
    full = layer(x)
    for lam in (0.0, 0.3, 1.0):
        layer.coef = lam
        # the paper: g* = I + lambda (g - I), i.e. the output moves linearly from x to the trained layer's output
        torch.testing.assert_close(layer(x), x + lam * (full - x), rtol=1e-5, atol=1e-6)
    layer.coef = 0.0
    assert torch.equal(layer(x), x)


@pytest.mark.parametrize('groups', [1, 4, 16])
def test_ftn_starts_as_the_identity(groups):
    ftn = FTN(16, groups)
    assert torch.equal(ftn.act.weight, torch.ones(16))
    assert ftn.conv1.groups == groups and ftn.conv1.weight.shape == (16, 16 // groups, 1, 1)
    for conv in (ftn.conv1, ftn.conv2):
        assert not conv.bias.any()
    f = torch.randn(16, 5, 3, 3)
    assert torch.equal(ftn(f), f)


def test_ftn_conv_uses_the_interpolated_filter():
    conv = nn.Conv2d(4, 6, 3, padding=1)
    holder = nn.Sequential(conv)
    add_modulation(holder, 'ftn', coef=0.25)
    layer = holder[0]
    assert isinstance(layer, FTNConv2d) and layer.weight is conv.weight and layer.bias is conv.bias
    with torch.no_grad():
        for p in layer.ftn.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    x = torch.randn(1, 4, 8, 8)
    target = (1 - 0.25) * conv.weight + 0.25 * layer.ftn(conv.weight)
    torch.testing.assert_close(layer(x), nn.functional.conv2d(x, target, conv.bias, padding=1))
    # the FTN is non-linear in the filter: negative PReLU slopes bend it
    with torch.no_grad():
        layer.ftn.act.weight.fill_(-0.5)
    f = torch.randn(6, 4, 3, 3)
    assert not torch.allclose(layer.ftn(-f), -layer.ftn(f))


@pytest.mark.parametrize('modulation', MODULATIONS, ids=lambda m: '-'.join(map(str, m.values())))
def test_fresh_modulation_leaves_the_network_unchanged(modulation):
    torch.manual_seed(0)
    base = AdaFMNet(**TINY)
    net = modulated_copy(base, modulation, **TINY)
    x = torch.rand(2, 3, 13, 18)  # odd height: padded and cropped back
    assert torch.equal(net(x), base(x))
    assert net(x).shape == x.shape


# ------------------------------------------------------------------------------------------ coefficient 0 = base
@pytest.mark.parametrize('modulation', MODULATIONS, ids=lambda m: '-'.join(map(str, m.values())))
def test_coefficient_zero_is_the_base_network_exactly(modulation):
    torch.manual_seed(0)
    base = AdaFMNet(**TINY)
    net = modulated_copy(base, modulation, **TINY)
    randomise_modulation(net)
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        at = {c: (set_modulation_coef(net, c), net(x))[1] for c in (0.0, 0.5, 1.0)}
        ref = base(x)
    assert torch.equal(at[0.0], ref)
    assert not torch.allclose(at[1.0], ref, atol=1e-4) and not torch.allclose(at[0.5], at[1.0], atol=1e-5)


@pytest.mark.parametrize('mtype', ['adafm', 'ftn'])
def test_any_registered_network_can_be_modulated(mtype):
    from basicsr.archs import build_network

    base_opt = {'type': 'MSRResNet', 'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': 8, 'num_block': 2, 'upscale': 2}
    torch.manual_seed(0)
    base = build_network(dict(base_opt))
    net = build_network({'type': 'ModulatedNet', 'base': base_opt, 'modulation': {'type': mtype, 'coef': 0.7}})
    assert type(net) is type(base)  # the base network itself: same class, same parameter names (+ the new layers)
    assert set(net.state_dict()) - modulation_param_names(net) == set(base.state_dict())
    net.load_state_dict(base.state_dict(), strict=False)
    randomise_modulation(net)
    x = torch.rand(1, 3, 10, 12)
    with torch.no_grad():
        assert not torch.allclose(net(x), base(x), atol=1e-4)
        set_modulation_coef(net, 0)
        assert torch.equal(net(x), base(x))


def test_choosing_convs_and_the_random_stream():
    from basicsr.archs import build_network

    unet = build_network({'type': 'N2NUNet', 'num_in_ch': 1, 'num_out_ch': 1, 'depth': 2})
    chosen = add_modulation(unet, 'adafm', convs=[r'^enc_'], exclude=[r'conv0$'])
    assert chosen and all(n.startswith('enc_') and n != 'enc_conv0' for n in chosen)
    assert all(isinstance(m, AdaFMConv2d) for m in modulation_layers(unet).values())
    # adding layers does not draw from the caller's random stream: base weights and later draws are unchanged
    torch.manual_seed(3)
    plain = AdaFMNet(**TINY)
    after_plain = torch.rand(3)
    torch.manual_seed(3)
    modulated = AdaFMNet(**TINY, modulation={'type': 'ftn'})
    after_modulated = torch.rand(3)
    assert torch.equal(after_plain, after_modulated)
    for name, value in plain.state_dict().items():
        assert torch.equal(modulated.state_dict()[name], value)


def test_gradients_reach_the_modulation_only_when_it_is_on():
    torch.manual_seed(0)
    for modulation in ({'type': 'adafm'}, {'type': 'ftn'}):
        net = AdaFMNet(**TINY, modulation={**modulation, 'coef': 0})
        net(torch.rand(1, 3, 8, 8)).mean().backward()
        params = dict(net.named_parameters())
        assert all(params[n].grad is None for n in modulation_param_names(net))
        net.zero_grad(set_to_none=True)
        set_modulation_coef(net, 1)
        net(torch.rand(1, 3, 8, 8)).mean().backward()
        assert any(params[n].grad is not None and params[n].grad.abs().sum() > 0 for n in modulation_param_names(net))


def test_same_resolution_variant_and_upconv():
    same = AdaFMNet(**TINY, downsample=False)
    assert same.conv_first.stride == (1, 1) and not hasattr(same, 'upsample')
    assert same(torch.rand(1, 3, 7, 9)).shape == (1, 3, 7, 9)
    up = AdaFMNet(**TINY, upsampler='upconv')
    assert up(torch.rand(1, 3, 11, 10)).shape == (1, 3, 11, 10)


@pytest.mark.parametrize(
    'kwargs, message',
    [
        ({'modulation': {'type': 'film'}}, 'modulation.type'),
        ({'modulation': {'type': 'adafm', 'kernel_size': 2}}, 'kernel_size'),
        ({'modulation': {'type': 'adafm', 'groups': 4}}, "unknown keys ['groups']"),
        ({'modulation': {'type': 'ftn', 'groups': 0}}, 'modulation.groups'),
        ({'modulation': {'type': 'ftn', 'convs': ['nothing_like_this']}}, 'no nn.Conv2d of AdaFMNet matches'),
        ({'modulation': {'type': 'ftn', 'coef': 'half'}}, 'modulation.coef'),
        ({'modulation': 'adafm'}, 'expected a mapping'),
        ({'num_block': -1}, 'network_g.num_block'),
        ({'upsampler': 'deconv'}, 'network_g.upsampler'),
    ],
)
def test_option_errors_name_the_key(kwargs, message):
    with pytest.raises(UserError, match=message.replace('[', r'\[').replace(']', r'\]')):
        AdaFMNet(**{**TINY, **kwargs})
