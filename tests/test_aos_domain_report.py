"""scripts/aos_domain_report.py: simulated vs real AOS statistics, on tiny simulated and synthetic 'real' samples."""

import importlib.util
import json
import os
from os import path as osp

import cv2
import numpy as np
import pytest

from basicsr_ext.aos.convert import convert
from basicsr_ext.aos.domain_stats import PLANES, load_sim_samples, sample_stats
from basicsr_ext.aos.geometry import CameraModel
from basicsr_ext.aos.simulator import simulate

SCRIPT = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'scripts', 'aos_domain_report.py')
SIZE = 128  # fake real samples: 128 px, so 3.92 px/m on the ground


@pytest.fixture(scope='module')
def script():
    spec = importlib.util.spec_from_file_location('aos_domain_report', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def sim_dir(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp('sim'))
    simulate(folder, 3, size=64, workers=1, progress=False)
    return folder


def fake_real(ground, disc_grey, radius, offset):
    """(gt, integral at 0 m): flat ground with a hot disc of ``radius`` px; the integral is the GT + ``offset``."""
    gt = np.full((SIZE, SIZE), ground, np.uint8)
    cv2.circle(gt, (70, 50), radius, int(disc_grey), -1)
    return gt, (gt.astype(np.int16) + offset).astype(np.uint8)


def write_png(path, img, channels=1):
    os.makedirs(osp.dirname(path), exist_ok=True)
    assert cv2.imwrite(path, img if channels == 1 else cv2.merge([img] * channels))


@pytest.fixture()
def real_dirs(tmp_path):
    """Layout A: folder of sample folders ``sample_1/{000..200}.png + gt.png``; layout B: the sample folder
    ``000009/000009_{00..20}.png + 000009_gt.png`` itself, 3-channel PNGs, plane 07 missing."""
    gt, integral = fake_real(100, 240, 12, 7)
    for cm in (0, 40, 80, 120, 160, 200):
        img = integral if cm == 0 else cv2.GaussianBlur(integral, (0, 0), 1 + cm / 100)
        write_png(str(tmp_path / 'a' / 'sample_1' / f'{cm:03d}.png'), img)
    write_png(str(tmp_path / 'a' / 'sample_1' / 'gt.png'), gt)
    gt, integral = fake_real(60, 250, 8, -5)
    b = tmp_path / 'b' / '000009'
    for k in range(21):
        if k != 7:
            write_png(str(b / f'000009_{k:02d}.png'), integral if k == 0 else cv2.blur(integral, (3, 3)), 3)
    write_png(str(b / '000009_gt.png'), gt, 3)
    return str(tmp_path / 'a'), str(b)


def test_report_on_simulated_and_fake_real_samples(script, sim_dir, real_dirs, tmp_path, capsys):
    out = str(tmp_path / 'out')
    argv = ['--sim', sim_dir, '--real', *real_dirs, '--real-plane-scale', '0.01', '0.1', '--output', out]
    script.main(argv + ['--label', 'tiny'])
    assert 'person hot area (m2)' in capsys.readouterr().out
    report = json.load(open(osp.join(out, 'domain_report.json')))
    assert report['label'] == 'tiny' and report['real']['count'] == 2 and report['sim']['count'] == 3
    a, b = (s['stats'] for s in report['real']['samples'])
    px_per_m = CameraModel(size=SIZE).pixels_per_metre(0)
    for stats, radius, ground, offset in ((a, 12, 100, 7), (b, 8, 60, -5)):
        assert stats['person_area_m2'] == pytest.approx(np.pi * radius**2 / px_per_m**2, rel=0.05)
        assert stats['gt_ground_std'] < 0.01 and stats['gt_ground_level'] == ground
        assert stats['offset'] == pytest.approx(offset, abs=1e-3)
        assert stats['psnr'] == pytest.approx(10 * np.log10(255**2 / offset**2), abs=1e-3)
        assert stats['lap_gt'] > 0 and all(stats[f'lap_{h:.1f}m'] is not None for h in PLANES if h > 0)
    assert report['real']['samples'][1]['planes'] == [round(k * 0.1, 6) for k in range(21) if k != 7]
    assert a['lap_2.0m'] < a['lap_0.4m'] < a['lap_integral']  # stronger blur at higher planes in layout A
    rows = {row['key']: row for row in report['rows']}
    area = rows['person_area_m2']
    assert area['real']['min'] == pytest.approx(min(a['person_area_m2'], b['person_area_m2']))
    assert rows['dark_integral_p99']['real'] is None  # neither fake real ground is dark
    for row in (r for r in rows.values() if r['real'] is not None and r['sim'] is not None):
        assert row['within'] == (row['real']['min'] <= row['sim']['median'] <= row['real']['max'])
    text = open(osp.join(out, 'domain_report.md')).read()
    assert '| property | real: median (range) | tiny: median (range) | sim within real range? |' in text
    assert f'{real_dirs[1]} (planes 0-2 m)' in text and f'{sim_dir} (planes 0-2 m)' in text
    assert f'| {area["label"]} | ' in text and '| real | 000009 |' in text and '| tiny | 0_2 |' in text
    grid = cv2.imread(osp.join(out, 'domain_grid.png'))
    assert grid.shape == (24 + 3 * (192 + 4) + 4, 4 * 192 + 10 * 4, 3)  # 3 rows (3 sim), 2 tiles per domain


def test_bright_crowns_over_a_dark_ground_have_their_own_row():
    gt, _ = fake_real(0, 250, 10, 0)
    integral = gt.copy()
    integral[:40] = 200  # a warm crown over the black ground
    stats = sample_stats({'name': 'dark', 'planes': {0.0: integral.astype(np.float32)}, 'gt': gt})
    assert stats['dark_integral_p99'] == stats['integral_p99'] >= 200
    gt, integral = fake_real(100, 250, 10, 0)
    assert (
        sample_stats({'name': 'grey', 'planes': {0.0: integral.astype(np.float32)}, 'gt': gt})['dark_integral_p99']
        is None
    )


def test_focal_stacks_give_the_same_stats_as_raw_samples(sim_dir, tmp_path):
    convert(sim_dir, str(tmp_path / 'stacks'), PLANES, val=0, test=0, progress=False, montages=0)
    raw, stacks = load_sim_samples(sim_dir), load_sim_samples(str(tmp_path / 'stacks'))
    assert [s['name'] for s in stacks] == [s['name'] for s in raw] == ['0_0', '0_1', '0_2']
    assert [sample_stats(s) for s in stacks] == [sample_stats(s) for s in raw]
    assert len(load_sim_samples(str(tmp_path / 'stacks' / 'train'), limit=2)) == 2


@pytest.mark.parametrize(
    'case, message',
    [
        ('empty real', 'no real samples'),
        ('no gt', 'no GT'),
        ('no 0 m', 'no 0 m plane (planes found, m: 0.4, 0.8'),
        ('empty sim', 'no simulated samples'),
        ('scales', '--real-plane-scale: expected 1 value or one per --real folder (2), got 3'),
    ],
)
def test_bad_input_exits_2_with_one_line(script, sim_dir, real_dirs, tmp_path, capsys, case, message):
    real_a, real_b = real_dirs
    empty = tmp_path / 'empty'
    empty.mkdir()
    sim, real, extra = sim_dir, [real_a], []
    if case == 'empty real':
        real = [str(empty)]
    elif case == 'no gt':
        os.remove(osp.join(real_a, 'sample_1', 'gt.png'))
    elif case == 'no 0 m':
        os.remove(osp.join(real_a, 'sample_1', '000.png'))
    elif case == 'empty sim':
        sim = str(empty)
    else:
        real, extra = [real_a, real_b], ['--real-plane-scale', '0.01', '0.1', '0.1']
    out = tmp_path / 'out'
    with pytest.raises(SystemExit) as exit_info:
        script.main(['--sim', sim, '--real', *real, *extra, '--output', str(out)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.startswith('aos_domain_report: error: ')
    assert err.count('\n') == 1 and message in err, err
    assert not out.exists()
