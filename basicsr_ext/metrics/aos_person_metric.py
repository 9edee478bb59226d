"""The AOS person scores (``aos.person_scores``) as BasicSR metrics, for ``val.metrics`` and ``val.save_best``.

Each returns NaN for a GT without a person; validation averages every metric over the samples where it is a number,
so the person scores are the means over the samples with a person.
"""

from basicsr.utils.registry import METRIC_REGISTRY

from basicsr_ext.aos import person_scores


@METRIC_REGISTRY.register()
def calculate_person_contrast(img, img2, **kwargs):
    """Person contrast kept: (mean(x[M]) - median(x[R])) / (mean(GT[M]) - median(GT[R])); 1 = the GT's."""
    return person_scores.contrast_kept(img, img2)


@METRIC_REGISTRY.register()
def calculate_person_found(img, img2, k=1, **kwargs):
    """1 when one of the top ``k`` candidates (blurred maxima) lies within 20 px at 512 px of the person, else 0."""
    return person_scores.found(img, img2, k=int(k))


@METRIC_REGISTRY.register()
def calculate_person_mask_psnr(img, img2, **kwargs):
    """PSNR over the GT's person mask M."""
    return person_scores.person_psnr(img, img2)


@METRIC_REGISTRY.register()
def calculate_background_psnr(img, img2, **kwargs):
    """PSNR outside the person mask dilated by 11 px at 512 px (the whole image without a person)."""
    return person_scores.background_psnr(img, img2)
