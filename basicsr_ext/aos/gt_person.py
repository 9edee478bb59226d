"""The person in an AOS ground truth: one threshold rule, and the forms every part of the project reads it in.

The GT of an AOS sample is one flat ground level plus a warm person of a few hundred pixels. Its person is what stands
out of the ground: the pixels above median + half the way to the maximum, when the maximum is at least
:data:`MIN_CONTRAST` grey levels above the median (else the GT holds no person) (:func:`hot_threshold`). On it:

- :func:`person_mask` M, the GT's person pixels, and :func:`centroid` (the person scores of ``aos.person_scores``,
  ``calculate_person_*`` metrics, the top candidate's distance in ``aos_restore.py``'s report);
- :func:`person_mask_torch` / :func:`hot_thresholds_torch`, M of a batch of [0, 1] tensors (the person-mask term of
  ``PositionEnhancedLoss``);
- :func:`locate_person`, the GT's brightest blob: the same rule on the GT smoothed with a 3x3 box (single hot pixels
  do not count) and the centroid of the region holding the maximum only; it places the 96 px person window for data
  without a recorded position (``aos_restore.py``'s report and the demo, docs/aos_restore.md);
- :func:`hot_area_mask`, the domain report's hot area (``aos.domain_stats``): a wider rule measured in square metres,
  ``ground + max(HOT_MIN_DELTA, HOT_FRACTION (max - ground))`` with specks below :data:`MIN_BLOB_M2` dropped, which
  also finds a faint person (the simulator's constants were calibrated on it, docs/aos_sim2real.md).

Images are (H, W) arrays on the 0-255 scale (uint8 or float; (H, W, C) images are averaged over channels).
"""

import cv2
import numpy as np
import torch

MIN_CONTRAST = 40.0  # grey levels the GT's maximum must stand above its median for the GT to hold a person
HOT_MIN_DELTA = 30.0  # hot area: grey levels above the ground median a person pixel must at least be
HOT_FRACTION = 0.5  # ... or this fraction of the way from the ground median to the GT maximum, whichever is more
MIN_BLOB_M2 = 0.02  # hot area: components smaller than this are noise (single warm pixels), not a person


def grey(img):
    """``img`` as a float64 (H, W) array; BasicSR hands metrics (H, W, C) images, and AOS images are grey."""
    img = np.asarray(img, dtype=np.float64)
    if img.ndim == 3:
        img = img.mean(axis=2)
    return img


def hot_threshold(img, min_contrast=MIN_CONTRAST):
    """The person threshold of one image: median + half the way to the maximum; None when the maximum stands less
    than ``min_contrast`` grey levels above the median (no person)."""
    peak, ground = float(img.max()), float(np.median(img))
    if peak - ground < min_contrast:
        return None
    return ground + 0.5 * (peak - ground)


def person_mask(gt, min_contrast=MIN_CONTRAST):
    """The GT's person mask M (bool (H, W)); None when nothing stands ``min_contrast`` grey levels above the median."""
    gt = grey(gt)
    threshold = hot_threshold(gt, min_contrast)
    return None if threshold is None else gt > threshold


def centroid(mask):
    """(row, col) of the mask's centroid."""
    rows, cols = np.nonzero(mask)
    return float(rows.mean()), float(cols.mean())


def locate_person(gt, min_contrast=MIN_CONTRAST):
    """(row, col) centroid of the GT's brightest blob, or None when nothing stands out.

    The GT is smoothed (3x3 box, so single hot pixels do not count), thresholded by :func:`hot_threshold` (pixels at
    or above it), and the connected region holding the maximum gives the centroid.
    """
    img = cv2.blur(np.asarray(gt, dtype=np.float32), (3, 3))
    threshold = hot_threshold(img, min_contrast)
    if threshold is None:
        return None
    mask = (img >= threshold).astype(np.uint8)
    _, labels, _, centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
    r, c = np.unravel_index(int(np.argmax(img)), img.shape)
    col, row = centroids[labels[r, c]]
    return float(row), float(col)


def hot_thresholds_torch(gt, min_contrast=MIN_CONTRAST / 255.0):
    """Per image of a (B, C, H, W) batch in [0, 1]: ``(threshold (B,), has_person (B,))``. With a person the
    threshold is :func:`person_mask`'s (median + half the way to the maximum); without one it is the median plus half
    of ``min_contrast``, so anything that warm would be taken for a person."""
    flat = gt.float().mean(dim=1).flatten(1)
    peak = flat.max(dim=1).values
    ground = flat.median(dim=1).values  # the lower median, as the threshold needs no more
    has = (peak - ground) >= min_contrast
    threshold = torch.where(has, ground + 0.5 * (peak - ground), ground + 0.5 * min_contrast)
    return threshold, has


def person_mask_torch(gt, min_contrast=MIN_CONTRAST / 255.0):
    """:func:`person_mask` of every image of a (B, C, H, W) batch in [0, 1]: a (B, 1, H, W) float mask, all zero for
    an image without a person."""
    threshold, has = hot_thresholds_torch(gt, min_contrast)
    grey_batch = gt.float().mean(dim=1, keepdim=True)
    return ((grey_batch > threshold.view(-1, 1, 1, 1)) & has.view(-1, 1, 1, 1)).float()


def hot_area_mask(gt, px_per_m):
    """``(hot mask, threshold, ground median)`` of the domain report: the GT pixels brighter than ``ground +
    max(HOT_MIN_DELTA, HOT_FRACTION (GT max - ground))`` (ground = the GT's median, which the person barely moves),
    in 8-connected components of at least :data:`MIN_BLOB_M2` at ``px_per_m`` pixels per metre."""
    gt = np.asarray(gt, dtype=np.float32)
    ground = float(np.median(gt))
    threshold = ground + max(HOT_MIN_DELTA, HOT_FRACTION * (float(gt.max()) - ground))
    hot = (gt > threshold).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(hot, connectivity=8)
    keep = [i for i in range(1, count) if stats[i, cv2.CC_STAT_AREA] >= MIN_BLOB_M2 * px_per_m**2]
    return np.isin(labels, keep), threshold, ground
