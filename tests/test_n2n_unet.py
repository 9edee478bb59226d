"""N2NUNet: the Noise2Noise paper's U-Net (appendix table 2), any input size, He init, the EE-559 report's variant."""

import math

import pytest
import torch
from basicsr.utils.registry import ARCH_REGISTRY
from torch import nn
from torch.nn import functional as F

import basicsr_ext  # noqa: F401  (registration)
from basicsr_ext.archs.n2n_unet_arch import N2NUNet

# the EE-559 report's blocks read literally (see the class docstring); widths and depth are the paper's
SEED_002 = {'negative_slope': 0, 'init': 'he_uniform', 'stem_convs': 1, 'bottleneck_convs': 2}


def paper_table(n=3, m=3):
    """(name, in channels, out channels) of every conv in the paper's table, in order."""
    rows = [('enc_conv0', n, 48)] + [(f'enc_conv{k}', 48, 48) for k in range(1, 7)]
    rows += [('dec_conv5a', 96, 96), ('dec_conv5b', 96, 96)]
    for k in (4, 3, 2):
        rows += [(f'dec_conv{k}a', 144, 96), (f'dec_conv{k}b', 96, 96)]
    rows += [('dec_conv1a', 96 + n, 64), ('dec_conv1b', 64, 32), ('dec_conv1c', 32, m)]
    return rows


def convs(net):
    return [(name, m) for name, m in net.named_modules() if isinstance(m, nn.Conv2d)]


def n_params(net):
    return sum(p.numel() for p in net.parameters())


def test_registered():
    assert ARCH_REGISTRY.get('N2NUNet') is N2NUNet


@pytest.mark.parametrize('n,m', [(3, 3), (1, 1), (4, 2)])
def test_default_layers_match_the_paper_table(n, m):
    net = N2NUNet(num_in_ch=n, num_out_ch=m)
    got = [(name, c.in_channels, c.out_channels) for name, c in convs(net)]
    assert got == paper_table(n, m)
    for _, c in convs(net):
        assert c.kernel_size == (3, 3) and c.stride == (1, 1) and c.padding == (1, 1) and c.bias is not None
    assert isinstance(net.act, nn.LeakyReLU) and net.act.negative_slope == 0.1


def test_parameter_count_from_the_table():
    def conv(i, o):
        return 9 * i * o + o  # 3x3 weights + bias

    def expected(n, m):
        return (
            conv(n, 48)  # enc_conv0
            + 6 * conv(48, 48)  # enc_conv1..6
            + 2 * conv(96, 96)  # dec_conv5a/b
            + 3 * (conv(144, 96) + conv(96, 96))  # dec_conv4..2 a/b
            + conv(96 + n, 64)
            + conv(64, 32)
            + conv(32, m)  # dec_conv1a/b/c
        )

    assert n_params(N2NUNet()) == expected(3, 3) == 991_203  # the number in the class docstring
    assert n_params(N2NUNet(num_in_ch=1, num_out_ch=1)) == expected(1, 1) == 988_609


@pytest.mark.parametrize('depth', [1, 2, 3, 5])
def test_parameter_count_for_other_depths(depth):
    def conv(i, o):
        return 9 * i * o + o

    # depth - 1 encoder levels after the stem; the first decoder level concatenates 48 + 48, the next ones 96 + 48
    enc = conv(3, 48) + conv(48, 48) + (depth - 1) * conv(48, 48) + conv(48, 48)
    dec = (conv(96, 96) + conv(96, 96)) * (depth >= 2) + (conv(144, 96) + conv(96, 96)) * max(depth - 2, 0)
    head = conv((96 if depth >= 2 else 48) + 3, 64) + conv(64, 32) + conv(32, 3)
    assert n_params(N2NUNet(depth=depth)) == enc + dec + head


@pytest.mark.parametrize(
    'size,depth', [((37, 53), 5), ((5, 7), 5), ((5, 7), 1), ((33, 32), 2), ((64, 64), 5), ((1, 1), 3)]
)
def test_output_shape_equals_input_shape(size, depth):
    net = N2NUNet(depth=depth)
    x = torch.rand(2, 3, *size)
    with torch.no_grad():
        out = net(x)
    assert out.shape == x.shape
    assert torch.isfinite(out).all()


@pytest.mark.parametrize('size,mode', [((37, 53), 'reflect'), ((5, 7), 'replicate')])
def test_padding_then_crop(size, mode):
    """Odd sizes: the same as padding by hand (bottom/right; replicate when the padding is not smaller than the
    image, as 5 -> 16) and cropping."""
    torch.manual_seed(0)
    net = N2NUNet(num_feat=8, dec_feat=8, out_feat=(8,), depth=4)  # multiples of 16
    x = torch.rand(1, 3, *size)
    h, w = size
    padded = F.pad(x, (0, -w % 16, 0, -h % 16), mode=mode)
    with torch.no_grad():
        assert torch.allclose(net(x), net(padded)[..., :h, :w], atol=1e-6)


def test_matches_a_hand_written_forward():
    """The official autoencoder's data flow, written out for depth 2 (skips are the pooled maps and the input)."""
    torch.manual_seed(0)
    net = N2NUNet(num_feat=4, dec_feat=6, out_feat=(5, 3), depth=2)
    x = torch.rand(2, 3, 8, 12)

    def c(name, t, act=True):
        y = getattr(net, name)(t)
        return F.leaky_relu(y, 0.1) if act else y

    def up(t):
        return t.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)

    pool1 = F.max_pool2d(c('enc_conv1', c('enc_conv0', x)), 2)
    pool2 = F.max_pool2d(c('enc_conv2', pool1), 2)
    n = c('enc_conv3', pool2)
    n = c('dec_conv2b', c('dec_conv2a', torch.cat([up(n), pool1], 1)))
    n = torch.cat([up(n), x], 1)
    ref = c('dec_conv1c', c('dec_conv1b', c('dec_conv1a', n)), act=False)
    with torch.no_grad():
        assert torch.allclose(net(x), ref, atol=1e-6)


def test_he_normal_init_statistics():
    torch.manual_seed(0)
    net = N2NUNet()
    w = net.dec_conv4a.weight  # 96 x 144 x 3 x 3 = 124,416 weights
    assert w.std().item() == pytest.approx(math.sqrt(2 / (144 * 9)), rel=0.02)
    assert w.mean().abs().item() < 0.002
    # the linear output layer has gain 1: std = 1 / sqrt(fan_in)
    big = N2NUNet(num_out_ch=64)
    assert big.dec_conv1c.weight.std().item() == pytest.approx(1 / math.sqrt(32 * 9), rel=0.05)
    for _, c in convs(net):
        assert torch.count_nonzero(c.bias) == 0


def test_he_uniform_init_statistics():
    torch.manual_seed(0)
    net = N2NUNet(init='he_uniform')
    w = net.dec_conv4a.weight
    bound = math.sqrt(2) * math.sqrt(3 / (144 * 9))
    assert w.abs().max().item() <= bound
    assert w.abs().max().item() > 0.99 * bound
    assert w.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.02)  # same variance as he_normal
    assert all(torch.count_nonzero(c.bias) == 0 for _, c in convs(net))


def test_seed_002_configuration_builds_and_runs():
    net = ARCH_REGISTRY.get('N2NUNet')(**SEED_002)
    assert isinstance(net.act, nn.ReLU)
    names = [name for name, _ in convs(net)]
    assert names[:7] == [f'enc_conv{k}' for k in range(7)]
    assert names[-3:] == ['dec_conv1a', 'dec_conv1b', 'dec_conv1c']
    assert net.stem == ['enc_conv0'] and net.bottleneck == ['enc_conv5', 'enc_conv6']
    x = torch.rand(2, 3, 32, 32)
    out = net(x)
    assert out.shape == x.shape
    out.mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
    # the paper's layout with the report's activation and init is a configuration too
    paper_blocks = N2NUNet(negative_slope=0, init='he_uniform')
    assert paper_blocks(torch.rand(1, 3, 37, 53)).shape == (1, 3, 37, 53)


@pytest.mark.parametrize(
    'kwargs,option',
    [
        ({'depth': 0}, 'depth'),
        ({'depth': 2.0}, 'depth'),
        ({'num_feat': 0}, 'num_feat'),
        ({'dec_feat': -1}, 'dec_feat'),
        ({'num_in_ch': True}, 'num_in_ch'),
        ({'num_out_ch': 0}, 'num_out_ch'),
        ({'out_feat': 64}, 'out_feat'),
        ({'out_feat': (64, 0)}, 'out_feat'),
        ({'negative_slope': -0.1}, 'negative_slope'),
        ({'stem_convs': 0}, 'stem_convs'),
        ({'bottleneck_convs': 0}, 'bottleneck_convs'),
        ({'init': 'xavier'}, 'init'),
        ({'residual': 1}, 'residual'),
        ({'residual': True, 'num_in_ch': 1, 'num_out_ch': 3}, 'residual'),
    ],
)
def test_bad_options_name_the_option(kwargs, option):
    with pytest.raises(ValueError, match=rf'N2NUNet {option}: expected'):
        N2NUNet(**kwargs)


def test_residual_starts_as_the_identity_and_learns_a_correction():
    torch.manual_seed(0)
    net = N2NUNet(num_in_ch=3, num_out_ch=1, num_feat=8, dec_feat=8, out_feat=(8,), depth=3, residual=True)
    x = torch.rand(2, 3, 20, 28)
    assert torch.equal(net(x), x[:, :1])  # output conv at zero: the first input channel, exactly
    plain = N2NUNet(num_in_ch=3, num_out_ch=1, num_feat=8, dec_feat=8, out_feat=(8,), depth=3)
    assert n_params(plain) == n_params(net)  # no extra parameters; the same names, so checkpoints load across
    assert set(plain.state_dict()) == set(net.state_dict())
    with torch.no_grad():
        net.dec_conv1b.bias.fill_(0.25)  # the last conv (out_feat has one width: dec_conv1a, then dec_conv1b)
    assert torch.allclose(net(x), x[:, :1] + 0.25)
