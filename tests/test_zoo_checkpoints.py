"""Fine-tuning from BasicSR zoo checkpoints (``{'params', 'params_ema'}``) of MSRResNet, EDSR, RRDBNet and SwinIR,
and adapting their first/last convs to grey or N planes with scripts/adapt_checkpoint.py.

The checkpoints are made here with BasicSR's own arch classes (tiny sizes), in the zoo layout; nothing is downloaded.
"""

import glob

import pytest
import torch
from basicsr.archs.arch_util import pixel_unshuffle
from basicsr.archs.edsr_arch import EDSR
from basicsr.archs.rrdbnet_arch import RRDBNet
from basicsr.archs.srresnet_arch import MSRResNet
from basicsr.archs.swinir_arch import SwinIR
from basicsr.models import build_model
from torch.nn import functional as F

from basicsr_ext.archs.srcnn_arch import SRCNN
from basicsr_ext.utils.checkpoint_adapt import adapt_channels, detect_convs
from basicsr_ext.utils.file_io import safe_torch_load

from conftest import run_script, run_train, tiny_options, write_yaml

CLASSES = {'MSRResNet': MSRResNet, 'EDSR': EDSR, 'RRDBNet': RRDBNet, 'SwinIR': SwinIR}
SWINIR = dict(type='SwinIR', img_size=16, embed_dim=12, depths=[2], num_heads=[2], window_size=4, mlp_ratio=2)
ARCHS = {  # network_g options without the channel counts (see network_opt)
    'MSRResNet': dict(type='MSRResNet', num_feat=16, num_block=2, upscale=4),
    'EDSR': dict(type='EDSR', num_feat=16, num_block=2, upscale=2),
    'RRDBNet_x4': dict(type='RRDBNet', num_feat=16, num_block=1, num_grow_ch=8, scale=4),
    'RRDBNet_x2': dict(type='RRDBNet', num_feat=16, num_block=1, num_grow_ch=8, scale=2),  # pixel-unshuffled input
    'SwinIR_pixelshuffle': dict(SWINIR, upscale=2, upsampler='pixelshuffle'),
    'SwinIR_pixelshuffledirect': dict(SWINIR, upscale=2, upsampler='pixelshuffledirect'),
}
LAST = {'SwinIR_pixelshuffledirect': 'upsample.0'}  # the others: conv_last (all: conv_first first)


def network_opt(name, chans=3):
    opt = dict(ARCHS[name])
    if opt['type'] == 'SwinIR':
        opt['in_chans'] = chans  # SwinIR has as many outputs as inputs
    else:
        opt.update(num_in_ch=chans, num_out_ch=chans)
    return opt


def build(opt, seed=0):
    """BasicSR's own class (not the registry, so no plugin can stand in), in eval mode."""
    torch.manual_seed(seed)
    kwargs = {k: v for k, v in opt.items() if k != 'type'}
    return CLASSES[opt['type']](**kwargs).eval()


def perturbed_state(net, seed):
    """The net's state dict with every parameter moved off its initial value (buffers kept, e.g. SwinIR's masks)."""
    gen = torch.Generator().manual_seed(seed)
    params = dict(net.named_parameters())
    return {
        k: v + torch.randn(v.shape, generator=gen) * 0.05 if k in params else v.clone()
        for k, v in net.state_dict().items()
    }


def zoo_checkpoint(tmp_path, opt):
    """A BasicSR zoo file ``{'params': ..., 'params_ema': ...}`` with different tensors in the two groups."""
    net = build(opt)
    groups = {'params': perturbed_state(net, 1), 'params_ema': perturbed_state(net, 2)}
    path = tmp_path / 'zoo.pth'
    torch.save(groups, path)
    return path, groups


def model_options(tmp_path, network, **path):
    """A full option dict as ``parse_options`` resolves it for training (conftest's tiny options, another net)."""
    opt = tiny_options(str(tmp_path / 'data'), name='zoo')
    opt.update(is_train=True, dist=False, rank=0, world_size=1, scale=network.get('upscale', network.get('scale')))
    opt['network_g'] = network
    opt['path'].update(strict_load_g=True, **path)
    return opt


def same(a, b):
    return set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)


# --------------------------------------------------------------------------------------------- (a) fine-tuning
@pytest.mark.parametrize('param_key', ['params_ema', 'params'])
@pytest.mark.parametrize('name', ARCHS)
def test_training_model_loads_the_chosen_group_strictly(tmp_path, name, param_key):
    path, groups = zoo_checkpoint(tmp_path, network_opt(name))
    model = build_model(model_options(tmp_path, network_opt(name), pretrain_network_g=str(path), param_key_g=param_key))
    net_g = model.get_bare_model(model.net_g)
    assert type(net_g) is CLASSES[ARCHS[name]['type']]
    assert same(net_g.state_dict(), groups[param_key])


def test_ema_copy_loads_params_ema_whatever_param_key_g(tmp_path):
    """With ``train.ema_decay``, BasicSR loads ``params_ema`` into net_g_ema and ``param_key_g`` into net_g."""
    path, groups = zoo_checkpoint(tmp_path, network_opt('MSRResNet'))
    opt = model_options(tmp_path, network_opt('MSRResNet'), pretrain_network_g=str(path), param_key_g='params')
    opt['train']['ema_decay'] = 0.999
    model = build_model(opt)
    assert same(model.get_bare_model(model.net_g).state_dict(), groups['params'])
    assert same(model.net_g_ema.state_dict(), groups['params_ema'])


# ----------------------------------------------------------------------------------------- (b) through train.py
def test_finetune_msrresnet_from_params_ema_through_train_py(tmp_path, tiny_data):
    network = dict(type='MSRResNet', num_in_ch=3, num_out_ch=3, num_feat=16, num_block=2, upscale=2)  # x2 data
    path, groups = zoo_checkpoint(tmp_path, network)
    opt = tiny_options(tiny_data, name='finetune_zoo', total_iter=2)
    opt['network_g'] = network
    args = ['--cfg-options', f'path.pretrain_network_g={path}', '+path.param_key_g=params_ema']
    result = run_train(['-opt', write_yaml(tmp_path / 'o.yml', opt), *args], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    exp = tmp_path / 'experiments' / 'finetune_zoo'
    log = open(glob.glob(str(exp / 'train_*.log'))[0]).read()
    assert f'Loading MSRResNet model from {path}, with param key: [params_ema].' in log
    assert 'End of training' in log
    latest = torch.load(exp / 'models' / 'net_g_latest.pth', weights_only=True)['params']
    assert set(latest) == set(groups['params_ema'])

    def distance(group):
        return sum((latest[k] - group[k]).abs().sum().item() for k in latest)

    assert 0 < distance(groups['params_ema']) < distance(groups['params']) / 10  # trained on from params_ema


# ------------------------------------------------------------------------------------- (c) channel adaptation
def first_conv_input(name, image):
    """What ``conv_first`` sees: RRDBNet pixel-unshuffles the input at x2 (and x1)."""
    opt = ARCHS[name]
    return pixel_unshuffle(image, 4 // opt['scale']) if opt['type'] == 'RRDBNet' and opt['scale'] < 4 else image


def image_outputs(name, out):
    """The image channels a last conv's output becomes (pixelshuffledirect's ``upsample.0`` is shuffled)."""
    return F.pixel_shuffle(out, ARCHS[name]['upscale']) if name in LAST else out


@pytest.mark.parametrize('chans', [1, 4])
@pytest.mark.parametrize('name', ARCHS)
def test_adapt_script_rgb_to_grey_and_planes(tmp_path, name, chans):
    path, groups = zoo_checkpoint(tmp_path, network_opt(name))
    out = tmp_path / 'adapted.pth'
    result = run_script('adapt_checkpoint', [str(path), '-o', str(out), '--in-chans', str(chans)], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith(f'wrote {out} (')
    adapted = safe_torch_load(out)  # the digest written with it is checked and removed
    assert set(adapted) == {'params', 'params_ema'}

    rgb, new = build(network_opt(name)), build(network_opt(name, chans), seed=3)
    rgb.load_state_dict(groups['params_ema'], strict=True)
    build(network_opt(name, chans)).load_state_dict(adapted['params'], strict=True)
    new.load_state_dict(adapted['params_ema'], strict=True)
    first, last = 'conv_first', LAST.get(name, 'conv_last')
    for key, value in groups['params_ema'].items():  # only the two convs change
        if not key.startswith((f'{first}.', f'{last}.')):
            assert torch.equal(adapted['params_ema'][key], value), key

    grey = torch.rand(1, 1, 8, 8)
    with torch.no_grad():
        # sum rule: the adapted first conv on N grey planes = the original on the RGB image (g, g, g)
        want = rgb.get_submodule(first)(first_conv_input(name, grey.expand(-1, 3, -1, -1)))
        got = new.get_submodule(first)(first_conv_input(name, grey.expand(-1, chans, -1, -1)))
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
        # the adapted last conv gives the mean of the original's colour outputs, on every output channel
        feat = torch.randn(1, rgb.get_submodule(last).in_channels, 8, 8)
        want = image_outputs(name, rgb.get_submodule(last)(feat)).mean(1, keepdim=True)
        got = image_outputs(name, new.get_submodule(last)(feat))
        assert got.shape[1] == chans
        torch.testing.assert_close(got, want.expand_as(got), rtol=1e-5, atol=1e-5)

        # whole net: grey planes in, the mean of the original's colours out; SwinIR differs only by the RGB mean
        # it subtracts for 3 channels (0 for others), EDSR's forward takes 3 channels only (see adapt_channels)
        if ARCHS[name]['type'] == 'EDSR':
            with pytest.raises(RuntimeError):
                new(grey.expand(-1, chans, -1, -1))
            return
        if ARCHS[name]['type'] == 'SwinIR':
            rgb.mean = torch.zeros(1, 1, 1, 1)
        want = rgb(grey.expand(-1, 3, -1, -1)).mean(1, keepdim=True)
        got = new(grey.expand(-1, chans, -1, -1))
        torch.testing.assert_close(got, want.expand_as(got), rtol=1e-4, atol=1e-4)


def test_rrdbnet_x2_conv_first_sums_colours_per_sub_pixel():
    """RRDBNet x2's conv_first has 12 inputs: colour c, sub-pixel j at channel 4c + j; the grey filter of
    sub-pixel j is the sum over c, and N planes repeat the 4 grey filters plane-major."""
    state = perturbed_state(build(network_opt('RRDBNet_x2')), 1)
    weight = state['conv_first.weight']  # 16, 12, 3, 3
    for chans in (1, 2):
        adapted = adapt_channels(state, chans)['conv_first.weight']
        assert adapted.shape == (16, 4 * chans, 3, 3)
        for n in range(chans):
            for j in range(4):
                want = (weight[:, j] + weight[:, 4 + j] + weight[:, 8 + j]) / chans
                torch.testing.assert_close(adapted[:, 4 * n + j], want)
    assert adapt_channels(state, 2, mode='replicate')['conv_first.weight'].shape == (16, 8, 3, 3)


def test_srcnn_layout_other_output_count_and_named_convs():
    torch.manual_seed(0)
    srcnn = SRCNN(num_feat=(8, 4), kernel_sizes=(3, 3, 3))
    state = srcnn.state_dict()
    assert detect_convs(state)[1:3] == ('conv1', 'conv3')
    grey_to_rgb = adapt_channels(state, 1, 3)  # out_chans other than in_chans
    SRCNN(num_in_ch=1, num_out_ch=3, num_feat=(8, 4), kernel_sizes=(3, 3, 3)).load_state_dict(grey_to_rgb)
    torch.testing.assert_close(grey_to_rgb['conv1.weight'], state['conv1.weight'].sum(1, keepdim=True))
    assert grey_to_rgb['conv3.weight'] is state['conv3.weight']  # 3 outputs already: left alone
    grey = SRCNN(num_in_ch=1, num_out_ch=1, num_feat=(8, 4), kernel_sizes=(3, 3, 3))
    grey.load_state_dict(adapt_channels(state, 1), strict=True)
    image = torch.rand(1, 1, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(grey(image), srcnn(image.expand(-1, 3, -1, -1)).mean(1, keepdim=True))

    # an unknown layout with a pixel-shuffle tail: named convs and the colour count give what detection gives
    swinir = perturbed_state(build(network_opt('SwinIR_pixelshuffledirect')), 1)
    detected = adapt_channels(swinir, 1)
    renamed = {k.replace('upsample.0', 'tail').replace('layers.', 'stage.'): v for k, v in swinir.items()}
    assert detect_convs(renamed) is None
    named = adapt_channels(renamed, 1, first='conv_first', last='tail.weight', colours=3)
    assert torch.equal(named['tail.weight'], detected['upsample.0.weight'])
    assert torch.equal(named['conv_first.weight'], detected['conv_first.weight'])
    with pytest.raises(KeyError, match='no known first/last conv'):
        adapt_channels(renamed, 1)


# ------------------------------------------------------------------------------------------------- (d) errors
@pytest.mark.parametrize(
    'drop, flags, message',
    [
        (
            'conv_last.weight',
            [],
            'params: no conv_last.weight in the state dict (MSRResNet layout; expected shape '
            '(out_channels, features, kh, kw))',
        ),
        (
            None,
            ['--first', 'conv_in'],
            'params: no conv_in.weight in the state dict (MSRResNet layout; expected '
            'shape (features, in_channels, kh, kw))',
        ),
        (None, ['--colours', '2'], 'params: conv_first.weight has 3 input channels, not a multiple of 2 colours'),
    ],
)
def test_adapt_script_errors_are_one_line_and_write_nothing(tmp_path, drop, flags, message):
    _, groups = zoo_checkpoint(tmp_path, network_opt('MSRResNet'))
    bad = tmp_path / 'bad.pth'
    torch.save({k: {n: v for n, v in g.items() if n != drop} for k, g in groups.items()}, bad)
    out = tmp_path / 'out.pth'
    result = run_script('adapt_checkpoint', [str(bad), '-o', str(out), '--in-chans', '1', *flags], tmp_path)
    assert result.returncode == 2 and result.stdout == ''
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f'basicsr-ext: error: {bad}: {message}'), result.stderr
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ['bad.pth', 'zoo.pth']
