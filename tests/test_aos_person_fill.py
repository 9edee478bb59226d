"""AOSPersonFillNet, tiles that agree (the ground level pooled over the whole input), nearest focal planes."""

import numpy as np
import pytest
import torch

from basicsr_ext.archs.aos_ground_fill_arch import AOSGroundFillNet
from basicsr_ext.archs.aos_person_fill_arch import AOSPersonFillNet
from basicsr_ext.inference import Restorer
from basicsr_ext.inference.aos_inputs import AOSInput, select_planes
from basicsr_ext.inference.export import params_sha256
from basicsr_ext.utils.errors import UserError

SMALL = dict(num_feat=8, dec_feat=8, out_feat=[8, 8], depth=2)


def test_untrained_person_fill_is_the_ground_fill_with_a_faint_person_branch():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 32, 32)
    net = AOSPersonFillNet(num_in_ch=3, person_feat=4, person_depth=2, **SMALL).eval()
    mask, level, detail, person, value = net.parts(x)
    assert torch.allclose(mask, torch.full_like(mask, torch.sigmoid(torch.tensor(-2.0)).item()))
    assert torch.allclose(person, torch.full_like(person, torch.sigmoid(torch.tensor(-4.0)).item()))
    assert torch.allclose(value, torch.full_like(value, 0.95)) and torch.all(detail == 0)
    x0 = x[:, :1]
    base = x0 + mask * (level - x0)
    assert torch.allclose(net(x), base + person * (value - base), atol=1e-6)
    assert torch.equal(net(x), net.compose(x, net.maps(x)))
    with pytest.raises(ValueError, match='num_out_ch'):
        AOSPersonFillNet(num_out_ch=2)
    with pytest.raises(ValueError, match='value_init'):
        AOSPersonFillNet(value_init=1.5)


def test_a_ground_fill_checkpoint_starts_the_person_fill_net():
    ground = AOSGroundFillNet(num_in_ch=1, **SMALL)
    with torch.no_grad():
        for p in ground.parameters():
            p.add_(0.05 * torch.randn_like(p))
    net = AOSPersonFillNet(num_in_ch=3, person_feat=4, person_depth=2, **SMALL)
    result = net.load_state_dict(ground.state_dict(), strict=False)  # what strict_load_g: false does
    assert result.unexpected_keys == [] and all(k.startswith('person_unet.') for k in result.missing_keys)
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        start, before = net.eval()(x), ground.eval()(x[:, :1])
    # the person branch starts at 2 %: the output is the ground fill's, moved 2 % of the way to the person value
    assert torch.allclose(start, before + torch.sigmoid(torch.tensor(-4.0)) * (0.95 - before), atol=5e-3)


def test_person_pixels_take_the_value_and_leave_the_ground_level_alone():
    net = AOSPersonFillNet(num_in_ch=1, person_feat=4, person_depth=2, **SMALL)
    x = torch.full((1, 1, 16, 16), 0.3)
    x[..., 4:8, 4:8] = 0.9
    maps = torch.zeros(1, 4, 16, 16)
    maps[:, 0] = 20.0  # every pixel occluded ...
    maps[:, 0, 10:, 10:] = -20.0  # ... but a clean ground corner at 0.3
    maps[:, 2] = -20.0
    maps[:, 2, 4:8, 4:8] = 20.0  # the person
    maps[:, 3] = 3.0  # its value: sigmoid(3) = 0.953
    out = net.compose(x, maps)
    assert torch.allclose(out[..., 4:8, 4:8], torch.full((1, 1, 4, 4), torch.sigmoid(torch.tensor(3.0)).item()))
    assert torch.allclose(out[..., :4, :], torch.full((1, 1, 4, 16), 0.3), atol=1e-4)


def test_the_person_gate_keeps_the_best_candidate_and_fills_the_other_warm_spots():
    size = 128  # gate_radius 32 px at 512 px: 8 px here
    net = AOSPersonFillNet(num_in_ch=1, person_feat=4, person_depth=2, person_top_k=1, gate_radius=32, **SMALL)
    x = torch.full((1, 1, size, size), 0.3)
    x[..., 20:26, 20:24] = 0.9  # the person: warm in the integral (strong evidence)
    x[..., 90:96, 90:94] = 0.33  # a faint ghost the person branch whitens all the same
    maps = torch.zeros(1, 4, size, size)
    maps[:, 0] = -20.0  # clean ground everywhere
    maps[:, 2] = -20.0
    maps[:, 2, 20:26, 20:24] = 20.0
    maps[:, 2, 90:96, 90:94] = 20.0
    maps[:, 3] = 3.0
    person_value = torch.sigmoid(torch.tensor(3.0)).item()
    trained = net.train().compose(x, maps)  # training is ungated: the branch learns per pixel
    assert torch.allclose(trained[..., 90:96, 90:94], torch.full((1, 1, 6, 4), person_value))
    out = net.eval().compose(x, maps)
    assert torch.allclose(out[..., 20:26, 20:24], torch.full((1, 1, 6, 4), person_value))
    assert torch.allclose(out[..., 90:96, 90:94], x[..., 90:96, 90:94], atol=1e-3)  # the ghost is ground again
    gate = net.gate(x, trained)
    assert gate[0, 0, 23, 22] == 1 and gate[0, 0, 93, 92] == 0 and gate.shape == x.shape
    with pytest.raises(ValueError, match='person_top_k'):
        AOSPersonFillNet(person_top_k=-1)
    with pytest.raises(ValueError, match='gate_radius'):
        AOSPersonFillNet(gate_radius=0)


def synthetic_stack(size=1024, seed=0):
    """A flat ground, a warm person, bright streaky occluder bands: (1, H, W) in [0, 1] and its GT."""
    rng = np.random.default_rng(seed)
    gt = np.full((size, size), 0.35, np.float32)
    gt[600:640, 300:318] = 0.97
    integral = gt.copy()
    for top in range(40, size, 256):
        integral[top : top + 90] = 0.7 + 0.08 * rng.standard_normal((90, size)).astype(np.float32)
    return integral[None], gt


def psnr(a, b):
    return 10 * np.log10(1.0 / np.mean((a.astype(np.float64) - b) ** 2))


# aos_person0 is the same AOSPersonFillNet on one plane: its tiles take the path aos_person's take
@pytest.mark.parametrize('model, tile', [('aos_sim2real', 256), ('aos_person', None)])
def test_tiles_agree_with_the_whole_image_on_a_1024_px_stack(model, tile):
    stack, gt = synthetic_stack()
    # the shipped weights; self-ensemble (aos_person's default) off: it is the same for tiles and whole, 8x slower
    whole_restorer = Restorer(model, device='cpu', tile=1024, self_ensemble=False)
    stack = np.repeat(stack, len(whole_restorer.heights), axis=0)  # the same picture in every plane it takes
    whole = whole_restorer.restore_stack(stack)
    tiled = Restorer(model, device='cpu', tile=tile, self_ensemble=False).restore_stack(stack)  # None: 512 px tiles
    # it restores (the person branch also whitens part of this flat bright band: less gain than the ground fill's)
    assert psnr(whole, gt) > psnr(stack[0], gt) + (3 if model == 'aos_sim2real' else 1.5)
    assert abs(psnr(tiled, gt) - psnr(whole, gt)) < 0.3
    # the ground level is the whole image's: the tiles' output is the whole image's up to the seams
    assert psnr(tiled, whole) > 35


def test_tiled_maps_and_one_pooled_level_for_a_person_fill_checkpoint(tmp_path):
    torch.manual_seed(1)
    net = AOSPersonFillNet(num_in_ch=2, person_feat=4, person_depth=2, **SMALL)
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(0.5)
    path = tmp_path / 'person.pth'
    network_g = {'type': 'AOSPersonFillNet', 'num_in_ch': 2, 'person_feat': 4, 'person_depth': 2, **SMALL}
    meta = {'network_g': network_g, 'heights': [0.0, 0.4], 'sha256': params_sha256(net.state_dict())}
    torch.save({'params': net.state_dict(), 'meta': meta}, path)
    x = np.random.default_rng(0).random((2, 96, 96)).astype(np.float32)
    whole = Restorer(str(path), device='cpu').restore_stack(x)
    tiled = Restorer(str(path), device='cpu', tile=64).restore_stack(x)
    with torch.no_grad():
        direct = net.eval()(torch.from_numpy(x)[None])[0, 0].clamp(0, 1).numpy()
    assert np.allclose(whole, direct, atol=1e-6)
    assert psnr(tiled, whole) > 30


def test_nearest_planes_stand_in_for_missing_heights():
    stack = np.arange(5)[:, None, None] * np.ones((5, 4, 4), np.uint8)
    sample = AOSInput('s', stack, [0.0, 0.3, 0.6, 1.0, 1.5], source='s.tiff')
    planes, note = select_planes(sample, [0.0, 0.4, 0.8])
    assert planes[:, 0, 0].tolist() == [0, 1, 2]  # 0.8 m: 0.6 and 1.0 are as near, the lower one is taken
    assert note == 'nearest planes: 0.3 m for 0.4 m, 0.6 m for 0.8 m'
    planes, note = select_planes(AOSInput('e', stack[:3], [0.0, 0.4, 0.8]), [0.0, 0.4, 0.8])
    assert note == '' and planes[:, 0, 0].tolist() == [0, 1, 2]
    with pytest.raises(UserError, match=r'^s.tiff: no plane at 0.4 m or within 0.25 m of it'):
        select_planes(AOSInput('s', stack[[0, 4]], [0.0, 1.5], source='s.tiff'), [0.0, 0.4])


def test_ground_fill_forward_is_maps_then_compose():
    net = AOSGroundFillNet(num_in_ch=1, **SMALL)
    x = torch.rand(1, 1, 32, 32)
    assert torch.equal(net(x), net.compose(x, net.maps(x)))
