"""What ``aos_restore`` does once its arguments are parsed (``basicsr_ext/cli/aos_restore.py`` holds the parser):
restore every focal stack, write the outputs, person candidates, montages and the report."""

import csv
import io
import json
import math
import time
from os import path as osp

import cv2
import numpy as np

from basicsr_ext.aos.focal_stack import read_gt
from basicsr_ext.aos.gt_person import centroid, locate_person, person_mask
from basicsr_ext.aos.person_scores import gt_offset, shift_image
from basicsr_ext.aos.position import PersonWindow
from basicsr_ext.inference.aos_inputs import discover, find_gt, integral_plane, load
from basicsr_ext.inference.aos_report import format_report, score
from basicsr_ext.inference.restorer import Restorer
from basicsr_ext.inference.zoo import DEFAULT_AOS_MODEL
from basicsr_ext.utils.errors import UserError
from basicsr_ext.utils.file_io import check_output_folder, write_text_atomic
from basicsr_ext.utils.montage import draw_box, make_montage, to_bgr_uint8, write_png


def write_montage(path, integral, height, restored, gt, person, passes, candidates, ensembled=False):
    how = f'{passes} pass{"es" * (passes > 1)}' + (', self-ensemble' if ensembled else '')
    tiles, labels = [integral, restored], [f'integral {height:g} m', f'restored ({how})']
    if gt is not None:
        tiles.append(gt)
        labels.append('GT')
    zoom = max(1, 256 // integral.shape[1])  # small images shown at >= 256 px (nearest neighbour)
    tiles = [to_bgr_uint8(t.repeat(zoom, axis=0).repeat(zoom, axis=1)) for t in tiles]
    if person:
        centre = [v * zoom + (zoom - 1) / 2 for v in person]
        for tile in tiles:
            draw_box(tile, centre, PersonWindow().side(integral.shape[1]) * zoom, (0, 0, 255), 1)
    radius = max(4, int(round(12 * integral.shape[1] / 512)) * zoom)
    for rank, cand in reversed(list(enumerate(candidates, 1))):  # the best drawn last, on top
        centre = (int(round(cand.col * zoom + (zoom - 1) / 2)), int(round(cand.row * zoom + (zoom - 1) / 2)))
        colour = (0, 255, 0) if rank == 1 else (0, 200, 255)
        cv2.circle(tiles[1], centre, radius, colour, 1 + (rank == 1), cv2.LINE_AA)
        cv2.putText(tiles[1], str(rank), (centre[0] + radius, centre[1] - radius), 0, 0.4, colour, 1, cv2.LINE_AA)
    write_png(path, make_montage(tiles, labels, cols=len(tiles)))


def write_sheet(output, stems, width=1200):
    """OUT/montages.png: every input's montage, one under the other, scaled to ``width`` px (the figure to look at)."""
    rows = [cv2.imread(osp.join(output, 'montages', f'{stem}.png'), cv2.IMREAD_COLOR) for stem in stems]
    widest = max(r.shape[1] for r in rows)
    rows = [
        cv2.copyMakeBorder(r, 0, 4, 0, widest - r.shape[1], cv2.BORDER_CONSTANT, value=(255, 255, 255)) for r in rows
    ]
    sheet = np.concatenate(rows)
    if sheet.shape[1] > width:
        sheet = cv2.resize(sheet, (width, round(sheet.shape[0] * width / sheet.shape[1])), interpolation=cv2.INTER_AREA)
    write_png(osp.join(output, 'montages.png'), sheet)


def write_candidates(args, sample, camera, candidates):
    """OUT/<stem>_persons.json; returns the CSV rows of this input."""
    entries = [{'rank': i, **c.as_dict()} for i, c in enumerate(candidates, 1)]
    doc = {
        'input': sample.source or sample.stem,
        'camera': 'stack metadata' if sample.camera is not None else 'course camera (assumed)',
        'pixels_per_metre': camera.pixels_per_metre(),
        'candidates': entries,
    }
    write_text_atomic(osp.join(args.output, f'{sample.stem}_persons.json'), json.dumps(doc, indent=2) + '\n')
    keys = ('rank', 'row', 'col', 'x_m', 'y_m', 'score', 'evidence')
    return [[sample.stem, *(e[key] for key in keys)] for e in entries]


def candidate_distance(candidates, gt, camera):
    """Metres from the top candidate to the centroid of the GT's person mask (None without a person)."""
    mask = person_mask(gt)
    if mask is None or not candidates:
        return None
    row, col = centroid(mask)
    return math.hypot(candidates[0].row - row, candidates[0].col - col) / camera.pixels_per_metre()


def restore_sample(restorer, sample, args):
    """Restore, write the output, candidates and montage; returns (report row or None without a GT, candidate CSV
    rows). The GT is read and checked first, so a sample that fails writes nothing."""
    integral, height = integral_plane(sample)
    gt_path = (find_gt(args.gt, sample.stem) if args.gt else None) or sample.gt_path
    gt = read_gt(gt_path) if gt_path else None
    if gt is not None and gt.shape != integral.shape:
        raise UserError(f'{gt_path}: GT size {gt.shape} differs from the input {integral.shape} ({sample.source})')
    offset = gt_offset(integral, gt) if gt is not None else None
    if offset is not None:
        dy, dx, covered, in_place = offset
        print(
            f"{sample.stem}: the GT person lies ({dy:+d}, {dx:+d}) px (rows, cols) from the integral's (its warm "
            f'pixels cover {covered:.0%} of the GT person so shifted, {in_place:.0%} in place): '
            + ('scored against the GT moved back (--align-gt)' if args.align_gt else 'check its registration'),
            flush=True,
        )
        if args.align_gt:
            gt = shift_image(gt, -dy, -dx)
    restored, candidates, note = restorer.restore_sample(sample, args.candidates)
    camera = sample.ground_camera
    write_png(osp.join(args.output, f'{sample.stem}.png'), restored)
    csv_rows = write_candidates(args, sample, camera, candidates)
    person, person_from = sample.person, 'input metadata'
    if person is False:
        person, person_from = None, 'n/a (no person in the metadata)'
    elif person is None:
        person = locate_person(gt) if gt is not None else None
        person_from = 'GT brightest blob' if person is not None else 'n/a (none found)'
    write_montage(
        osp.join(args.output, 'montages', f'{sample.stem}.png'),
        integral,
        height,
        restored,
        gt,
        person,
        restorer.last_passes,
        candidates,
        bool(restorer.self_ensemble),
    )
    top = candidates[0]
    where = f'; person candidate 1 at row {top.row:.0f}, col {top.col:.0f} = ({top.x:.1f}, {top.y:.1f}) m'
    print(
        f'{sample.stem}: {restored.shape[1]}x{restored.shape[0]}, {len(restorer.heights)} plane(s) -> '
        f'{sample.stem}.png{where}' + (f' ({note})' if note else ''),
        flush=True,
    )
    if gt is None:
        return None, csv_rows
    row = {'stem': sample.stem, 'scores': score(restored, integral, gt, person), 'person_from': person_from}
    if offset is not None:
        row['gt_offset'] = (offset[0], offset[1], bool(args.align_gt))
    row['candidate_m'] = candidate_distance(candidates, gt, camera)
    return row, csv_rows


def plane_scales(scales, inputs):
    """One ``--plane-scale`` per ``--input`` item (None: the default; a single value applies to all)."""
    if scales is None:
        return [None] * len(inputs)
    if len(scales) == 1:
        scales = scales * len(inputs)
    if len(scales) != len(inputs):
        raise UserError(f'--plane-scale: expected 1 value or one per --input item ({len(inputs)}), got {len(scales)}')
    for scale in scales:
        if not scale > 0:
            raise UserError(f'--plane-scale: expected values > 0, got {scale:g}')
    return scales


def run(args, restorer=None):
    """Restore ``args.input``; ``restorer``: one already built (``restore`` hands its own over), else built from the
    flags."""
    check_output_folder(args.output, '--output', inputs=args.input)
    if args.gt and not osp.isdir(args.gt):
        raise UserError(f'--gt: not a folder: {args.gt}')
    bad = [h for h in args.heights or [] if not math.isfinite(h)]
    if bad:
        raise UserError(f'--heights: expected finite heights in metres, got {bad[0]:g}')
    if args.candidates < 1:
        raise UserError(f'--candidates: expected >= 1, got {args.candidates}')
    model = args.model or DEFAULT_AOS_MODEL
    restorer = restorer or Restorer(
        model,
        opt=args.opt,
        device=args.device,
        self_ensemble=args.self_ensemble,
        multipass=args.multipass,
        tile=args.tile,
        precision=args.precision,
        param_key=args.param_key,
    )
    if not restorer.descriptor.is_aos:
        raise UserError(
            f'--model {model}: a {restorer.descriptor.task} model, not an AOS restorer: use scripts/restore.py'
        )
    print(restorer.settings, flush=True)
    for note in restorer.notes:  # said before the run (a training stage named as the model)
        print(f'note: {note}', flush=True)
    scales = plane_scales(args.plane_scale, args.input)
    found, seen = [], {}
    for item, scale in zip(args.input, scales):
        samples = discover(item)
        if not samples:
            raise UserError(
                f'--input {item}: no focal stacks in it (expected .tif/.tiff stacks, plane PNGs such as 000.png, raw '
                'samples R_S_pose_k_thermal.png, or folders of them)'
            )
        for kind, location, stem in samples:
            if stem in seen:
                raise UserError(f'two inputs would both write {stem}.png: {seen[stem]} and {item}')
            seen[stem] = item
            found.append((kind, location, scale))
    integrate_at = sorted({0.0, *restorer.heights})
    rows, persons, stems, start = [], [], [], time.time()
    for kind, location, scale in found:
        sample = load(kind, location, args.heights, scale, integrate_at)
        row, csv_rows = restore_sample(restorer, sample, args)
        persons += csv_rows
        stems.append(sample.stem)
        if row is not None:
            rows.append(row)
    buf = io.StringIO()
    header = ['input', 'rank', 'row', 'col', 'x_m', 'y_m', 'score', 'evidence']
    csv.writer(buf, lineterminator='\n').writerows([header, *persons])
    write_text_atomic(osp.join(args.output, 'persons.csv'), buf.getvalue())
    if len(stems) <= 12:  # a sheet of every montage, for a handful of inputs
        write_sheet(args.output, stems)
    print(f'restored {len(found)} sample(s) in {time.time() - start:.1f} s on {restorer.device} -> {args.output}')
    if rows:
        md, table_csv = format_report(rows)
        write_text_atomic(osp.join(args.output, 'report.md'), md)
        write_text_atomic(osp.join(args.output, 'report.csv'), table_csv)
        print(md, end='')
