import numpy as np
from basicsr.metrics.psnr_ssim import calculate_psnr
from basicsr.utils.registry import METRIC_REGISTRY

from basicsr_ext.losses.position_enhanced_loss import person_window


@METRIC_REGISTRY.register()
def calculate_person_psnr(img, img2, pos=None, patch_size=96, image_size=512, full_size=None, **kwargs):
    """PSNR inside the position-enhanced loss's window around the person (seed 000's 96 px at 512 px, scaled).

    ``pos`` (row, col) comes from the model's validation (``AOSRestorationModel`` passes it with the images); the
    window is clipped at the border exactly as :class:`PositionEnhancedLoss` places it. Samples without a person use
    the image centre, as the dataset gives them. Without ``pos`` the whole image is used.

    Args:
        img, img2 (ndarray): Images (H, W) or (H, W, C), range [0, 255].
        pos (tuple | None): (row, col) in pixels.
        patch_size, image_size, full_size: As in PositionEnhancedLoss (window = patch_size * W_full / image_size).
    """
    if pos is None:
        return calculate_psnr(img, img2, crop_border=0)
    h, w = img.shape[:2]
    p = person_window(w, patch_size, image_size, full_size)
    r, c = (int(np.floor(float(v) + 0.5)) for v in pos)
    top, left = max(0, r - p // 2), max(0, c - p // 2)
    bottom, right = min(h, r - p // 2 + p), min(w, c - p // 2 + p)
    if bottom <= top or right <= left:
        return float('nan')
    return calculate_psnr(img[top:bottom, left:right], img2[top:bottom, left:right], crop_border=0)
