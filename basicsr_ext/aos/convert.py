"""Raw samples (real or simulated) -> focal-stack TIFFs + GT PNGs in a seeded train/val/test split.

Output layout under ``out``::

    {train,val,test}/stacks/{R}_{S}_{x}_{y}_integral.tiff   one page per focal height (uint8, rounded)
    {train,val,test}/gt/{R}_{S}_GT.png
    {train,val,test}/meta_info.txt                          stack file names of the split, sorted
    report.json                                             heights, seed, counts, split and every bad sample
    montages/{R}_{S}.png                                    views, integrals and GT of the first few samples

The split of the AOS course report (Aliyev et al., JKU, Jan 2024): 80/10/10 (train/val/test) of one run, every other run
goes to train. Each file is written atomically; a sample that fails (missing files, unreadable PNG, bad Parameters.txt,
size mismatch) is reported with its reason and the rest are converted. Converting again skips samples whose stack and GT
already exist.
"""

import json
import logging
from dataclasses import asdict
from multiprocessing import get_context
from os import path as osp

import numpy as np

from basicsr_ext.aos.focal_stack import gt_name, stack_name, write_focal_stack, write_gt
from basicsr_ext.aos.geometry import CameraModel
from basicsr_ext.aos.inputs import integrate_stack
from basicsr_ext.aos.position import PersonPosition
from basicsr_ext.aos.raw import find_samples
from basicsr_ext.utils.errors import UserError
from basicsr_ext.utils.file_io import write_text_atomic

SPLITS = ('train', 'val', 'test')


def assign_splits(keys, seed=0, val=0.1, test=0.1, split_run=None):
    """``{(run, sim): split}``: ``val``/``test`` fractions of ``split_run`` (default: the lowest run) held out, the
    rest and all other runs to train. Depends only on the keys and the seed, not on their order."""
    keys = sorted(set(keys))
    if not keys:
        return {}
    split_run = min(run for run, _ in keys) if split_run is None else split_run
    pool = [k for k in keys if k[0] == split_run]
    order = np.random.default_rng(seed).permutation(len(pool))
    n_val, n_test = int(round(val * len(pool))), int(round(test * len(pool)))
    result = dict.fromkeys(keys, 'train')
    for rank, idx in enumerate(order):
        if rank < n_val:
            result[pool[idx]] = 'val'
        elif rank < n_val + n_test:
            result[pool[idx]] = 'test'
    return result


def convert_sample(sample, split_dir, heights, camera_kwargs=None, source_folder=None):
    """Integrate one raw sample at ``heights`` and write its stack and GT; returns the stack file name.

    ``source_folder``: the raw folder recorded in the stack's metadata (default: where the sample is read from; a
    preparer building in a temp folder records the final one)."""
    params = sample.load_params()
    person_xy = tuple(params.person_pose[:2]) if params.has_person else None  # the file name's metres (an index)
    name = stack_name(sample.run, sample.sim, person_xy)
    stack_path = osp.join(split_dir, 'stacks', name)
    gt_path = osp.join(split_dir, 'gt', gt_name(sample.run, sample.sim))
    if osp.isfile(stack_path) and osp.isfile(gt_path):
        return name
    views = sample.load_views()
    gt = sample.load_gt()
    if gt.shape != views.shape[1:]:
        raise UserError(f'{sample.name}: GT is {gt.shape} but the views are {views.shape[1:]}')
    camera = CameraModel(size=views.shape[-1], **(camera_kwargs or {}))
    stack = integrate_stack(views, heights, camera)
    person = PersonPosition.from_params(params, camera)
    write_focal_stack(
        stack_path,
        stack,
        heights,
        person=None if person is None else person.to_meta(),
        source=f'{source_folder or sample.folder}:{sample.name}',
        camera=asdict(camera),
    )
    write_gt(gt_path, gt)
    return name


def _work(args):
    sample, split_dir, heights, camera_kwargs, source_folder = args
    try:
        return sample.name, convert_sample(sample, split_dir, heights, camera_kwargs, source_folder), None
    except UserError as err:
        return sample.name, None, str(err)


def convert(
    raw_folder,
    out,
    heights,
    seed=0,
    val=0.1,
    test=0.1,
    split_run=None,
    workers=1,
    camera_kwargs=None,
    progress=True,
    montages=4,
    recorded_raw_folder=None,
):
    """Convert every complete sample of ``raw_folder``; returns the report dict (also written to report.json).

    ``recorded_raw_folder``: the raw folder named in the report and the stacks' metadata when ``raw_folder`` is a
    temp path that will be renamed (data preparation); default: ``raw_folder``.
    """
    heights = [float(h) for h in heights]
    if not heights:
        raise UserError('no focal heights given')
    log = logging.getLogger('basicsr').info if progress else (lambda _: None)
    log(f'aos integrate: checking the raw samples in {raw_folder}')
    samples, problems = find_samples(raw_folder)
    log(f'aos integrate: {len(samples)} complete samples, {len(problems)} incomplete; planes at {heights} m')
    if not samples and not problems:
        raise UserError(
            f'{raw_folder}: no raw samples (expected R_S_pose_0_thermal.png ... R_S_pose_10_thermal.png, '
            'R_S_GT_pose_0_thermal.png and R_S_Parameters.txt per sample)'
        )
    runs = sorted({s.run for s in samples})
    if split_run is not None and samples and split_run not in runs:
        raise UserError(f'split run {split_run}: no sample of that run in {raw_folder} (runs: {runs})')
    bad = [{'sample': name, 'reason': reason} for name, reason in problems]
    splits = assign_splits([(s.run, s.sim) for s in samples], seed, val, test, split_run)
    recorded = osp.abspath(recorded_raw_folder or raw_folder)
    jobs = [(s, osp.join(out, splits[(s.run, s.sim)]), heights, camera_kwargs, recorded) for s in samples]
    written = {split: [] for split in SPLITS}
    split_of = {s.name: splits[(s.run, s.sim)] for s in samples}
    results = _run(jobs, workers, progress)
    for sample_name, name, error in results:
        if error is None:
            written[split_of[sample_name]].append(name)
        else:
            bad.append({'sample': sample_name, 'reason': error})
    for split in SPLITS:
        if written[split]:
            write_text_atomic(osp.join(out, split, 'meta_info.txt'), ''.join(f'{n}\n' for n in sorted(written[split])))
    report = {
        'raw_folder': recorded,
        'heights': heights,
        'seed': seed,
        'split_run': split_run,
        'counts': {split: len(names) for split, names in written.items()},
        'converted': sum(len(names) for names in written.values()),
        'bad': sorted(bad, key=lambda b: b['sample']),
    }
    write_text_atomic(osp.join(out, 'report.json'), json.dumps(report, indent=2))
    done = {name for names in written.values() for name in names}
    log(f'aos integrate: {report["counts"]} written; montages of the first {min(montages, len(done))}')
    by_name = {s.name: s for s in samples}
    for sample_name, name, _ in sorted(r for r in results if r[1] in done)[:montages]:
        write_montage(
            by_name[sample_name],
            osp.join(out, split_of[sample_name], 'stacks', name),
            osp.join(out, 'montages', f'{sample_name}.png'),
        )
    return report


def write_montage(sample, stack_path, png_path):
    """Views, integrals and the GT (person boxed) of one converted sample, for a person to check the data."""
    from basicsr_ext.aos.focal_stack import read_focal_stack
    from basicsr_ext.aos.montage import sample_montage
    from basicsr_ext.utils.montage import write_png

    stack, meta = read_focal_stack(stack_path)
    person = PersonPosition.from_meta(meta, stack.shape[-1])
    write_png(png_path, sample_montage(sample.load_views(), stack, meta['heights'], sample.load_gt(), person))


def _run(jobs, workers, progress):
    from tqdm import tqdm

    bar = tqdm(total=len(jobs), desc='aos integrate', unit='sample', disable=not progress)
    results = []
    if workers <= 1:
        for job in jobs:
            results.append(_work(job))
            bar.update(1)
    else:
        with get_context('spawn').Pool(workers) as pool:
            for result in pool.imap_unordered(_work, jobs, chunksize=4):
                results.append(result)
                bar.update(1)
    bar.close()
    return results
