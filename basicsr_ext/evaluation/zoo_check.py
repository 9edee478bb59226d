"""The zoo against its baselines on held-out photos (``scripts/zoo_check.py`` documents the protocol)."""

import csv
import io
import math
import os
import time
from os import path as osp

import cv2
import numpy as np

from basicsr_ext.data.noise_models import gaussian
from basicsr_ext.data.sample_photos_prepare import LR_KINDS, downscale
from basicsr_ext.utils.errors import UserError
from basicsr_ext.utils.file_io import write_text_atomic

# (package, file, colour): candidate held-out photos. Each model is checked on those its own data never used
# (:func:`seen_photos`: the denoisers train on camera, brick, grass, gravel and moon too); motorcycle_right is left out
# as the other half of a training stereo pair.
PHOTOS = (
    ('skimage', 'camera.png', False),
    ('skimage', 'coins.png', False),
    ('skimage', 'moon.png', False),
    ('skimage', 'page.png', False),
    ('skimage', 'text.png', False),
    ('skimage', 'brick.png', False),
    ('skimage', 'grass.png', False),
    ('skimage', 'gravel.png', False),
    ('skimage', 'clock_motion.png', False),
    ('skimage', 'cell.png', False),
    ('skimage', 'color.png', True),
    ('matplotlib', 'grace_hopper.jpg', True),
)
PASS_SHARE = 0.9  # images above the baseline, at least
COLOUR_LIMIT = 2.0  # grey levels of mean colour error, at most
NOISE_SIGMAS = (15, 25, 50)
MODULATION_LEVELS = ((0.0, 20), (0.5, 50), (1.0, 80))  # (coef, sigma): the levels adafm_denoise was trained for


def photo_path(package, name):
    if package == 'skimage':
        import skimage.data

        return osp.join(osp.dirname(skimage.data.__file__), name)
    import matplotlib

    return osp.join(osp.dirname(matplotlib.__file__), 'mpl-data', 'sample_data', name)


def load_photos(size):
    """``[(name, uint8 image, colour)]``: centre crops, BGR (size, size, 3) or grey (size, size): a grey photo stays
    one channel, so its noise is one channel too (the restorer repeats it for a colour net)."""
    photos = []
    for package, name, colour in PHOTOS:
        img = cv2.imread(photo_path(package, name), cv2.IMREAD_COLOR if colour else cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise UserError(f'{photo_path(package, name)}: sample photo not found (is {package} installed?)')
        h, w = img.shape[:2]
        side = min(size, h, w) // 2 * 2
        top, left = (h - side) // 2, (w - side) // 2
        photos.append((osp.splitext(name)[0], np.ascontiguousarray(img[top : top + side, left : left + side]), colour))
    return photos


def seen_photos(entry):
    """Stems of the photos a zoo model's data was made from: the ``train`` and ``val`` photo lists (given, or the
    preparer's defaults) of every ``sample_photos_*`` entry of ``prepare_data`` in the option files its command
    runs (resolved: an entry a ``_base_`` file holds counts)."""
    import inspect
    import re

    from basicsr_ext.data.prepare import PREPARE_REGISTRY
    from basicsr_ext.resources import shipped_dir
    from basicsr_ext.utils.options import resolve_options

    seen = set()
    for opt_file in re.findall(r'options/[\w.-]+\.yml', entry.command):
        path = osp.join(osp.dirname(shipped_dir('options')), opt_file)
        if not osp.isfile(path):
            raise UserError(f'{entry.name}: its command trains with {opt_file}, which is missing')
        for item in resolve_options(path).get('prepare_data') or []:
            if not str(item.get('type', '')).startswith('sample_photos'):
                continue
            params = inspect.signature(PREPARE_REGISTRY.get(item['type'])).parameters
            for key in ('train', 'val'):
                names = item.get(key, params[key].default if key in params else ())
                seen |= {osp.splitext(osp.basename(n))[0] for n in names}
    return seen


def noisy(clean, sigma, seed):
    """Gaussian noise of ``sigma`` grey levels (the training noise model, clipped) rounded to 8 bits: a saved noisy
    photo."""
    img = gaussian(clean.astype(np.float32) / 255.0, np.random.default_rng(seed), sigma, clip=True)
    return np.rint(img * 255.0).astype(np.uint8)


def colour_error(out, gt):
    """Mean over channels of |mean(out) - mean(gt)| in grey levels."""
    return float(np.mean(np.abs(out.reshape(-1, 3).mean(0).astype(np.float64) - gt.reshape(-1, 3).mean(0))))


def psnr(img, gt, crop_border=0, y_channel=False):
    from basicsr.metrics import calculate_psnr

    return float(calculate_psnr(img, gt, crop_border=crop_border, test_y_channel=y_channel))


def lr_kinds(entry):
    """The LR kinds (:data:`LR_KINDS`) an SR zoo model is made for: its entry's ``lr_kinds``, else all of them."""
    kinds = entry.extra.get('lr_kinds') or list(LR_KINDS)
    bad = [k for k in kinds if k not in LR_KINDS]
    if bad:
        raise UserError(f'{entry.name}.lr_kinds: expected some of {", ".join(LR_KINDS)}, got {bad}')
    return kinds


def check_image_model(entry, photos, device):
    """Per-image rows ``(model, kind, image, psnr, baseline psnr, colour error or nan)`` of an image zoo model."""
    from basicsr_ext.inference.restorer import Restorer

    metrics = entry.extra.get('metrics') or {}
    crop, y_channel = int(metrics.get('crop_border', 0)), bool(metrics.get('test_y_channel', False))
    rows = []
    if entry.task == 'sr':
        restorer = Restorer(entry.name, device=device)
        scale = restorer.scale
        for kind in lr_kinds(entry):
            label = LR_KINDS[kind]
            for name, hr, colour in photos:
                lr = downscale(hr, kind, scale)
                out = restorer.restore(lr)
                base = cv2.resize(lr, (hr.shape[1], hr.shape[0]), interpolation=cv2.INTER_CUBIC)
                err = colour_error(out, hr) if colour else math.nan
                rows.append(
                    (
                        entry.name,
                        f'LR by {label}',
                        name,
                        psnr(out, hr, crop, y_channel),
                        psnr(base, hr, crop, y_channel),
                        err,
                        True,
                    )
                )
        return rows
    levels = MODULATION_LEVELS if entry.task == 'modulation' else [(None, s) for s in NOISE_SIGMAS]
    for coef, sigma in levels:
        restorer = Restorer(entry.name, device=device, coef=coef)
        kind = f'noise sigma {sigma}, 8 bit' + ('' if coef is None else f', --coef {coef:g}')
        for i, (name, clean, colour) in enumerate(photos):
            noisy_img = noisy(clean, sigma, seed=1000 * sigma + i)
            out = restorer.restore(noisy_img)
            err = colour_error(out, clean) if colour else math.nan
            rows.append((entry.name, kind, name, psnr(out, clean), psnr(noisy_img, clean), err, True))
    return rows


def check_aos_model(entry, device, examples):
    """Rows of an AOS zoo model on the example stacks: against the 0 m integral and the blind constant (the integral's
    median: what a user gets without a model), and, for reference, the oracle constant (the GT's median)."""
    from basicsr_ext.aos.focal_stack import read_gt
    from basicsr_ext.inference.aos_inputs import integral_plane, load_input
    from basicsr_ext.inference.aos_report import baselines
    from basicsr_ext.inference.restorer import Restorer

    restorer = Restorer(entry.name, device=device)
    rows = []
    for sample in load_input(examples):
        if not sample.gt_path:
            continue
        gt = read_gt(sample.gt_path)
        restored, _, _ = restorer.restore_sample(sample)
        score = psnr(restored, gt)
        for method, img in baselines(integral_plane(sample)[0], gt).items():
            graded = method != 'oracle constant'
            kind = f'example stack vs the {"0 m " if method == "integral" else ""}{method}'
            if not graded:
                kind += ' (reference: needs the GT)'
            rows.append((entry.name, kind, sample.stem, score, psnr(img, gt), math.nan, graded))
    return rows


def stage_rows(entry, rows):
    """The rows of a training stage (a zoo entry with ``stage_of``): shown, labelled, not graded."""
    return [
        (m, kind + (f' (training stage of {entry.stage_of})' if graded else ''), *rest, False)
        for m, kind, *rest, graded in rows
    ]


def summarise(rows):
    """One line per (model, kind): images, mean PSNR, mean baseline, gain, share above, colour error, verdict."""
    groups = {}
    for row in rows:
        groups.setdefault(row[:2], []).append(row)
    lines = []
    for (model, kind), group in groups.items():
        gains = [r[3] - r[4] for r in group]
        share = sum(g > 0 for g in gains) / len(gains)
        colours = [r[5] for r in group if not math.isnan(r[5])]
        colour = float(np.mean(colours)) if colours else math.nan
        ok = np.mean(gains) > 0 and share >= PASS_SHARE and (math.isnan(colour) or colour <= COLOUR_LIMIT)
        verdict = ('pass' if ok else 'FAIL') if group[0][6] else 'not graded'
        lines.append(
            (
                model,
                kind,
                len(group),
                np.mean([r[3] for r in group]),
                np.mean([r[4] for r in group]),
                float(np.mean(gains)),
                share,
                colour,
                verdict,
            )
        )
    return lines


def format_table(lines):
    out = [
        '| model | degradation | images | PSNR (dB) | baseline PSNR (dB) | gain (dB) | above the baseline '
        '| colour error (grey levels) | |',
        '|---|---|---:|---:|---:|---:|---:|---:|---|',
    ]
    for model, kind, n, score, base, gain, share, colour, verdict in lines:
        col = 'n/a' if math.isnan(colour) else f'{colour:.2f}'
        out.append(
            f'| {model} | {kind} | {n} | {score:.2f} | {base:.2f} | {gain:+.2f} | {share:.0%} | {col} | {verdict} |'
        )
    return '\n'.join(out) + '\n'


def run(args):
    from basicsr_ext.inference.zoo import load_zoo
    from basicsr_ext.resources import shipped_dir

    if args.size < 32:
        raise UserError(f'--size: expected at least 32 px, got {args.size}')
    zoo = load_zoo()
    names = args.models or list(zoo)
    unknown = [n for n in names if n not in zoo]
    if unknown:
        raise UserError(f'--models: not in the zoo: {", ".join(unknown)} (zoo: {", ".join(zoo)})')
    photos = load_photos(args.size)
    examples = shipped_dir('examples/aos')
    photo_names = {p[0] for p in photos}
    skipped = {}  # model -> the photos it trained or validated on, left out of its rows
    rows, start = [], time.time()
    for name in names:
        entry = zoo[name].verify()
        if entry.task == 'aos':
            if not osp.isdir(examples):
                raise UserError(f'{examples}: the example stacks are missing (a checkout has them)')
            found = check_aos_model(entry, args.device, examples)
        else:
            skipped[name] = sorted(seen_photos(entry) & photo_names)
            found = check_image_model(entry, [p for p in photos if p[0] not in skipped[name]], args.device)
        rows += stage_rows(entry, found) if entry.stage_of else found
        print(f'{name}: checked ({time.time() - start:.0f} s)', flush=True)
    lines = summarise(rows)
    table = format_table(lines)
    os.makedirs(args.out, exist_ok=True)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator='\n')
    writer.writerow(['model', 'degradation', 'image', 'psnr', 'baseline_psnr', 'gain_db', 'colour_error', 'graded'])
    for model, kind, image, score, base, colour, graded in rows:
        cells = [f'{score:.4f}', f'{base:.4f}', f'{score - base:+.4f}', f'{colour:.4f}', str(graded).lower()]
        writer.writerow([model, kind, image, *cells])
    write_text_atomic(osp.join(args.out, 'per_image.csv'), buf.getvalue())
    photos_line = ', '.join(f'{n} ({"colour" if c else "grey"})' for n, _, c in photos)
    skipped_line = '; '.join(
        f'{name} leaves out {", ".join(v)} (in its training data)' for name, v in skipped.items() if v
    )
    header = (
        f'Photos ({args.size} px centre crops): {photos_line}. Each model is scored on those its own data never used'
        + (f': {skipped_line}' if skipped_line else '')
        + '.\n\n'
    )
    write_text_atomic(osp.join(args.out, 'report.md'), header + table)
    print(header + table, end='')
    graded = [line for line in lines if line[-1] != 'not graded']
    failed = [f'{m} / {k}' for m, k, *_, verdict in graded if verdict != 'pass']
    print(
        f'{len(graded) - len(failed)} of {len(graded)} graded rows pass'
        + (f'; below: {"; ".join(failed)}' if failed else '')
    )
    return 0
