"""Person-region PSNR: the loss's window around the person."""

import numpy as np
import pytest
from basicsr.metrics import calculate_metric


def test_person_psnr_measures_only_the_window():
    img = np.zeros((64, 64), np.float64)
    img2 = img.copy()
    img2[30:34, 30:34] = 10.0  # error inside the window around (32, 32)
    img2[0:4, 0:4] = 200.0  # a large error far away
    data = {'img': img, 'img2': img2, 'pos': (32.0, 32.0)}
    value = calculate_metric(data, {'type': 'calculate_person_psnr', 'patch_size': 96, 'image_size': 512})
    # window 12 x 12 (96 * 64 / 512): 16 pixels with error 10 -> MSE 100 * 16 / 144
    assert value == pytest.approx(10 * np.log10(255.0**2 / (100 * 16 / 144)))
    whole = calculate_metric(data, {'type': 'calculate_psnr', 'crop_border': 0})  # BasicSR's ignores pos
    assert whole < value


def test_window_is_clipped_at_the_border():
    img, img2 = np.zeros((64, 64)), np.zeros((64, 64))
    img2[0, 0] = 30.0
    value = calculate_metric(
        {'img': img, 'img2': img2, 'pos': (0.0, 0.0)},
        {'type': 'calculate_person_psnr', 'patch_size': 96, 'image_size': 512},
    )
    assert value == pytest.approx(10 * np.log10(255.0**2 / (900 / 36)))  # the 6 x 6 part inside the image
