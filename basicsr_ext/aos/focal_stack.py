"""Focal-stack files: one multi-page 8-bit TIFF per sample (one page per focal plane) plus its GT PNG.

The file name carries the person position as the AOS course report's data did:
``{run}_{sim}_{x}_{y}_integral.tiff`` with x, y in metres (``N`` instead of ``{x}_{y}`` when there is no person); the
GT is ``{run}_{sim}_GT.png``. The TIFF's private tag 65000 holds JSON metadata: ``heights`` (metres above ground, one
per page), ``person`` (x, y, shape or null), ``source`` (where the views came from) and ``camera`` (the CameraModel
fields), so a stack is self-describing: ``aos.position.PersonPosition.from_meta`` reads the person with its camera.
Writes are atomic (temp name in the same folder, then rename).
"""

import contextlib
import io
import json
import logging
import re
from os import path as osp

import cv2
import numpy as np
import tifffile

from basicsr_ext.utils.errors import UserError
from basicsr_ext.utils.file_io import atomic_write

STACK_SUFFIX = '_integral.tiff'
_NAME = re.compile(r'^(\d+)_(\d+)_(?:(N)|(-?\d+(?:\.\d+)?)_(-?\d+(?:\.\d+)?))_integral\.tiff?$')
FORMAT = 'basicsr-ext focal stack'  # metadata 'format' of the stacks this project writes
FORMAT_VERSION = 1
# JSON metadata lives in a private-range ASCII tag: in ImageDescription, tifffile would take any text containing
# '"shape":' (our person shape) for its own 'shaped' metadata and fail to read the file
META_TAG = 65000


def _fmt(v):
    return f'{v:g}'


def stack_name(run, sim, person_xy=None):
    """``0_12_4_-6_integral.tiff`` (person at x=4 m, y=-6 m) or ``0_12_N_integral.tiff`` (no person)."""
    pos = 'N' if person_xy is None else f'{_fmt(person_xy[0])}_{_fmt(person_xy[1])}'
    return f'{run}_{sim}_{pos}{STACK_SUFFIX}'


def gt_name(run, sim):
    return f'{run}_{sim}_GT.png'


def parse_stack_name(name):
    """``(run, sim, (x, y) or None)`` from a stack file name; UserError when it does not follow the pattern."""
    m = _NAME.match(osp.basename(name))
    if m is None:
        raise UserError(
            f'{name}: not a focal-stack file name (expected RUN_SIM_X_Y_integral.tiff or RUN_SIM_N_integral.tiff)'
        )
    run, sim = int(m.group(1)), int(m.group(2))
    return run, sim, None if m.group(3) else (float(m.group(4)), float(m.group(5)))


def is_own_stack(meta):
    """Whether ``meta`` (from :func:`read_focal_stack`) is this project's: its person (or its absence) and camera are
    recorded; other tools' TIFFs record neither."""
    return meta.get('format') == FORMAT


def write_focal_stack(path, stack, heights, person=None, source='', camera=None, compression=None):
    """Write a (P, H, W) uint8 stack with its metadata; ``person`` is None or {'x', 'y', 'shape'}."""
    stack = np.asarray(stack)
    if stack.ndim != 3 or stack.dtype != np.uint8:
        raise ValueError(f'focal stack must be uint8 (planes, H, W), got {stack.dtype} {stack.shape}')
    if len(heights) != stack.shape[0]:
        raise ValueError(f'{len(heights)} heights for {stack.shape[0]} planes')
    meta = {
        'format': FORMAT,
        'version': FORMAT_VERSION,
        'heights': [float(h) for h in heights],
        'person': person,
        'source': source,
        'camera': camera,
    }
    atomic_write(
        path,
        lambda tmp: tifffile.imwrite(
            tmp,
            stack,
            photometric='minisblack',
            compression=compression,
            metadata=None,
            extratags=[(META_TAG, 's', 0, json.dumps(meta), True)],
        ),
        suffix='.tiff',
    )


def write_gt(path, gt):
    gt = np.asarray(gt)
    if gt.ndim != 2 or gt.dtype != np.uint8:
        raise ValueError(f'GT must be uint8 (H, W), got {gt.dtype} {gt.shape}')

    def write(tmp):
        if not cv2.imwrite(tmp, gt):
            raise OSError(f'cannot write {path}')

    atomic_write(path, write, suffix='.png')


TIFF_MAGIC = (b'II*\x00', b'MM\x00*', b'II+\x00', b'MM\x00+')  # classic and BigTIFF, either byte order


class _Muted(logging.Filter):
    """Drops records while ``depth > 0``. Installed once: ``Logger.setLevel`` per read would clear the logging
    module's level caches every time (measured: 0.5 ms of a 7 ms dataset sample)."""

    depth = 0

    def filter(self, record):
        return self.depth == 0


_TIFFFILE_MUTED = _Muted()
logging.getLogger('tifffile').addFilter(_TIFFFILE_MUTED)


@contextlib.contextmanager
def _quiet_tifffile():
    """tifffile logs what it finds wrong in a damaged file (warnings, errors) on stderr; the UserError says it once."""
    _TIFFFILE_MUTED.depth += 1
    try:
        yield
    finally:
        _TIFFFILE_MUTED.depth -= 1


def _grey_pages(stack, path):
    """(..., H, W, S) pages of S samples per pixel -> (..., H, W): grey stored as equal channels; colour refused."""
    colour = stack[..., : min(stack.shape[-1], 3)]  # a 4th sample is alpha
    if any(not np.array_equal(colour[..., 0], colour[..., c]) for c in range(1, colour.shape[-1])):
        raise UserError(
            f'{path}: cannot read focal stack: colour pages ({stack.shape[-1]} samples per pixel that differ); '
            'expected grey focal planes'
        )
    return stack[..., 0]


def read_focal_stack(path, data=None):
    """``(stack uint8 (P, H, W), meta dict)``. Reads our files and the LZW TIFFs students stored (via OpenCV when
    tifffile lacks the codec); UserError naming the file when it is missing, truncated, not a TIFF, not 8-bit, or has
    colour pages (grey pages stored as equal channels are taken as grey).

    ``data``: the file's bytes (an LMDB value), read instead of ``path``, which then only names it in errors.
    """
    if data is None and not osp.isfile(path):
        raise UserError(f'focal stack not found: {path}')
    meta, samples = {}, 1
    try:
        with _quiet_tifffile(), tifffile.TiffFile(path if data is None else io.BytesIO(data)) as tif:
            tag = tif.pages[0].tags.get(META_TAG) if len(tif.pages) else None
            samples = tif.pages[0].samplesperpixel if len(tif.pages) else 1
            stack = tif.asarray()
        if tag is not None:
            meta = json.loads(tag.value)
    except ValueError as err:  # e.g. LZW without imagecodecs: OpenCV reads those natively
        if data is None:
            with open(path, 'rb') as f:
                head = f.read(4)
        else:
            head = bytes(data[:4])
        if head not in TIFF_MAGIC or 'imagecodecs' not in str(err):  # not a TIFF, or damaged: no second opinion
            raise UserError(f'{path}: cannot read focal stack ({err})') from None
        if data is None:
            ok, pages = cv2.imreadmulti(path, flags=cv2.IMREAD_UNCHANGED)
        else:
            ok, pages = cv2.imdecodemulti(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        if not ok:
            raise UserError(f'{path}: cannot read focal stack ({err})') from None
        stack = np.stack([p if p.ndim == 2 else _grey_pages(p, path) for p in pages])
    except Exception as err:  # tifffile raises several types for truncated/corrupt files
        raise UserError(f'{path}: cannot read focal stack: {str(err).splitlines()[0]}') from None
    if stack.size == 0:
        raise UserError(f'{path}: cannot read focal stack: no image data (truncated or not a TIFF)')
    if samples > 1:
        stack = _grey_pages(stack, path)
    if stack.ndim == 2:
        stack = stack[None]
    if stack.dtype != np.uint8 or stack.ndim != 3:
        raise UserError(f'{path}: expected an 8-bit (planes, H, W) stack, got {stack.dtype} {stack.shape}')
    if meta.get('heights') is not None and len(meta['heights']) != stack.shape[0]:
        raise UserError(f'{path}: metadata lists {len(meta["heights"])} heights for {stack.shape[0]} pages')
    return stack, meta


def read_gt(path):
    """A GT image as (H, W) uint8; a GT stored as three equal channels is taken as grey. UserError naming the file
    when it is missing, damaged (:func:`basicsr_ext.utils.images.image_damage`), colour, or not 8-bit."""
    from basicsr_ext.utils.images import image_damage

    if not osp.isfile(path):
        raise UserError(f'GT image not found: {path}')
    data = np.fromfile(path, dtype=np.uint8)
    reason = image_damage(data)
    img = None if reason else cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise UserError(f'{path}: cannot read GT image ({reason or "truncated or not an image"})')
    if img.ndim == 3:  # some GTs were stored as 3 equal channels
        colour = img[..., : min(img.shape[2], 3)]
        if any(not np.array_equal(colour[..., 0], colour[..., c]) for c in range(1, colour.shape[2])):
            raise UserError(f'{path}: expected a grey GT image, got {img.shape[2]} channels that differ')
        img = img[..., 0]
    if img.dtype != np.uint8:
        raise UserError(f'{path}: expected an 8-bit GT image, got {img.dtype}')
    return img
