"""What the demo shows: images as the page wants them (RGB uint8, the person window drawn), Markdown summaries."""

import math

import cv2
import numpy as np

from basicsr_ext.aos.position import PersonWindow
from basicsr_ext.inference.aos_report import NA
from basicsr_ext.utils.montage import draw_box, to_bgr_uint8

BOX_BGR = (0, 0, 255)  # red, as the montages of scripts/aos_restore.py draw it


def as_uint8(img):
    """An image as 8 bits for showing (16-bit scaled by 1/257, float [0, 1] by 255); alpha dropped, grey kept."""
    img = np.asarray(img)
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[..., :3]
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.dtype == np.uint8:
        return img
    if img.dtype == np.uint16:
        return np.rint(img / 257.0).astype(np.uint8)
    return np.clip(np.rint(np.nan_to_num(img.astype(np.float32)) * 255.0), 0, 255).astype(np.uint8)


def to_rgb(img):
    """OpenCV's BGR (or grey) -> RGB uint8 for the page; grey stays one channel."""
    img = as_uint8(img)
    return np.ascontiguousarray(img[..., ::-1]) if img.ndim == 3 else img


def boxed(img, person):
    """RGB uint8 of a grey AOS image with the person window (96 px at 512 px, scaled) drawn when ``person`` is known."""
    bgr = to_bgr_uint8(as_uint8(img)).copy()
    if person is not None:
        width = bgr.shape[1]
        draw_box(bgr, person, PersonWindow().side(width), BOX_BGR, max(1, width // 256))
    return np.ascontiguousarray(bgr[..., ::-1])


def _fmt(value, name):
    if value is None or math.isnan(value):
        return NA
    return f'{value:.4f}' if name == 'ssim' else f'{value:.2f}'


def aos_info(sample, kind, height, restorer, seconds, person, scores, device):
    """The AOS tab's Markdown: the input, how it was restored, where the person is, the scores against the GT."""
    h, w = sample.stack.shape[1:]
    source = {'tiff': 'focal-stack TIFF', 'planes': 'plane PNGs', 'raw': 'raw 11 views, integrated here'}[kind]
    planes = ', '.join(f'{v:g}' for v in sorted(sample.heights))
    model_planes = ', '.join(f'{v:g}' for v in restorer.heights)
    extras = [f'self-ensemble x{restorer.self_ensemble.get("transforms", 8)}'] if restorer.self_ensemble else []
    passes = restorer.last_passes
    extras.append(
        f'{passes} pass{"es" * (passes > 1)}'
        + (f' (multi-pass: up to {restorer.multipass})' * (restorer.multipass > 1))
    )
    lines = [
        f'**{sample.stem}**: {w}x{h}, planes at {planes} m ({source}); shown: the {height:g} m plane',
        f'Restored from the {model_planes} m planes by {restorer.entry.name if restorer.entry else "the model"} in '
        f'{seconds:.2f} s on {device}: {", ".join(extras)}',
    ]
    if person is None:
        told = sample.person is False
        lines.append('No person in the metadata.' if told else 'Person position unknown (no metadata, no GT blob).')
    else:
        lines.append(f'Person window (red) at row {person[0]:.0f}, column {person[1]:.0f}.')
    if scores is not None:  # aos_report.score: the integral, the two constant baselines, the restored image
        shown = (('psnr', 'PSNR (dB)'), ('person_psnr', 'person PSNR (dB)'), ('contrast', 'person contrast kept'))
        rows = ['| against the GT | ' + ' | '.join(label for _, label in shown) + ' |', '|---|' + '---:|' * len(shown)]
        for method, values in scores.items():
            rows.append(f'| {method} | ' + ' | '.join(_fmt(values[name], name) for name, _ in shown) + ' |')
        lines.append('\n'.join(rows))
    return '\n\n'.join(lines)


def psnr_line(noisy, out, clean, metrics):
    """``'noisy 20.61 dB, output 27.95 dB'``: BasicSR's PSNR with the zoo entry's ``metrics`` (crop, Y channel)."""
    from basicsr.metrics import calculate_psnr

    crop = int(metrics.get('crop_border', 0))
    y_channel = bool(metrics.get('test_y_channel', False)) and clean.ndim == 3

    def psnr(img):
        if img.ndim != clean.ndim:  # a grey net's output of a colour upload: compare grey with grey
            img = img if img.ndim == 3 else cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
        return calculate_psnr(img, clean, crop_border=crop, test_y_channel=y_channel)

    return f'noisy {psnr(noisy):.2f} dB, output **{psnr(out):.2f} dB**'
