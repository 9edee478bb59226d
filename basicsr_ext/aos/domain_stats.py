"""Domain statistics of AOS samples: compare simulated integrals + GTs with real ones, to calibrate the simulator.

A sample here is a set of focal-plane integrals (height in metres -> (H, W) grey image) plus its GT. Simulated
samples come from raw course-format folders (integrated here at :data:`PLANES`) or from aos_prepare.py's focal-stack
TIFFs; real samples are folders of per-plane PNG integrals plus a GT PNG (:func:`load_real_samples`). Integration,
plane names and height matching are the rules of :mod:`basicsr_ext.aos.inputs`, as for training and restoring.

Sizes in metres use the ground sampling of ``CameraModel(size=W)`` (15.69 px/m at 512 px). The person's hot area is
:func:`basicsr_ext.aos.gt_person.hot_area_mask`: the GT pixels brighter than ``ground + max(HOT_MIN_DELTA,
HOT_FRACTION * (GT max - ground))`` (ground = median of the GT, which the person barely moves: it covers < 1 % of the
image), keeping the 8-connected components of at least ``MIN_BLOB_M2``; the GT ground is the GT without those pixels
dilated by :data:`PERSON_MARGIN_M`. A person cooler than that threshold (a warm ground above ~225 grey) is not found
and counts as 0 m2. The person contrast and level use the person mask of the person scores
(:func:`basicsr_ext.aos.gt_person.person_mask`). The markdown tables are written by :mod:`basicsr_ext.utils.tables`.
"""

import os
from os import path as osp

import cv2
import numpy as np

from basicsr_ext.aos import person_scores
from basicsr_ext.aos.focal_stack import gt_name, parse_stack_name, read_focal_stack, read_gt
from basicsr_ext.aos.geometry import CameraModel
from basicsr_ext.aos.gt_person import HOT_FRACTION, HOT_MIN_DELTA, MIN_BLOB_M2, hot_area_mask, person_mask
from basicsr_ext.aos.inputs import check_distinct_heights, height_from_name, integrate_stack, plane_files, same_height
from basicsr_ext.aos.raw import find_samples, read_gray
from basicsr_ext.utils.errors import UserError
from basicsr_ext.utils.tables import Column, markdown_lines

PLANES = (0.0, 0.4, 0.8, 1.2, 1.6, 2.0)
LAPLACIAN_SIZE = 128  # px: the detail energy is measured after an INTER_AREA resize to this width
PERSON_MARGIN_M = 0.3  # the ground statistics leave out this margin around the person (its blurred edge)
PSNR_CAP_DB = 100.0  # PSNR of identical images (JSON has no infinity)

# (key, label) of the summary rows; per-plane Laplacian rows follow them
ROWS = (
    ('person_area_m2', 'person hot area (m2)'),
    ('person_contrast', 'person contrast kept by the 0 m integral'),
    ('person_level', '0 m integral on the person, mean (grey)'),
    ('gt_ground_std', 'GT ground std (grey)'),
    ('gt_ground_level', 'GT ground level (grey)'),
    ('gt_max', 'GT max (grey)'),
    ('offset', 'integral - GT mean (grey)'),
    ('lap_integral', 'mean abs Laplacian of the 0 m integral at 128 px'),
    ('lap_gt', 'GT mean abs Laplacian at 128 px'),
    ('psnr', 'PSNR integral vs GT (dB)'),
)
PERCENTILES = (1, 50, 99)
_PERCENTILE_OF = (('integral', '0 m integral'), ('gt', 'GT'))
ROWS += tuple((f'{key}_p{q}', f'{title} p{q} (grey)') for key, title in _PERCENTILE_OF for q in PERCENTILES)
DARK_GROUND = 10.0  # grey: a GT ground level below this is a dark (cold) ground, where warm crowns stand out most
ROWS += (('dark_integral_p99', f'0 m integral p99 where the GT ground is dark (< {DARK_GROUND:g} grey)'),)


def all_rows():
    """(key, label) of every summary row: :data:`ROWS`, then the Laplacian of each plane above 0 m."""
    planes = [(f'lap_{h:.1f}m', f'mean abs Laplacian at {h:.1f} m at 128 px') for h in PLANES if h > 0]
    return list(ROWS) + planes


# ---------------------------------------------------------------------------------------------------------------------
# Loading


def _find_plane(planes, height):
    """The integral at ``height`` metres from ``{height: image}``, or None."""
    return next((img for h, img in planes.items() if same_height(h, height)), None)


def _stack_dirs(folder):
    """Folders holding ``stacks/`` and ``gt/`` (aos_prepare.py's split folders, or ``folder`` itself)."""
    candidates = [folder] + [osp.join(folder, d) for d in sorted(os.listdir(folder))]
    return [d for d in candidates if osp.isdir(osp.join(d, 'stacks')) and osp.isdir(osp.join(d, 'gt'))]


def load_sim_samples(folder, limit=None):
    """Simulated samples of ``folder``: raw course-format samples (integrated at :data:`PLANES`) or focal stacks.

    Raw samples are integrated with ``CameraModel(size=W)`` and rounded to uint8, as aos_prepare.py stores them.
    Focal stacks are aos_prepare.py's ``{split}/stacks/*_integral.tiff`` with ``{split}/gt/{R}_{S}_GT.png`` (``folder``
    may be the output folder or one split folder); their heights come from the TIFF metadata.

    Args:
        folder (str): The folder.
        limit (int | None): Use only the first ``limit`` samples (sorted by name). Default: all.

    Returns:
        list[dict]: ``{'name', 'planes': {height: float32 (H, W)}, 'gt': uint8 (H, W)}`` per sample.

    Raises:
        UserError: Not a folder, no samples in it, a sample without GT or 0 m plane, or an unreadable file.
    """
    samples, _ = find_samples(folder)
    out = []
    if samples:
        for sample in samples[:limit]:
            views, gt, _ = sample.load()
            stack = integrate_stack(views, PLANES).astype(np.float32)
            out.append({'name': sample.name, 'planes': dict(zip(PLANES, stack)), 'gt': gt})
        return out
    tiffs = []
    for split_dir in _stack_dirs(folder):
        names = sorted(n for n in os.listdir(osp.join(split_dir, 'stacks')) if n.endswith(('.tiff', '.tif')))
        tiffs += [(split_dir, n) for n in names]
    if not tiffs:
        raise UserError(
            f'{folder}: no simulated samples (expected raw R_S_pose_k_thermal.png files or aos_prepare.py output '
            f'{{split}}/stacks/*.tiff + {{split}}/gt/*.png)'
        )
    for split_dir, name in tiffs[:limit]:
        path = osp.join(split_dir, 'stacks', name)
        stack, meta = read_focal_stack(path)
        heights = meta.get('heights')
        if heights is None:
            raise UserError(f'{path}: no heights in the TIFF metadata (expected a stack written by aos_prepare.py)')
        run, sim, _ = parse_stack_name(name)
        gt_path = osp.join(split_dir, 'gt', gt_name(run, sim))
        if not osp.isfile(gt_path):
            raise UserError(f'{path}: no GT {gt_path}')
        planes, gt = {float(h): page.astype(np.float32) for h, page in zip(heights, stack)}, read_gt(gt_path)
        _check_sample(path, planes, gt)
        out.append({'name': f'{run}_{sim}', 'planes': planes, 'gt': gt})
    return out


def _check_sample(where, planes, gt):
    if _find_plane(planes, 0.0) is None:
        found = ', '.join(f'{h:g}' for h in sorted(planes)) or 'none'
        raise UserError(f'{where}: no 0 m plane (planes found, m: {found})')
    for h, img in planes.items():
        if img.shape != gt.shape:
            raise UserError(f'{where}: the {h:g} m integral is {img.shape} but the GT is {gt.shape}')


def _real_sample_files(folder, plane_scale=None):
    """``(gt names, {plane name: height})`` of the PNGs in ``folder``; PNGs without a height in the name are not
    planes here."""
    gts, names = plane_files(folder)
    heights = {n: height_from_name(n, plane_scale) for n in names}
    return gts, {n: h for n, h in heights.items() if h is not None}


def load_real_sample(folder, plane_scale=0.01):
    """One real sample: per-plane PNG integrals (the plane-name rule of :mod:`basicsr_ext.aos.inputs`: the trailing
    number x ``plane_scale`` = metres) plus ``gt.png``.

    Layouts: ``000.png ... 200.png + gt.png`` (centimetres, ``plane_scale`` 0.01) or ``000009_00.png ...
    000009_30.png + 000009_gt.png`` (0.1 m, ``plane_scale`` 0.1). 3-channel PNGs with equal channels are read as grey.

    Raises:
        UserError: No GT, several GTs, two planes at one height, no 0 m plane, or an unreadable image.
    """
    gts, heights = _real_sample_files(folder, plane_scale)
    if not gts:
        raise UserError(f'{folder}: no GT (expected gt.png or NAME_gt.png next to the plane PNGs)')
    if len(gts) > 1:
        raise UserError(f'{folder}: several GTs ({", ".join(gts)})')
    check_distinct_heights(folder, list(heights), list(heights.values()))
    gt = read_gray(osp.join(folder, gts[0]))
    planes = {h: read_gray(osp.join(folder, n)).astype(np.float32) for n, h in heights.items()}
    _check_sample(folder, planes, gt)
    return {'name': osp.basename(osp.normpath(folder)), 'planes': planes, 'gt': gt}


def load_real_samples(folder, plane_scale=0.01):
    """Real samples of ``folder``: the folder itself when it is a sample folder, else its sample subfolders.

    Raises UserError: not a folder, no sample folder found, or a bad sample (see :func:`load_real_sample`).
    """
    if not osp.isdir(folder):
        raise UserError(f'{folder}: not a folder (expected real samples: plane PNGs + gt.png)')
    gts, planes = _real_sample_files(folder, plane_scale)
    if gts or planes:
        return [load_real_sample(folder, plane_scale)]
    subs = [osp.join(folder, d) for d in sorted(os.listdir(folder)) if osp.isdir(osp.join(folder, d))]
    subs = [d for d in subs if any(_real_sample_files(d, plane_scale))]
    if not subs:
        raise UserError(f'{folder}: no real samples (expected folders of plane PNGs such as 000.png + gt.png)')
    return [load_real_sample(d, plane_scale) for d in subs]


# ---------------------------------------------------------------------------------------------------------------------
# Statistics


def laplacian_energy(img, size=LAPLACIAN_SIZE):
    """Mean absolute Laplacian (3-tap, ``ksize=1``) of ``img`` after an INTER_AREA resize to ``size`` px wide."""
    img = np.asarray(img, dtype=np.float32)
    small = cv2.resize(img, (size, max(1, round(size * img.shape[0] / img.shape[1]))), interpolation=cv2.INTER_AREA)
    return float(np.mean(np.abs(cv2.Laplacian(small, cv2.CV_32F, ksize=1))))


def psnr(img, ref):
    """PSNR in dB on the 0..255 scale, :data:`PSNR_CAP_DB` for identical images."""
    mse = float(np.mean((np.asarray(img, np.float64) - np.asarray(ref, np.float64)) ** 2))
    return PSNR_CAP_DB if mse == 0 else min(PSNR_CAP_DB, 10 * np.log10(255.0**2 / mse))


def sample_stats(sample):
    """Statistics of one sample (dict of floats, ``None`` where a plane is missing); see the module docstring."""
    gt, planes = sample['gt'], sample['planes']
    integral = _find_plane(planes, 0.0)
    px_per_m = CameraModel(size=gt.shape[1]).pixels_per_metre(0.0)
    hot, threshold, _ = hot_area_mask(gt, px_per_m)
    margin = max(1, round(PERSON_MARGIN_M * px_per_m))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin + 1, 2 * margin + 1))
    ground = cv2.dilate(hot.astype(np.uint8), kernel) == 0
    ground_px = gt[ground] if ground.any() else gt.ravel()
    gtf = gt.astype(np.float32)
    stats = {
        'person_area_m2': float(hot.sum() / px_per_m**2),
        'hot_threshold': float(threshold),
        'gt_ground_std': float(np.std(ground_px)),
        'gt_ground_level': float(np.median(ground_px)),
        'gt_max': float(gt.max()),
        'offset': float(integral.mean() - gtf.mean()),
        'lap_integral': laplacian_energy(integral),
        'lap_gt': laplacian_energy(gtf),
        'psnr': float(psnr(integral, gtf)),
    }
    mask = person_mask(gtf)  # the person as every person score sees it
    contrast = person_scores.contrast_kept(integral, gtf, mask) if mask is not None else float('nan')
    stats['person_contrast'] = None if np.isnan(contrast) else contrast
    stats['person_level'] = None if mask is None else float(np.asarray(integral, np.float32)[mask].mean())
    for name, img in (('integral', integral), ('gt', gtf)):
        stats.update({f'{name}_p{q}': float(np.percentile(img, q)) for q in PERCENTILES})
    dark = stats['gt_ground_level'] < DARK_GROUND
    stats['dark_integral_p99'] = stats['integral_p99'] if dark else None
    for h in [h for h in PLANES if h > 0]:
        img = _find_plane(planes, h)
        stats[f'lap_{h:.1f}m'] = None if img is None else laplacian_energy(img)
    return stats


def summarize(per_sample):
    """``{key: {'median', 'min', 'max', 'n'}}`` over the samples' stats (missing values left out).

    The person area is summarised over the samples where a person was found (area > 0): the simulator draws ~10 %
    of its scenes without a person, and their zeros would say nothing about the size of the person.
    """
    summary = {}
    for key, _ in all_rows():
        values = [s[key] for s in per_sample if s.get(key) is not None]
        if key == 'person_area_m2':
            values = [v for v in values if v > 0]
        stats = {'median': np.median(values), 'min': min(values), 'max': max(values)} if values else None
        summary[key] = None if stats is None else {**{k: float(v) for k, v in stats.items()}, 'n': len(values)}
    return summary


def compare(real_summary, sim_summary):
    """Rows ``{'key', 'label', 'real', 'sim', 'within'}``; ``within``: sim median in [real min, real max] (or None)."""
    rows = []
    for key, label in all_rows():
        real, sim = real_summary.get(key), sim_summary.get(key)
        within = None if real is None or sim is None else bool(real['min'] <= sim['median'] <= real['max'])
        rows.append({'key': key, 'label': label, 'real': real, 'sim': sim, 'within': within})
    return rows


# ---------------------------------------------------------------------------------------------------------------------
# Report


def _fmt(value):
    return '-' if value is None else f'{value:.2f}' if abs(value) < 10 else f'{value:.1f}'


def _cell(summary):
    if summary is None:
        return '-'
    return f'{_fmt(summary["median"])} ({_fmt(summary["min"])} - {_fmt(summary["max"])})'


SAMPLE_COLUMNS = (
    ('person_area_m2', 'person m2'),
    ('gt_ground_std', 'GT ground std'),
    ('gt_ground_level', 'GT ground'),
    ('offset', 'int - GT'),
    ('lap_integral', 'Lap int'),
    ('lap_gt', 'Lap GT'),
    ('psnr', 'PSNR dB'),
    ('integral_p50', 'int p50'),
)


def markdown_report(report):
    """The markdown text of ``report`` (the dict :func:`build_report` returns)."""
    label, sources = report['label'], {}
    for part in ('real', 'sim'):  # the plane range per source shows a wrong --real-plane-scale at a glance
        for src in report[part]['sources']:
            planes = [h for s in report[part]['samples'] if s['source'] == src for h in s['planes']]
            sources.setdefault(part, []).append(f'{src} (planes {min(planes):g}-{max(planes):g} m)')
    lines = [
        f'# AOS domain report: real vs {label}',
        '',
        f'Real: {report["real"]["count"]} samples from {", ".join(sources["real"])}. '
        f'Simulated ({label}): {report["sim"]["count"]} samples from {", ".join(sources["sim"])}.',
        '',
    ]
    summary = [
        Column('label', 'property'),
        Column('real', 'real: median (range)', _cell),
        Column('sim', f'{label}: median (range)', _cell),
        Column('within', 'sim within real range?', lambda v: '-' if v is None else 'yes' if v else 'no'),
    ]
    lines += markdown_lines(summary, report['rows'])
    t = report['thresholds']
    found = [report[part]['summary']['person_area_m2'] for part in ('real', 'sim')]
    found = [0 if f is None else f['n'] for f in found]
    lines += [
        '',
        f'Person hot area: over the samples with a person found ({found[0]} of {report["real"]["count"]} real, '
        f'{found[1]} of {report["sim"]["count"]} simulated). Person: GT pixels > ground median + '
        f'max({t["hot_min_delta"]:g}, {t["hot_fraction"]:g} x (GT max - ground median)), 8-connected '
        f'components >= {t["min_blob_m2"]:g} m2, at {t["px_per_m_512"]:.2f} px/m for 512 px. '
        f'Ground: the GT without the person dilated by {t["person_margin_m"]:g} m. Laplacian: cv2.Laplacian ksize 1 '
        f'after INTER_AREA to {LAPLACIAN_SIZE} px. Simulated integrals are rounded to uint8 like the stored ones.',
        '',
        '## Per sample',
        '',
    ]
    columns = [Column('set'), Column('sample'), *(Column(key, title, _fmt) for key, title in SAMPLE_COLUMNS)]
    samples = [
        {'set': label if part == 'sim' else part, 'sample': sample['name'], **sample['stats']}
        for part in ('real', 'sim')
        for sample in report[part]['samples']
    ]
    return '\n'.join(lines + markdown_lines(columns, samples)) + '\n'


def build_report(real_sets, sim_samples, sim_source, label='sim'):
    """Everything the report shows, as a JSON-ready dict.

    Args:
        real_sets (list[tuple[str, list[dict]]]): ``(source folder, samples)`` per ``--real`` folder.
        sim_samples (list[dict]): Simulated samples (:func:`load_sim_samples`).
        sim_source (str): Where they came from.
        label (str): Name of the simulated set in the table. Default: 'sim'.

    Returns:
        dict: ``label``, ``thresholds``, ``real``/``sim`` (``count``, ``sources``, ``samples`` with their ``stats``,
        ``summary``) and the comparison ``rows``.
    """
    parts = {}
    for part, sets in (('real', real_sets), ('sim', [(sim_source, sim_samples)])):
        samples = [
            {'name': s['name'], 'source': src, 'stats': sample_stats(s), 'planes': sorted(s['planes'])}
            for src, group in sets
            for s in group
        ]
        parts[part] = {'count': len(samples), 'sources': [src for src, _ in sets], 'samples': samples}
        parts[part]['summary'] = summarize([s['stats'] for s in samples])
    thresholds = dict(hot_min_delta=HOT_MIN_DELTA, hot_fraction=HOT_FRACTION, min_blob_m2=MIN_BLOB_M2)
    thresholds.update(person_margin_m=PERSON_MARGIN_M, laplacian_size=LAPLACIAN_SIZE, planes=list(PLANES))
    thresholds['px_per_m_512'] = CameraModel(size=512).pixels_per_metre(0.0)
    rows = compare(parts['real']['summary'], parts['sim']['summary'])
    return {'label': label, 'thresholds': thresholds, **parts, 'rows': rows}


def _tile(img, text, size):
    small = cv2.resize(np.clip(img, 0, 255).astype(np.uint8), (size, size), interpolation=cv2.INTER_AREA)
    tile = cv2.cvtColor(small, cv2.COLOR_GRAY2BGR)
    cv2.putText(tile, text, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(tile, text, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 255, 255), 1, cv2.LINE_AA)
    return tile


def domain_grid(real_samples, sim_samples, label='sim', count=4, size=192, pad=4):
    """BGR uint8 grid: each row the 0 m integral | GT of a real sample (left half) and of a simulated one (right)."""
    halves = (real_samples[:count], sim_samples[:count])
    rows = max(len(h) for h in halves)
    head, half_w = 24, 2 * size + 3 * pad  # title strip; width of one domain's half
    canvas = np.full((head + rows * (size + pad) + pad, 2 * half_w + 4 * pad, 3), 255, np.uint8)
    for side, (title, group) in enumerate(zip(('real', label), halves)):
        x0 = side * (half_w + 4 * pad)
        cv2.putText(canvas, title, (x0 + pad, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
        for r, sample in enumerate(group):
            y = head + r * (size + pad)
            integral = _tile(_find_plane(sample['planes'], 0.0), f'{sample["name"]}: 0 m', size)
            canvas[y : y + size, x0 + pad : x0 + pad + size] = integral
            canvas[y : y + size, x0 + 2 * pad + size : x0 + 2 * pad + 2 * size] = _tile(sample['gt'], 'GT', size)
    canvas[:, half_w + pad : half_w + 3 * pad] = 0  # divider between the domains
    return canvas
