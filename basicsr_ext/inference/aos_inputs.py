"""Read the AOS focal stacks users already have, in the layouts found in the wild (docs/aos_restore.md).

One input path is one sample, or a folder of samples:

- a multi-page TIFF (pages = planes): heights from our metadata (tag 65000), else from ``heights``; LZW TIFFs of
  other tools are read through OpenCV when tifffile lacks the codec (:func:`read_focal_stack`);
- a folder of per-plane PNGs (``000.png 040.png ... gt.png``, ``000009_00.png ... 000009_gt.png``,
  ``0_0_integral_fp-0.5.png``): heights from ``heights`` (sorted file order) or from the names by the plane-name rule
  of :mod:`basicsr_ext.aos.inputs` (``fp-X`` metres, else the trailing integer times ``plane_scale``, default 0.01);
  ``gt.png`` / ``*_gt.png`` / ``*_GT.png`` is the GT;
- a folder of raw 11-view samples (course format; GT and Parameters.txt optional), integrated on the fly as
  ``aos_prepare.py`` integrates training stacks (:func:`basicsr_ext.aos.inputs.integrate_stack`);
- a folder holding TIFFs and/or sample sub-folders: expanded to them.

Heights match within :data:`basicsr_ext.aos.inputs.HEIGHT_TOL`, the dataset's tolerance.
"""

import os
from dataclasses import dataclass
from os import path as osp
from typing import List, Optional

import numpy as np

from basicsr_ext.aos.focal_stack import gt_name, is_own_stack, parse_stack_name, read_focal_stack
from basicsr_ext.aos.geometry import CameraModel
from basicsr_ext.aos.inputs import (
    HEIGHT_DIGITS,
    check_distinct_heights,
    height_from_name,
    integrate_stack,
    is_gt_name,
    plane_files,
    same_height,
)
from basicsr_ext.aos.position import PersonPosition
from basicsr_ext.aos.raw import find_samples, read_gray
from basicsr_ext.utils.errors import UserError

TIFF_EXTS = ('.tif', '.tiff')
MAX_HEIGHT_GAP = 0.25  # metres: a plane this close stands in for a missing height (the nearest one is used)


@dataclass
class AOSInput:
    """One sample to restore; unpacks as ``stem, stack, heights, gt_path = sample``.

    Attributes:
        stem (str): Output name (file stem, folder name, or ``R_S`` of a raw sample).
        stack (np.ndarray): uint8 (P, H, W), one page per focal plane.
        heights (list[float]): Height of each plane in metres.
        gt_path (str | None): The sample's own GT image, if it has one.
        person (tuple | bool | None): (row, col) pixels of the person from the metadata or Parameters.txt, False
            when they say there is none, None when unknown.
        source (str): The file or folder read.
        camera (CameraModel | None): The camera of the views, from the metadata (TIFFs of this project) or the
            course camera of raw samples; None when unknown (:attr:`ground_camera` then assumes the course camera).
    """

    stem: str
    stack: np.ndarray
    heights: List[float]
    gt_path: Optional[str] = None
    person: object = None
    source: str = ''
    camera: Optional[CameraModel] = None

    @property
    def ground_camera(self):
        """The camera that maps pixels to metres on the ground: the sample's own, else the course camera."""
        return self.camera or CameraModel(size=int(self.stack.shape[-1]))

    def __iter__(self):
        return iter((self.stem, self.stack, self.heights, self.gt_path))


def _fmt(heights):
    return ', '.join(f'{h:g}' for h in heights)


def select_planes(sample, heights):
    """``(planes, note)``: the sample's planes nearest to ``heights``, in that order, and a note naming the planes that
    stand in for a missing height ('' when every height is there: the same plane as the dataset would take).

    A stack made at other heights (0, 0.3, 0.6 m ... instead of 0, 0.4, 0.8 m) is restored with its nearest planes
    (ties go to the lower plane); only a height with no plane within :data:`MAX_HEIGHT_GAP` is a UserError.
    """
    index, missing, swaps = [], [], []
    for h in heights:
        gaps = [abs(have - h) for have in sample.heights]
        best = min(range(len(gaps)), key=lambda i: (round(gaps[i], HEIGHT_DIGITS), sample.heights[i]))
        if gaps[best] > MAX_HEIGHT_GAP:
            missing.append(h)
        elif not same_height(sample.heights[best], h):
            swaps.append(f'{sample.heights[best]:g} m for {h:g} m')
        index.append(best)
    if missing:
        raise UserError(
            f'{sample.source or sample.stem}: no plane at {_fmt(missing)} m or within {MAX_HEIGHT_GAP:g} m of it '
            f'(the model takes {_fmt(heights)} m; the input has {_fmt(sample.heights)} m)'
        )
    note = f'nearest planes: {", ".join(swaps)}' if swaps else ''
    return sample.stack[index], note


def integral_plane(sample):
    """(plane image, height) of the lowest plane: the 0 m integral when the stack has one."""
    i = int(np.argmin(sample.heights))
    return sample.stack[i], sample.heights[i]


def find_gt(gt_dir, stem):
    """First of ``gt_dir``/X.png, X_gt.png, X_GT.png, X/gt.png, X/X_gt.png (X = ``stem``), then our stacks' GT
    name ``R_S_GT.png`` for a stem ``R_S_x_y_integral``; None when none exists."""
    names = [
        f'{stem}.png',
        f'{stem}_gt.png',
        f'{stem}_GT.png',
        osp.join(stem, 'gt.png'),
        osp.join(stem, f'{stem}_gt.png'),
    ]
    try:
        run, sim, _ = parse_stack_name(f'{stem}.tiff')
        names.append(gt_name(run, sim))
    except UserError:
        pass
    return next((osp.join(gt_dir, n) for n in names if osp.isfile(osp.join(gt_dir, n))), None)


def discover(path):
    """``[(kind, location, stem)]`` of the samples under an input path; kind is 'tiff', 'planes' or 'raw'."""
    if osp.isfile(path):
        if path.lower().endswith(TIFF_EXTS):
            return [('tiff', path, osp.splitext(osp.basename(path))[0])]
        raise UserError(f'{path}: not a TIFF focal stack (.tif/.tiff) nor a folder of planes or samples')
    if not osp.isdir(path):
        raise UserError(f'input not found: {path}')
    raws, problems = find_samples(path, views_only=True)
    if raws:
        return [('raw', s, s.name) for s in raws]
    if problems:
        raise UserError(f'{path}: incomplete raw sample {problems[0][0]}: {problems[0][1]}')
    entries = sorted(os.listdir(path))
    files = [e for e in entries if osp.isfile(osp.join(path, e))]
    tiffs = [e for e in files if e.lower().endswith(TIFF_EXTS)]
    planes = [e for e in files if e.lower().endswith('.png') and not is_gt_name(e)]
    if planes and not tiffs:
        return [('planes', path, osp.basename(osp.normpath(path)))]
    found = [('tiff', osp.join(path, e), osp.splitext(e)[0]) for e in tiffs]
    for sub in (e for e in entries if osp.isdir(osp.join(path, e))):
        found += discover(osp.join(path, sub))
    return found


def load(kind, location, heights=None, plane_scale=None, integrate_at=None):
    """Read one sample found by :func:`discover` (see :func:`load_input` for the arguments)."""
    if kind == 'tiff':
        return _load_tiff(location, heights)
    if kind == 'planes':
        return _load_planes(location, heights, plane_scale)
    return _load_raw(location, integrate_at or heights or [0.0])


def load_input(path, heights=None, plane_scale=None, integrate_at=None):
    """Read every sample under an input path.

    Args:
        path (str): A TIFF, a folder of plane PNGs, a folder of raw samples, or a folder of those.
        heights (list[float] | None): Plane heights in metres: the pages of TIFFs without our metadata, or the plane
            PNGs in sorted file order (overriding their names). Default: None.
        plane_scale (float | None): Metres per unit of a plane name's trailing number. Default: None (0.01).
        integrate_at (list[float] | None): Heights to integrate raw samples at. Default: None (``heights``, else 0 m).

    Returns:
        list[AOSInput]: The samples.
    """
    return [load(kind, loc, heights, plane_scale, integrate_at) for kind, loc, _ in discover(path)]


def _load_tiff(path, heights):
    stack, meta = read_focal_stack(path)
    hs = meta.get('heights') or heights
    if hs is None:
        raise UserError(f'{path}: the TIFF records no focal heights: pass --heights, one per page ({len(stack)})')
    if len(hs) != len(stack):
        raise UserError(f'{path}: {len(hs)} heights given for {len(stack)} pages')
    person = camera = None
    if is_own_stack(meta):
        person = False
        position = PersonPosition.from_meta(meta, stack.shape[-1])
        if position is not None:
            person = position.pixels()
        if meta.get('camera'):
            camera = CameraModel(**meta['camera'])
    stem = osp.splitext(osp.basename(path))[0]
    folder = osp.dirname(path)
    # its own GT beside it: <stem>_gt.png / _GT.png (never <stem>.png, which may be a restored output)
    gt_path = next(
        (osp.join(folder, n) for n in (f'{stem}_gt.png', f'{stem}_GT.png') if osp.isfile(osp.join(folder, n))), None
    )
    return AOSInput(stem, stack, [float(h) for h in hs], gt_path, person, path, camera)


def _load_planes(folder, heights, plane_scale):
    gts, planes = plane_files(folder)
    if heights is not None:
        if len(heights) != len(planes):
            raise UserError(
                f'{folder}: --heights lists {len(heights)} heights for {len(planes)} plane PNGs ({", ".join(planes)})'
            )
        hs = [float(h) for h in heights]
    else:
        hs = [height_from_name(n, plane_scale) for n in planes]
        bad = [n for n, h in zip(planes, hs) if h is None]
        if bad:
            raise UserError(
                f'{folder}/{bad[0]}: no height in the name (expected NNN.png, NAME_NN.png or NAME_fp-X.png); '
                'pass --heights'
            )
    check_distinct_heights(folder, planes, hs)
    order = sorted(range(len(planes)), key=lambda i: hs[i])
    images = [read_gray(osp.join(folder, planes[i])) for i in order]
    for i, img in zip(order, images):
        if img.shape != images[0].shape:
            raise UserError(f'{folder}/{planes[i]}: size {img.shape} differs from {images[0].shape}')
    gt_path = osp.join(folder, gts[0]) if gts else None
    stem = osp.basename(osp.normpath(folder))
    return AOSInput(stem, np.stack(images), [hs[i] for i in order], gt_path, None, folder)


def _load_raw(sample, heights):
    views = sample.load_views()  # 11, h, w
    hs = sorted({float(h) for h in heights})
    try:
        camera = CameraModel(size=views.shape[-1])
        stack = integrate_stack(views, hs, camera)
    except ValueError as err:
        raise UserError(f'{sample.folder}: raw sample {sample.name}: {err}') from None
    person = None
    if sample.params_path is not None:
        try:
            params = sample.load_params()
        except UserError:  # restoring needs no parameters; the report then locates the person in the GT
            return AOSInput(sample.name, stack, hs, sample.gt_path, None, f'{sample.folder}/{sample.name}', camera)
        person = False
        position = PersonPosition.from_params(params, camera)
        if position is not None:
            person = position.pixels()
    return AOSInput(sample.name, stack, hs, sample.gt_path, person, f'{sample.folder}/{sample.name}', camera)
