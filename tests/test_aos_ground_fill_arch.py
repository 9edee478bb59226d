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
