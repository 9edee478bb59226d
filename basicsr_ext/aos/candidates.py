"""Person candidates in a restored AOS image: where a search-and-rescue user should look first.

A thermal person is the warmest thing on the ground, so in a restoration (flat ground plus the person) it is the
brightest blob. :func:`find_candidates` blurs the image with a Gaussian of sigma 3 px (at 512 px, scaled to the
width: a person is 20-40 px long there), takes local maxima at least 20 px (1.3 m) apart, and ranks them by how far
they stand above the image's median (the ground), in grey levels. A candidate is placed at the centre of the blob
around its maximum (:func:`blob_centre`). Each candidate also gets its ground position in
metres through the stack's camera (``CameraModel.pixels_to_metres``, rescaled to the image width).
"""

from dataclasses import dataclass, replace
from typing import Optional

import cv2
import numpy as np

SIGMA = 3.0  # px at 512 px
MIN_DISTANCE = 20.0  # px at 512 px between two candidates
REFERENCE_WIDTH = 512
MIN_SCORE = 8.0  # grey levels above the median: a peak lower than this is ground texture, not a candidate


def scaled(pixels_at_512, width):
    """A size given at 512 px, for an image ``width`` px wide."""
    return float(pixels_at_512) * width / REFERENCE_WIDTH


@dataclass(frozen=True)
class Candidate:
    """One person candidate: pixel (row, col), ground position (x, y metres, None without a camera), score (grey
    levels above the median of the blurred image)."""

    row: float
    col: float
    score: float
    x: Optional[float] = None
    y: Optional[float] = None

    def as_dict(self):
        return {'row': self.row, 'col': self.col, 'x_m': self.x, 'y_m': self.y, 'score': self.score}


def find_candidates(img, k=5, camera=None, min_score=MIN_SCORE):
    """Up to ``k`` candidates of ``img`` ((H, W), 0-255 scale), best first.

    Args:
        img (np.ndarray): The restored image.
        k (int): Most candidates returned. Default: 5.
        camera (CameraModel | None): Gives each candidate its ground position; None leaves x, y None.
        min_score (float): Peaks less than this many grey levels above the median are dropped; the best peak is
            always kept, so an image has at least one candidate. Default: 8.
    """
    img = np.asarray(img, dtype=np.float32)
    if img.ndim == 3:
        img = img.mean(axis=2)
    h, w = img.shape
    sigma = scaled(SIGMA, w)
    blurred = cv2.GaussianBlur(img, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT)
    ground = float(np.median(blurred))
    radius = max(1, int(round(scaled(MIN_DISTANCE, w))))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    peaks = np.argwhere(blurred >= cv2.dilate(blurred, kernel))
    order = np.argsort(-blurred[peaks[:, 0], peaks[:, 1]], kind='stable')
    chosen = []
    for r, c in peaks[order]:
        # plateaus give several equal maxima: keep the first of each neighbourhood
        if any((r - r0) ** 2 + (c - c0) ** 2 <= radius * radius for r0, c0 in chosen):
            continue
        if chosen and blurred[r, c] - ground < min_score:
            break
        chosen.append((int(r), int(c)))
        if len(chosen) == k:
            break
    if camera is not None and camera.size != w:
        camera = replace(camera, size=int(w))  # the same camera, rescaled to this image
    result = []
    for r, c in chosen:
        row, col = blob_centre(blurred, r, c, ground)
        x = y = None
        if camera is not None:
            x, y = (float(v) for v in camera.pixels_to_metres(row, col))
        result.append(Candidate(row, col, float(blurred[r, c] - ground), x, y))
    return result


def blob_centre(blurred, r, c, ground):
    """Centroid of the connected region around the peak (r, c) that stands above half its height over the ground: a
    flat-topped blob (a person wider than the blur) is placed at its centre, not at its first maximal pixel."""
    peak = float(blurred[r, c])
    if peak <= ground:
        return float(r), float(c)
    above = (blurred >= ground + 0.5 * (peak - ground)).astype(np.uint8)
    _, labels = cv2.connectedComponents(above, connectivity=8)
    rows, cols = np.nonzero(labels == labels[r, c])
    return float(rows.mean()), float(cols.mean())
