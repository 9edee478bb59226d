import numpy as np
from basicsr.metrics.metric_util import reorder_image
from basicsr.utils.registry import METRIC_REGISTRY


def _errors(img, img2, crop_border, input_order):
    if img.shape != img2.shape:
        raise ValueError(f'Image shapes differ: {img.shape}, {img2.shape}.')
    img = reorder_image(img, input_order=input_order).astype(np.float64) / 255.0
    img2 = reorder_image(img2, input_order=input_order).astype(np.float64) / 255.0
    if crop_border:
        img = img[crop_border:-crop_border, crop_border:-crop_border]
        img2 = img2[crop_border:-crop_border, crop_border:-crop_border]
    return img - img2


@METRIC_REGISTRY.register()
def calculate_mae(img, img2, crop_border=0, input_order='HWC', **kwargs):
    """Mean absolute error of images normalised to [0, 1] (the MAE column of the AOS course report, Aliyev et al. 2024).

    Args:
        img, img2 (ndarray): Images with range [0, 255], as BasicSR's validation passes them.
        crop_border (int): Pixels cropped at each edge before the mean. Default: 0.
    """
    return float(np.mean(np.abs(_errors(img, img2, crop_border, input_order))))


@METRIC_REGISTRY.register()
def calculate_mse(img, img2, crop_border=0, input_order='HWC', **kwargs):
    """Mean squared error of images normalised to [0, 1] (the AOS course report's MSE column); lower is better."""
    return float(np.mean(_errors(img, img2, crop_border, input_order) ** 2))
