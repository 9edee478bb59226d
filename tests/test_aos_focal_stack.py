"""Focal-stack TIFF + GT files: names, metadata, round trip, broken files."""

import cv2
import numpy as np
import pytest
import tifffile

from basicsr_ext.aos.focal_stack import (
    gt_name,
    parse_stack_name,
    read_focal_stack,
    read_gt,
    stack_name,
    write_focal_stack,
    write_gt,
)
from basicsr_ext.utils.errors import UserError


def test_names_round_trip():
    assert stack_name(0, 12, (4, -6)) == '0_12_4_-6_integral.tiff'
    assert stack_name(2, 5500, None) == '2_5500_N_integral.tiff'
    assert stack_name(1, 3, (0.5, -1.25)) == '1_3_0.5_-1.25_integral.tiff'
    assert parse_stack_name('0_12_4_-6_integral.tiff') == (0, 12, (4.0, -6.0))
    assert parse_stack_name('/a/b/2_5500_N_integral.tiff') == (2, 5500, None)
    assert gt_name(0, 12) == '0_12_GT.png'
    with pytest.raises(UserError, match='not a focal-stack file name'):
        parse_stack_name('0_12_integral.tiff')


def test_stack_round_trip_with_metadata(tmp_path):
    rng = np.random.default_rng(0)
    stack = rng.integers(0, 256, (3, 32, 40), dtype=np.uint8)
    path = tmp_path / stack_name(0, 1, (4, -6))
    person = {'x': 4.0, 'y': -6.0, 'shape': 'laying'}
    write_focal_stack(str(path), stack, [0, 0.5, 1.0], person=person, source='sim', camera={'size': 32})
    got, meta = read_focal_stack(str(path))
    assert np.array_equal(got, stack)
    assert meta['heights'] == [0, 0.5, 1.0] and meta['person'] == person and meta['source'] == 'sim'
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left
    gt = rng.integers(0, 256, (32, 40), dtype=np.uint8)
    write_gt(str(tmp_path / 'g.png'), gt)
    assert np.array_equal(read_gt(str(tmp_path / 'g.png')), gt)


def test_lzw_stack_from_other_tools_is_read(tmp_path):
    stack = np.tile(np.arange(40, dtype=np.uint8), (2, 32, 1))
    path = str(tmp_path / '0_1_N_integral.tiff')
    ok = cv2.imwritemulti(path, list(stack), [cv2.IMWRITE_TIFF_COMPRESSION, 5])  # 5 = LZW, as students stored
    assert ok
    got, meta = read_focal_stack(path)
    assert np.array_equal(got, stack) and meta == {}


def test_broken_files_name_the_file(tmp_path):
    path = tmp_path / '0_1_N_integral.tiff'
    write_focal_stack(str(path), np.zeros((2, 16, 16), np.uint8), [0, 1])
    path.write_bytes(path.read_bytes()[:100])  # truncated
    with pytest.raises(UserError, match=r'0_1_N_integral\.tiff: cannot read focal stack'):
        read_focal_stack(str(path))
    with pytest.raises(UserError, match='focal stack not found'):
        read_focal_stack(str(tmp_path / 'missing.tiff'))
    tifffile.imwrite(str(tmp_path / 'f.tiff'), np.zeros((2, 8, 8), np.float32))
    with pytest.raises(UserError, match='expected an 8-bit'):
        read_focal_stack(str(tmp_path / 'f.tiff'))
    (tmp_path / 'g.png').write_bytes(b'\x89PNG\r\n\x1a\nbroken')
    with pytest.raises(UserError, match=r'g\.png: cannot read GT image'):
        read_gt(str(tmp_path / 'g.png'))
    with pytest.raises(ValueError, match='3 heights for 2 planes'):
        write_focal_stack(str(tmp_path / 'x.tiff'), np.zeros((2, 8, 8), np.uint8), [0, 1, 2])


def test_wrong_number_of_planes_is_reported(tmp_path):
    import json

    from basicsr_ext.aos.focal_stack import META_TAG

    path = str(tmp_path / '0_1_N_integral.tiff')
    meta = json.dumps({'heights': [0, 0.5, 1.0]})
    tifffile.imwrite(
        path,
        np.zeros((2, 8, 8), np.uint8),
        photometric='minisblack',
        metadata=None,
        extratags=[(META_TAG, 's', 0, meta, True)],
    )
    with pytest.raises(UserError, match=r'0_1_N_integral\.tiff: metadata lists 3 heights for 2 pages'):
        read_focal_stack(path)
