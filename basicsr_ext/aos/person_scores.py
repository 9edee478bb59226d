"""The scores that say whether a restoration keeps the person of an AOS ground truth.

The GT of an AOS sample is one flat ground level plus a warm person of a few hundred pixels, so whole-image PSNR is
mostly the ground level: a constant image at the GT's median, with no person at all, beats a restorer that dims the
person. These scores look at the person itself (all sizes are given at 512 px and scale with the image width):

- **mask** M = GT > median(GT) + 0.5 (max(GT) - median(GT)), when max - median is at least :data:`MIN_CONTRAST`
  grey levels (else the GT has no person and every person score is NaN: reported apart); M, its centroid and the
  torch form of the loss live in :mod:`basicsr_ext.aos.gt_person`, the home of the GT's person;
- **ring** R = dilate(M, 41 x 41) minus dilate(M, 11 x 11): the ground around the person;
- **contrast kept** = (mean(x[M]) - median(x[R])) / (mean(GT[M]) - median(GT[R])): 1 for the GT, 0 for a constant;
- **found**: the brightest point of x blurred by a Gaussian of sigma 3 px (the centre of the blob around it, see
  :func:`basicsr_ext.aos.candidates.find_candidates`) lies within 20 px (1.3 m) of M's centroid (``found_at_k``:
  one of the top k candidates does);
- **person PSNR** (inside M) and **background PSNR** (outside dilate(M, 11 x 11)).

Images are (H, W) arrays on the 0-255 scale (uint8 or float).
"""

import math

import cv2
import numpy as np

from basicsr_ext.aos.candidates import find_candidates, scaled
from basicsr_ext.aos.gt_person import MIN_CONTRAST, centroid, grey, person_mask

RING_OUTER, RING_INNER = 41, 11  # px at 512 px
FOUND_RADIUS = 20.0  # px at 512 px (1.3 m at the course camera's 15.7 px/m)


def _odd(n):
    n = max(1, int(round(n)))
    return n if n % 2 else n + 1


def _dilate(mask, size):
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (size, size))
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)


def ring(mask):
    """The ground ring around ``mask``: dilate by 41 px minus dilate by 11 px (at 512 px, scaled to the width)."""
    width = mask.shape[1]
    return _dilate(mask, _odd(scaled(RING_OUTER, width))) & ~_dilate(mask, _odd(scaled(RING_INNER, width)))


def contrast_kept(img, gt, mask=None):
    """(mean(x[M]) - median(x[R])) / (mean(GT[M]) - median(GT[R])); NaN without a person."""
    gt = grey(gt)
    mask = person_mask(gt) if mask is None else mask
    if mask is None:
        return float('nan')
    img, around = grey(img), ring(mask)
    if not around.any():  # a person filling the image: the ring is empty
        return float('nan')
    reference = gt[mask].mean() - np.median(gt[around])
    if reference <= 0:
        return float('nan')
    return float((img[mask].mean() - np.median(img[around])) / reference)


def found(img, gt, k=1, mask=None, evidence=None):
    """1.0 when one of the top ``k`` candidates of ``img`` (ranked with the 0 m integral ``evidence`` when given)
    lies within 20 px (at 512 px) of the person's centroid, else 0.0; NaN without a person."""
    mask = person_mask(gt) if mask is None else mask
    if mask is None:
        return float('nan')
    img = grey(img)
    row, col = centroid(mask)
    radius = scaled(FOUND_RADIUS, img.shape[1])
    hits = [math.hypot(c.row - row, c.col - col) <= radius for c in find_candidates(img, k=k, evidence=evidence)]
    return float(any(hits))


def _psnr(a, b):
    mse = float(np.mean((a - b) ** 2))
    return float('inf') if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


def person_psnr(img, gt, mask=None):
    """PSNR over the person's pixels (inside M); NaN without a person."""
    mask = person_mask(gt) if mask is None else mask
    if mask is None:
        return float('nan')
    return _psnr(grey(img)[mask], grey(gt)[mask])


def background_psnr(img, gt, mask=None):
    """PSNR outside dilate(M, 11 x 11) (the whole image without a person)."""
    gt = grey(gt)
    mask = person_mask(gt) if mask is None else mask
    outside = np.ones(gt.shape, bool) if mask is None else ~_dilate(mask, _odd(scaled(RING_INNER, gt.shape[1])))
    return _psnr(grey(img)[outside], gt[outside])


def person_scores(img, gt, k=5, evidence=None):
    """Every score of one image: ``{contrast, found, found_at_k, person_mask_psnr, background_psnr}`` (the person
    scores NaN when the GT has no person); ``evidence``: the 0 m integral that ranks the candidates."""
    mask = person_mask(gt)
    return {
        'contrast': contrast_kept(img, gt, mask),
        'found': found(img, gt, 1, mask, evidence),
        'found_at_k': found(img, gt, k, mask, evidence),
        'person_mask_psnr': person_psnr(img, gt, mask),
        'background_psnr': background_psnr(img, gt, mask),
    }


OFFSET_MAX = 32  # px at 512 px: the farthest GT offset looked for (2 m at the course camera)


def gt_offset(integral, gt, max_shift=OFFSET_MAX):
    """The offset of a GT's person from the person in its 0 m integral, when the GT is visibly misregistered.

    The integral's warm pixels (above its median by half the way to its 99.9th percentile) are slid over the GT's
    person mask M by up to ``max_shift`` px (at 512 px, scaled); ``covered`` is the fraction of M they cover. A GT
    is taken as shifted when some offset covers at least half of M and 0.3 of M more than in place, and the offset is
    3 px or more (at 512 px): then every score penalises a restoration that keeps the person where the input shows
    it. Under canopy the integral's person is in pieces and nothing covers half of M: None, as for a registered GT.

    Returns:
        tuple | None: ``(dy, dx, covered, covered_in_place)``: the GT's person sits at the integral's plus
        (dy, dx) px; None when the GT is registered, has no person, or the check cannot tell.
    """
    mask = person_mask(gt)
    img = grey(integral)
    if mask is None or img.shape != mask.shape:
        return None
    ground, top = float(np.median(img)), float(np.percentile(img, 99.9))
    if top - ground < 0.5 * MIN_CONTRAST:
        return None
    warm = img > ground + 0.5 * (top - ground)
    s = max(1, int(round(scaled(max_shift, img.shape[1]))))
    rows, cols = np.nonzero(mask)
    r0, r1, c0, c1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    padded = np.pad(warm, s)
    inner = mask[r0:r1, c0:c1]
    total = float(inner.sum())
    covered = np.zeros((2 * s + 1, 2 * s + 1))
    for i, dy in enumerate(range(-s, s + 1)):
        for j, dx in enumerate(range(-s, s + 1)):
            window = padded[r0 - dy + s : r1 - dy + s, c0 - dx + s : c1 - dx + s]
            covered[i, j] = float((window & inner).sum()) / total
    i, j = np.unravel_index(int(np.argmax(covered)), covered.shape)
    dy, dx, best, in_place = i - s, j - s, float(covered[i, j]), float(covered[s, s])
    if best < 0.5 or best - in_place < 0.3 or max(abs(dy), abs(dx)) < scaled(3, img.shape[1]):
        return None
    return int(dy), int(dx), best, in_place


def shift_image(img, dy, dx):
    """``img`` moved by (dy, dx) px, the uncovered border filled with its median (a GT aligned to its integral)."""
    img = np.asarray(img)
    out = np.full_like(img, np.median(img))
    h, w = img.shape[:2]
    out[max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = img[
        max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
    ]
    return out
