"""Scores of restored AOS samples against their GT, beside the baselines that a restoration must beat.

Every sample is scored for four images: the 0 m integral, a constant at the GT's median (an oracle: the right ground
level and no person), a constant at the integral's median (the same without the GT), and the restored image. On this
data whole-image PSNR is mostly the ground level, so a table without those rows cannot tell restoration from
a good guess of one number; the person scores (``aos.person_scores``: contrast kept, found, person-mask PSNR,
background PSNR) say whether the person survived.

PSNR and SSIM are BasicSR's ``calculate_psnr`` / ``calculate_ssim`` on the uint8 images (crop_border 0). The person
PSNR in the 96 px window (the AOS course report, Aliyev et al., JKU, Jan 2024, section 4.2) is centred on the person's
position from the sample's metadata or Parameters.txt, else on the GT's brightest blob
(:func:`basicsr_ext.aos.gt_person.locate_person`). The tables are written by :mod:`basicsr_ext.utils.tables`.
"""

import math
from dataclasses import replace

import numpy as np
from basicsr.metrics.psnr_ssim import calculate_psnr, calculate_ssim

from basicsr_ext.aos.person_scores import person_scores
from basicsr_ext.metrics.person_psnr_metric import calculate_person_psnr
from basicsr_ext.utils.tables import Column, csv_text, markdown_lines

METHODS = ('integral', 'oracle constant', 'blind constant', 'restored')
SCORES = (
    ('psnr', 'PSNR (dB)'),
    ('ssim', 'SSIM'),
    ('background_psnr', 'background PSNR (dB)'),
    ('person_psnr', 'person PSNR, 96 px window (dB)'),
    ('person_mask_psnr', 'person-mask PSNR (dB)'),
    ('contrast', 'person contrast kept'),
    ('found', 'person found'),
)
PERSON_SCORES = ('person_psnr', 'person_mask_psnr', 'contrast', 'found')
NA = 'n/a'


def baselines(integral, gt):
    """The images every restoration is compared with: ``{method: uint8 image}`` for the first three METHODS."""
    return {
        'integral': integral,
        'oracle constant': np.full_like(gt, int(np.rint(np.median(gt)))),
        'blind constant': np.full_like(gt, int(np.rint(np.median(integral)))),
    }


def score_image(img, gt, person=None, evidence=None):
    """Every score of one uint8 image against its GT (person scores NaN when the GT holds no person; the window PSNR
    NaN without a position); ``evidence`` (the 0 m integral) ranks the person candidates as the restorer does."""
    result = {
        'psnr': float(calculate_psnr(img, gt, crop_border=0)),
        'ssim': float(calculate_ssim(img, gt, crop_border=0)),
    }
    result['person_psnr'] = float('nan') if person is None else float(calculate_person_psnr(img, gt, pos=person))
    scores = person_scores(img, gt, evidence=evidence)
    for name in ('background_psnr', 'person_mask_psnr', 'contrast', 'found'):
        result[name] = scores[name]
    return result


def score(restored, integral, gt, person=None):
    """``{method: scores}`` for the integral, the two constants and the restored image (uint8 (H, W) each)."""
    images = {**baselines(integral, gt), 'restored': restored}
    # the restoration's candidates are ranked with the integral, as aos_restore.py and Restorer output them
    evidence = {'restored': integral}
    return {method: score_image(images[method], gt, person, evidence.get(method)) for method in METHODS}


def _number(v):
    return v is not None and not (isinstance(v, float) and math.isnan(v))


def _cell(value, name, count=None):
    if not _number(value):
        return NA
    if name == 'found':
        return f'{value:.2f}' if count is None else f'{int(round(value * count))}/{count}'
    if math.isinf(value):
        return 'inf'
    return f'{value:.4f}' if name == 'ssim' else f'{value:.2f}'


def summarise(rows):
    """``{method: {score: (mean, n)}}`` over the rows' samples; a person score's mean is over the samples where it
    is a number (the samples with a person)."""
    result = {}
    for method in METHODS:
        result[method] = {}
        for name, _ in SCORES:
            values = [r['scores'][method][name] for r in rows if _number(r['scores'][method][name])]
            finite = [v for v in values if math.isfinite(v)]
            mean = float(np.mean(finite)) if finite else (float('inf') if values else float('nan'))
            result[method][name] = (mean, len(values))
    return result


def _full(value):
    """A CSV cell: the value at full precision, or n/a."""
    return repr(value) if _number(value) else NA


def _score_columns(cell):
    return [Column(n, label, lambda v, n=n: cell(v, n), align='right') for n, label in SCORES]


SUMMARY_COLUMNS = [Column('method'), *_score_columns(lambda v, n: _cell(v[0], n, v[1]))]
SAMPLE_COLUMNS = [
    Column('sample'),
    Column('method'),
    *(replace(c, csv=_full) for c in _score_columns(_cell)),
    Column('candidate_m', 'top candidate to person (m)', lambda v: _cell(v, 'm'), _full, 'right'),
    Column('person', 'person position'),
]


def format_report(rows):
    """(markdown, csv) of ``rows`` = [{'stem', 'scores': {method: scores}, 'person_from', 'candidate_m'?,
    'gt_offset'? (dy, dx, aligned)}].

    Markdown: the mean of every score per method over the samples (person scores over the samples with a person,
    'found' as hits/samples), then one row per sample and method. CSV: one row per sample and method.
    """
    summary = summarise(rows)
    with_person = sum(_number(r['scores']['restored']['contrast']) for r in rows)
    means = [{'method': method, **summary[method]} for method in METHODS]
    samples = [
        {
            'sample': row['stem'],
            'method': method,
            **row['scores'][method],
            'candidate_m': row.get('candidate_m') if method == 'restored' else None,
            'person': row['person_from'] if method == 'restored' else '',
        }
        for row in rows
        for method in METHODS
    ]
    lines = [f'Mean over {len(rows)} sample(s); person scores over the {with_person} with a person in the GT.', '']
    lines += markdown_lines(SUMMARY_COLUMNS, means) + [''] + markdown_lines(SAMPLE_COLUMNS, samples)
    shifted = [r for r in rows if r.get('gt_offset')]
    if shifted:
        lines += ['', 'GT visibly shifted from the integral (rows, cols px):']
        for r in shifted:
            dy, dx, aligned = r['gt_offset']
            how = 'scored against the GT moved back' if aligned else 'scored as it is; --align-gt moves it back'
            lines.append(f'- {r["stem"]}: ({dy:+d}, {dx:+d}), {how}')
    return '\n'.join(lines) + '\n', csv_text(SAMPLE_COLUMNS, samples)
