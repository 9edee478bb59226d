"""The AOS test report: the AOS course report's results table (section 5.2) for one test set, plus montages.

``val.report`` in a test option file (``options/test_aos.yml``) turns it on. Every variant in ``variants`` (default:
all of ``[integral, oracle_constant, blind_constant, simple, self_ensemble, multipass]``; ``+MP`` includes
self-ensemble, as the course report's rows add up; the two constants are the baselines a restoration must beat, the
GT's median with no person and the integral's median) is run over the test set by the model's own validation loop,
and the report writes:

- ``<results>/<dataset>_report.md`` and ``.csv``: one row per variant, one column per metric (and ``val_loss``);
- ``<results>/<dataset>_montages/<name>.png`` for the first ``montages`` (default 8) samples: integral | each
  variant's output | GT, the person window drawn where the sample has a person.

``self_ensemble`` / ``max_passes`` inside ``val.report`` set the +SE / +MP variants (defaults: 8 transforms, median;
2 passes); ``plane`` the plane restored (default 0).

Inputs: the model (anything with ``validate_loop``, ``after_validation`` and an ``inference`` attribute holding
:class:`InferenceSettings`), a test loader, the ``val.report`` and ``val.metrics`` options, the output folder and the
person window. Outputs: the files above and the rows ``[(variant, {result: value})]``.
"""

import math
from dataclasses import replace
from os import path as osp

from basicsr.utils import get_root_logger, tensor2img

from basicsr_ext.models.aos_inference import InferenceSettings
from basicsr_ext.utils.file_io import write_text_atomic
from basicsr_ext.utils.montage import draw_box, make_montage, to_bgr_uint8, write_png
from basicsr_ext.utils.tables import Column, csv_text, markdown_lines

REPORT_VARIANTS = {
    'integral': 'Integral (0 m plane)',
    'oracle_constant': 'Constant at the GT median (oracle)',
    'blind_constant': 'Constant at the integral median',
    'simple': 'Simple',
    'self_ensemble': '+ Self-ensemble',
    'multipass': '+ Multi-pass',
}


def report_variants(report):
    """``[(name, InferenceSettings)]`` of a ``val.report`` mapping (checked with the options:
    ``aos_restoration_model.Report``)."""
    names = report.get('variants', list(REPORT_VARIANTS))
    se = report.get('self_ensemble', {'transforms': 8, 'reduce': 'median'}) or None
    max_passes = int(report.get('max_passes', 2))
    base = InferenceSettings(plane=int(report.get('plane', 0)), key='val.report')
    settings = {
        'integral': replace(base, integral=True),
        'oracle_constant': replace(base, constant='oracle'),
        'blind_constant': replace(base, constant='blind'),
        'simple': base,
        'self_ensemble': replace(base, self_ensemble=se),
        'multipass': replace(base, self_ensemble=se, max_passes=max_passes),
    }
    return [(n, settings[n]) for n in names]


def run_test_report(model, dataloader, current_iter, save_img, report, metrics_opt, out_dir, window):
    """Run every variant of ``report`` over ``dataloader`` and write the table and montages (see the module doc).

    Args:
        window (PersonWindow): The person window the montages draw (the model's, shared with loss and metric).

    Returns:
        list[tuple[str, dict]]: ``[(variant, {result: value})]``.
    """
    dataset_name = dataloader.dataset.opt['name']
    variants = report_variants(report)
    limit = int(report.get('montages', 8))
    rows, captured = [], {}
    logger = get_root_logger()
    saved = model.inference
    for name, settings in variants:
        logger.info(f'{dataset_name}: testing {REPORT_VARIANTS[name]} ({len(dataloader)} samples)')
        samples = captured[name] = []

        def keep(img_name, samples=samples, plane=settings.plane):
            if len(samples) < limit:
                samples.append(capture(model, img_name, plane))

        model.inference = settings
        try:
            results = model.validate_loop(dataloader, f'{current_iter}_{name}', save_img, on_sample=keep)
        finally:
            model.inference = saved
        rows.append((name, results))
        model.after_validation(f'{dataset_name} [{REPORT_VARIANTS[name]}]', results, current_iter, None)
        captured[name] = first_samples(samples, limit, model.opt)
    if model.opt.get('rank', 0) != 0:  # under DDP every rank ran its share; rank 0 writes
        return rows
    md, table_csv = format_report(rows, metrics_opt)
    write_text_atomic(osp.join(out_dir, f'{dataset_name}_report.md'), md)
    write_text_atomic(osp.join(out_dir, f'{dataset_name}_report.csv'), table_csv)
    logger.info(f'Report for {dataset_name} ({out_dir}/{dataset_name}_report.md):\n{md}')
    write_montages(captured, osp.join(out_dir, f'{dataset_name}_montages'), window)
    return rows


def first_samples(samples, limit, opt):
    """The first ``limit`` captured samples of the whole set. Under DDP rank r ran samples r, r + world, ... and kept
    its first ``limit``: gathered on every rank and put back in the set's order, as a single process captures them."""
    world = opt.get('world_size', 1)
    if not opt.get('dist') or world <= 1:
        return samples
    import torch.distributed as dist

    shares = [None] * world
    dist.all_gather_object(shares, samples)
    ordered = sorted((rank + i * world, s) for rank, share in enumerate(shares) for i, s in enumerate(share))
    return [s for _, s in ordered][:limit]


def capture(model, img_name, plane):
    """The first sample of the model's current batch, as montage tiles and the person's place."""
    has_person = getattr(model, 'has_person', None)
    pos = getattr(model, 'pos', None)
    return {
        'integral': tensor2img([model.lq[0, plane : plane + 1].detach().cpu()]),
        'output': tensor2img([model.output[0].detach().float().cpu()]),
        'gt': tensor2img([model.gt[0].detach().cpu()]) if hasattr(model, 'gt') else None,
        'pos': None if pos is None else pos[0].tolist(),
        'has_person': False if has_person is None else bool(has_person[0]),
        'passes': int(model.passes[0]),
        'name': img_name,
    }


def write_montages(captured, folder, window):
    """One PNG per captured sample: integral | each variant | GT, the person window boxed."""
    order = list(captured)
    count = min(len(v) for v in captured.values()) if captured else 0
    for i in range(count):
        first = captured[order[0]][i]
        tiles = [first['integral']]
        labels = ['integral']
        for name in order:
            if name in ('integral', 'oracle_constant', 'blind_constant'):  # the constants are not worth a tile
                continue
            sample = captured[name][i]
            tiles.append(sample['output'])
            label = REPORT_VARIANTS[name].replace('+ ', '+')
            labels.append(f'{label} ({sample["passes"]} passes)' if name == 'multipass' else label)
        if first['gt'] is not None:
            tiles.append(first['gt'])
            labels.append('GT')
        width = tiles[0].shape[1]
        zoom = max(1, 256 // width)  # small test images are shown at >= 256 px (nearest neighbour)
        tiles = [to_bgr_uint8(t.repeat(zoom, axis=0).repeat(zoom, axis=1)) for t in tiles]
        if first['has_person'] and first['pos'] is not None:
            centre = [v * zoom + (zoom - 1) / 2 for v in first['pos']]
            for tile in tiles:
                draw_box(tile, centre, window.side(width) * zoom, (0, 0, 255), 1)
        name = first['name'] or f'{i:04d}'
        write_png(osp.join(folder, f'{name}.png'), make_montage(tiles, labels, cols=len(tiles)))


def format_report(rows, metrics_opt):
    """(markdown, csv) of ``rows`` = [(variant, {metric: value})]; lower-is-better metrics are marked."""
    names = list(rows[0][1])
    columns = [Column('variant', '', REPORT_VARIANTS.get, str)]
    for n in names:
        better = 'lower' if (metrics_opt.get(n) or {}).get('better') == 'lower' or n == 'val_loss' else 'higher'
        columns.append(Column(n, f'{n} ({better})', _fmt, lambda v: repr(float(v)), 'right'))
    table = [{'variant': variant, **results} for variant, results in rows]
    return '\n'.join(markdown_lines(columns, table)) + '\n', csv_text(columns, table)


def _fmt(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return 'nan'
    return f'{value:.4f}' if abs(value) >= 0.1 else f'{value:.5f}'
