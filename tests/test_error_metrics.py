"""MAE / MSE metrics (the AOS course report's table columns, Aliyev et al. 2024) on [0, 1]-normalised images."""

import numpy as np
import pytest
from basicsr.metrics import calculate_metric


def test_mae_and_mse_match_hand_values_on_0_1_scale():
    a = np.zeros((4, 4, 1), np.uint8)
    b = a.copy()
    b[0, 0] = 255  # one pixel off by 1.0 on the [0, 1] scale
    b[1, 1] = 51  # one off by 0.2
    assert calculate_metric({'img': a, 'img2': b}, {'type': 'calculate_mae'}) == pytest.approx(1.2 / 16)
    assert calculate_metric({'img': a, 'img2': b}, {'type': 'calculate_mse'}) == pytest.approx(1.04 / 16)
    # crop_border drops the edge pixels: only (1, 1) remains inside a 1-pixel border
    assert calculate_metric({'img': a, 'img2': b}, {'type': 'calculate_mse', 'crop_border': 1}) == pytest.approx(
        0.04 / 4
    )
    # the option file's 'better' key is for the model's best tracking, not the function
    assert calculate_metric({'img': a, 'img2': a}, {'type': 'calculate_mae', 'better': 'lower'}) == 0.0


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match='shapes differ'):
        calculate_metric({'img': np.zeros((4, 4, 1)), 'img2': np.zeros((4, 5, 1))}, {'type': 'calculate_mae'})
