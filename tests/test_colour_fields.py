"""Synthetic saturated-colour training images: seeded, every hue, saturated, and in the denoise preparer."""

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


def test_the_denoise_preparer_adds_them_and_checks_the_count(tmp_path):
    root = tmp_path / 'data'
    sample_photos_denoise(str(root), val_crops=1, crop_size=32, train=('camera.png',), colour_fields=2)
    assert sorted(p.name for p in (root / 'train').iterdir()) == [
        'camera.png',
        'colour_field_00.png',
        'colour_field_01.png',
    ]
    assert cv2.imread(str(root / 'train' / 'colour_field_01.png')).shape == (384, 384, 3)
    with pytest.raises(UserError, match='sample_photos_denoise colour_fields: expected an integer >= 0, got -1'):
        sample_photos_denoise(str(tmp_path / 'other'), colour_fields=-1)
