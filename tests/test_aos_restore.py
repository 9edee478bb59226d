"""scripts/aos_restore.py and basicsr_ext.inference: every input layout, odd sizes, tiling, SE/MP, report, errors."""

import csv
import json
import os
import sys
from os import path as osp

import cv2
import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from basicsr_ext.aos.focal_stack import write_focal_stack
from basicsr_ext.aos.gt_person import locate_person
from basicsr_ext.aos.inputs import height_from_name
from basicsr_ext.aos.simulator import simulate
from basicsr_ext.inference import Restorer, export_restorer, load_input
from basicsr_ext.utils.errors import UserError

from conftest import REPO, write_yaml

sys.path.insert(0, osp.join(REPO, 'scripts'))
import aos_restore  # noqa: E402
import export_restorer as export_script  # noqa: E402

HEIGHTS = [0.0, 0.4]
NETWORK_G = {
    'type': 'Swin2SR',
    'img_size': 16,
    'in_chans': 2,
    'embed_dim': 8,
    'depths': [1],
    'num_heads': [2],
    'window_size': 4,
    'mlp_ratio': 2,
    'upsampler': '',
    'gray_head': True,
    'drop_path_rate': 0,
}


@pytest.fixture(scope='module')
def model(tmp_path_factory):
    """A tiny 2-plane Swin2SR (0 and 0.4 m) with random weights: a BasicSR checkpoint, its option file, the export."""
    from basicsr.archs import build_network

    root = tmp_path_factory.mktemp('model')
    torch.manual_seed(0)
    net = build_network(dict(NETWORK_G))
    torch.nn.init.normal_(net.conv_last.weight, std=0.01)  # not the identity, so outputs differ from the input
    torch.save({'params': net.state_dict()}, root / 'net_g_4.pth')
    opt = write_yaml(
        root / 'train.yml',
        {
            'name': 'tiny',
            'model_type': 'AOSRestorationModel',
            'prepare_data': [{'type': 'aos_synthetic', 'root': 'x', 'heights': [0.0, 0.4, 1.0]}],
            'datasets': {'train': {'type': 'AOSFocalStackDataset', 'heights': HEIGHTS}},
            'network_g': NETWORK_G,
        },
    )
    out = root / 'restorer.pth'
    result = export_restorer(str(root / 'net_g_4.pth'), opt, str(out), {'command': 'test'})
    assert result['meta']['heights'] == HEIGHTS and len(result['sha256']) == 64
    return {'pth': str(out), 'plain': str(root / 'net_g_4.pth'), 'opt': opt, 'root': root}


def stack_of(size, planes=3, seed=0):
    rng = np.random.default_rng(seed)
    h, w = size
    small = rng.integers(0, 200, (planes, max(2, h // 8), max(2, w // 8)), dtype=np.uint8)
    return np.stack([cv2.resize(p, (w, h), interpolation=cv2.INTER_LINEAR) for p in small])


def restore(argv, model, capsys=None):
    aos_restore.main([*argv, '--model', model['pth'], '--device', 'cpu'])
    return capsys.readouterr().out if capsys else None


def read(path):
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert img is not None, path
    return img


def error_of(argv, capsys):
    with pytest.raises(SystemExit) as info:
        aos_restore.main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith('aos_restore: error: ') and '\n' not in err
    return err


def test_export_meta_and_restorer_api(model):
    ckpt = torch.load(model['pth'], weights_only=True)
    assert set(ckpt) == {'params', 'meta', 'digest'} and ckpt['meta']['network_g'] == NETWORK_G  # digest: utils.file_io
    assert ckpt['meta']['param_key'] == 'params' and ckpt['meta']['command'] == 'test'
    restorer = Restorer(model['pth'], device='cpu')
    assert restorer.heights == HEIGHTS
    out = restorer.restore_stack(np.random.default_rng(0).random((2, 21, 13), dtype=np.float32))
    assert out.shape == (21, 13) and out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1
    # a plain BasicSR checkpoint with its option file gives the same net
    plain = Restorer(model['plain'], opt=model['opt'], device='cpu')
    x = np.random.default_rng(1).random((2, 16, 16), dtype=np.float32)
    assert np.array_equal(plain.restore_stack(x), restorer.restore_stack(x))


def test_export_script(model, tmp_path, capsys):
    export_script.main([model['plain'], model['opt'], str(tmp_path / 'w.pth')])
    assert 'sha256' in capsys.readouterr().out and osp.isfile(tmp_path / 'w.pth')
    with pytest.raises(SystemExit) as info:
        export_script.main([str(tmp_path / 'absent.pth'), model['opt'], str(tmp_path / 'x.pth')])
    assert info.value.code == 2 and 'absent.pth' in capsys.readouterr().err


def test_tiff_with_metadata_and_lzw_tiff_with_heights(model, tmp_path, capsys):
    ours = tmp_path / 'in' / 'ours_integral.tiff'
    os.makedirs(ours.parent)
    write_focal_stack(str(ours), stack_of((32, 32)), [0.0, 0.4, 1.0])
    pages = [Image.fromarray(p) for p in stack_of((24, 40), planes=2, seed=1)]
    lzw = tmp_path / 'in' / 'lzw.tif'
    pages[0].save(lzw, save_all=True, append_images=pages[1:], compression='tiff_lzw')
    out = tmp_path / 'out'
    restore(['--input', str(ours), '--output', str(out), '--heights', '0', '0.4'], model)
    restore(['--input', str(lzw), '--output', str(out), '--heights', '0', '0.4'], model)
    assert read(out / 'ours_integral.png').shape == (32, 32) and read(out / 'lzw.png').shape == (24, 40)
    assert read(out / 'lzw.png').dtype == np.uint8 and osp.isfile(out / 'montages' / 'lzw.png')
    assert not osp.exists(out / 'report.md')  # no GT, no report
    # the LZW TIFF without metadata needs --heights
    err = error_of(['--input', str(lzw), '--output', str(out), '--model', model['pth']], capsys)
    assert 'lzw.tif' in err and '--heights' in err


def test_plane_folder_with_gt_report(model, tmp_path, capsys):
    parent = tmp_path / 'samples'
    for i, name in enumerate(['sample_33', 'sample_34']):
        folder = parent / name
        os.makedirs(folder)
        stack = stack_of((32, 32), planes=3, seed=i)
        for plane, h in zip(stack, ['000', '040', '080']):
            cv2.imwrite(str(folder / f'{h}.png'), cv2.cvtColor(plane, cv2.COLOR_GRAY2BGR))  # 3 equal channels
        gt = np.full((32, 32), 60, np.uint8)
        gt[10:14, 20:23] = 250  # the person
        cv2.imwrite(str(folder / 'gt.png'), gt)
    out = tmp_path / 'out'
    text = restore(
        ['--input', str(parent), '--output', str(out), '--gt', str(parent), '--self-ensemble'], model, capsys
    )
    assert read(out / 'sample_33.png').shape == (32, 32) and osp.isfile(out / 'montages' / 'sample_34.png')
    rows = list(csv.DictReader(open(out / 'report.csv')))
    methods = ['integral', 'oracle constant', 'blind constant', 'restored']
    assert [(r['sample'], r['method']) for r in rows] == [(s, m) for s in ('sample_33', 'sample_34') for m in methods]
    scores = {'psnr', 'ssim', 'background_psnr', 'person_psnr', 'person_mask_psnr', 'contrast', 'found'}
    assert scores <= set(rows[0])
    restored, oracle = rows[3], rows[1]
    assert restored['person'] == 'GT brightest blob' and float(restored['person_psnr']) > 0
    assert float(oracle['contrast']) == 0 and float(oracle['found']) == 0 and oracle['background_psnr'] == 'inf'
    assert float(restored['candidate_m']) >= 0
    md = open(out / 'report.md').read()
    assert md.startswith('Mean over 2 sample(s); person scores over the 2 with a person in the GT.')
    assert '| oracle constant | ' in md and '| sample_34 | restored |' in md and md in text
    persons = list(csv.DictReader(open(out / 'persons.csv')))
    assert persons[0]['input'] == 'sample_33' and persons[0]['rank'] == '1'
    doc = json.load(open(out / 'sample_33_persons.json'))
    assert doc['camera'] == 'course camera (assumed)' and doc['candidates'][0]['x_m'] == float(persons[0]['x_m'])


def test_a_shifted_gt_is_named_and_align_gt_scores_against_it_moved_back(model, tmp_path, capsys):
    folder = tmp_path / 'samples' / 'sample_9'
    os.makedirs(folder)
    planes = np.full((3, 64, 64), 115, np.uint8)
    planes[:, 20:30, 20:26] = 210  # an unoccluded person in every plane
    for plane, h in zip(planes, ['000', '040', '080']):
        cv2.imwrite(str(folder / f'{h}.png'), plane)
    gt = np.full((64, 64), 115, np.uint8)
    gt[20:30, 24:30] = 255  # the GT's person 4 px right of the integral's (32 px at 512 px)
    cv2.imwrite(str(folder / 'gt.png'), gt)
    scores = {}
    for flag in ([], ['--align-gt']):
        out = tmp_path / f'out{len(flag)}'
        text = restore(['--input', str(folder), '--output', str(out)] + flag, model, capsys)
        assert 'sample_9: the GT person lies (+0, +4) px (rows, cols) from the integral' in text
        md = open(out / 'report.md').read()
        assert '- sample_9: (+0, +4), ' + ('scored against the GT moved back' if flag else 'scored as it is') in md
        rows = {r['method']: r for r in csv.DictReader(open(out / 'report.csv'))}
        scores[bool(flag)] = float(rows['integral']['psnr'])
    assert scores[True] > scores[False] + 3  # the integral matches the GT moved back


def test_plane_scale_per_input(model, tmp_path, capsys):
    """Two plane-folder layouts in one call: 3-digit centimetre names and 0.1 m steps (one --plane-scale each)."""
    cm, dm = tmp_path / 'sample_1', tmp_path / '000009'
    os.makedirs(cm)
    os.makedirs(dm)
    stack = stack_of((32, 32), planes=5)
    for plane, name in zip(stack, ['000', '040', '080']):
        cv2.imwrite(str(cm / f'{name}.png'), plane)
    for i, k in enumerate([0, 2, 3, 4, 1]):  # 0.0, 0.1, ..., 0.4 m: 0 and 0.4 m are the other folder's 0 and 0.4 m
        cv2.imwrite(str(dm / f'000009_{i:02d}.png'), stack[k])
    out = tmp_path / 'out'
    restore(['--input', str(cm), str(dm), '--output', str(out), '--plane-scale', '0.01', '0.1'], model)
    # both have the model's planes 0 and 0.4 m, at the same pixels: the same output
    np.testing.assert_array_equal(read(out / 'sample_1.png'), read(out / '000009.png'))
    argv = ['--input', str(cm), str(dm), '--output', str(out), '--model', model['pth'], '--plane-scale', '1', '2', '3']
    assert 'one per --input item (2), got 3' in error_of(argv, capsys)
    # one scale for both: 000009_04 is then 0.04 m, so 0.4 m is missing (one line naming it)
    argv = ['--input', str(dm), '--output', str(out), '--model', model['pth'], '--plane-scale', '0.01']
    assert '0.4' in error_of(argv, capsys)


def test_raw_sample_odd_size_tiles_and_multipass(model, tmp_path, capsys):
    raw = tmp_path / 'raw'
    simulate(str(raw), 1, seed=3, size=64, workers=1, progress=False)
    os.remove(raw / '0_0_Parameters.txt')  # no parameters needed to restore
    odd = tmp_path / 'odd.tiff'
    write_focal_stack(str(odd), stack_of((70, 90), planes=2), HEIGHTS)
    out = tmp_path / 'out'
    args = ['--input', str(raw), str(odd), '--output', str(out), '--tile', '32', '--multipass', '2']
    text = restore(args, model, capsys)
    assert read(out / '0_0.png').shape == (64, 64) and read(out / 'odd.png').shape == (70, 90)
    rows = list(csv.DictReader(open(out / 'report.csv')))
    assert [r['sample'] for r in rows] == ['0_0'] * 4  # the raw sample's own GT: 3 baselines and the restored
    assert 'restored 2 sample(s)' in text
    # tiles blend to the whole-image result where the net is exact per pixel (a 1x1 identity conv net)
    restorer = Restorer(model['pth'], device='cpu', tile=32)
    restorer.net = torch.nn.Conv2d(2, 1, 1, bias=False)
    torch.nn.init.constant_(restorer.net.weight, 0.5)
    x = np.random.default_rng(0).random((2, 70, 90), dtype=np.float32)
    assert np.allclose(restorer.restore_stack(x), x.mean(0), atol=1e-6)


def test_raw_sample_integrated_at_the_model_heights(tmp_path):
    simulate(str(tmp_path), 1, seed=1, size=64, workers=1, progress=False)
    [sample] = load_input(str(tmp_path), integrate_at=[0.4, 0.0])
    stem, stack, heights, gt_path = sample
    assert stem == '0_0' and stack.shape == (2, 64, 64) and stack.dtype == np.uint8 and heights == HEIGHTS
    assert gt_path.endswith('0_0_GT_pose_0_thermal.png') and isinstance(sample.person, (tuple, bool))


def test_plane_names():
    assert height_from_name('040.png') == pytest.approx(0.4)
    assert height_from_name('000009_30.png', 0.1) == pytest.approx(3.0)
    assert height_from_name('0_0_integral_fp-0.5.png') == 0.5 and height_from_name('plane.png') is None
    gt = np.full((40, 40), 50, np.uint8)
    gt[5:9, 30:34] = 255
    assert locate_person(gt) == pytest.approx((6.5, 31.5)) and locate_person(np.full((9, 9), 7, np.uint8)) is None


def test_user_errors(model, tmp_path, capsys):
    folder = tmp_path / 'only_0m'
    os.makedirs(folder)
    cv2.imwrite(str(folder / '000.png'), stack_of((16, 16), 1)[0])
    cv2.imwrite(str(folder / '080.png'), stack_of((16, 16), 1)[0])
    err = error_of(['--input', str(folder), '--output', str(tmp_path / 'o'), '--model', model['pth']], capsys)
    assert 'only_0m' in err and 'no plane at 0.4 m' in err and 'has 0, 0.8 m' in err
    err = error_of(['--input', str(folder), '--output', str(tmp_path / 'o'), '--candidates', '0'], capsys)
    assert err.strip() == 'aos_restore: error: --candidates: expected >= 1, got 0'
    assert not (tmp_path / 'o').exists()  # refused before anything is written
    err = error_of(
        ['--input', str(folder), '--output', str(tmp_path / 'o'), '--model', str(tmp_path / 'no.pth')], capsys
    )
    assert 'model file not found' in err and 'no.pth' in err
    bad = tmp_path / 'bad.tiff'
    bad.write_bytes(b'not a tiff at all')
    err = error_of(['--input', str(bad), '--output', str(tmp_path / 'o'), '--model', model['pth']], capsys)
    assert 'bad.tiff' in err
    err = error_of(
        ['--input', str(tmp_path / 'absent'), '--output', str(tmp_path / 'o'), '--model', model['pth']], capsys
    )
    assert 'input not found' in err
    err = error_of(['--input', str(folder), '--output', str(tmp_path / 'o'), '--model', model['plain']], capsys)
    assert '--opt' in err
    with pytest.raises(UserError, match='no plane at 0.4 m'):
        from basicsr_ext.inference.aos_inputs import select_planes

        select_planes(load_input(str(folder))[0], HEIGHTS)


def test_find_samples_stays_strict_for_training_data(tmp_path):
    from basicsr_ext.aos.raw import find_samples

    simulate(str(tmp_path), 1, seed=2, size=32, workers=1, progress=False)
    os.remove(tmp_path / '0_0_GT_pose_0_thermal.png')
    samples, problems = find_samples(str(tmp_path))
    assert samples == [] and problems == [('0_0', 'missing 0_0_GT_pose_0_thermal.png')]
    [lenient], none = find_samples(str(tmp_path), views_only=True)
    assert none == [] and lenient.gt_path is None and lenient.params_path.endswith('0_0_Parameters.txt')


def test_shipped_aos_option_file_exports(tmp_path):
    from basicsr.archs import build_network

    from basicsr_ext.utils.options import resolve_options

    opt_file = osp.join(REPO, 'options', 'train_aos_swin2sr128.yml')
    net = build_network(dict(resolve_options(opt_file)['network_g']))
    torch.save({'params': net.state_dict()}, tmp_path / 'net.pth')
    meta = export_restorer(str(tmp_path / 'net.pth'), opt_file, str(tmp_path / 'aos.pth'))['meta']
    assert meta['heights'] == [0.0] and meta['network_g']['type'] == 'Swin2SR'
    restorer = Restorer(str(tmp_path / 'aos.pth'), device='cpu')
    x = np.random.default_rng(0).random((1, 40, 40), dtype=np.float32)
    assert np.allclose(restorer.restore_stack(x), x, atol=1e-6)  # zero_init_last: the untrained net returns its input


def test_a_stack_without_one_of_the_model_planes_is_one_line(model, tmp_path, capsys):
    """The model takes 0 and 0.4 m; a stack of 0 and 1 m names the plane it lacks."""
    stack = tmp_path / 'two_integral.tiff'
    write_focal_stack(str(stack), stack_of((32, 32), planes=2), [0.0, 1.0])
    err = error_of(['--input', str(stack), '--output', str(tmp_path / 'out'), '--model', model['pth']], capsys)
    assert (
        'two_integral.tiff: no plane at 0.4 m or within 0.25 m of it (the model takes 0, 0.4 m; the input has 0, 1 m)'
        in err
    )
    assert not (tmp_path / 'out' / 'two_integral.png').exists()


def test_param_key_defaults_to_what_validation_scored_and_says_so(model, tmp_path, capsys):
    from basicsr.archs import build_network

    torch.manual_seed(1)
    ema = build_network(dict(NETWORK_G)).state_dict()  # another set of weights as the EMA
    plain = torch.load(model['plain'], weights_only=True)
    both = tmp_path / 'net_g_both.pth'
    torch.save({'params': plain['params'], 'params_ema': ema}, both)
    opts = yaml.safe_load(open(model['opt'], encoding='utf-8'))
    with_ema = write_yaml(tmp_path / 'ema.yml', {**opts, 'train': {'ema_decay': 0.999}})
    cases = [(model['opt'], 'auto', 'params', 'no EMA'), (with_ema, 'auto', 'params_ema', 'train.ema_decay 0.999')]
    cases.append((with_ema, 'params', 'params', 'asked for'))
    for opt, key, used, why in cases:
        restorer = Restorer(str(both), opt=opt, device='cpu', param_key=key)
        assert (restorer.param_key, why in restorer.param_key_why) == (used, True)
        wanted = plain['params'] if used == 'params' else ema
        assert all(torch.equal(v, wanted[k]) for k, v in restorer.net.state_dict().items())
    folder = tmp_path / 'stack'
    folder.mkdir()
    write_focal_stack(str(folder / 's.tiff'), stack_of((32, 32), planes=2), HEIGHTS)
    out = tmp_path / 'o'
    aos_restore.main(['--input', str(folder), '--output', str(out), '--model', str(both), '--opt', with_ema])
    printed = capsys.readouterr().out
    assert f'weights: params_ema of {both} (what its validation scored: train.ema_decay 0.999)' in printed
    args = ['--input', str(folder), '--output', str(out), '--param-key', 'params_ema']
    err = error_of([*args, '--model', model['pth']], capsys)
    assert 'an exported restorer holds one parameter group, params' in err
    err = error_of([*args, '--model', model['plain'], '--opt', model['opt']], capsys)
    assert "no parameter group 'params_ema'" in err
