"""Restorer and scripts/restore.py on tiny networks made here: formats, GT scores, tiling, modulation, DNI, the zoo."""

import csv

import cv2
import numpy as np
import pytest
import torch
import yaml
from basicsr.archs import build_network
from basicsr.metrics import calculate_psnr

from basicsr_ext.inference.export import file_sha256
from basicsr_ext.inference.restorer import Restorer
from basicsr_ext.inference.zoo import describe, load_zoo
from basicsr_ext.utils.errors import UserError
from basicsr_ext.utils.images import read_image

from conftest import run_script, write_yaml

SRCNN = {'type': 'SRCNN', 'num_in_ch': 3, 'num_out_ch': 3, 'upscale': 2, 'num_feat': [8, 4], 'kernel_sizes': [9, 5, 5]}
GREY_SRCNN = {**SRCNN, 'num_in_ch': 1, 'num_out_ch': 1}
BASE = {'type': 'AdaFMNet', 'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': 8, 'num_block': 2}
ADAFM = {**BASE, 'modulation': {'type': 'adafm', 'kernel_size': 3, 'coef': 1}}
SWIN = {
    'type': 'Swin2SR',
    'in_chans': 3,
    'embed_dim': 12,
    'depths': [2],
    'num_heads': [2],
    'window_size': 8,
    'mlp_ratio': 2,
    'upscale': 1,
    'upsampler': '',
    'zero_init_last': False,
}


def save_net(path, network_g, seed=0, key='params'):
    torch.manual_seed(seed)
    net = build_network(dict(network_g))
    with torch.no_grad():
        for p in net.parameters():  # away from any identity initialisation: outputs depend on every layer
            p.add_(0.05 * torch.randn_like(p))
    torch.save({key: net.state_dict()}, path)
    return str(path)


@pytest.fixture(scope='module')
def srcnn(tmp_path_factory):
    root = tmp_path_factory.mktemp('srcnn')
    opt = write_yaml(
        root / 'train_srcnn.yml', {'name': 'x', 'model_type': 'ExtSRModel', 'scale': 2, 'network_g': SRCNN}
    )
    return {'pth': save_net(root / 'net_g_8.pth', SRCNN), 'opt': str(opt), 'root': root}


def image(shape, seed=0, dtype=np.uint8):
    rng = np.random.default_rng(seed)
    small = rng.random((shape[0] // 4 + 1, shape[1] // 4 + 1) + tuple(shape[2:]))
    img = cv2.resize(small, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC).clip(0, 1)
    peak = {np.uint8: 255, np.uint16: 65535}[dtype]
    return np.rint(img * peak).astype(dtype)


def test_cli_restores_grey_rgb_and_16_bit_with_and_without_gt(srcnn, tmp_path):
    inputs, gt = tmp_path / 'in', tmp_path / 'gt'
    inputs.mkdir(), gt.mkdir()
    cv2.imwrite(str(inputs / 'rgb.png'), image((20, 24, 3)))
    cv2.imwrite(str(inputs / 'grey.png'), image((18, 16), seed=1))
    cv2.imwrite(str(inputs / 'deep.png'), image((16, 16, 3), seed=2, dtype=np.uint16))
    for name, shape in (('rgb', (40, 48, 3)), ('grey', (36, 32)), ('deep', (32, 32, 3))):
        cv2.imwrite(str(gt / f'{name}.png'), image(shape, seed=3))
    base = ['--model', srcnn['pth'], '--opt', srcnn['opt'], '--input', str(inputs)]
    run = run_script('restore', [*base, '--output', tmp_path / 'plain'])
    assert run.returncode == 0, run.stderr
    assert 'restored 3 of 3 image(s)' in run.stdout and 'grey input repeated to the 3 channels' in run.stdout
    rgb = cv2.imread(str(tmp_path / 'plain' / 'rgb.png'), cv2.IMREAD_UNCHANGED)
    grey = cv2.imread(str(tmp_path / 'plain' / 'grey.png'), cv2.IMREAD_UNCHANGED)
    deep = cv2.imread(str(tmp_path / 'plain' / 'deep.png'), cv2.IMREAD_UNCHANGED)
    assert rgb.shape == (40, 48, 3) and rgb.dtype == np.uint8
    assert grey.shape == (36, 32) and deep.shape == (32, 32, 3) and deep.dtype == np.uint16
    assert not (tmp_path / 'plain' / 'report.csv').exists()
    # the same through the Python API
    restorer = Restorer(srcnn['pth'], opt=srcnn['opt'], device='cpu')
    assert np.array_equal(restorer.restore(cv2.imread(str(inputs / 'rgb.png'))), rgb)
    # with GT: PSNR/SSIM per image and the mean, as test.py computes them (crop_border = scale)
    run = run_script('restore', [*base, '--output', tmp_path / 'scored', '--gt', gt])
    assert run.returncode == 0, run.stderr
    rows = list(csv.DictReader(open(tmp_path / 'scored' / 'report.csv')))
    assert [r['image'] for r in rows] == ['deep', 'grey', 'rgb', 'mean']
    expected = calculate_psnr(rgb, cv2.imread(str(gt / 'rgb.png')), crop_border=2)
    assert float(rows[2]['psnr']) == pytest.approx(expected)
    assert float(rows[3]['psnr']) == pytest.approx(np.mean([float(r['psnr']) for r in rows[:3]]))
    assert '| mean |' in run.stdout
    # the baseline a restoration must beat: bicubic upscaling of the same input, the gain, and a flag below it
    bicubic = cv2.resize(cv2.imread(str(inputs / 'rgb.png')), (48, 40), interpolation=cv2.INTER_CUBIC)
    assert float(rows[2]['baseline_psnr']) == pytest.approx(
        calculate_psnr(bicubic, cv2.imread(str(gt / 'rgb.png')), crop_border=2)
    )
    for r in rows:
        gain = float(r['psnr']) - float(r['baseline_psnr'])
        assert float(r['gain_db']) == pytest.approx(gain) and r['below_baseline'] == str(gain < 0).lower()
    assert 'baseline: bicubic x2 (cv2.INTER_CUBIC)' in run.stdout and 'baseline PSNR (dB)' in run.stdout


def test_an_unreadable_input_is_named_and_the_others_run(srcnn, tmp_path):
    inputs = tmp_path / 'in'
    inputs.mkdir()
    cv2.imwrite(str(inputs / 'a.png'), image((16, 16, 3)))
    (inputs / 'broken.png').write_text('not an image')
    run = run_script(
        'restore', ['--model', srcnn['pth'], '--opt', srcnn['opt'], '--input', inputs, '--output', tmp_path]
    )
    assert run.returncode == 2
    assert 'broken: ' in run.stderr and 'broken.png: cannot read the image' in run.stderr
    assert 'Traceback' not in run.stderr and (tmp_path / 'a.png').exists() and not (tmp_path / 'broken.png').exists()


@pytest.mark.parametrize(
    'argv, message',
    [
        (['--input', 'x.png', '--output', 'o'], '--model is required (or --list)'),
        (
            ['--model', 'no_such_model', '--input', 'x.png', '--output', 'o'],
            'model file not found: no_such_model (nor a zoo name: aos_person, aos_person0, aos_ground, aos_sim2real',
        ),
        (['--model', '{pth}', '--input', '{png}', '--output', 'o'], 'no arch options: pass --opt OPTION_FILE'),
        (['--model', '{pth}', '--opt', '{opt}', '--input', '{png}', '--output', 'o', '--precision', 'fp16'], 'GPU'),
        (['--model', '{pth}', '--opt', '{opt}', '--input', '{png}', '--output', 'o', '--coef', '0.5'], 'no modulation'),
        (['--model', '{pth}', '--opt', '{opt}', '--input', '{png}', '--output', 'o', '--tile', '8'], 'tile: expected'),
        (
            [
                '--model',
                '{pth}',
                '--opt',
                '{opt}',
                '--input',
                '{png}',
                '--output',
                'o',
                '--tile',
                '32',
                '--tile-overlap',
                '40',
            ],
            'tile overlap: expected 4 px up to the tile size (32) - 1, got 40',
        ),
    ],
)
def test_mistakes_are_one_line(srcnn, tmp_path, argv, message):
    png = tmp_path / 'x.png'
    cv2.imwrite(str(png), image((16, 16, 3)))
    argv = [a.format(pth=srcnn['pth'], opt=srcnn['opt'], png=png) for a in argv]
    run = run_script('restore', argv, cwd=tmp_path)
    assert run.returncode == 2 and message in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and 'Traceback' not in run.stderr


def test_colour_to_a_grey_network_is_converted(tmp_path):
    pth = save_net(tmp_path / 'grey.pth', GREY_SRCNN)
    restorer = Restorer(pth, network=GREY_SRCNN, device='cpu')
    out = restorer.restore(image((12, 12, 3)))
    assert out.shape == (24, 24) and restorer.notes == ['colour input converted to grey for the 1-channel network']


def test_tiled_equals_untiled_for_a_conv_net(srcnn):
    x = image((70, 90, 3)).astype(np.float32) / 255
    whole = Restorer(srcnn['pth'], opt=srcnn['opt'], device='cpu').restore(x)
    # SRCNN x2 sees 6 input pixels around each output pixel: a 28 px overlap (7 px margin) covers it
    tiled = Restorer(srcnn['pth'], opt=srcnn['opt'], device='cpu', tile=32, tile_overlap=28).restore(x)
    assert whole.shape == tiled.shape == (140, 180, 3)
    assert np.abs(whole - tiled).max() <= 1e-4


def test_channels_last_on_the_cpu_gives_the_contiguous_output(srcnn):
    """The CPU default runs the net channels-last (faster convolutions); the output is the same to float rounding."""
    x = image((40, 52, 3)).astype(np.float32) / 255
    fast = Restorer(srcnn['pth'], opt=srcnn['opt'], device='cpu', tile=32, self_ensemble=True)
    plain = Restorer(srcnn['pth'], opt=srcnn['opt'], device='cpu', tile=32, self_ensemble=True, channels_last=False)
    assert fast.memory_format == torch.channels_last and plain.memory_format == torch.contiguous_format
    assert next(fast.net.parameters()).is_contiguous(memory_format=torch.channels_last)
    assert np.abs(fast.restore(x) - plain.restore(x)).max() <= 1e-5


def test_tiled_swin2sr_within_005_db(tmp_path):
    pth = save_net(tmp_path / 'swin.pth', SWIN)
    gt = image((72, 80, 3)).astype(np.float32) / 255
    noisy = (gt + np.random.default_rng(0).normal(0, 0.05, gt.shape)).clip(0, 1).astype(np.float32)
    whole = Restorer(pth, network=SWIN, device='cpu').restore(noisy)
    tiled = Restorer(pth, network=SWIN, device='cpu', tile=48, tile_overlap=24).restore(noisy)
    assert whole.shape == tiled.shape == gt.shape
    psnr = [calculate_psnr(o * 255, gt * 255, crop_border=0) for o in (whole, tiled)]
    assert abs(psnr[0] - psnr[1]) <= 0.05 and np.abs(whole - tiled).max() > 0  # tiles do differ, a little


def test_coef_zero_is_the_base_network_bit_for_bit(tmp_path):
    base = save_net(tmp_path / 'base.pth', BASE)
    modulated = save_net(tmp_path / 'adafm.pth', ADAFM, seed=1)
    x = image((32, 32, 3)).astype(np.float32) / 255
    at_zero = Restorer(modulated, network=ADAFM, coef=0, device='cpu')
    # the modulated checkpoint's base weights, run without the AdaFM layers
    base_of_modulated = tmp_path / 'base_of_modulated.pth'
    state = torch.load(modulated, weights_only=True)['params']
    torch.save({'params': {k: v for k, v in state.items() if '.adafm.' not in k}}, base_of_modulated)
    plain = Restorer(str(base_of_modulated), network=BASE, device='cpu')
    assert np.array_equal(at_zero.restore(x), plain.restore(x))
    assert not np.array_equal(Restorer(modulated, network=ADAFM, coef=1, device='cpu').restore(x), plain.restore(x))
    assert base  # a separately trained base is a different network; coef 0 is the modulated file's own base


def test_dni_endpoints_are_the_two_checkpoints(tmp_path):
    a, b = save_net(tmp_path / 'a.pth', BASE, seed=0), save_net(tmp_path / 'b.pth', BASE, seed=1)
    x = image((24, 24, 3)).astype(np.float32) / 255
    only_a = Restorer(a, network=BASE, device='cpu').restore(x)
    only_b = Restorer(b, network=BASE, device='cpu').restore(x)
    assert np.array_equal(Restorer(a, network=BASE, dni=b, alpha=0, device='cpu').restore(x), only_a)
    assert np.array_equal(Restorer(a, network=BASE, dni=b, alpha=1, device='cpu').restore(x), only_b)
    half = Restorer(a, network=BASE, dni=b, alpha=0.5, device='cpu').restore(x)
    assert not np.array_equal(half, only_a) and not np.array_equal(half, only_b)


def test_batched_equals_one_by_one(srcnn):
    restorer = Restorer(srcnn['pth'], opt=srcnn['opt'], device='cpu', batch_size=2)
    images = [image((16, 16, 3), seed=i) for i in range(3)] + [image((20, 12, 3))]
    for batched, single in zip(restorer.restore_many(images), [restorer.restore(img) for img in images]):
        assert np.array_equal(batched, single)


def test_zoo_entries_are_verified_and_a_damaged_copy_is_refused(tmp_path):
    pth = save_net(tmp_path / 'tiny_x2.pth', SRCNN)
    entry = {
        'task': 'sr',
        'file': 'tiny_x2.pth',
        'sha256': file_sha256(pth),
        'network_g': SRCNN,
        'command': 'made by the test',
        'data': 'none',
        'figures': {'psnr': 1.0},
    }
    zoo_file = tmp_path / 'zoo.yml'
    zoo_file.write_text(yaml.safe_dump({'tiny_x2': entry}))
    zoo = load_zoo(str(zoo_file))
    assert describe(zoo['tiny_x2']).startswith('tiny_x2  sr  SRCNN')
    assert 'input: x2 LR made by MATLAB-style or PIL bicubic or OpenCV INTER_AREA' in describe(load_zoo()['srcnn_x2'])
    assert 'cv2.INTER_CUBIC LR -> msrresnet_x2_cv2' in describe(load_zoo()['srcnn_x2'])
    assert zoo['tiny_x2'].verify() is zoo['tiny_x2']
    data = bytearray(open(pth, 'rb').read())
    data[len(data) // 2] ^= 0xFF
    open(pth, 'wb').write(bytes(data))
    with pytest.raises(UserError, match=r'tiny_x2\.pth: sha256 .* does not match .* \(a damaged or edited copy'):
        zoo['tiny_x2'].verify()
    zoo_file.write_text(yaml.safe_dump({'tiny_x2': {**entry, 'task': 'colourise'}}))
    with pytest.raises(UserError, match=r'tiny_x2\.task: expected one of aos, sr, denoise, modulation'):
        load_zoo(str(zoo_file))
    zoo_file.write_text(yaml.safe_dump({'tiny_x2': {**entry, 'figures': 'PSNR 30'}}))
    with pytest.raises(UserError, match=r"tiny_x2\.figures: expected a mapping \(name: value\), got 'PSNR 30'"):
        load_zoo(str(zoo_file))


def test_basicsr_checkpoint_with_params_ema_and_its_option_file(tmp_path):
    """A BasicSR zoo file (params + params_ema) and the option file it was trained with."""
    net = {'type': 'MSRResNet', 'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': 8, 'num_block': 1, 'upscale': 2}
    pth = tmp_path / 'msrresnet.pth'
    torch.manual_seed(0)
    state = build_network(dict(net)).state_dict()
    torch.save({'params': state, 'params_ema': {k: v + 0.01 for k, v in state.items()}}, pth)
    opt = write_yaml(tmp_path / 'msrresnet.yml', {'name': 'x', 'scale': 2, 'network_g': net})
    ema = Restorer(str(pth), opt=str(opt), param_key='params_ema', device='cpu')
    raw = Restorer(str(pth), opt=str(opt), param_key='params', device='cpu')
    x = image((12, 12, 3)).astype(np.float32) / 255
    assert ema.scale == 2 and ema.restore(x).shape == (24, 24, 3)
    assert not np.array_equal(ema.restore(x), raw.restore(x))
    # auto (the default): the group BasicSR uses with the option file, and why
    by_default = Restorer(str(pth), opt=str(opt), device='cpu')  # no EMA trained, no param_key_g: params
    assert (by_default.param_key, by_default.param_key_why) == ('params', 'what its validation scored: no EMA')
    assert np.array_equal(by_default.restore(x), raw.restore(x))
    trained = write_yaml(
        tmp_path / 'trained.yml', {'name': 'x', 'scale': 2, 'network_g': net, 'train': {'ema_decay': 0.999}}
    )
    assert Restorer(str(pth), opt=str(trained), device='cpu').param_key == 'params_ema'
    named = write_yaml(tmp_path / 'test.yml', {'name': 'x', 'network_g': net, 'path': {'param_key_g': 'params_ema'}})
    restorer = Restorer(str(pth), opt=str(named), device='cpu')
    assert (restorer.param_key, restorer.param_key_why) == ('params_ema', "the option file's path.param_key_g")
    assert np.array_equal(restorer.restore(x), ema.restore(x))
    with pytest.raises(UserError, match="--param-key: expected one of auto, params, params_ema, got 'ema'"):
        Restorer(str(pth), opt=str(opt), param_key='ema', device='cpu')


def test_inference_benchmark_runs():
    run = run_script('benchmark_inference', ['--only', 'aos', '--size', '64', '--tile', '32', '--repeats', '1'])
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[1].split() == ['what', 's/image', 'images/s'] and len(lines) == 6
    assert 'AOS 64 px, tiles of 32, self-ensemble x8' in run.stdout


def test_restore_cli_takes_the_aos_zoo_model_on_a_grey_integral(tmp_path):
    """--model aos_sim2real: the 0 m integral as a grey PNG (the model takes one plane), scored against its GT."""
    rng = np.random.default_rng(0)
    gt = np.full((64, 64), 100, np.uint8)
    gt[28:36, 30:34] = 250
    integral = gt.copy()
    integral[8:24] = np.clip(190 + 25 * rng.standard_normal((16, 64)), 0, 255).astype(np.uint8)
    (tmp_path / 'in').mkdir(), (tmp_path / 'gt').mkdir()
    cv2.imwrite(str(tmp_path / 'in' / 'integral.png'), integral)
    cv2.imwrite(str(tmp_path / 'gt' / 'integral.png'), gt)
    folders = ['--input', tmp_path / 'in', '--output', tmp_path / 'out', '--gt', tmp_path / 'gt']
    run = run_script('restore', ['--model', 'aos_sim2real', *folders])
    assert run.returncode == 0, run.stderr
    out = cv2.imread(str(tmp_path / 'out' / 'integral.png'), cv2.IMREAD_UNCHANGED)
    assert out.shape == (64, 64) and out.dtype == np.uint8
    assert calculate_psnr(out, gt, crop_border=0) > calculate_psnr(integral, gt, crop_border=0)
    rows = list(csv.DictReader(open(tmp_path / 'out' / 'report.csv')))  # the baseline: the input, the integral
    assert float(rows[0]['baseline_psnr']) == pytest.approx(calculate_psnr(integral, gt, crop_border=0))
    assert rows[0]['below_baseline'] == 'false' and 'baseline: the input' in run.stdout


def test_a_missing_file_read_with_cv2_is_named_in_the_python_api(srcnn, tmp_path):
    restorer = Restorer(srcnn['pth'], opt=srcnn['opt'], device='cpu')
    missing = cv2.imread(str(tmp_path / 'no_such.png'))  # None, as cv2 gives for any unreadable path
    with pytest.raises(UserError, match=r'got None \(cv2.imread returns None for a missing or unreadable file\)'):
        restorer.restore(missing)
    with pytest.raises(UserError, match='got None'):
        Restorer('aos_sim2real', device='cpu').restore(missing)


def test_a_path_is_read_and_a_missing_path_is_named_in_the_python_api(srcnn, tmp_path):
    restorer = Restorer(srcnn['pth'], opt=srcnn['opt'], device='cpu')
    img = np.random.default_rng(0).integers(0, 256, (20, 24, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / 'in.png'), img)
    assert np.array_equal(restorer.restore(str(tmp_path / 'in.png')), restorer.restore(img))
    assert np.array_equal(restorer.restore(tmp_path / 'in.png'), restorer.restore(img))  # a pathlib.Path too
    with pytest.raises(UserError, match=f'^{tmp_path / "no_such.png"}: image not found$'):
        restorer.restore(str(tmp_path / 'no_such.png'))
    grey = img[..., 0]
    cv2.imwrite(str(tmp_path / 'integral.png'), grey)
    aos = Restorer('aos_person0', device='cpu')
    assert np.array_equal(aos.restore(tmp_path / 'integral.png'), aos.restore(grey))
    with pytest.raises(UserError, match='no_such.png: image not found'):
        aos.restore(str(tmp_path / 'no_such.png'))


def test_alpha_is_kept_and_a_float_tiff_comes_back_as_a_float_tiff(srcnn, tmp_path):
    restorer = Restorer(srcnn['pth'], opt=srcnn['opt'], device='cpu')
    bgra = np.dstack([image((20, 24, 3)), image((20, 24), seed=5)])
    out = restorer.restore(bgra)
    assert out.shape == (40, 48, 4) and out.dtype == np.uint8
    assert np.array_equal(out[..., :3], restorer.restore(bgra[..., :3]))  # the colour is restored as without alpha
    alpha = cv2.resize(bgra[..., 3].astype(np.float32) / 255, (48, 40), interpolation=cv2.INTER_CUBIC).clip(0, 1)
    assert np.array_equal(out[..., 3], np.rint(alpha * 255).astype(np.uint8))  # resized, not restored
    assert 'alpha channel kept: resized by bicubic interpolation, not restored' in restorer.notes
    inputs = tmp_path / 'in'
    inputs.mkdir()
    cv2.imwrite(str(inputs / 'rgba.png'), bgra)
    flt = image((20, 24, 3), seed=6).astype(np.float32) / 255
    cv2.imwrite(str(inputs / 'float.tiff'), flt)  # a float32 TIFF
    run = run_script(
        'restore', ['--model', srcnn['pth'], '--opt', srcnn['opt'], '--input', inputs, '--output', tmp_path / 'o']
    )
    assert run.returncode == 0, run.stderr
    assert np.array_equal(cv2.imread(str(tmp_path / 'o' / 'rgba.png'), cv2.IMREAD_UNCHANGED), out)
    written = cv2.imread(str(tmp_path / 'o' / 'float.tiff'), cv2.IMREAD_UNCHANGED)  # not a PNG of 0s and 1s
    assert written.dtype == np.float32 and written.shape == (40, 48, 3)
    assert np.allclose(written, restorer.restore(flt)) and not (tmp_path / 'o' / 'float.png').exists()


@pytest.mark.parametrize('orientation', [1, 3, 6, 8])
def test_the_exif_orientation_of_a_photo_is_applied(srcnn, tmp_path, orientation):
    from PIL import Image, ImageOps

    img = np.kron(image((5, 8, 3)), np.ones((4, 4, 1), np.uint8))  # blocks: JPEG keeps them
    exif = Image.new('RGB', (1, 1)).getexif()
    exif[0x0112] = orientation
    path = tmp_path / 'photo.jpg'
    Image.fromarray(img[..., ::-1]).save(path, exif=exif, quality=95)
    upright = np.asarray(ImageOps.exif_transpose(Image.open(path)))[..., ::-1]  # as a viewer shows it, BGR
    got = read_image(str(path))
    assert got.shape == upright.shape == ((32, 20, 3) if orientation in (6, 8) else (20, 32, 3))
    assert np.array_equal(got, upright)
    restorer = Restorer(srcnn['pth'], opt=srcnn['opt'], device='cpu')
    assert restorer.restore(path).shape == (2 * upright.shape[0], 2 * upright.shape[1], 3)


def test_one_restorer_class_for_images_and_focal_stacks(tmp_path):
    from basicsr_ext.aos.focal_stack import write_focal_stack
    from basicsr_ext.inference import ModelDescriptor
    from basicsr_ext.inference.aos_inputs import load_input

    sr, aos = Restorer('srcnn_x2', device='cpu'), Restorer('aos_person', device='cpu')
    assert type(sr) is type(aos) is Restorer
    assert isinstance(sr.descriptor, ModelDescriptor) and isinstance(aos.descriptor, ModelDescriptor)
    assert (sr.descriptor.task, sr.scale, sr.heights, sr.descriptor.composable) == ('sr', 2, None, False)
    assert (aos.descriptor.task, aos.scale, aos.heights, aos.descriptor.composable) == ('aos', 1, [0.0, 0.4, 0.8], True)
    stack = image((3, 40, 48), seed=3)
    path = tmp_path / 'stack.tiff'
    write_focal_stack(str(path), stack, [0.0, 0.4, 0.8])
    restored, _, _ = aos.restore_sample(load_input(str(path))[0])
    assert np.array_equal(aos.restore(path), restored) and restored.dtype == np.uint8  # a stack path restores
    with pytest.raises(UserError, match=r'takes 3 planes .* give a stack path, or arrays to restore_stack'):
        aos.restore(stack[0])
    with pytest.raises(UserError, match='^restore_stack: for AOS restorers'):
        sr.restore_stack(stack / 255.0)
    with pytest.raises(UserError, match='^--multipass: for AOS restorers'):
        Restorer('srcnn_x2', device='cpu', multipass=2)
