"""SRCNN (the SR lab report's 9-5-5, the original 9-1-5): output sizes, parameter counts, internal bicubic, options."""

import pytest
import torch
from torch.nn import functional as F

import basicsr_ext  # noqa: F401
from basicsr_ext.archs.srcnn_arch import SRCNN


@pytest.mark.parametrize('kernel_sizes', [(9, 5, 5), (9, 1, 5)])
@pytest.mark.parametrize('upscale', [1, 2, 3, 4])
@pytest.mark.parametrize('size', [(7, 7), (13, 20)])
def test_output_is_upscale_times_the_input(kernel_sizes, upscale, size):
    net = SRCNN(upscale=upscale, kernel_sizes=kernel_sizes)
    out = net(torch.rand(2, 3, *size))
    assert out.shape == (2, 3, size[0] * upscale, size[1] * upscale)


def test_already_upsampled_input_keeps_its_size():
    net = SRCNN(upscale=4, upsample='none')
    assert net(torch.rand(1, 3, 24, 17)).shape == (1, 3, 24, 17)


def test_seed_004_layers_and_the_papers_parameter_count():
    net = SRCNN()  # the SR lab report's printout: 3->64 9x9 pad 4, 64->32 5x5 pad 2, 32->3 5x5 pad 2
    layers = [(c.in_channels, c.out_channels, c.kernel_size, c.padding) for c in (net.conv1, net.conv2, net.conv3)]
    assert layers == [(3, 64, (9, 9), (4, 4)), (64, 32, (5, 5), (2, 2)), (32, 3, (5, 5), (2, 2))]
    # Dong et al. (TPAMI 2016): the 9-1-5 base network on the Y channel has 8,032 weights (biases not counted)
    base = SRCNN(num_in_ch=1, num_out_ch=1, kernel_sizes=(9, 1, 5))
    assert sum(p.numel() for name, p in base.named_parameters() if name.endswith('weight')) == 8032


def test_bicubic_happens_inside_the_net():
    x = torch.rand(1, 3, 10, 12)
    inside = SRCNN(upscale=3)
    outside = SRCNN(upscale=3, upsample='none')
    outside.load_state_dict(inside.state_dict())
    with torch.no_grad():
        expected = outside(F.interpolate(x, scale_factor=3, mode='bicubic', align_corners=False))
        assert torch.allclose(inside(x), expected, atol=1e-6)


def test_residual_adds_the_upsampled_input():
    x = torch.rand(1, 3, 8, 8)
    net = SRCNN(upscale=2, residual=True)
    for p in net.conv3.parameters():
        torch.nn.init.zeros_(p)
    with torch.no_grad():
        assert torch.allclose(net(x), F.interpolate(x, scale_factor=2, mode='bicubic', align_corners=False))


@pytest.mark.parametrize(
    'kwargs, match',
    [
        ({'upsample': 'nearest'}, 'upsample'),
        ({'num_feat': (64,)}, 'num_feat'),
        ({'kernel_sizes': (9, 5)}, 'kernel_sizes'),
        ({'kernel_sizes': (9, 4, 5)}, 'odd'),
        ({'residual': True, 'num_in_ch': 1}, 'residual'),
    ],
)
def test_bad_options_name_the_option(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SRCNN(**kwargs)
