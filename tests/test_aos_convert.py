"""Raw samples -> focal stacks: the converter end to end on raw files written in the real format."""

import json

import numpy as np
import pytest

from basicsr_ext.aos.convert import assign_splits, convert
from basicsr_ext.aos.focal_stack import read_focal_stack, read_gt
from basicsr_ext.aos.geometry import CameraModel
from basicsr_ext.aos.integrator import integrate
from basicsr_ext.aos.lmdb_store import create_split_lmdb
from basicsr_ext.aos.parameters import AOSParameters
from basicsr_ext.aos.raw import find_samples, write_raw_sample
from basicsr_ext.data.aos_focal_stack_dataset import AOSFocalStackDataset
from basicsr_ext.utils.errors import UserError

SIZE = 48


def params(person=True, x=3, y=-2):
    poses = {'img_GT': (0, 0, 35, 0.0, 1.57, 0)}
    poses.update({f'img_{i}': (0, i - 6, 35, 0.0, 1.57, 0) for i in range(1, 12)})
    return AOSParameters(
        poses=poses,
        trees_per_ha=100,
        person_shape='laying' if person else None,
        person_pose=(x, y, 0, 0, 0, 0.1) if person else None,
        person_rotation_rad=0.1 if person else None,
        person_rotation_deg=5.7 if person else None,
        ambient_light=0.7,
        sun_azimuth_deg=20.0,
        sun_compass_deg=100.0,
        ground_temperature_k=290,
        tree_top_temperature_k=300,
    )


def write_samples(folder, n, run=0, seed=0):
    rng = np.random.default_rng(seed)
    for sim in range(n):
        views = rng.integers(0, 256, (11, SIZE, SIZE), dtype=np.uint8)
        gt = rng.integers(0, 256, (SIZE, SIZE), dtype=np.uint8)
        write_raw_sample(str(folder), run, sim, views, gt, params(person=sim % 3 != 2, x=sim % 7 - 3))


def test_split_is_seeded_and_follows_seed_000():
    keys = [(0, s) for s in range(100)] + [(1, s) for s in range(30)]
    a = assign_splits(keys, seed=3)
    assert a == assign_splits(list(reversed(keys)), seed=3)  # order of discovery does not matter
    assert a != assign_splits(keys, seed=4)
    counts = {s: sum(1 for k, v in a.items() if k[0] == 0 and v == s) for s in ('train', 'val', 'test')}
    assert counts == {'train': 80, 'val': 10, 'test': 10}
    assert all(v == 'train' for k, v in a.items() if k[0] == 1)


def test_converter_writes_stacks_and_reports_bad_samples(tmp_path):
    raw = tmp_path / 'raw'
    write_samples(raw, 12)
    (raw / '0_4_pose_7_thermal.png').unlink()  # incomplete
    (raw / '0_5_Parameters.txt').write_text('numbers of tree per ha=  many\n')  # malformed
    (raw / '0_6_GT_pose_0_thermal.png').write_bytes(b'\x89PNG\r\n\x1a\ntruncated')  # unreadable
    out = tmp_path / 'out'
    report = convert(str(raw), str(out), [0.0, 1.0], seed=0, workers=1, progress=False)
    assert report['converted'] == 9 and sum(report['counts'].values()) == 9
    bad = {b['sample']: b['reason'] for b in report['bad']}
    assert set(bad) == {'0_4', '0_5', '0_6'}
    assert 'missing 0_4_pose_7_thermal.png' in bad['0_4']
    assert '0_5_Parameters.txt' in bad['0_5'] and '0_6_GT_pose_0_thermal.png' in bad['0_6']
    assert json.loads((out / 'report.json').read_text())['bad'] == report['bad']
    # the stack is the integral of the views, with metadata and the position in the name
    samples = {s.name: s for s in find_samples(str(raw))[0]}
    split = next(s for s in ('train', 'val', 'test') if (out / s / 'stacks' / '0_1_-2_-2_integral.tiff').exists())
    stack, meta = read_focal_stack(str(out / split / 'stacks' / '0_1_-2_-2_integral.tiff'))
    expected = integrate(samples['0_1'].load_views(), [0.0, 1.0], CameraModel(size=SIZE))
    assert np.array_equal(stack, np.clip(np.rint(expected), 0, 255).astype(np.uint8))
    assert meta['heights'] == [0.0, 1.0] and meta['person'] == {'x': -2.0, 'y': -2.0, 'shape': 'laying'}
    assert np.array_equal(read_gt(str(out / split / 'gt' / '0_1_GT.png')), samples['0_1'].load_gt())
    assert (out / 'train' / 'stacks' / '0_2_N_integral.tiff').exists() or any(
        (out / s / 'stacks' / '0_2_N_integral.tiff').exists() for s in ('val', 'test')
    )
    # running again converts nothing new and reports the same
    again = convert(str(raw), str(out), [0.0, 1.0], seed=0, workers=1, progress=False)
    assert again['counts'] == report['counts'] and len(again['bad']) == 3
    assert not list(out.rglob('*.tmp*'))
    montages = sorted(p.name for p in (out / 'montages').iterdir())
    assert montages == ['0_0.png', '0_1.png', '0_10.png', '0_11.png']  # the first 4 converted, by name
    import cv2

    img = cv2.imread(str(out / 'montages' / '0_0.png'))
    assert img is not None and img.shape[1] > 4 * SIZE


def test_raw_to_tiff_to_lmdb_round_trip_is_identical(tmp_path):
    raw = tmp_path / 'raw'
    write_samples(raw, 10, seed=1)
    out = tmp_path / 'out'
    report = convert(str(raw), str(out), [0.0, 0.5, 1.5], seed=0, val=0.0, test=0.0, workers=2, progress=False)
    assert report['counts'] == {'train': 10, 'val': 0, 'test': 0}
    create_split_lmdb(str(out / 'train'), str(out / 'train'))
    opt = {'phase': 'val', 'heights': [1.5, 0.0]}
    disk = AOSFocalStackDataset(
        {
            **opt,
            'dataroot_lq': str(out / 'train' / 'stacks'),
            'dataroot_gt': str(out / 'train' / 'gt'),
            'io_backend': {'type': 'disk'},
        }
    )
    db = AOSFocalStackDataset(
        {
            **opt,
            'dataroot_lq': str(out / 'train' / 'stacks.lmdb'),
            'dataroot_gt': str(out / 'train' / 'gt.lmdb'),
            'io_backend': {'type': 'lmdb'},
        }
    )
    samples = {s.name: s for s in find_samples(str(raw))[0]}
    for i in range(10):
        a, b = disk[i], db[i]
        assert all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in ('lq', 'gt', 'pos', 'has_person'))
        name = b['lq_path']
        assert np.array_equal((a['gt'][0].numpy() * 255).round().astype(np.uint8), samples[name].load_gt())


def test_no_heights_is_an_error(tmp_path):
    with pytest.raises(UserError, match='no focal heights'):
        convert(str(tmp_path), str(tmp_path / 'o'), [])


def test_aos_prepare_exits_2_when_nothing_converted(tmp_path):
    from conftest import run_script

    raw = tmp_path / 'raw'
    write_samples(raw, 1)
    (raw / '0_0_pose_3_thermal.png').unlink()  # the only sample is incomplete
    run = run_script('aos_prepare', ['--raw', raw, '--out', tmp_path / 'out', '--heights', '0', '--montages', '0'])
    assert run.returncode == 2 and 'Traceback' not in run.stderr
    errors = [line for line in run.stderr.splitlines() if 'error' in line]  # (the rest is the progress bar)
    assert errors == [f'aos_prepare: error: no sample of {raw} was converted (1 bad, listed above and in report.json)']
    report = json.loads((tmp_path / 'out' / 'report.json').read_text())
    assert report['converted'] == 0 and report['bad'][0]['sample'] == '0_0'
