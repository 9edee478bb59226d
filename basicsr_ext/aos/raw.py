"""Raw AOS samples in the JKU course format: 11 thermal views, the GT view and ``Parameters.txt`` per simulation.

File names (R = run, S = simulation): ``R_S_pose_0_thermal.png`` ... ``R_S_pose_10_thermal.png``,
``R_S_GT_pose_0_thermal.png`` and ``R_S_Parameters.txt``. A sample missing any of its 13 files is reported, never
used. The simulator writes exactly this format, so everything tested on simulated samples also guards real ones.
``Parameters.txt`` is read and written by :mod:`basicsr_ext.aos.parameters`.
"""

import os
import re
from dataclasses import dataclass
from os import path as osp
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np

from basicsr_ext.aos.parameters import NUM_VIEWS, AOSParameters, format_parameters, parse_parameters
from basicsr_ext.utils.errors import UserError
from basicsr_ext.utils.file_io import write_bytes_atomic
from basicsr_ext.utils.images import image_damage

# ---------------------------------------------------------------------------------------------------------------------
# File names


def SAMPLE_FILES(run, sim):
    """The 13 file names of simulation ``sim`` of run ``run``: views 0..10, the GT view, then ``Parameters.txt``."""
    prefix = f'{int(run)}_{int(sim)}'
    views = [f'{prefix}_pose_{k}_thermal.png' for k in range(NUM_VIEWS)]
    return views + [f'{prefix}_GT_pose_0_thermal.png', f'{prefix}_Parameters.txt']


# Run and simulation numbers without leading zeros, so that a name maps back to exactly one (run, sim).
_NUM = r'(0|[1-9]\d*)'
_VIEW_RE = re.compile(rf'^{_NUM}_{_NUM}_pose_(10|\d)_thermal\.png$')
_GT_RE = re.compile(rf'^{_NUM}_{_NUM}_GT_pose_0_thermal\.png$')
_PARAMS_RE = re.compile(rf'^{_NUM}_{_NUM}_Parameters\.txt$')


# ---------------------------------------------------------------------------------------------------------------------
# Images


def read_gray(path):
    """One 8-bit single-channel image as (H, W) uint8; 3-channel PNGs with equal channels become one channel."""
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as e:
        raise UserError(f'{path}: cannot read ({e.strerror or e})') from e
    reason = image_damage(data)  # checked first: OpenCV half-decodes a truncated JPEG without a word
    img = None if reason else cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise UserError(f'{path}: not a readable image ({reason or "truncated or corrupt PNG?"})')
    if img.dtype != np.uint8:
        raise UserError(f'{path}: expected an 8-bit image, got {img.dtype}')
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    elif img.ndim == 3 and img.shape[2] == 3:
        # Some tools save grey images as 3 equal channels; anything else is a colour image and not AOS thermal data.
        if not (np.array_equal(img[:, :, 0], img[:, :, 1]) and np.array_equal(img[:, :, 0], img[:, :, 2])):
            raise UserError(f'{path}: expected a single-channel (grey) image, got 3 channels that differ')
        img = img[:, :, 0]
    elif img.ndim != 2:
        raise UserError(f'{path}: expected a single-channel (grey) image, got shape {img.shape}')
    return np.ascontiguousarray(img)


@dataclass
class RawSample:
    """The 13 files of one complete simulation.

    Attributes:
        run (int), sim (int): Run and simulation number.
        folder (str): Folder holding the files.
        view_paths (list[str]): The 11 views, pose 0 to 10 (pose 5 is the centre).
        gt_path (str | None): The GT view (centre pose without forest); None only from
            ``find_samples(views_only=True)`` when the file is absent.
        params_path (str | None): The ``Parameters.txt``; None as ``gt_path``.
    """

    run: int
    sim: int
    folder: str
    view_paths: List[str]
    gt_path: Optional[str]
    params_path: Optional[str]

    @property
    def name(self):
        return f'{self.run}_{self.sim}'

    def load_params(self):
        """The parsed ``Parameters.txt`` (UserError naming the file if it cannot be read or parsed)."""
        try:
            with open(self.params_path, encoding='utf-8') as f:
                text = f.read()
        except (OSError, UnicodeDecodeError) as e:
            raise UserError(f'{self.params_path}: cannot read as UTF-8 text ({e})') from e
        return parse_parameters(text, source=self.params_path)

    def load_views(self):
        """The 11 views as uint8 (11, H, W); UserError naming the file if one is unreadable or has another size."""
        views = [read_gray(p) for p in self.view_paths]
        for p, view in zip(self.view_paths, views):
            if view.shape != views[0].shape:
                raise UserError(f'{p}: size {view.shape} differs from {views[0].shape} of {self.view_paths[0]}')
        return np.stack(views)  # 11, h, w

    def load_gt(self):
        """The GT view as uint8 (H, W)."""
        return read_gray(self.gt_path)

    def load(self):
        """(views, gt, params), checking that the GT has the views' size."""
        views, gt = self.load_views(), self.load_gt()
        if gt.shape != views.shape[1:]:
            raise UserError(f'{self.gt_path}: size {gt.shape} differs from the views {views.shape[1:]}')
        return views, gt, self.load_params()


def find_samples(folder, views_only=False):
    """Find the raw samples in ``folder`` (not recursive).

    Only the 13 names of :func:`SAMPLE_FILES` (run and simulation numbers without leading zeros) count; every other
    file, including the temporary files of an interrupted :func:`write_raw_sample`, is ignored. Every simulation
    with at least one of its files but not all 13 is reported in ``problems``, never silently dropped.

    Args:
        folder (str): Folder with the files.
        views_only (bool): Inference on user data only: a sample needs just its 11 views; its ``gt_path`` and
            ``params_path`` are None when those files are absent. Training data keep the default. Default: False.

    Returns:
        tuple[list[RawSample], list[tuple[str, str]]]: Complete samples sorted by (run, sim), and
        ``(name, reason)`` for each incomplete one, e.g. ``('0_17', 'missing 0_17_pose_3_thermal.png')``.

    Raises:
        UserError: ``folder`` is not a folder.
    """
    if not osp.isdir(folder):
        raise UserError(f'{folder}: not a folder (expected raw AOS samples: R_S_pose_k_thermal.png, ...)')
    found: Dict[Tuple[int, int], set] = {}
    for entry in os.scandir(folder):
        if not entry.is_file():
            continue
        for pattern in (_VIEW_RE, _GT_RE, _PARAMS_RE):
            match = pattern.match(entry.name)
            if match:
                found.setdefault((int(match.group(1)), int(match.group(2))), set()).add(entry.name)
                break
    samples, problems = [], []
    for run, sim in sorted(found):
        names = SAMPLE_FILES(run, sim)
        absent = [n for n in names[: NUM_VIEWS if views_only else None] if n not in found[run, sim]]
        if absent:
            problems.append((f'{run}_{sim}', f'missing {", ".join(absent)}'))
            continue
        paths = [osp.join(folder, n) if n in found[run, sim] else None for n in names]
        samples.append(RawSample(run, sim, folder, paths[:NUM_VIEWS], paths[NUM_VIEWS], paths[NUM_VIEWS + 1]))
    return samples, problems


def _encode_png(img, what):
    ok, buf = cv2.imencode('.png', img)
    if not ok:
        raise ValueError(f'cv2 could not encode {what} as PNG')
    return buf.tobytes()


def write_raw_sample(folder, run, sim, views, gt, params):
    """Write one simulation's 13 files in the course format.

    Each file is written atomically and ``Parameters.txt`` last (an existing one is removed first), so an interrupted
    write leaves a sample that :func:`find_samples` reports as incomplete.

    Args:
        folder (str): Destination folder (created if missing).
        run (int), sim (int): Run and simulation number (>= 0).
        views (np.ndarray): uint8 (11, H, W), poses 0 to 10.
        gt (np.ndarray): uint8 (H, W), the GT view.
        params (AOSParameters): Written with :func:`format_parameters`.

    Returns:
        RawSample: The written sample.

    Raises:
        ValueError: Wrong shapes or dtypes, or negative run/sim.
    """
    if int(run) != run or int(sim) != sim or run < 0 or sim < 0:
        raise ValueError(f'run and sim must be integers >= 0, got {run!r}, {sim!r}')
    run, sim = int(run), int(sim)
    views, gt = np.asarray(views), np.asarray(gt)
    if views.dtype != np.uint8 or views.ndim != 3 or views.shape[0] != NUM_VIEWS:
        raise ValueError(f'views must be uint8 ({NUM_VIEWS}, H, W), got {views.dtype} {views.shape}')
    if gt.dtype != np.uint8 or gt.shape != views.shape[1:]:
        raise ValueError(f'gt must be uint8 {views.shape[1:]} like the views, got {gt.dtype} {gt.shape}')
    if not isinstance(params, AOSParameters):
        raise ValueError(f'params must be AOSParameters, got {type(params).__name__}')
    text = format_parameters(params)  # before any file is touched: a formatting error leaves the folder as it was
    os.makedirs(folder, exist_ok=True)
    names = SAMPLE_FILES(run, sim)
    paths = [osp.join(folder, n) for n in names]
    if osp.exists(paths[-1]):
        # Overwriting: without this, a crash midway would leave old parameters next to new views, looking complete.
        os.remove(paths[-1])
    for k in range(NUM_VIEWS):
        write_bytes_atomic(paths[k], _encode_png(views[k], f'view {k}'))
    write_bytes_atomic(paths[NUM_VIEWS], _encode_png(gt, 'the GT view'))
    write_bytes_atomic(paths[-1], text.encode('utf-8'))
    return RawSample(run, sim, folder, paths[:NUM_VIEWS], paths[NUM_VIEWS], paths[-1])
