"""Person candidates in a restored AOS image: where a search-and-rescue user should look first.

A thermal person is the warmest thing on the ground, so in a restoration (flat ground plus the person) it is the
brightest blob. :func:`find_candidates` blurs the image with a Gaussian of sigma 3 px (at 512 px, scaled to the
width: a person is 20-40 px long there), takes local maxima at least 20 px (1.3 m) apart, and ranks them by how far
they stand above the image's median (the ground), in grey levels. A candidate is placed at the centre of the blob
around its maximum (:func:`blob_centre`). Each candidate also gets its ground position in
metres through the stack's camera (``CameraModel.pixels_to_metres``, rescaled to the image width).

A restorer can turn a faint warm ghost into a bright blob as readily as a dimmed person. Given the 0 m integral as
``evidence``, the candidates (the best :data:`POOL` peaks of the restored image) are ranked by their warmth in the
restoration times how much the integral itself stands above its surroundings there (:func:`local_contrast`, clipped at
0): the restoration says what looks like a person, the integral how strong the evidence is (docs/aos_person.md).
"""

from dataclasses import dataclass, replace
from typing import Optional

import cv2
import numpy as np

SIGMA = 3.0  # px at 512 px
MIN_DISTANCE = 20.0  # px at 512 px between two candidates
REFERENCE_WIDTH = 512
MIN_SCORE = 8.0  # grey levels above the median: a peak lower than this is ground texture, not a candidate
POOL = 10  # peaks ranked by the evidence when there is one
EVIDENCE_SIGMA = 2.0  # px at 512 px: the integral's blur before its local contrast is measured
EVIDENCE_CORE, EVIDENCE_RING = 6.0, (12.0, 20.0)  # px at 512 px: the candidate's disc and the ring around it


def scaled(pixels_at_512, width):
    """A size given at 512 px, for an image ``width`` px wide."""
    return float(pixels_at_512) * width / REFERENCE_WIDTH


@dataclass(frozen=True)
class Candidate:
    """One person candidate: pixel (row, col), ground position (x, y metres, None without a camera), score (grey
    levels above the median of the blurred image), evidence (grey levels the 0 m integral stands above its
    surroundings there; None when ranked without it)."""

    row: float
    col: float
    score: float
    x: Optional[float] = None
    y: Optional[float] = None
    evidence: Optional[float] = None

    def as_dict(self):
        return {
            'row': self.row,
            'col': self.col,
            'x_m': self.x,
            'y_m': self.y,
            'score': self.score,
            'evidence': self.evidence,
        }


def find_candidates(img, k=5, camera=None, min_score=MIN_SCORE, evidence=None):
    """Up to ``k`` candidates of ``img`` ((H, W), 0-255 scale), best first.

    Args:
        img (np.ndarray): The restored image.
        k (int): Most candidates returned. Default: 5.
        camera (CameraModel | None): Gives each candidate its ground position; None leaves x, y None.
        min_score (float): Peaks less than this many grey levels above the median are dropped; the best peak is
            always kept, so an image has at least one candidate. Default: 8.
        evidence (np.ndarray | None): The 0 m integral ((H, W), 0-255 scale): rank by warmth x its local contrast.
            Default: None (rank by warmth).
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
    pool = k if evidence is None else max(k, POOL)
    chosen = []
    for r, c in peaks[order]:
        # plateaus give several equal maxima: keep the first of each neighbourhood
        if any((r - r0) ** 2 + (c - c0) ** 2 <= radius * radius for r0, c0 in chosen):
            continue
        if chosen and blurred[r, c] - ground < min_score:
            break
        chosen.append((int(r), int(c)))
        if len(chosen) == pool:
            break
    if camera is not None and camera.size != w:
        camera = replace(camera, size=int(w))  # the same camera, rescaled to this image
    if evidence is not None:
        evidence = np.asarray(evidence, dtype=np.float32)
        if evidence.shape != img.shape:
            raise ValueError(f'evidence: expected the image size {img.shape}, got {evidence.shape}')
        sigma_e = scaled(EVIDENCE_SIGMA, w)
        evidence = cv2.GaussianBlur(evidence, (0, 0), sigmaX=sigma_e, sigmaY=sigma_e, borderType=cv2.BORDER_REFLECT)
    result = []
    for r, c in chosen:
        row, col = blob_centre(blurred, r, c, ground)
        x = y = None
        if camera is not None:
            x, y = (float(v) for v in camera.pixels_to_metres(row, col))
        support = None if evidence is None else local_contrast(evidence, row, col)
        result.append(Candidate(row, col, float(blurred[r, c] - ground), x, y, support))
    if evidence is not None:
        # stable: equal products (no evidence anywhere) keep the warmth order
        result.sort(key=lambda cand: -cand.score * max(cand.evidence, 0.0))
    return result[:k]


def local_contrast(img, row, col):
    """Mean of ``img`` in a disc of 6 px around (row, col) minus its median in the ring 12-20 px away (sizes at
    512 px, scaled with the width): how much a spot stands above its surroundings, in the image's units."""
    h, w = img.shape
    core = scaled(EVIDENCE_CORE, w)
    inner, outer = (scaled(v, w) for v in EVIDENCE_RING)
    r0, r1 = max(int(row - outer), 0), min(int(row + outer) + 2, h)
    c0, c1 = max(int(col - outer), 0), min(int(col + outer) + 2, w)
    rows, cols = np.ogrid[r0:r1, c0:c1]
    dist = np.hypot(rows - row, cols - col)
    window = img[r0:r1, c0:c1]
    ring = (dist > inner) & (dist <= outer)
    disc = dist <= core
    if not disc.any() or not ring.any():
        return 0.0
    return float(window[disc].mean() - np.median(window[ring]))


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
