"""Data preparation on first use: atomic, idempotent, and clear about bad entries."""

import os

import cv2
import numpy as np
import pytest

from basicsr_ext.data.prepare import (
    COMPLETE_MARKER,
    MANIFEST,
    PREPARE_REGISTRY,
    TMP_MARKER,
    build_atomically,
    run_prepare,
)
from basicsr_ext.utils.errors import UserError


def test_build_is_atomic_and_idempotent(tmp_path):
    root = tmp_path / 'ds'
    calls = []

    def build(tmp):
        calls.append(tmp)
        open(os.path.join(tmp, 'a.txt'), 'w').write('x')

    assert build_atomically(str(root), build) is True
    assert sorted(os.listdir(root)) == [COMPLETE_MARKER, MANIFEST, 'a.txt']
    assert build_atomically(str(root), build) is False and len(calls) == 1  # complete: left alone
    assert os.listdir(tmp_path) == ['ds']  # no temp folder left
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(root).st_mode & 0o777 == 0o777 & ~umask  # not mkdtemp's private 0700


def test_a_complete_dataset_missing_files_is_one_line(tmp_path):
    root = tmp_path / 'ds'

    def build(tmp):
        os.makedirs(os.path.join(tmp, 'train'))
        for name in ('a.png', 'b.png'):
            open(os.path.join(tmp, 'train', name), 'w').write('xx')

    build_atomically(str(root), build)
    (root / 'train' / 'b.png').unlink()
    with pytest.raises(UserError) as info:
        build_atomically(str(root), build)
    assert str(info.value) == (
        f'{root}: 1 of 2 generated files are missing or changed (e.g. train/b.png); remove {root} to rebuild it'
    )


def test_leftovers_of_a_killed_build_are_removed(tmp_path):
    dead = tmp_path / '.ds.tmp-abc123'
    dead.mkdir()
    (dead / TMP_MARKER).write_text('999999999')  # no such process
    (dead / 'big.bin').write_bytes(b'0' * 100)
    foreign = tmp_path / '.ds.tmp-notours'
    foreign.mkdir()  # the same name pattern but no marker: not ours, left alone
    build_atomically(str(tmp_path / 'ds'), lambda tmp: open(os.path.join(tmp, 'a.txt'), 'w').write('x'))
    assert sorted(os.listdir(tmp_path)) == ['.ds.tmp-notours', 'ds']


def test_failed_build_leaves_nothing(tmp_path):
    def build(tmp):
        open(os.path.join(tmp, 'half.txt'), 'w').write('x')
        raise RuntimeError('interrupted')

    with pytest.raises(RuntimeError, match='interrupted'):
        build_atomically(str(tmp_path / 'ds'), build)
    assert os.listdir(tmp_path) == []


def test_incomplete_existing_folder_is_refused(tmp_path):
    (tmp_path / 'ds').mkdir()
    (tmp_path / 'ds' / 'partial.png').write_bytes(b'')
    with pytest.raises(UserError, match=r'ds exists but is not a complete generated dataset \(no \.complete\)'):
        build_atomically(str(tmp_path / 'ds'), lambda tmp: None)


def test_bad_entries_name_the_entry(tmp_path):
    with pytest.raises(UserError, match=r"my\.yml: prepare_data\[0\]\.type: unknown data preparer 'nope'"):
        run_prepare([{'type': 'nope'}], 'my.yml')
    entry = {'type': 'sample_photos_sr', 'root': str(tmp_path / 'b'), 'scal': 2}
    with pytest.raises(UserError, match=r"my\.yml: prepare_data\[0\] \(sample_photos_sr\): .*'scal'.*it takes: root"):
        run_prepare([entry], 'my.yml')
    assert not (tmp_path / 'b').exists()
    good = {'type': 'sample_photos_sr', 'root': str(tmp_path / 'a')}
    with pytest.raises(UserError, match=r'my\.yml: prepare_data\[1\] \(sample_photos_sr\): '):
        run_prepare([good, entry], 'my.yml')
    assert not (tmp_path / 'a').exists()  # every entry is bound before the first one builds


def test_sample_photos_are_aligned_pairs(tmp_path):
    assert PREPARE_REGISTRY.get('sample_photos_sr')(
        root=str(tmp_path / 'sp'), scale=3, train=('astronaut.png',), val=('coffee.png',)
    )
    hr = cv2.imread(str(tmp_path / 'sp' / 'train' / 'HR' / 'astronaut.png'))
    lr = cv2.imread(str(tmp_path / 'sp' / 'train' / 'LR_bicubic' / 'X3' / 'astronaut.png'))
    assert hr.shape == (510, 510, 3) and lr.shape == (170, 170, 3)  # 512 mod-cropped to a multiple of 3
    small = cv2.resize(hr, (170, 170), interpolation=cv2.INTER_AREA).astype(float)
    assert abs(small - lr).mean() < 3  # the LR image is the HR image downscaled, not something else


def test_aos_synthetic_builds_a_complete_split(tmp_path):
    import json

    root = tmp_path / 'aos'
    run_prepare(
        [{'type': 'aos_synthetic', 'root': str(root), 'num_samples': 10, 'size': 64, 'heights': [0, 1], 'workers': 1}],
        'my.yml',
    )
    report = json.loads((root / 'report.json').read_text())
    assert report['converted'] == 10 and report['bad'] == [] and report['counts']['train'] == 8
    assert len(list((root / 'train' / 'stacks').glob('*_integral.tiff'))) == 8
    assert (root / '.complete').is_file() and (root / 'raw').is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ['aos']  # built in a temp folder, renamed whole
    # what is recorded names the final folder, not the temp one it was built in
    from basicsr_ext.aos.focal_stack import read_focal_stack

    assert report['raw_folder'] == str(root / 'raw')
    _, meta = read_focal_stack(str(next((root / 'train' / 'stacks').glob('*_integral.tiff'))))
    assert meta['source'].startswith(f'{root / "raw"}:') and '.tmp-' not in meta['source']


def test_aos_synthetic_bad_tree_top_range_is_one_line(tmp_path):
    entry = {'type': 'aos_synthetic', 'root': str(tmp_path / 'aos'), 'num_samples': 2, 'tree_top_k': [318, 295]}
    expected = r'my\.yml: prepare_data\[0\] \(aos_synthetic\): tree_top_k: expected \[low, high\]'
    with pytest.raises(UserError, match=expected):
        run_prepare([entry], 'my.yml')
    assert list(tmp_path.iterdir()) == []


def test_sample_photos_sr_makes_one_pair_per_lr_kind(tmp_path):
    from basicsr_ext.data.sample_photos_prepare import LR_KINDS, downscale

    root = tmp_path / 'sr'
    PREPARE_REGISTRY.get('sample_photos_sr')(
        str(root), 2, train=('coffee.png',), val=('chelsea.png',), lr_kinds=list(LR_KINDS)
    )
    lr = sorted(os.listdir(root / 'train' / 'LR_bicubic' / 'X2'))
    assert lr == sorted(f'coffee_{k}.png' for k in LR_KINDS) and os.listdir(root / 'val' / 'HR') == ['chelsea.png']
    hr = cv2.imread(str(root / 'train' / 'HR' / 'coffee_cv2_cubic.png'))
    assert np.array_equal(
        cv2.imread(str(root / 'train' / 'LR_bicubic' / 'X2' / 'coffee_cv2_cubic.png')),
        cv2.resize(hr, (hr.shape[1] // 2, hr.shape[0] // 2), interpolation=cv2.INTER_CUBIC),
    )
    assert not np.array_equal(downscale(hr, 'matlab', 2), downscale(hr, 'cv2_cubic', 2))
    bad = {'type': 'sample_photos_sr', 'root': str(tmp_path / 'bad'), 'lr_kinds': ['bilinear']}
    with pytest.raises(
        UserError,
        match='^my.yml: prepare_data\\[0\\] \\(sample_photos_sr\\): lr_kinds: expected some of matlab, pil, '
        "cv2_cubic, cv2_area, got \\['bilinear'\\]$",
    ):
        run_prepare([bad], 'my.yml')
    assert not (tmp_path / 'bad').exists()  # refused before anything is written


def test_sample_photos_sr_adds_colour_fields_and_validates_on_the_first_lr_kind(tmp_path):
    from basicsr_ext.data.colour_fields import colour_fields
    from basicsr_ext.data.sample_photos_prepare import downscale

    root = tmp_path / 'sr'
    make = PREPARE_REGISTRY.get('sample_photos_sr')
    make(str(root), 2, train=('coffee.png',), val=('chelsea.png',), lr_kinds=['cv2_cubic'], colour_fields=2, seed=3)
    hr_names = sorted(os.listdir(root / 'train' / 'HR'))
    assert hr_names == ['coffee.png', 'colour_field_00.png', 'colour_field_01.png']
    assert np.array_equal(cv2.imread(str(root / 'train' / 'HR' / 'colour_field_01.png')), colour_fields(2, 3)[1])
    val_hr = cv2.imread(str(root / 'val' / 'HR' / 'chelsea.png'))
    val_lr = cv2.imread(str(root / 'val' / 'LR_bicubic' / 'X2' / 'chelsea.png'))
    assert np.array_equal(val_lr, downscale(val_hr, 'cv2_cubic', 2))  # the model's own kind, not MATLAB-style
    with pytest.raises(UserError, match='^sample_photos_sr colour_fields: expected an integer >= 0, got 1.5$'):
        make(str(tmp_path / 'bad'), colour_fields=1.5)
    assert not (tmp_path / 'bad').exists()
