"""Synthetic saturated-colour training images: seeded, every hue, saturated (full range: out to 0 and 255), and in the
denoise preparer."""

import cv2
import numpy as np
import pytest

from basicsr_ext.data.colour_fields import colour_fields
from basicsr_ext.data.sample_photos_prepare import sample_photos_denoise
from basicsr_ext.utils.errors import UserError


def test_colour_fields_are_seeded_and_have_the_colours_photos_lack():
    images = colour_fields(3, seed=5, size=96)
    again = colour_fields(3, seed=5, size=96)
    assert all(np.array_equal(a, b) for a, b in zip(images, again))
    assert not np.array_equal(images[0], colour_fields(1, seed=6, size=96)[0])
    for img in images:
        assert img.shape == (96, 96, 3) and img.dtype == np.uint8
        hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
        saturated = hsv[..., 1] > 150
        assert saturated.mean() > 0.3  # strongly saturated
        hues = np.histogram(hsv[..., 0][saturated], bins=6, range=(0, 180))[0]
        assert (hues > 0).sum() >= 5  # nearly every hue sector


def test_full_range_fields_reach_0_and_255_where_the_default_ones_do_not():
    """Clipped noise darkens a channel at 255 (and lifts one at 0): a denoiser learns to undo that only from images
    that have such values. The default fields stay the same draws (shipped weights were trained on them)."""
    share = {}
    for full_range in (False, True):
        images = colour_fields(4, seed=1, size=96, full_range=full_range)
        share[full_range] = [np.mean([(img == value).mean() for img in images]) for value in (0, 255)]
    assert share[True][0] > 0.1 and share[True][1] > 0.1 and share[False][1] < 0.01
    # the default fields as they were made for the shipped weights (per-channel means, BGR; any other draw order or
    # range moves them by tens of grey levels, OpenCV's antialiasing by far less than 0.5)
    means = [img.reshape(-1, 3).mean(0) for img in colour_fields(2, seed=0, size=64)]
    assert np.allclose(means, [[100.21, 136.67, 164.43], [59.62, 96.57, 62.05]], atol=0.5)


def test_the_denoise_preparer_adds_them_and_checks_the_count(tmp_path):
    root = tmp_path / 'data'
    sample_photos_denoise(
        str(root), val_crops=1, crop_size=32, train=('camera.png',), colour_fields=2, full_range_fields=1
    )
    assert sorted(p.name for p in (root / 'train').iterdir()) == [
        'camera.png',
        'colour_field_00.png',
        'colour_field_01.png',
        'full_range_field_00.png',
    ]
    assert cv2.imread(str(root / 'train' / 'colour_field_01.png')).shape == (384, 384, 3)
    assert (cv2.imread(str(root / 'train' / 'full_range_field_00.png')) == 255).mean() > 0.1
    with pytest.raises(UserError, match='sample_photos_denoise colour_fields: expected an integer >= 0, got -1'):
        sample_photos_denoise(str(tmp_path / 'other'), colour_fields=-1)
    with pytest.raises(UserError, match='sample_photos_denoise full_range_fields: expected an integer >= 0, got 1.5'):
        sample_photos_denoise(str(tmp_path / 'other'), full_range_fields=1.5)
