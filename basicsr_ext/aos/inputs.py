"""AOS inputs in one place: raw views -> focal stack, plane-folder names -> heights, and when two heights are one.

Every reader of AOS data uses these rules, so a plane the restorer takes is a plane the dataset takes:
``aos/convert.py`` (training stacks), ``data/aos_focal_stack_dataset.py`` (planes chosen by height),
``inference/aos_inputs.py`` (users' stacks, plane folders and raw samples), ``aos/domain_stats.py`` (the domain
report) and ``scripts/make_examples.py``.

- **Raw sample -> stack**: LFR's integral (``aos.integrator``) at each height, rounded to the nearest grey level and
  stored as uint8 (:func:`integrate_stack`); a stack integrated on the fly equals the one ``aos_prepare.py`` stores.
- **Plane folders**: one PNG per plane plus a GT (``gt.png``, ``*_gt.png``, ``*_GT.png``). A plane's height is in its
  name: ``fp-X`` is X metres (sign ignored: LFR's negative is above ground), else the trailing integer times the plane
  scale (default 0.01: 3-digit centimetre names such as ``040.png``; 0.1 for ``000009_04.png``), rounded to
  micrometres (:func:`height_from_name`).
- **Heights**: two heights closer than :data:`HEIGHT_TOL` are the same plane (:func:`same_height`).
"""

import os
import re
from os import path as osp

import numpy as np

from basicsr_ext.aos.geometry import CameraModel
from basicsr_ext.aos.integrator import integrate
from basicsr_ext.utils.errors import UserError

HEIGHT_TOL = 1e-6  # metres: heights closer than this are the same plane (dataset, restorer, domain report)
HEIGHT_DIGITS = 6  # heights from file names (and gaps, for ties) are rounded to micrometres: 70 x 0.01 m is 0.7 m
DEFAULT_PLANE_SCALE = 0.01  # 3-digit plane names are centimetres above ground
_FP_RE = re.compile(r'fp-?(\d+(?:\.\d+)?)$', re.IGNORECASE)
_TRAILING_INT_RE = re.compile(r'(\d+)$')


def to_uint8(stack):
    """Integrals -> uint8, rounded to the nearest grey level (as focal-stack files store them)."""
    return np.clip(np.rint(stack), 0, 255).astype(np.uint8)


def integrate_stack(views, heights, camera=None):
    """The focal stack of one raw sample as stored: uint8 (P, H, W), one rounded integral per height.

    Args:
        views (np.ndarray): (11, H, W) views of the sample.
        heights (list[float]): Focal heights in metres above ground.
        camera (CameraModel | None): The camera of the views. Default: None (the course camera at the views' width).
    """
    camera = camera or CameraModel(size=views.shape[-1])
    return to_uint8(integrate(views, heights, camera))


def same_height(a, b):
    """Whether heights ``a`` and ``b`` (metres) are the same plane: closer than :data:`HEIGHT_TOL`."""
    return abs(a - b) < HEIGHT_TOL


def height_index(heights, height):
    """Index of the first of ``heights`` that is the same plane as ``height``, or None."""
    return next((i for i, h in enumerate(heights) if same_height(h, height)), None)


def is_gt_name(name):
    """``gt.png``, ``*_gt.png``, ``*_GT.png`` (any case) name a GT, not a plane."""
    stem = osp.splitext(name)[0].lower()
    return stem == 'gt' or stem.endswith('_gt')


def height_from_name(name, plane_scale=None):
    """Height in metres from a plane file name (``fp-0.5`` -> 0.5; ``040`` -> 0.4 at scale 0.01), or None."""
    stem = osp.splitext(name)[0]
    match = _FP_RE.search(stem)
    if match:
        return round(float(match.group(1)), HEIGHT_DIGITS)
    match = _TRAILING_INT_RE.search(stem)
    if match:
        scale = DEFAULT_PLANE_SCALE if plane_scale is None else plane_scale
        return round(int(match.group(1)) * scale, HEIGHT_DIGITS)
    return None


def plane_files(folder):
    """``(gts, planes)``: the names of the GT PNGs and of the other (plane) PNGs in ``folder``, each sorted."""
    names = sorted(e for e in os.listdir(folder) if e.lower().endswith('.png') and osp.isfile(osp.join(folder, e)))
    return [n for n in names if is_gt_name(n)], [n for n in names if not is_gt_name(n)]


def check_distinct_heights(folder, names, heights):
    """UserError naming two plane files of ``folder`` at the same height (within :data:`HEIGHT_TOL`)."""
    order = sorted(range(len(names)), key=lambda i: heights[i])
    for a, b in zip(order, order[1:]):
        if same_height(heights[a], heights[b]):
            raise UserError(f'{folder}: {names[a]} and {names[b]} both have height {heights[a]:g} m')
