"""The AOS camera model: constants, axis conventions, the two position mappings."""

import math

import numpy as np
import pytest

from basicsr_ext.aos.geometry import CameraModel


def test_default_camera_constants():
    cam = CameraModel()
    assert cam.focal_px == pytest.approx(256 / math.tan(math.radians(25)))
    assert cam.focal_px == pytest.approx(549.0, abs=0.05)
    assert cam.pixels_per_metre(0) == pytest.approx(15.69, abs=0.01)
    assert cam.footprint_m(0) == pytest.approx(32.6, abs=0.05)
    assert list(cam.view_y(range(11))) == [-5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5]


def test_view_shift_matches_the_closed_form():
    cam = CameraModel()
    # integrating samples view k at col + shift: view 0 (y = -5 m) moves right by f * 5 / 35 = 78.4 px at h = 0
    assert cam.view_shift_px(0, 0.0) == pytest.approx(-78.43, abs=0.01)
    assert cam.view_shift_px(5, 1.0) == 0
    for k in (0, 3, 10):
        for h in (0.0, 1.5, 3.0):
            assert cam.view_shift_px(k, h) == pytest.approx(-cam.focal_px * (5 - k) / (35 - h))
    with pytest.raises(ValueError, match='not below the altitude'):
        cam.view_shift_px(0, 35.0)


def test_x_maps_to_rows_and_y_to_columns_both_decreasing():
    cam = CameraModel()
    assert cam.metres_to_pixels(0, 0) == (256, 256)
    row, col = cam.metres_to_pixels(4, 0)
    assert col == 256 and row == pytest.approx(256 - 4 * 15.685, abs=0.01)
    row, col = cam.metres_to_pixels(0, -6)
    assert row == 256 and col == pytest.approx(256 + 6 * 15.685, abs=0.01)
    # a raised point is seen larger (further from the centre)
    assert cam.metres_to_pixels(4, 0, z=2)[0] < cam.metres_to_pixels(4, 0, z=0)[0]


def test_round_trip_and_arrays():
    cam = CameraModel(size=128)
    x, y = np.array([-10.0, 0.0, 7.5]), np.array([3.0, -2.0, 10.0])
    rows, cols = cam.metres_to_pixels(x, y, z=0.5)
    back = cam.pixels_to_metres(rows, cols, z=0.5)
    assert np.allclose(back[0], x) and np.allclose(back[1], y)


def test_seed_mapping_and_its_scaling():
    cam = CameraModel()
    for v in range(-10, 11):
        assert cam.metres_to_pixels(v, v, mapping='course_report') == (math.floor(256 * (1 - v / 16)),) * 2
    # 16 px/m is the pinhole scale of a point 0.69 m above ground
    geo = cam.metres_to_pixels(8, -8, z=35 - cam.focal_px / 16)
    assert np.allclose(geo, (128, 384))
    half = CameraModel(size=256)
    for v in (-10, -3, 5, 10):  # both mappings scale with the image size
        assert half.metres_to_pixels(v, 0, mapping='course_report')[0] == math.floor(128 * (1 - v / 16))
        assert half.metres_to_pixels(v, 0)[0] - 128 == pytest.approx((cam.metres_to_pixels(v, 0)[0] - 256) / 2)
    with pytest.raises(ValueError, match='mapping must be one of'):
        cam.metres_to_pixels(0, 0, mapping='other')


def test_invalid_camera_is_refused():
    with pytest.raises(ValueError, match='center_view'):
        CameraModel(num_views=3, center_view=5)
    with pytest.raises(ValueError, match='invalid camera model'):
        CameraModel(altitude=0)
