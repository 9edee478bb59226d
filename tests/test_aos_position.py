"""The person position from raw sample to loss window: one PersonPosition with its camera, one PersonWindow."""

import numpy as np
import pytest
import torch

from basicsr_ext.aos.focal_stack import read_focal_stack
from basicsr_ext.aos.geometry import CameraModel
from basicsr_ext.aos.lmdb_store import create_split_lmdb
from basicsr_ext.aos.parameters import AOSParameters
from basicsr_ext.aos.position import PersonPosition, PersonWindow
from basicsr_ext.aos.raw import write_raw_sample
from basicsr_ext.data.aos_focal_stack_dataset import AOSFocalStackDataset
from basicsr_ext.losses.position_enhanced_loss import PositionEnhancedLoss
from basicsr_ext.metrics.person_psnr_metric import calculate_person_psnr

from conftest import run_script

SIZE = 128
CAMERA = CameraModel(size=SIZE, fov_deg=40, altitude=50)  # not the course camera (50 deg, 35 m)
PERSONS = [(12.0, -13.0), (-13.0, 11.0), (11.0, 12.0)]


def params(x, y):
    poses = {'img_GT': (0, 0, 50, 0.0, 1.57, 0)}
    poses.update({f'img_{i}': (0, i - 6, 50, 0.0, 1.57, 0) for i in range(1, 12)})
    return AOSParameters(
        poses=poses,
        trees_per_ha=100,
        person_shape='laying',
        person_pose=(x, y, 0, 0, 0, 0.1),
        person_rotation_rad=0.1,
        person_rotation_deg=5.7,
        ambient_light=0.7,
        sun_azimuth_deg=20.0,
        sun_compass_deg=100.0,
        ground_temperature_k=290,
        tree_top_temperature_k=300,
    )


def write_raw(folder):
    """Raw samples seen by CAMERA: dark views, and a GT with a bright 3x3 person where CAMERA puts it."""
    for sim, (x, y) in enumerate(PERSONS):
        gt = np.full((SIZE, SIZE), 20, np.uint8)
        r, c = (int(np.floor(v + 0.5)) for v in CAMERA.metres_to_pixels(x, y))
        gt[r - 1 : r + 2, c - 1 : c + 2] = 250
        views = np.full((11, SIZE, SIZE), 40, np.uint8)
        write_raw_sample(str(folder), 0, sim, views, gt, params(x, y))


@pytest.fixture(scope='module')
def converted(tmp_path_factory):
    root = tmp_path_factory.mktemp('camera')
    write_raw(root / 'raw')
    argv = ['--raw', root / 'raw', '--out', root / 'stacks', '--heights', '0', '--val', '0', '--test', '0']
    run = run_script('aos_prepare', [*argv, '--fov', '40', '--altitude', '50', '--montages', '0'])
    assert run.returncode == 0, run.stderr
    create_split_lmdb(str(root / 'stacks' / 'train'), str(root / 'lmdb'))
    return root


def test_stacks_from_a_non_default_camera_put_the_window_on_the_person(converted):
    split = converted / 'stacks' / 'train'
    name = sorted((split / 'stacks').iterdir())[0]
    _, meta = read_focal_stack(str(name))
    assert CameraModel(**meta['camera']) == CAMERA
    for backend, lq, gt in (
        ('disk', split / 'stacks', split / 'gt'),
        ('lmdb', converted / 'lmdb' / 'stacks.lmdb', converted / 'lmdb' / 'gt.lmdb'),
    ):
        ds = AOSFocalStackDataset(
            {'phase': 'val', 'io_backend': {'type': backend}, 'dataroot_lq': str(lq), 'dataroot_gt': str(gt)}
        )
        assert len(ds) == len(PERSONS)
        loss = PositionEnhancedLoss(patch_size=6, image_size=SIZE, weight=1.0)
        for item in ds:
            assert item['has_person']
            gt_img = item['gt'][None]
            r, c = (int(np.floor(v + 0.5)) for v in item['pos'].tolist())
            assert gt_img[0, 0, r, c] > 0.9, backend  # the window's centre pixel is the person
            # the loss's window holds the whole person: an output that is wrong only there costs the full patch term
            wrong_person = gt_img.clone()
            wrong_person[gt_img > 0.9] = 0
            patch_only = loss(wrong_person, gt_img, item['pos'][None], item['has_person'][None])
            expected = float((gt_img - wrong_person).abs().sum()) / 36
            assert float(patch_only) == pytest.approx(expected, rel=1e-5)
            # the person PSNR window covers the person too: a wrong person drops it, a wrong corner does not
            img = (gt_img[0, 0].numpy() * 255).round()
            window = {'patch_size': 6, 'image_size': SIZE}
            assert (
                calculate_person_psnr(img, (wrong_person[0, 0].numpy() * 255).round(), pos=item['pos'], **window) < 20
            )
            top, left, bottom, right = PersonWindow(6, SIZE).box(item['pos'].tolist(), SIZE, SIZE)
            wrong_elsewhere = np.zeros_like(img)
            wrong_elsewhere[top:bottom, left:right] = img[top:bottom, left:right]
            assert calculate_person_psnr(img, wrong_elsewhere, pos=item['pos'], **window) == float('inf')


def test_the_default_camera_would_miss_the_person():
    x, y = PERSONS[0]
    right = np.array(PersonPosition(x, y, CAMERA).pixels())
    default = np.array(PersonPosition(x, y, CameraModel(size=SIZE)).pixels())
    assert np.abs(right - default).max() > 4  # the bug this value object fixes: the 6 px window would miss the person


def test_position_from_params_meta_and_rescaled():
    pos = PersonPosition.from_params(params(4.0, -6.0), CAMERA)
    assert pos == PersonPosition(4.0, -6.0, CAMERA, 'laying')
    meta = {'person': pos.to_meta(), 'camera': pos.camera_meta}
    assert PersonPosition.from_meta(meta, SIZE) == pos
    assert PersonPosition.from_meta({'person': None}, SIZE) is None
    # a stack written before the camera was recorded: the course camera at the stack's size
    assert PersonPosition.from_meta({'person': pos.to_meta()}, 128).camera == CameraModel(size=128)
    row, col = pos.pixels()
    row2, col2 = pos.pixels(size=2 * SIZE)
    assert (row2 - SIZE) == pytest.approx(2 * (row - SIZE / 2)) and (col2 - SIZE) == pytest.approx(2 * (col - SIZE / 2))
    assert pos.pixels(mapping='course_report') == CAMERA.metres_to_pixels(4.0, -6.0, mapping='course_report')


def test_one_window_for_loss_metric_and_montage():
    window = PersonWindow(96, 512, 128)
    assert window.side(64) == 24 and PersonWindow().side(512) == 96 and PersonWindow().side(128) == 24
    assert PersonWindow.from_options({'patch_size': 96, 'image_size': 512, 'full_size': 128, 'type': 'x'}) == window
    assert PositionEnhancedLoss(full_size=128).window == window
    assert window.box((1.4, 62.6), 64, 64) == (0, 51, 13, 64)  # clipped at the border, centred on the pixel
    mask = PositionEnhancedLoss(full_size=128).person_mask(torch.tensor([[1.4, 62.6]]), 64, 64, window.side(64))
    rows, cols = mask[0].nonzero().T
    assert (rows.min(), cols.min(), rows.max() + 1, cols.max() + 1) == window.box((1.4, 62.6), 64, 64)


def test_the_model_resolves_one_window_for_loss_metric_and_montage():
    from basicsr_ext.models.aos_restoration_model import resolve_person_window
    from basicsr_ext.utils.errors import UserError

    def opt(metric, loss=None):
        train = {} if loss is None else {'position_opt': {'type': 'PositionEnhancedLoss', **loss}}
        return {
            'is_train': True,
            'train': train,
            'val': {'metrics': {'person': {'type': 'calculate_person_psnr', **metric}}},
        }

    given = opt({}, {'patch_size': 48, 'full_size': 128})
    assert resolve_person_window(given) == PersonWindow(48, 512, 128)
    assert given['val']['metrics']['person'] == {
        'type': 'calculate_person_psnr',
        'patch_size': 48,
        'image_size': 512,
        'full_size': 128,
    }  # the metric measures in the loss's window
    assert resolve_person_window(opt({'patch_size': 48}, {'patch_size': 48})) == PersonWindow(48)  # equal: fine
    with pytest.raises(UserError, match=r"val\.metrics\.person: window \{'patch_size': 96\} differs from "):
        resolve_person_window(opt({'patch_size': 96}, {'patch_size': 48}))
    assert resolve_person_window(opt({'full_size': 128})) == PersonWindow(full_size=128)  # test runs: the metric's
    assert resolve_person_window({'is_train': False, 'val': {}}) == PersonWindow()
