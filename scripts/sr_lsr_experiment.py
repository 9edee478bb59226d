"""Annealed L_SR vs plain L1 (Tan, AI6126 Project 2, Apr 2024) at equal training budget, in one command.

python scripts/sr_lsr_experiment.py [--iters 1000] [--doc docs/sr_lsr_experiment.md] [--fresh]

Runs, from the repository root, with the shipped option files (data generated on first use):

1. ``train_sr_lsr.yml``: MSRResNet x4 on BasicSR's Real-ESRNet degradations with the annealed L_SR;
2. ``train_sr_l1.yml``: the same with plain L1 (same data, seed, net, optimizer, schedule and iterations);
3. ``test_sr.yml`` on each run's best checkpoint, and ``test_sr_bicubic.yml``: the 12 validation crops with their
   fixed Real-ESRNet-degraded LR and with their clean bicubic LR;
4. ``train_sr_lsr.yml`` with the report's Adam weight decay 5e-4 for ``--wd-iters`` iterations, next to the PSNR of
   MSRResNet's bilinear input skip alone (``test_sr_bicubic.yml`` with ``mode: bilinear``): why the option files
   use weight decay 0.

Writes ``--doc`` (markdown: the table, budget, commands), ``docs/figures/sr_lsr_curves.png`` (training loss and
validation PSNR of both runs, bicubic as reference) and ``docs/figures/sr_lsr_montage.png`` (one validation crop:
LR, bicubic, L1, L_SR, GT). Experiments go to ``experiments/sr_lsr_*`` and ``results/sr_lsr_*``; a step whose
output exists is not run again (``--fresh`` reruns everything).
"""

import sys
from os import path as osp

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

from basicsr_ext.evaluation.experiment import Experiment, parse_experiment_args, positive_int, val_points  # noqa: E402

PREFIX = 'sr_lsr'
DATA = osp.join(REPO, 'datasets', 'sample_photos_realesr', 'val')
RUNS = {
    'lsr': ('options/train_sr_lsr.yml', 'annealed L_SR (a: 0.8 -> 0.4, cosine)'),
    'l1': ('options/train_sr_l1.yml', 'L1'),
}
TEST_SETS = {'RealESRDegraded': 'Real-ESRNet-degraded LR', 'BicubicClean': 'clean bicubic LR'}
WHAT = 'sr_lsr_experiment'


def train(exp, name, opt_file, iters, fresh, extra):
    overrides = [f'train.total_iter={iters}', f'train.scheduler.T_max={iters}', *extra]
    return exp.train(name, opt_file, overrides, fresh)


def best_val(log):
    points = val_points(log)
    it, value = max(points, key=lambda p: p[1])
    return it, value, points[-1][1]


def conv_last_rms(name):
    import torch

    path = osp.join(REPO, 'experiments', f'{PREFIX}_{name}', 'models', 'net_g_latest.pth')
    weight = torch.load(path, map_location='cpu', weights_only=True)['params']['conv_last.weight']
    return float(weight.pow(2).mean().sqrt())


def montage(names, out_png, crop='coffee_01'):
    import cv2

    from basicsr_ext.utils.montage import make_montage, write_png

    lr = cv2.imread(osp.join(DATA, 'LR_realesr', 'X4', f'{crop}.png'))
    gt = cv2.imread(osp.join(DATA, 'HR', f'{crop}.png'))
    tiles = [cv2.resize(lr, gt.shape[1::-1], interpolation=cv2.INTER_NEAREST)]
    labels = ['LR (x4 nearest)']
    for name, label in names:
        folder = osp.join(REPO, 'results', f'{PREFIX}_test_{name}', 'visualization', 'RealESRDegraded')
        path = osp.join(folder, f'{crop}_{PREFIX}_test_{name}.png')
        tiles.append(cv2.imread(path))
        labels.append(label)
    tiles.append(gt)
    labels.append('GT')
    write_png(out_png, make_montage(tiles, labels, cols=len(tiles)))


def main(argv=None):
    args = parse_experiment_args(
        argv,
        __doc__.splitlines()[0],
        iters=1000,
        doc='docs/sr_lsr_experiment.md',
        cfg_help='extra overrides for both training runs',
        extra=[
            ('--wd-iters', dict(type=positive_int, default=200, help="iterations of the report's weight-decay check"))
        ],
    )
    exp = Experiment(REPO, PREFIX, WHAT)
    rows, logs = [], []
    tests = {'bicubic': exp.test('bicubic', 'options/test_sr_bicubic.yml', [], args.fresh)}
    for name, (opt_file, _) in RUNS.items():
        net, log = train(exp, name, opt_file, args.iters, args.fresh, args.cfg_options)
        logs.append(log)
        tests[name] = exp.test(name, 'options/test_sr.yml', [f'path.pretrain_network_g={net}'], args.fresh)
        rows.append((name, *best_val(log)))

    wd_extra = ['train.optim_g.weight_decay=5e-4', f'val.val_freq={max(args.wd_iters // 4, 1)}', *args.cfg_options]
    _, wd_log = train(exp, 'lsr_seed_wd', RUNS['lsr'][0], args.wd_iters, args.fresh, wd_extra)
    tests['bilinear'] = exp.test('bilinear', 'options/test_sr_bicubic.yml', ['network_g.mode=bilinear'], args.fresh)
    wd_points = val_points(wd_log)
    timings = exp.train_seconds

    from basicsr_ext.evaluation.curves import plot_curves

    bicubic = tests['bicubic']['RealESRDegraded']['psnr']
    plot_curves(
        logs,
        exp.figure('sr_lsr_curves.png'),
        metric='psnr',
        loss='l_pix',
        labels=[RUNS[n][1] for n in RUNS],
        references={'bicubic': bicubic},
    )
    montage([('bicubic', 'bicubic'), ('l1', 'L1'), ('lsr', 'L_SR')], exp.figure('sr_lsr_montage.png'))

    head = ['| training loss | best val PSNR (iter) | last val PSNR |']
    head[0] += ''.join(f' {label}: PSNR / SSIM |' for label in TEST_SETS.values())
    lines = [head[0], '|---|---:|---:|' + '---:|' * len(TEST_SETS)]
    lines.append(f'| none (bicubic upsampling) | | | {_cells(tests["bicubic"])} |')
    for name, it, best, last in rows:
        cells = _cells(tests[name])
        lines.append(f'| {RUNS[name][1]} | {best:.4f} ({it}) | {last:.4f} | {cells} |')
    bilinear = tests['bilinear']['RealESRDegraded']['psnr']
    wd_line = ', '.join(f'{v:.4f} dB @ {it}' for it, v in wd_points)
    rms = {name: conv_last_rms(name) for name in ('lsr', 'l1', 'lsr_seed_wd')}
    lines += [
        '',
        f"The report's weight decay (Adam, 5e-4), annealed L_SR, {args.wd_iters} iterations: validation PSNR {wd_line};"
        f' the bilinear input skip alone: {bilinear:.4f} dB. RMS of the last conv (the residual branch output) at'
        f' the end of training: {rms["lsr_seed_wd"]:.2e} with weight decay 5e-4 ({args.wd_iters} iterations),'
        f' {rms["lsr"]:.2e} (L_SR) and {rms["l1"]:.2e} (L1) with 0 ({args.iters} iterations).',
    ]
    summary = {'tests': tests, 'val': rows, 'seed_wd_val': wd_points, 'conv_last_rms': rms}
    summary.update(train_seconds=timings, iters=args.iters)
    exp.finish(summary, lines, args.doc, _doc(lines, args, timings))


def _cells(results):
    return ' | '.join(f'{results[s]["psnr"]:.4f} / {results[s]["ssim"]:.4f}' for s in TEST_SETS)


def _doc(lines, args, timings):
    labels = {**{k: v[1] for k, v in RUNS.items()}, 'lsr_seed_wd': "L_SR with the report's weight decay"}
    budget = ', '.join(f'{labels[k]} {v / 60:.1f} min' for k, v in timings.items())
    return '\n'.join(
        [
            '# Annealed L_SR vs L1 (Tan, AI6126 Project 2, Apr 2024) on Real-ESRNet degradations',
            '',
            'Made by `python scripts/sr_lsr_experiment.py` (this file, the figures and `results/sr_lsr.json`).',
            f'Both runs train MSRResNet x4 (20 blocks) for {args.iters} iterations of batch 8, 128 px GT crops, from',
            "the same seed, on scikit-image's 11 training photos degraded on the fly by BasicSR's Real-ESRNet chain",
            "(Real-ESRGAN's x4 settings, no GT sharpening); Adam 1e-3, cosine schedule as in the report, weight decay",
            '0 (see the last line). Only the loss differs. Validation and test: 12 fixed 256 px crops of two',
            'held-out photos (chelsea, coffee), each degraded once by its own seeded draw of the same chain; the test',
            'also feeds the clean bicubic LR of the same crops.',
            "Test rows use each run's best-validation checkpoint (as in the report).",
            'PSNR on RGB, 4 px border cropped.',
            f"Training time (BasicSR's `Time consumed`) on the machine that made this table: {budget}.",
            '',
            *lines,
            '',
            '![training loss and validation PSNR](figures/sr_lsr_curves.png)',
            '',
            '![one validation crop](figures/sr_lsr_montage.png)',
            '',
        ]
    )


if __name__ == '__main__':
    main()
