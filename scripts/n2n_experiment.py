"""Noise2Noise vs Noise2Clean (Lehtinen et al. 2018; Xu, Song, Peng, EPFL EE-559, 2022) at equal budget, in one command.

python scripts/n2n_experiment.py [--iters 3000] [--doc docs/n2n_experiment.md] [--fresh]

Runs, from the repository root, with the shipped option files (data generated on first use):

1. ``train_n2n_gaussian.yml``: the paper's U-Net trained on pairs of noisy crops (Gaussian, sigma 0-50);
2. ``train_n2c_gaussian.yml``: the same with clean targets (same data, noise, network, schedule, iterations, seed);
3. ``test_n2n_gaussian.yml`` on each run's best checkpoint: the held-out crops at the validation noise (sigma 25,
   seeded per image), next to the PSNR of the noisy input itself.

Writes ``--doc`` (markdown: the table, budget, commands), ``docs/figures/n2n_curves.png`` (training loss and
validation PSNR of both runs, the noisy input as reference) and ``docs/figures/n2n_montage.png`` (one crop: noisy,
N2N, N2C, clean). Experiments go to ``experiments/n2n_*`` and ``results/n2n_*``; a step whose output exists is not
run again (``--fresh`` reruns everything).
"""

import sys
from os import path as osp

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

from basicsr_ext.evaluation.experiment import Experiment, parse_experiment_args, val_points  # noqa: E402

PREFIX = 'n2n'
RUNS = {
    'n2n': ('options/train_n2n_gaussian.yml', 'N2N (noisy targets)'),
    'n2c': ('options/train_n2c_gaussian.yml', 'N2C (clean targets)'),
}
TEST_OPT = 'options/test_n2n_gaussian.yml'
DATASET = 'SamplePhotosDenoiseSigma25'
WHAT = 'n2n_experiment'


def test(exp, name, net, fresh):
    return exp.test(name, TEST_OPT, [f'path.pretrain_network_g={net}'], fresh)[DATASET]


def noisy_input():
    """PSNR/SSIM of the noisy test inputs themselves (the test set's options, BasicSR's metrics), and the images."""
    import yaml
    from basicsr.metrics import calculate_metric
    from basicsr.utils import tensor2img

    from basicsr_ext.data.noisy_pair_dataset import NoisyPairDataset

    with open(osp.join(REPO, TEST_OPT)) as f:
        opt = yaml.safe_load(f)
    dataset_opt = {**opt['datasets']['test_1'], 'phase': 'val'}
    dataset_opt['dataroot_gt'] = osp.join(REPO, dataset_opt['dataroot_gt'])
    dataset = NoisyPairDataset(dataset_opt)
    sums, images = {}, {}
    for i in range(len(dataset)):
        item = dataset[i]
        lq, gt = tensor2img(item['lq']), tensor2img(item['gt'])
        images[osp.splitext(osp.basename(item['lq_path']))[0]] = (lq, gt)
        for name, metric in opt['val']['metrics'].items():
            sums[name] = sums.get(name, 0.0) + float(calculate_metric({'img': lq, 'img2': gt}, metric))
    return {k: v / len(dataset) for k, v in sums.items()}, images


def montage(images, out_png):
    import cv2

    from basicsr_ext.utils.montage import make_montage, write_png

    crop = sorted(images)[0]
    noisy, clean = images[crop]
    tiles, labels = [noisy], ['noisy input (sigma 25)']
    for name in RUNS:
        folder = osp.join(REPO, 'results', f'{PREFIX}_test_{name}', 'visualization', DATASET)
        tiles.append(cv2.imread(osp.join(folder, f'{crop}_{PREFIX}_test_{name}.png')))
        labels.append(RUNS[name][1])
    tiles.append(clean)
    labels.append('clean')
    write_png(out_png, make_montage(tiles, labels, cols=len(tiles)))


def main(argv=None):
    args = parse_experiment_args(
        argv,
        __doc__.splitlines()[0],
        iters=3000,
        doc='docs/n2n_experiment.md',
        cfg_help='extra overrides for both training runs',
    )
    exp = Experiment(REPO, PREFIX, WHAT)
    results, logs, best = {}, [], {}
    for name, (opt_file, _) in RUNS.items():
        net, log = exp.train(name, opt_file, [f'train.total_iter={args.iters}', *args.cfg_options], args.fresh)
        logs.append(log)
        results[name] = test(exp, name, net, args.fresh)
        best[name] = max(val_points(log), key=lambda p: p[1])
    timings = exp.train_seconds
    noisy, images = noisy_input()

    from basicsr_ext.evaluation.curves import plot_curves

    plot_curves(
        logs,
        exp.figure('n2n_curves.png'),
        metric='psnr',
        loss='l_pix',
        labels=[RUNS[n][1] for n in RUNS],
        references={'noisy input': noisy['psnr']},
    )
    montage(images, exp.figure('n2n_montage.png'))

    lines = [
        '| training targets | PSNR (dB) | SSIM | best validation PSNR (iter) | training time |',
        '|---|---:|---:|---:|---:|',
        f'| none: the noisy input | {noisy["psnr"]:.2f} | {noisy["ssim"]:.4f} | | |',
    ]
    for name in RUNS:
        r, (it, value) = results[name], best[name]
        cells = f'{r["psnr"]:.2f} | {r["ssim"]:.4f} | {value:.2f} ({it}) | {timings[name] / 60:.1f} min'
        lines.append(f'| {RUNS[name][1]} | {cells} |')
    summary = {'test': results, 'noisy_input': noisy, 'best_val': best, 'train_seconds': timings, 'iters': args.iters}
    exp.finish(summary, lines, args.doc, _doc(lines, args))


def _doc(lines, args):
    return '\n'.join(
        [
            '# Noise2Noise vs Noise2Clean (Xu, Song, Peng, EPFL EE-559, 2022) on Gaussian noise',
            '',
            'Made by `python scripts/n2n_experiment.py` (this file, the figures and `results/n2n.json`).',
            f"Both runs train the paper's U-Net (`N2NUNet`, 991k parameters) for {args.iters} iterations of batch 4,",
            "96 px crops of scikit-image's 11 training photos, from the same seed, with Gaussian noise of sigma drawn",
            'in [0, 50] per corruption (0-255 scale), L2 loss, Adam 3e-4 (beta2 0.99) and the ramp-down schedule',
            '(last 30%). N2N: input and target are two independent corruptions of the crop; N2C: the target is the',
            'clean crop. Test: 8 held-out 256 px crops (chelsea, coffee) at sigma 25, the noise seeded per image',
            "(the same noisy inputs for both), each run's best-validation checkpoint; RGB PSNR/SSIM, no border crop.",
            "Training time is BasicSR's `Time consumed` on the machine that made this table.",
            '',
            *lines,
            '',
            '![training loss and validation PSNR](figures/n2n_curves.png)',
            '',
            '![one test crop](figures/n2n_montage.png)',
            '',
        ]
    )


if __name__ == '__main__':
    main()
