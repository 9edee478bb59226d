"""Raw AOS samples: Parameters.txt parsing and writing, finding complete samples, reading and writing the images."""

import os
import re

import cv2
import numpy as np
import pytest

from basicsr_ext.aos.parameters import AOSParameters, format_parameters, parse_parameters
from basicsr_ext.aos.raw import SAMPLE_FILES, RawSample, find_samples, write_raw_sample
from basicsr_ext.utils.errors import UserError

# The course README's example (0_1372_Parameters.txt) with its '-->' notes removed and img_2 .. img_10 written out;
# AOS_FORMAT.md shows the same lines without the blank ones and with '...' for img_2 .. img_10.
EXAMPLE = """img_GT (0, 0, 35, 0.0, 1.57, 0)

img_1 (0, -5, 35, 0.0, 1.57, 0)
img_2 (0, -4, 35, 0.0, 1.57, 0)
img_3 (0, -3, 35, 0.0, 1.57, 0)
img_4 (0, -2, 35, 0.0, 1.57, 0)
img_5 (0, -1, 35, 0.0, 1.57, 0)
img_6 (0, 0, 35, 0.0, 1.57, 0)
img_7 (0, 1, 35, 0.0, 1.57, 0)
img_8 (0, 2, 35, 0.0, 1.57, 0)
img_9 (0, 3, 35, 0.0, 1.57, 0)
img_10 (0, 4, 35, 0.0, 1.57, 0)
img_11 (0, 5, 35, 0.0, 1.57, 0)

numbers of tree per ha=  100

person shape =  laying
person pose (x,y,z,rot x, rot y, rot z) =  4 -6 0 0 0 -0.0174533
person rotation (z) in radian =  6.265732014659643
person rotation (z) in degree =  359.0

ambient light =  0.6497614048239921

azimuth angle of sun light in degrees =  23.0
compass direction of sunlight in degrees =  224.0

ground surface temperature in kelvin =  286
tree top temperature in kelvin =  306
"""

PERSON_LINES = """person shape =  laying
person pose (x,y,z,rot x, rot y, rot z) =  4 -6 0 0 0 -0.0174533
person rotation (z) in radian =  6.265732014659643
person rotation (z) in degree =  359.0
"""


def line_of(text, start):
    """1-based number of the first line of ``text`` starting with ``start``."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith(start))


def make_params(**changes):
    fields = dict(
        poses={'img_GT': (0, 0, 35, 0.0, 1.57, 0), **{f'img_{i}': (0, i - 6, 35, 0.0, 1.57, 0) for i in range(1, 12)}},
        trees_per_ha=200,
        person_shape='sitting',
        person_pose=(-3.0, 7.0, 0.0, 0.0, 0.0, 1.0471975511965976),
        person_rotation_rad=1.0471975511965976,
        person_rotation_deg=60.00000000000001,
        ambient_light=0.1 + 0.2,  # 0.30000000000000004: needs repr precision to survive the text
        sun_azimuth_deg=12.5,
        sun_compass_deg=301.0,
        ground_temperature_k=271.25,
        tree_top_temperature_k=299,
    )
    fields.update(changes)
    return AOSParameters(**fields)


NO_PERSON = dict(person_shape=None, person_pose=None, person_rotation_rad=None, person_rotation_deg=None)


def test_sample_files_use_the_course_names():
    names = SAMPLE_FILES(2, 10999)
    assert len(names) == 13
    assert names[0] == '2_10999_pose_0_thermal.png' and names[10] == '2_10999_pose_10_thermal.png'
    assert names[11:] == ['2_10999_GT_pose_0_thermal.png', '2_10999_Parameters.txt']


def test_parse_course_example():
    p = parse_parameters(EXAMPLE)
    assert list(p.poses) == ['img_GT'] + [f'img_{i}' for i in range(1, 12)]
    assert p.poses['img_GT'] == (0, 0, 35, 0.0, 1.57, 0)
    assert p.poses['img_1'] == (0, -5, 35, 0.0, 1.57, 0) and p.poses['img_11'] == (0, 5, 35, 0.0, 1.57, 0)
    assert p.trees_per_ha == 100 and isinstance(p.trees_per_ha, int)
    assert p.has_person and p.person_shape == 'laying'
    assert p.person_pose == (4, -6, 0, 0, 0, -0.0174533)
    assert p.person_rotation_rad == 6.265732014659643 and p.person_rotation_deg == 359.0
    assert p.ambient_light == 0.6497614048239921
    assert p.sun_azimuth_deg == 23.0 and p.sun_compass_deg == 224.0
    assert p.ground_temperature_k == 286 and p.tree_top_temperature_k == 306
    assert p.extra == {}


def test_format_reproduces_the_course_example_exactly():
    assert format_parameters(parse_parameters(EXAMPLE)) == EXAMPLE


@pytest.mark.parametrize(
    'person_lines',
    [
        'person pose =  no person\n',  # the layout AOS_FORMAT.md infers
        'person shape =  no person\n',  # the layout the course README describes
        'person shape =  no person\nperson pose (x,y,z,rot x, rot y, rot z) =  No Person\n',
    ],
)
def test_parse_without_person(person_lines):
    p = parse_parameters(EXAMPLE.replace(PERSON_LINES, person_lines))
    assert not p.has_person
    assert (p.person_shape, p.person_pose, p.person_rotation_rad, p.person_rotation_deg) == (None,) * 4
    assert p.trees_per_ha == 100 and p.tree_top_temperature_k == 306


def test_parse_tolerates_spacing_crlf_comments_and_unknown_lines():
    text = (
        EXAMPLE.replace('ambient light =  ', 'ambient   light=')
        .replace('numbers of tree per ha=  100', '\tnumbers of tree per ha   =   100   ')
        .replace('person shape =  laying', 'person shape = Laying --> simulated person shape')
        .replace('img_3 (0, -3, 35, 0.0, 1.57, 0)', 'img_3(0,-3,35,0.0,1.57,0)')
        .replace(' 4 -6 0 0 0 ', '  4  -6 0   0 0 ')
    )
    assert text.count('\n') == EXAMPLE.count('\n')  # every line replaced in place
    text = '\ufeff' + text + '\nseed = 1234\nrendered by gazebo\n\n\n'
    p = parse_parameters(text.replace('\n', '\r\n'))
    assert p.extra == {'seed': '1234', 'rendered by gazebo': ''}
    p.extra = {}
    assert p == parse_parameters(EXAMPLE)


@pytest.mark.parametrize(
    'old, new, start, expected',
    [
        (
            ' 4 -6 0 0 0 -0.0174533',
            ' 4 -6 0',
            'person pose',
            "person pose: expected 6 numbers or 'no person', got '4 -6 0'",
        ),
        (
            'ambient light =  0.6497614048239921',
            'ambient light =  bright',
            'ambient',
            "expected a number, got 'bright'",
        ),
        ('ambient light =  0.6497614048239921', 'ambient light =  nan', 'ambient', "expected a number, got 'nan'"),
        ('person shape =  laying', 'person shape =  crouching', 'person shape', "got 'crouching'"),
        ('tree per ha=  100', 'tree per ha=  100.5', 'numbers', "expected a whole number >= 0, got '100.5'"),
        ('img_4 (0, -2, 35, 0.0, 1.57, 0)', 'img_4 (0, -2, 35, 0.0, 1.57)', 'img_4', 'img_4: expected 6 numbers'),
        ('img_4 (0, -2, 35, 0.0, 1.57, 0)', 'img_4 0 -2 35 0 1 0', 'img_4', 'expected 6 numbers in parentheses'),
        (
            'tree top temperature in kelvin =  306',
            'tree top temperature in kelvin =  306\nambient light = 1',
            'ambient light = 1',
            'appears twice (first on line 22)',
        ),
        (
            'person shape =  laying',
            'person shape =  no person',
            'person pose',
            "not expected in a sample without a person (line 17 says 'no person')",
        ),
        (
            ' 4 -6 0 0 0 -0.0174533',
            ' no person',
            'person shape',
            'person shape: not expected in a sample without a person',
        ),
    ],
)
def test_malformed_values_name_file_and_line(old, new, start, expected):
    text = EXAMPLE.replace(old, new)
    assert text != EXAMPLE
    line = line_of(text, start)
    with pytest.raises(UserError) as info:
        parse_parameters(text, source='batch/0_12_Parameters.txt')
    message = str(info.value)
    assert message.startswith(f'batch/0_12_Parameters.txt, line {line}: '), message
    assert expected in message, message


@pytest.mark.parametrize(
    'remove, expected',
    [
        ('ambient light =  0.6497614048239921\n', "missing line 'ambient light =  <number>'"),
        ('ground surface temperature in kelvin =  286\n', "missing line 'ground surface temperature in kelvin ="),
        ('numbers of tree per ha=  100\n', "missing line 'numbers of tree per ha=  <whole number>'"),
        ('img_5 (0, -1, 35, 0.0, 1.57, 0)\nimg_6 (0, 0, 35, 0.0, 1.57, 0)\n', 'missing line(s) img_5, img_6'),
        ('img_GT (0, 0, 35, 0.0, 1.57, 0)\n', 'missing line(s) img_GT'),
        (PERSON_LINES, "missing line 'person shape =  <idle | sitting | laying | no person>'"),
        ('person rotation (z) in degree =  359.0\n', "missing line 'person rotation (z) in degree =  <number>'"),
        ('person pose (x,y,z,rot x, rot y, rot z) =  4 -6 0 0 0 -0.0174533\n', "missing line 'person pose"),
    ],
)
def test_missing_lines_are_named(remove, expected):
    text = EXAMPLE.replace(remove, '')
    assert text != EXAMPLE
    with pytest.raises(UserError, match='^batch/0_3_Parameters.txt: ') as info:
        parse_parameters(text, source='batch/0_3_Parameters.txt')
    assert expected in str(info.value)


def test_example_with_ellipsis_as_in_aos_format_md_is_rejected_clearly():
    text = re.sub(r'img_2 .*img_10 [^\n]*\n', '...\n', EXAMPLE, flags=re.DOTALL)
    with pytest.raises(UserError, match=r'missing line\(s\) img_2, img_3, .*img_10 '):
        parse_parameters(text)


@pytest.mark.parametrize(
    'changes',
    [
        {},
        NO_PERSON,
        dict(person_shape='idle', extra={'seed': '7', 'note': 'a = b', 'bare line': ''}),
        dict(ambient_light=np.float64(0.7123456789012345), ground_temperature_k=np.int64(290), trees_per_ha=0),
    ],
)
def test_format_parse_round_trip(changes):
    params = make_params(**changes)
    text = format_parameters(params)
    assert parse_parameters(text) == params
    if params.has_person:
        assert f'person shape =  {params.person_shape}\n' in text and 'no person' not in text
    else:  # the course README's no-person layout: one shape line, no pose or rotation lines
        assert 'person shape =  no person\n' in text and 'person pose' not in text and 'rotation' not in text
    assert '\n\n\n' not in text and text.endswith('\n') and not text.endswith('\n\n')


def test_format_rejects_inconsistent_person():
    with pytest.raises(ValueError, match='person_shape'):
        format_parameters(make_params(person_shape='standing'))
    with pytest.raises(ValueError, match='person_pose'):
        format_parameters(make_params(person_shape=None))
    with pytest.raises(ValueError, match='6 pose values'):
        format_parameters(make_params(person_pose=(1.0, 2.0)))


def random_sample(rng, size=(12, 16)):
    views = rng.integers(0, 256, (11, *size), dtype=np.uint8)
    return views, views[5].copy()


def test_write_find_load_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    written = {}
    for run, sim, params in [(0, 10, make_params()), (0, 2, make_params(**NO_PERSON)), (1, 0, make_params())]:
        views, gt = random_sample(rng)
        sample = write_raw_sample(str(tmp_path), run, sim, views, gt, params)
        assert isinstance(sample, RawSample) and sample.name == f'{run}_{sim}'
        written[run, sim] = (views, gt, params)
    assert sorted(os.listdir(tmp_path)) == sorted(n for r, s in written for n in SAMPLE_FILES(r, s))  # no temp files

    samples, problems = find_samples(str(tmp_path))
    assert problems == []
    assert [(s.run, s.sim) for s in samples] == [(0, 2), (0, 10), (1, 0)]  # numeric order, not '0_10' < '0_2'
    for s in samples:
        views, gt, params = written[s.run, s.sim]
        assert [os.path.basename(p) for p in s.view_paths] == SAMPLE_FILES(s.run, s.sim)[:11]
        loaded_views, loaded_gt = s.load_views(), s.load_gt()
        assert loaded_views.dtype == np.uint8 and loaded_views.shape == (11, 12, 16)
        np.testing.assert_array_equal(loaded_views, views)
        np.testing.assert_array_equal(loaded_gt, gt)
        assert s.load_params() == params
        all_views, all_gt, all_params = s.load()
        np.testing.assert_array_equal(all_views, views)
        assert all_params == params
    assert cv2.imread(samples[0].gt_path, cv2.IMREAD_UNCHANGED).ndim == 2  # single-channel 8-bit PNG on disk


def test_overwrite_replaces_a_sample(tmp_path):
    rng = np.random.default_rng(1)
    write_raw_sample(str(tmp_path), 0, 1, *random_sample(rng), make_params())
    views, gt = random_sample(rng)
    write_raw_sample(str(tmp_path), 0, 1, views, gt, make_params(**NO_PERSON))
    [sample], _ = find_samples(str(tmp_path))
    np.testing.assert_array_equal(sample.load_views(), views)
    assert not sample.load_params().has_person


def test_incomplete_samples_are_reported_by_name(tmp_path):
    rng = np.random.default_rng(2)
    for sim in (16, 17, 18):
        write_raw_sample(str(tmp_path), 0, sim, *random_sample(rng), make_params())
    os.remove(tmp_path / '0_17_pose_3_thermal.png')
    os.remove(tmp_path / '0_17_Parameters.txt')
    os.remove(tmp_path / '0_18_Parameters.txt')
    (tmp_path / '3_5_GT_pose_0_thermal.png').write_bytes(b'')  # a lone file still names its sample
    # Not sample names: ignored.
    for name in ('notes.txt', '00_16_Parameters.txt', '0_16_pose_11_thermal.png', '.0_16_Parameters.txt.ab12.tmp'):
        (tmp_path / name).write_text('x')
    os.mkdir(tmp_path / 'sub')

    samples, problems = find_samples(str(tmp_path))
    assert [s.name for s in samples] == ['0_16']
    assert problems[0] == ('0_17', 'missing 0_17_pose_3_thermal.png, 0_17_Parameters.txt')
    assert problems[1] == ('0_18', 'missing 0_18_Parameters.txt')
    assert problems[2][0] == '3_5' and problems[2][1].count(',') == 11  # 12 of 13 missing
    assert len(problems) == 3


def test_find_samples_needs_a_folder(tmp_path):
    with pytest.raises(UserError, match='not a folder'):
        find_samples(str(tmp_path / 'absent'))


@pytest.mark.parametrize(
    'views_shape, views_dtype, gt_shape, match',
    [
        ((10, 8, 8), np.uint8, (8, 8), 'views must be uint8'),
        ((11, 8, 8), np.uint16, (8, 8), 'views must be uint8'),
        ((11, 8, 8, 3), np.uint8, (8, 8), 'views must be uint8'),
        ((11, 8, 8), np.uint8, (8, 9), 'gt must be uint8'),
    ],
)
def test_write_validates_arrays(tmp_path, views_shape, views_dtype, gt_shape, match):
    with pytest.raises(ValueError, match=match):
        write_raw_sample(
            str(tmp_path), 0, 0, np.zeros(views_shape, views_dtype), np.zeros(gt_shape, np.uint8), make_params()
        )
    assert os.listdir(tmp_path) == []


def write_one(tmp_path, seed=3):
    write_raw_sample(str(tmp_path), 0, 7, *random_sample(np.random.default_rng(seed)), make_params())
    [sample], _ = find_samples(str(tmp_path))
    return sample


def test_three_equal_channels_read_as_one(tmp_path):
    sample = write_one(tmp_path)
    gt = sample.load_gt()
    cv2.imwrite(sample.gt_path, np.repeat(gt[:, :, None], 3, axis=2))
    assert cv2.imread(sample.gt_path, cv2.IMREAD_UNCHANGED).shape == (12, 16, 3)
    loaded = sample.load_gt()
    assert loaded.shape == (12, 16)
    np.testing.assert_array_equal(loaded, gt)


def test_colour_png_is_rejected(tmp_path):
    sample = write_one(tmp_path)
    colour = np.zeros((12, 16, 3), np.uint8)
    colour[:, :, 2] = 200
    cv2.imwrite(sample.view_paths[4], colour)
    with pytest.raises(UserError, match=re.escape(sample.view_paths[4]) + ': .*3 channels that differ'):
        sample.load_views()


def test_truncated_png_names_the_file(tmp_path):
    sample = write_one(tmp_path)
    data = open(sample.view_paths[2], 'rb').read()
    with open(sample.view_paths[2], 'wb') as f:
        f.write(data[: len(data) // 2])
    with pytest.raises(UserError, match=re.escape(sample.view_paths[2]) + ': not a readable image'):
        sample.load_views()


def test_sixteen_bit_and_size_mismatch_are_rejected(tmp_path):
    sample = write_one(tmp_path)
    cv2.imwrite(sample.gt_path, np.zeros((12, 16), np.uint16))
    with pytest.raises(UserError, match=re.escape(sample.gt_path) + ': expected an 8-bit image, got uint16'):
        sample.load_gt()
    cv2.imwrite(sample.gt_path, np.zeros((12, 15), np.uint8))
    with pytest.raises(UserError, match=re.escape(sample.gt_path) + r': size \(12, 15\) differs'):
        sample.load()
    cv2.imwrite(sample.view_paths[9], np.zeros((13, 16), np.uint8))
    with pytest.raises(UserError, match=re.escape(sample.view_paths[9]) + r': size \(13, 16\) differs'):
        sample.load_views()


def test_load_params_errors_name_the_file(tmp_path):
    sample = write_one(tmp_path)
    text = open(sample.params_path).read().replace('ambient light =  ', 'ambient light =  x')
    with open(sample.params_path, 'w') as f:
        f.write(text)
    with pytest.raises(
        UserError, match=re.escape(sample.params_path) + r', line \d+: ambient light: expected a number'
    ):
        sample.load_params()
