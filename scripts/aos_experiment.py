"""The AOS course report's methods (Aliyev et al. 2024) compared on synthetic AOS data at equal budget, in one command.

python scripts/aos_experiment.py [--iters 1500] [--finetune-iters 500] [--doc docs/aos_experiment.md]

Runs, from the repository root, with the shipped option files (data generated on first use):

1. ``train_aos_swin2sr128.yml`` as shipped: Swin2SR with the position-enhanced loss (section 4.2);
2. the same with a plain L1 loss instead (``train.position_opt`` off, ``train.pixel_opt`` L1), same iterations;
3. ``train_aos_multipass.yml``: run 1's best checkpoint fine-tuned for multi-pass inference (section 4.4.6);
4. ``test_aos.yml`` on the held-out test split for each: the raw integral, simple, + self-ensemble, + multi-pass.

Writes ``--doc`` (markdown: the table, the budget, the commands) with ``docs/figures/aos_experiment_curves.png``
(validation PSNR of runs 1 and 2 against the integral's) and ``docs/figures/aos_test_montage.png`` (one test sample,
every variant). Experiments go to ``experiments/aos_experiment_*`` and ``results/aos_experiment_*``; a step whose
output exists is not run again (``--fresh`` reruns everything).
"""

import csv
import glob
import re
import shutil
import sys
from os import path as osp

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

from basicsr_ext.evaluation.experiment import Experiment, parse_experiment_args, positive_int  # noqa: E402
from basicsr_ext.utils.file_io import atomic_write  # noqa: E402

PREFIX = 'aos_experiment'
WHAT = 'aos_experiment'
VARIANT_LABELS = {
    'integral': 'raw integral (0 m)',
    'simple': 'simple',
    'self_ensemble': '+ self-ensemble',
    'multipass': '+ multi-pass',
}
COLUMNS = ('psnr', 'person_psnr', 'ssim', 'mae', 'mse')


def train(exp, name, opt_file, extra, iters, fresh):
    """Train (unless done) for ``iters`` iterations; returns the best checkpoint and the log."""
    return exp.train(name, opt_file, [f'train.total_iter={iters}', f'train.scheduler.T_max={iters}', *extra], fresh)


def test(exp, name, net, extra, fresh):
    """``test_aos.yml`` on ``net``; ``{variant: {metric: value}}`` from the test's report table."""
    results = osp.join(REPO, 'results', f'{PREFIX}_test_{name}')
    table = osp.join(results, 'AOSSynthetic128Test_report.csv')
    if fresh or not osp.isfile(table):
        cmd = [sys.executable, 'basicsr_ext/test.py', '-opt', 'options/test_aos.yml', '--cfg-options']
        cmd += [f'name={PREFIX}_test_{name}', f'path.pretrain_network_g={net}', *extra]
        exp.run(cmd, osp.join(REPO, 'results', f'{PREFIX}_test_{name}.out'))
    with open(table) as f:
        return {row['variant']: {k: float(v) for k, v in row.items() if k != 'variant'} for row in csv.DictReader(f)}


def fmt(metric, value):
    return f'{value:.5f}' if metric in ('mae', 'mse') else f'{value:.4f}' if metric == 'ssim' else f'{value:.2f}'


def main(argv=None):
    args = parse_experiment_args(
        argv,
        __doc__.splitlines()[0],
        iters=1500,
        doc='docs/aos_experiment.md',
        cfg_help='extra overrides for every train and test run',
        iters_help='training iterations of runs 1 and 2',
        extra=[
            ('--finetune-iters', dict(type=positive_int, default=500, help='multi-pass fine-tuning iterations (run 3)'))
        ],
    )
    exp = Experiment(REPO, PREFIX, WHAT)
    cfg = list(args.cfg_options)
    l1 = ['train.position_opt=~', '+train.pixel_opt={type: L1Loss, loss_weight: 1.0, reduction: mean}']
    pos_net, pos_log = train(exp, 'position', 'options/train_aos_swin2sr128.yml', cfg, args.iters, args.fresh)
    l1_net, l1_log = train(exp, 'l1', 'options/train_aos_swin2sr128.yml', [*l1, *cfg], args.iters, args.fresh)
    mp_cfg = [f'path.pretrain_network_g={pos_net}', *cfg]
    mp_net, _ = train(
        exp, 'multipass_finetuned', 'options/train_aos_multipass.yml', mp_cfg, args.finetune_iters, args.fresh
    )
    timings = exp.wall_seconds  # the runs trained by this call
    tables = {
        'position loss': test(exp, 'position', pos_net, cfg, args.fresh),
        'L1 loss': test(exp, 'l1', l1_net, cfg, args.fresh),
        'position loss + multi-pass fine-tuning': test(exp, 'multipass_finetuned', mp_net, cfg, args.fresh),
    }

    from basicsr_ext.evaluation.curves import plot_curves

    integral = tables['position loss']['integral']
    plot_curves(
        [pos_log, l1_log],
        exp.figure('aos_experiment_curves.png'),
        metric='psnr',
        loss='l_pos',
        labels=['position loss', 'L1 loss'],
        references={'raw integral': val_integral_psnr(exp, args.fresh)},
    )
    montages = sorted(
        glob.glob(
            osp.join(REPO, 'results', f'{PREFIX}_test_multipass_finetuned', 'AOSSynthetic128Test_montages', '*.png')
        )
    )
    if montages:
        atomic_write(exp.figure('aos_test_montage.png'), lambda tmp: shutil.copyfile(montages[0], tmp), suffix='.png')

    lines = [
        '| training | inference | PSNR | person PSNR | SSIM | MAE | MSE |',
        '|---|---|---:|---:|---:|---:|---:|',
        '| none | ' + VARIANT_LABELS['integral'] + ' | ' + ' | '.join(fmt(c, integral[c]) for c in COLUMNS) + ' |',
    ]
    for training, table in tables.items():
        for variant in ('simple', 'self_ensemble', 'multipass'):
            cells = ' | '.join(fmt(c, table[variant][c]) for c in COLUMNS)
            lines.append(f'| {training} | {VARIANT_LABELS[variant]} | {cells} |')
    summary = {'tables': tables, 'train_seconds': timings, 'iters': args.iters, 'finetune_iters': args.finetune_iters}
    exp.finish(summary, lines, args.doc, _doc(lines, args, timings))


def val_integral_psnr(exp, fresh):
    """PSNR of the raw integral on the validation split (options/test_aos_integral.yml), the curves' reference."""
    out = osp.join(REPO, 'results', f'{PREFIX}_val_integral.out')
    if fresh or not osp.isfile(out):
        cmd = [sys.executable, 'basicsr_ext/test.py', '-opt', 'options/test_aos_integral.yml']
        exp.run([*cmd, '--cfg-options', f'name={PREFIX}_val_integral'], out)
    with open(out) as f:
        return float(re.findall(r'# psnr: ([0-9.]+)', f.read())[-1])


def _doc(lines, args, timings):
    budget = ', '.join(f'{k} {v / 60:.1f} min' for k, v in timings.items()) or 'runs reused from an earlier call'
    return '\n'.join(
        [
            '# AOS experiment: integral vs Swin2SR simple / + self-ensemble / + multi-pass, L1 vs position loss',
            '',
            'Made by `python scripts/aos_experiment.py` (this file, the figures and `results/aos_experiment.json`).',
            f'Runs 1 and 2 train {args.iters} iterations each (same data, seed, net and schedule; only the loss',
            f'differs); run 3 fine-tunes run 1 for {args.finetune_iters} more iterations with the alternating',
            'single/double-pass loss of the AOS course report (Aliyev et al., JKU, Jan 2024, section 4.4.6). Test:',
            'the 40 held-out test samples of the synthetic 128 px set',
            "(`options/test_aos.yml`; + multi-pass includes self-ensemble, as in the report's table 1; up to 2 passes,",
            "a pass kept only where it lowers the output's std). Person PSNR: inside the position loss's window.",
            f'Training wall time on the machine that made this table: {budget}.',
            '',
            *lines,
            '',
            '![validation PSNR](figures/aos_experiment_curves.png)',
            '',
            '![test montage](figures/aos_test_montage.png)',
            '',
        ]
    )


if __name__ == '__main__':
    main()
