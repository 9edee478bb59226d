"""Labelled image grids (PNG) so a person can see what data and models do."""

import cv2
import numpy as np


def to_bgr_uint8(img):
    """uint8/float ([0, 1] or [0, 255]) grey or colour image -> BGR uint8."""
    img = np.asarray(img)
    if img.dtype != np.uint8:
        scale = 255.0 if img.size and float(np.nanmax(img)) <= 1.0 else 1.0
        img = np.clip(np.nan_to_num(img) * scale, 0, 255).round().astype(np.uint8)
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    return img


def draw_box(img, center_rc, size, color=(0, 0, 255), thickness=1):
    """Square of side ``size`` around (row, col) on a BGR image (in place); returns the image."""
    r, c = (int(round(v)) for v in center_rc)
    half = size // 2
    cv2.rectangle(img, (c - half, r - half), (c + half - 1, r + half - 1), color, thickness)
    return img


def make_montage(tiles, labels=None, cols=4, pad=4, label_height=18):
    """Grid of ``tiles`` (resized to the first tile's size) with a caption strip above each; returns BGR uint8."""
    tiles = [to_bgr_uint8(t) for t in tiles]
    h, w = tiles[0].shape[:2]
    labels = list(labels or [''] * len(tiles))
    rows = (len(tiles) + cols - 1) // cols
    cell_h, cell_w = h + label_height + pad, w + pad
    canvas = np.full((rows * cell_h + pad, cols * cell_w + pad, 3), 255, np.uint8)
    scale = max(0.35, min(0.5, w / 400))
    for i, (tile, label) in enumerate(zip(tiles, labels)):
        if tile.shape[:2] != (h, w):
            tile = cv2.resize(tile, (w, h), interpolation=cv2.INTER_AREA)
        y0, x0 = (i // cols) * cell_h + pad, (i % cols) * cell_w + pad
        cv2.putText(
            canvas, str(label), (x0, y0 + label_height - 5), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA
        )
        canvas[y0 + label_height : y0 + label_height + h, x0 : x0 + w] = tile
    return canvas


def write_png(path, img):
    """Write a PNG atomically (temp name + rename)."""
    from basicsr_ext.utils.file_io import atomic_write

    def write(tmp):
        if not cv2.imwrite(tmp, img):
            raise OSError(f'cannot write {path}')

    atomic_write(path, write, suffix='.png')
