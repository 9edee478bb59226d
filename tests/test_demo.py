"""The web demo (scripts/demo.py): started on a free local port in this process, driven through Gradio's client API
on tiny inputs made here, as a browser would drive it (tab 1 AOS, tab 2 modulation, tab 3 zoo, bad uploads)."""

import os
import socket
import subprocess
import sys
from os import path as osp

import cv2
import numpy as np
import pytest
import torch

from conftest import REPO, free_port

gr = pytest.importorskip('gradio')
client_lib = pytest.importorskip('gradio_client')

from basicsr_ext.aos.focal_stack import write_focal_stack  # noqa: E402
from basicsr_ext.aos.simulator import simulate  # noqa: E402
from basicsr_ext.demo.app import DEFAULT_HOST, build_app, build_parser, launch, main  # noqa: E402
from basicsr_ext.demo.handlers import MULTIPASS  # noqa: E402
from basicsr_ext.inference.restorer import Restorer  # noqa: E402
from basicsr_ext.inference.zoo import resolve  # noqa: E402

# pandas 3 deprecations inside Gradio's queue, not ours
pytestmark = [
    pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting' is deprecated"),
    pytest.mark.filterwarnings('ignore:The copy keyword is deprecated'),
]
TIFF_EXAMPLE = 'simulated 0_2: TIFF, 3 planes, GT'
PHOTO = 'coffee (scikit-image photo)'  # an upload is used instead of the example


@pytest.fixture(scope='module')
def client(tmp_path_factory):
    app = build_app(cache=str(tmp_path_factory.mktemp('demo_cache')))  # its own: pytest-xdist workers run in parallel
    url = launch(app, DEFAULT_HOST, free_port(), block=False)
    assert url.startswith('http://127.0.0.1:')
    downloads = tmp_path_factory.mktemp('downloads')
    try:
        yield client_lib.Client(url, verbose=False, download_files=str(downloads), analytics_enabled=False)
    finally:
        app.close()


def upload(*paths):
    return [client_lib.handle_file(str(p)) for p in paths]


def read(path):
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert img is not None, path
    return img


def error_of(client, *args, api_name):
    with pytest.raises(client_lib.exceptions.AppError) as info:
        client.predict(*args, api_name=api_name)
    message = str(info.value)
    assert 'Traceback' not in message and 'basicsr-ext-demo-' not in message  # one line, the file by its own name
    return message


def stack_of(size, planes, seed=0):
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (planes, size // 4, size // 4), dtype=np.uint8)
    return np.stack([cv2.resize(p, (size, size), interpolation=cv2.INTER_CUBIC) for p in small])


def test_aos_tiff_upload_with_gt_plane_choice_and_toggles(client, tmp_path):
    stack = stack_of(48, 3)
    tiff = tmp_path / 'mine.tiff'
    write_focal_stack(str(tiff), stack, [0.0, 0.4, 0.8], person={'x': 0.0, 'y': 0.0, 'shape': 'idle'})
    cv2.imwrite(str(tmp_path / 'mine_gt.png'), stack[1])
    files = upload(tiff, tmp_path / 'mine_gt.png')
    integral, restored, gt, info, png = client.predict(
        TIFF_EXAMPLE, files, '0.4', False, False, api_name='/aos_restore'
    )
    out = read(png)
    assert out.shape == (48, 48) and out.dtype == np.uint8 and osp.basename(png) == 'mine_restored.png'
    expected = Restorer('aos_person', device='cpu', self_ensemble=False).restore_stack(
        stack.astype(np.float32) / 255.0
    )  # the 0, 0.4 and 0.8 m planes
    assert np.array_equal(out, np.clip(np.rint(expected * 255.0), 0, 255).astype(np.uint8))
    for view in (integral, restored, gt):
        assert read(view).shape == (48, 48, 3)
    assert read(integral)[0, 0, 0] == stack[1][0, 0]  # the 0.4 m plane is shown
    assert np.any(np.all(read(restored) == (0, 0, 255), axis=2))  # the person window, red (BGR as cv2 reads it)
    assert 'planes at 0, 0.4, 0.8 m' in info and 'PSNR (dB)' in info and 'row 24, column 24' in info
    assert 'aos_person' in info and 'oracle constant' in info and 'person contrast kept' in info
    # self-ensemble and multi-pass: the restorer's own results
    _, _, _, info, png = client.predict(TIFF_EXAMPLE, files, '0', True, True, api_name='/aos_restore')
    both = Restorer('aos_person', device='cpu', self_ensemble=True, multipass=MULTIPASS)
    expected = both.restore_stack(stack.astype(np.float32) / 255.0)
    assert np.array_equal(read(png), np.clip(np.rint(expected * 255.0), 0, 255).astype(np.uint8))
    assert 'self-ensemble x8' in info and f'multi-pass: up to {MULTIPASS}' in info


def test_aos_raw_views_and_plane_pngs(client, tmp_path):
    simulate(str(tmp_path / 'raw'), 1, seed=0, size=32, workers=1, progress=False)
    raw = sorted((tmp_path / 'raw').iterdir())
    assert len(raw) == 13  # 11 views, GT, Parameters.txt
    integral, restored, gt, info, png = client.predict(
        TIFF_EXAMPLE, upload(*raw), None, False, False, api_name='/aos_restore'
    )
    assert read(png).shape == (32, 32) and read(gt).shape == (32, 32, 3)
    assert 'raw 11 views' in info and 'planes at 0, 0.4, 0.8 m' in info
    planes = tmp_path / 'planes'
    planes.mkdir()
    for name, plane in zip(('000.png', '040.png', '080.png'), stack_of(40, 3, seed=1)):
        cv2.imwrite(str(planes / name), plane)
    _, _, gt, info, png = client.predict(
        TIFF_EXAMPLE, upload(*sorted(planes.iterdir())), '', False, False, api_name='/aos_restore'
    )
    assert read(png).shape == (40, 40) and gt is None and 'plane PNGs' in info and 'unknown' in info


def test_aos_bundled_example(client):
    integral, restored, gt, info, png = client.predict(TIFF_EXAMPLE, None, None, False, False, api_name='/aos_restore')
    assert read(png).shape == (512, 512) and read(gt).shape == (512, 512, 3)
    assert 'shown: the 0 m plane' in info and 'person PSNR' in info


def test_modulation_coefficient_zero_is_the_base_network(client, tmp_path):
    rng = np.random.default_rng(0)
    clean = cv2.resize(rng.integers(0, 256, (8, 12, 3), dtype=np.uint8), (48, 32), interpolation=cv2.INTER_CUBIC)
    cv2.imwrite(str(tmp_path / 'photo.png'), clean)
    file = upload(tmp_path / 'photo.png')[0]
    noisy, out0, info, png = client.predict(PHOTO, file, 'adafm_denoise', 25, 0.0, api_name='/modulate')
    noisy, out0 = read(noisy), read(out0)
    assert noisy.shape == out0.shape == read(png).shape == (32, 48, 3)
    assert np.array_equal(out0, read(png)) and not np.array_equal(noisy, clean)
    assert 'noisy' in info and 'output' in info and 'dB' in info
    # the base network: the zoo file's weights without the AdaFM layers, built without modulation
    entry = resolve('adafm_denoise')
    state = torch.load(entry.path, weights_only=True)['params']
    base_pth = tmp_path / 'base.pth'
    torch.save({'params': {k: v for k, v in state.items() if '.adafm.' not in k}}, base_pth)
    network = {k: v for k, v in entry.network().items() if k != 'modulation'}
    assert np.array_equal(out0, Restorer(str(base_pth), network=network, device='cpu').restore(noisy))
    _, out1, _, _ = client.predict(PHOTO, file, 'adafm_denoise', 25, 1.0, api_name='/modulate')
    assert not np.array_equal(read(out1), out0)
    noisy, _, info, _ = client.predict(PHOTO, file, 'adafm_denoise', 0, 0.5, api_name='/modulate')
    assert np.array_equal(read(noisy), clean) and 'no PSNR' in info


def test_zoo_tab_any_model(client, tmp_path):
    rng = np.random.default_rng(1)
    cv2.imwrite(str(tmp_path / 'small.png'), rng.integers(0, 256, (32, 40, 3), dtype=np.uint8))
    cv2.imwrite(str(tmp_path / 'grey.png'), rng.integers(0, 256, (32, 32), dtype=np.uint8))
    shown, out, info, png = client.predict(
        PHOTO, upload(tmp_path / 'small.png')[0], 'srcnn_x2', False, api_name='/zoo_restore'
    )
    assert read(shown).shape == (32, 40, 3) and read(out).shape == read(png).shape == (64, 80, 3)
    assert '40x32 -> 80x64' in info
    _, out, info, png = client.predict(
        PHOTO, upload(tmp_path / 'grey.png')[0], 'aos_sim2real', False, api_name='/zoo_restore'
    )
    assert read(png).shape == (32, 32) and 'aos_sim2real' in info
    assert info.count('note: aos_sim2real is a training stage') == 1  # said on every call, once
    cv2.imwrite(str(tmp_path / 'wide.png'), rng.integers(0, 256, (12, 1030, 3), dtype=np.uint8))  # > 1024: tiles
    _, out, _, _ = client.predict(PHOTO, upload(tmp_path / 'wide.png')[0], 'srcnn_x2', False, api_name='/zoo_restore')
    assert read(out).shape == (24, 2060, 3)


def test_bad_uploads_give_one_clear_line(client, tmp_path):
    (tmp_path / 'holiday.png').write_bytes(b'this is not an image')
    (tmp_path / 'stack.tiff').write_bytes(b'II*\x00 not really a tiff')
    bad_png = upload(tmp_path / 'holiday.png')[0]
    message = error_of(client, PHOTO, bad_png, 'srcnn_x2', False, api_name='/zoo_restore')
    assert message.startswith('holiday.png: cannot read the image')
    message = error_of(client, PHOTO, bad_png, 'adafm_denoise', 25, 0.5, api_name='/modulate')
    assert message.startswith('holiday.png: cannot read the image')
    message = error_of(
        client, TIFF_EXAMPLE, upload(tmp_path / 'stack.tiff'), None, False, False, api_name='/aos_restore'
    )
    assert message.startswith('stack.tiff: cannot read focal stack')
    message = error_of(
        client, TIFF_EXAMPLE, upload(tmp_path / 'holiday.png'), None, False, False, api_name='/aos_restore'
    )
    assert 'holiday.png' in message
    write_focal_stack(str(tmp_path / 'high.tiff'), stack_of(32, 2), [0.4, 0.8])  # no 0 m plane
    message = error_of(
        client, TIFF_EXAMPLE, upload(tmp_path / 'high.tiff'), None, False, False, api_name='/aos_restore'
    )
    assert message.startswith('high.tiff: no plane at 0 m')
    big = tmp_path / 'big.png'
    cv2.imwrite(str(big), np.zeros((8, 4100), np.uint8))
    message = error_of(client, PHOTO, upload(big)[0], 'srcnn_x2', False, api_name='/zoo_restore')
    assert message.startswith('big.png: 4100x8 px is more than the demo takes')
    colour = tmp_path / 'colour.png'
    cv2.imwrite(str(colour), np.random.default_rng(2).integers(0, 256, (16, 16, 3), dtype=np.uint8))
    message = error_of(client, PHOTO, upload(colour)[0], 'aos_sim2real', False, api_name='/zoo_restore')
    assert 'grey integral' in message


def test_import_has_no_side_effects_and_binds_to_localhost(capsys):
    code = 'import sys, basicsr_ext.demo.app, basicsr_ext.demo.handlers; assert "gradio" not in sys.modules'
    subprocess.run([sys.executable, '-c', code], check=True, cwd=REPO, env={**os.environ, 'PYTHONPATH': REPO})
    args = build_parser().parse_args([])
    assert args.host == '127.0.0.1' and args.port == 7860 and args.device == 'cpu' and not hasattr(args, 'share')
    with socket.socket() as taken:  # a taken port fails at once, with one line
        taken.bind(('127.0.0.1', 0))
        port = taken.getsockname()[1]
        assert main(['--port', str(port)]) == 2
    assert capsys.readouterr().err.strip().endswith('cannot serve there (Address already in use); try --port N')
