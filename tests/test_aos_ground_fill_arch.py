"""AOSGroundFillNet: occluded pixels take the ground level pooled over the clean ones; starts near its input."""

import pytest
import torch
from basicsr.utils.registry import ARCH_REGISTRY

import basicsr_ext  # noqa: F401  (registration)
from basicsr_ext.archs.aos_ground_fill_arch import AOSGroundFillNet

SMALL = {'num_feat': 8, 'dec_feat': 8, 'out_feat': [8], 'depth': 3}


def test_registered_and_starts_close_to_its_input():
    assert ARCH_REGISTRY.get('AOSGroundFillNet') is AOSGroundFillNet
    torch.manual_seed(0)
    net = AOSGroundFillNet(num_in_ch=2, **SMALL)
    x = torch.rand(2, 2, 20, 28)
    mask, level, detail = net.mask_and_level(x)
    assert torch.allclose(mask, torch.full_like(mask, torch.sigmoid(torch.tensor(-2.0)).item()))
    assert torch.equal(detail, torch.zeros_like(detail))
    x0 = x[:, :1]
    assert torch.allclose(level, x0.mean(dim=(2, 3), keepdim=True), atol=1e-5)  # a uniform mask: the plain mean
    assert torch.allclose(net(x), x0 + mask * (level - x0))


def test_a_perfect_mask_restores_flat_ground_under_any_occluder():
    """With the mask right, the level is exactly the clean ground's and every occluded pixel gets it."""
    net = AOSGroundFillNet(**SMALL)
    x = torch.full((1, 1, 32, 32), 0.3)
    occluded = torch.zeros(1, 1, 32, 32, dtype=torch.bool)
    occluded[..., 4:20, 6:30] = True
    x[occluded] = torch.rand(int(occluded.sum())) * 0.5 + 0.5  # bright, textured canopy residue

    def perfect(inp):
        logit = torch.where(occluded, 30.0, -30.0)
        return torch.cat([logit, torch.zeros_like(logit)], dim=1)

    net.unet.forward = perfect
    out = net(x)
    assert torch.allclose(out, torch.full_like(out, 0.3), atol=1e-4)


def test_gradients_reach_the_unet_through_mask_and_level():
    torch.manual_seed(0)
    net = AOSGroundFillNet(**SMALL)
    x = torch.rand(2, 1, 16, 16)
    (net(x) - 0.2).abs().mean().backward()
    grads = [p.grad for p in net.parameters()]
    assert all(g is not None for g in grads) and net.unet.dec_conv1b.weight.grad.abs().sum() > 0


@pytest.mark.parametrize('key', ['num_out_ch', 'residual'])
def test_options_it_sets_itself_are_refused(key):
    with pytest.raises(ValueError, match=f'AOSGroundFillNet {key}'):
        AOSGroundFillNet(**SMALL, **{key: 1})


def test_border_pad_reflects_the_input_beyond_the_border_and_keeps_the_size():
    """The U-Net sees the image reflected beyond its border (not zeros): its maps are those of the reflected image,
    cropped back; on flat ground the border then looks like the inside, so the border bias of zero padding shrinks."""
    torch.manual_seed(0)
    plain = AOSGroundFillNet(**SMALL)
    torch.nn.init.normal_(getattr(plain.unet, plain.unet.conv_last).weight, std=0.5)  # a net with a border bias
    padded = AOSGroundFillNet(border_pad=8, **SMALL)
    padded.load_state_dict(plain.state_dict())
    x = torch.rand(1, 1, 24, 40)
    maps = padded.maps(x)
    assert maps.shape == (1, 2, 24, 40)
    reflected = torch.nn.functional.pad(x, (8, 8, 8, 8), mode='reflect')
    assert torch.allclose(maps, plain.unet(reflected)[..., 8:-8, 8:-8])
    flat = torch.full((1, 1, 32, 32), 0.4)

    def border_spread(net):
        out = net.maps(flat)[:, 1]  # the detail: on flat ground, any variation is the padding's
        return float((out - out[..., 16, 16, None, None]).abs().amax())

    assert border_spread(padded) < 0.8 * border_spread(plain)


@pytest.mark.parametrize('bad', [-1, 2.5, True, '8'])
def test_a_bad_border_pad_is_refused(bad):
    with pytest.raises(ValueError, match='AOSGroundFillNet border_pad'):
        AOSGroundFillNet(border_pad=bad, **SMALL)
