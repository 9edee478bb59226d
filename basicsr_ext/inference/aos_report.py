"""Scores of restored AOS samples against their GT: PSNR, SSIM and person PSNR of the integral and the output.

PSNR and SSIM are BasicSR's ``calculate_psnr`` / ``calculate_ssim`` on the uint8 images (crop_border 0), as the test
report computes them. Person PSNR is the project's ``calculate_person_psnr`` (the 96 px window at 512 px of the AOS
course report, Aliyev et al., JKU, Jan 2024, scaled to the image width) around the person's position, taken from the
sample's metadata or Parameters.txt when it has them. For user data without a position, :func:`locate_person` takes the
brightest blob of the GT (a thermal person is the hottest thing on the ground: grey ~250 against 0-210); when the GT has
no blob clearly brighter than its ground, or the metadata says there is no person, the person columns read 'n/a'.
"""

import csv
import io
import math

import cv2
import numpy as np
from basicsr.metrics.psnr_ssim import calculate_psnr, calculate_ssim

from basicsr_ext.metrics.person_psnr_metric import calculate_person_psnr

MIN_CONTRAST = 40  # grey levels the GT's brightest (smoothed) spot must stand above its median to count as a person
METRICS = (('psnr', 'PSNR (dB)'), ('ssim', 'SSIM'), ('person_psnr', 'person PSNR (dB)'))
NA = 'n/a'


def locate_person(gt, min_contrast=MIN_CONTRAST):
    """(row, col) centroid of the GT's brightest blob, or None when nothing stands out.

    The GT is smoothed (3x3 box, so single hot pixels do not count), thresholded halfway between its median and its
    maximum, and the connected region holding the maximum gives the centroid.
    """
    img = cv2.blur(np.asarray(gt, dtype=np.float32), (3, 3))
    peak, ground = float(img.max()), float(np.median(img))
    if peak - ground < min_contrast:
        return None
    mask = (img >= ground + 0.5 * (peak - ground)).astype(np.uint8)
    _, labels, _, centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
    r, c = np.unravel_index(int(np.argmax(img)), img.shape)
    col, row = centroids[labels[r, c]]
    return float(row), float(col)


def score(restored, integral, gt, person=None):
    """Scores of one sample: ``{metric: (integral, restored, gain)}`` with person PSNR None without a position.

    Args:
        restored, integral, gt (np.ndarray): uint8 (H, W) images.
        person (tuple | None): (row, col) of the person in pixels.
    """
    result = {}
    for name, fn in (('psnr', calculate_psnr), ('ssim', calculate_ssim)):
        before, after = fn(integral, gt, crop_border=0), fn(restored, gt, crop_border=0)
        result[name] = (float(before), float(after), float(after - before))
    if person is None:
        result['person_psnr'] = None
    else:
        before = calculate_person_psnr(integral, gt, pos=person)
        after = calculate_person_psnr(restored, gt, pos=person)
        result['person_psnr'] = (float(before), float(after), float(after - before))
    return result


def _mean(rows, name):
    values = [r['scores'][name] for r in rows if r['scores'][name] is not None]
    if not values:
        return None
    return tuple(float(np.mean([v[i] for v in values])) for i in range(3))


def _cell(value, name):
    if value is None:
        return NA
    if math.isinf(value):
        return 'inf'
    return f'{value:.4f}' if name == 'ssim' else f'{value:.2f}'


def format_report(rows):
    """(markdown, csv) of ``rows`` = [{'stem', 'scores', 'person_from'}] plus a mean row.

    Columns per metric: integral (the lowest plane, 0 m), restored, gain (restored - integral). The mean of person
    PSNR is over the samples that have a position.
    """
    mean = {
        'stem': f'mean ({len(rows)})',
        'scores': {n: _mean(rows, n) for n, _ in METRICS},
        'person_from': f'{sum(r["scores"]["person_psnr"] is not None for r in rows)} with a position',
    }
    head = [f'{label} {part}' for _, label in METRICS for part in ('integral', 'restored', 'gain')]
    lines = ['| sample | ' + ' | '.join(head) + ' | person position |', '|---|' + '---:|' * len(head) + '---|']
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator='\n')
    writer.writerow(
        ['sample'] + [f'{n}_{p}' for n, _ in METRICS for p in ('integral', 'restored', 'gain')] + ['person']
    )
    for row in [*rows, mean]:
        cells = []
        for name, _ in METRICS:
            value = row['scores'][name]
            cells += [_cell(None if value is None else v, name) for v in (value or (None,) * 3)]
        lines.append(f'| {row["stem"]} | ' + ' | '.join(cells) + f' | {row["person_from"]} |')
        values = [NA if v is None else repr(v) for n, _ in METRICS for v in (row['scores'][n] or (None,) * 3)]
        writer.writerow([row['stem'], *values, row['person_from']])
    return '\n'.join(lines) + '\n', buf.getvalue()
