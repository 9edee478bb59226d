from basicsr.metrics.psnr_ssim import calculate_psnr
from basicsr.utils.registry import METRIC_REGISTRY

from basicsr_ext.aos.position import PersonWindow


@METRIC_REGISTRY.register()
def calculate_person_psnr(img, img2, pos=None, patch_size=96, image_size=512, full_size=None, **kwargs):
    """PSNR inside the person window (``aos.position.PersonWindow``: the position-enhanced loss's 96 px at 512 px of
    the AOS course report, section 4.2, scaled to the image).

    ``pos`` (row, col) comes from the model's validation (``AOSRestorationModel`` passes it with the images, and fills
    in the window of ``train.position_opt`` when this metric's options leave it out); the window is clipped at the
    border exactly as :class:`PositionEnhancedLoss` places it. Samples without a person use the image centre, as the
    dataset gives them. Without ``pos`` the whole image is used.

    Args:
        img, img2 (ndarray): Images (H, W) or (H, W, C), range [0, 255].
        pos (tuple | None): (row, col) in pixels.
        patch_size, image_size, full_size: The window, as in PositionEnhancedLoss.
    """
    if pos is None:
        return calculate_psnr(img, img2, crop_border=0)
    h, w = img.shape[:2]
    top, left, bottom, right = PersonWindow(patch_size, image_size, full_size).box(pos, h, w)
    if bottom <= top or right <= left:
        return float('nan')
    return calculate_psnr(img[top:bottom, left:right], img2[top:bottom, left:right], crop_border=0)
