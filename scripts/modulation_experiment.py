"""Continuous-level denoising (Afrimi 2021): AdaFM vs FTN vs FTN-gc16 vs DNI vs from-scratch, in one command.

python scripts/modulation_experiment.py [--iters 1500] [--doc docs/modulation_experiment.md] [--fresh]

Runs, from the repository root, with the shipped option files (data generated on first use):

1. ``train_modulation_base.yml``: the AdaFM-Net base at Gaussian sigma 20 (level a);
2. from its last checkpoint, for sigma 80 (level b): ``train_modulation_adafm.yml`` (AdaFM layers only),
   ``train_modulation_ftn.yml`` (FTNs only), ``train_modulation_ftn_gc16.yml`` (grouped FTNs only) and
   ``train_modulation_dni.yml`` (the whole network, DNI's second endpoint);
3. ``train_modulation_base.yml`` from scratch at sigma 40, 60 and 80 (the upper bound per level);
4. the sweep (``basicsr_ext.evaluation.modulation_sweep``, as ``scripts/modulation_sweep.py``) of every continuous-level
   model over coefficients 0, 0.1, ..., 1 at sigma 20, 40, 60, 80 on the held-out crops (noise seeded per image),
   and each from-scratch network at its own level.

Every run trains ``--iters`` iterations and uses its last checkpoint. Writes ``--doc`` (markdown: the table laid out
like table 2 of Afrimi's tunable-models report, the best coefficient per level, parameter counts, commands),
``docs/figures/modulation_sweep.png`` (PSNR against the coefficient per level and method) and
``docs/figures/modulation_strip.png`` (one crop at sigma 60 across coefficients, every method). Experiments go to
``experiments/mod_*``, sweeps to ``results/mod_sweep_*``; a finished step is not run again (``--fresh`` reruns
everything).
"""

import json
import sys
from os import path as osp

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

from basicsr_ext.evaluation.experiment import Experiment, parse_experiment_args  # noqa: E402

PREFIX = 'mod'
WHAT = 'modulation_experiment'
BASE_OPT = 'options/train_modulation_base.yml'
LEVEL_A, LEVEL_B = 20, 80
LEVELS = [20, 40, 60, 80]
UNSEEN = {40, 60}
COEFS = [round(i / 10, 1) for i in range(11)]
STRIP_LEVEL = 60
STRIP_COEFS = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
# continuous-level methods: option file (None: DNI between the base and the fine-tuned copy), label
METHODS = {
    'dni': ('options/train_modulation_dni.yml', 'DNI'),
    'adafm': ('options/train_modulation_adafm.yml', 'AdaFM'),
    'ftn_gc16': ('options/train_modulation_ftn_gc16.yml', 'FTN-gc16'),
    'ftn': ('options/train_modulation_ftn.yml', 'FTN'),
}


def latest(best):
    return osp.join(osp.dirname(best), 'net_g_latest.pth')


def train(exp, name, opt_file, iters, fresh, extra):
    """Train (unless done); returns the last checkpoint."""
    best, _ = exp.train(name, opt_file, [f'train.total_iter={iters}', *extra], fresh)
    return latest(best)


def level_overrides(level):
    return [f'datasets.train.noise.sigma={level}', f'datasets.val.noise.sigma={level}']


def sweep(name, opt_file, images, fresh, cfg, checkpoint=None, dni=None, levels=LEVELS, coefs=COEFS):
    """Run (or read back) one sweep; returns its result dict (``strip`` images only when run now)."""
    from basicsr_ext.evaluation.modulation_sweep import run_sweep, write_sweep
    from basicsr_ext.utils.options import resolve_options

    out = osp.join(REPO, 'results', f'{PREFIX}_sweep_{name}')
    done = osp.join(out, 'sweep.json')
    if not fresh and osp.isfile(done) and osp.isfile(osp.join(out, 'strip.npz')):
        import numpy as np

        with open(done) as f:
            result = json.load(f)
        arrays = np.load(osp.join(out, 'strip.npz'))
        result['strip'].update(noisy=arrays['noisy'], clean=arrays['clean'], outputs=list(arrays['outputs']))
        return result
    opt = resolve_options(osp.join(REPO, opt_file), cfg)  # the training runs' overrides (network size)
    noise = opt['datasets']['val']['noise']
    print(f'sweep {name}: {len(coefs)} coefficients x {len(levels)} levels', flush=True)
    result = run_sweep(
        opt['network_g'],
        levels,
        coefs,
        images,
        checkpoint=checkpoint,
        dni=dni,
        seed=opt['datasets']['val'].get('seed', 0),
        clip=noise.get('clip', False),
        strip_level=STRIP_LEVEL if STRIP_LEVEL in levels else None,
    )
    write_sweep(result, out, f'{name}: {result["method"]} sweep')
    import numpy as np

    from basicsr_ext.utils.file_io import atomic_write

    strip = result['strip']
    atomic_write(
        osp.join(out, 'strip.npz'),
        lambda tmp: np.savez_compressed(tmp, noisy=strip['noisy'], clean=strip['clean'], outputs=strip['outputs']),
        suffix='.npz',
    )
    return result


def column(result, level):
    return [row[result['levels'].index(level)] for row in result['psnr']]


def main(argv=None):
    args = parse_experiment_args(
        argv,
        __doc__.splitlines()[0],
        iters=1500,
        doc='docs/modulation_experiment.md',
        cfg_help='extra overrides for every training run',
    )
    exp = Experiment(REPO, PREFIX, WHAT)
    extra = args.cfg_options
    base = train(exp, 'base', BASE_OPT, args.iters, args.fresh, extra)
    ckpts = {}
    for name, (opt_file, _) in METHODS.items():
        overrides = [f'path.pretrain_network_g={base}', *extra]
        ckpts[name] = train(exp, name, opt_file, args.iters, args.fresh, overrides)
    scratch = {LEVEL_A: base}
    for level in LEVELS[1:]:
        name = f'scratch{level}'
        scratch[level] = train(exp, name, BASE_OPT, args.iters, args.fresh, [*level_overrides(level), *extra])
    timings = exp.train_seconds

    from basicsr_ext.utils.options import resolve_options

    images = osp.join(REPO, resolve_options(osp.join(REPO, BASE_OPT))['datasets']['val']['dataroot_gt'])
    sweeps = {}
    for name, (opt_file, _) in METHODS.items():
        if name == 'dni':
            sweeps[name] = sweep(name, BASE_OPT, images, args.fresh, extra, dni=(base, ckpts[name]))
        else:
            sweeps[name] = sweep(name, opt_file, images, args.fresh, extra, checkpoint=ckpts[name])
    scratch_psnr = {}
    for level, ckpt in scratch.items():  # a plain network on its own level: DNI of the checkpoint with itself
        r = sweep(f'scratch{level}', BASE_OPT, images, args.fresh, extra, dni=(ckpt, ckpt), levels=[level], coefs=[0])
        scratch_psnr[level] = r['psnr'][0][0]
    input_psnr = {int(k): v for k, v in sweeps['adafm']['input_psnr'].items()}

    plot(sweeps, scratch_psnr, input_psnr, exp.figure('modulation_sweep.png'))
    strip(sweeps, exp.figure('modulation_strip.png'))
    params = parameter_counts(extra)
    table, best_lines = tables(sweeps, scratch_psnr, input_psnr)
    summary = {
        'sweeps': {n: {k: v for k, v in r.items() if k != 'strip'} for n, r in sweeps.items()},
        'scratch_psnr': scratch_psnr,
        'input_psnr': input_psnr,
        'train_seconds': timings,
        'iters': args.iters,
        'params': params,
    }
    exp.finish(summary, table, args.doc, _doc(table, best_lines, params, timings, args))


def tables(sweeps, scratch_psnr, input_psnr):
    """Afrimi's table 2 layout: rows = methods, columns = levels (unseen marked *), best bold, second underlined."""
    rows = {'From scratch': {lv: (scratch_psnr[lv], None) for lv in LEVELS}}
    for name, (_, label) in METHODS.items():
        r = sweeps[name]
        rows[label] = {}
        for lv in LEVELS:
            col = column(r, lv)
            i = max(range(len(col)), key=col.__getitem__)
            rows[label][lv] = (col[i], r['coefs'][i])
    header = '| noise level (sigma) | ' + ' | '.join(f'{lv}{"*" if lv in UNSEEN else ""}' for lv in LEVELS) + ' |'
    lines = [header, '|---|' + '---:|' * len(LEVELS)]
    lines.append('| noisy input | ' + ' | '.join(f'{input_psnr[lv]:.2f}' for lv in LEVELS) + ' |')
    ranks = {}
    for lv in LEVELS:  # ranked on the printed (2-decimal) values, ties share a rank
        values = sorted({round(rows[label][lv][0], 2) for label in rows}, reverse=True)
        ranks[lv] = values
    for label, cells in rows.items():
        out = []
        for lv in LEVELS:
            value, coef = cells[lv]
            text = f'{value:.2f}' + ('' if coef is None else f' ({coef:g})')
            if round(value, 2) == ranks[lv][0]:
                text = f'**{text}**'
            elif len(ranks[lv]) > 1 and round(value, 2) == ranks[lv][1]:
                text = f'<u>{text}</u>'
            out.append(text)
        lines.append(f'| {label} | ' + ' | '.join(out) + ' |')
    best_lines = []
    for name, (_, label) in METHODS.items():
        best = {int(k): v for k, v in sweeps[name]['best'].items()}
        best_lines.append(f'- {label}: ' + ', '.join(f'sigma {lv}: {best[lv]:g}' for lv in LEVELS))
    return lines, best_lines


def parameter_counts(cfg):
    """Parameters of the experiment's networks and of the paper-size AdaFM-Net, base and per method."""
    from basicsr.archs import build_network

    from basicsr_ext.utils.options import resolve_options

    counts = {}
    for size, overrides in (('experiment', {}), ('paper', {'num_feat': 64, 'num_block': 16})):
        row = {}
        for name, opt_file in (('base', BASE_OPT), *((n, f) for n, (f, _) in METHODS.items())):
            net_opt = {**resolve_options(osp.join(REPO, opt_file), cfg)['network_g'], **overrides}
            row[name] = sum(p.numel() for p in build_network(net_opt).parameters())
        counts[size] = row
    return counts


def plot(sweeps, scratch_psnr, input_psnr, out_png):
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from basicsr_ext.utils.file_io import atomic_write

    fig, axes = plt.subplots(1, len(LEVELS), figsize=(4 * len(LEVELS), 3.6))
    for ax, lv in zip(axes, LEVELS):
        for name, (_, label) in METHODS.items():
            r = sweeps[name]
            ax.plot(r['coefs'], column(r, lv), marker='o', markersize=3, label=label)
        ax.axhline(scratch_psnr[lv], color='k', linestyle='--', linewidth=1, label='from scratch')
        ax.set_title(f'sigma {lv}{" (unseen)" if lv in UNSEEN else ""}; input {input_psnr[lv]:.1f} dB')
        ax.set_xlabel('coefficient (0: sigma 20, 1: sigma 80)')
        ax.grid(alpha=0.3)
    axes[0].set_ylabel('PSNR (dB)')
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    atomic_write(out_png, lambda tmp: fig.savefig(tmp, dpi=90), suffix='.png')
    plt.close(fig)


def strip(sweeps, out_png):
    """Rows: methods; columns: noisy input, the output at STRIP_COEFS, clean (a central 128 px crop)."""
    from basicsr_ext.utils.montage import make_montage, write_png

    tiles, labels = [], []
    for name, (_, label) in METHODS.items():
        s = sweeps[name]['strip']
        h, w = s['clean'].shape[:2]
        y, x = max(0, h // 2 - 64), max(0, w // 2 - 64)

        def crop(img, y=y, x=x):
            return img[y : y + 128, x : x + 128]

        tiles.append(crop(s['noisy']))
        labels.append(f'{label}: input {s["input_psnr"]:.1f}')
        coefs = sweeps[name]['coefs']
        for c in STRIP_COEFS:
            i = coefs.index(c)
            tiles.append(crop(s['outputs'][i]))
            labels.append(f'{c:g}: {s["psnr"][i]:.2f} dB')
        tiles.append(crop(s['clean']))
        labels.append('clean')
    write_png(out_png, make_montage(tiles, labels, cols=len(STRIP_COEFS) + 2))


def _doc(table, best_lines, params, timings, args):
    e, p = params['experiment'], params['paper']
    counts = [
        '| network | this experiment | paper size (64 features, 16 blocks) |',
        '|---|---:|---:|',
        f'| AdaFM-Net (base; DNI, from scratch) | {e["base"]:,} | {p["base"]:,} |',
        f'| + AdaFM (5x5, after both convs of every block and the trunk) | {e["adafm"]:,} | {p["adafm"]:,} |',
        f'| + FTN (every conv) | {e["ftn"]:,} | {p["ftn"]:,} |',
        f'| + FTN-gc16 | {e["ftn_gc16"]:,} | {p["ftn_gc16"]:,} |',
    ]
    minutes = ', '.join(f'{k} {v / 60:.1f}' for k, v in timings.items())
    return '\n'.join(
        [
            '# Continuous-level denoising: AdaFM, FTN, FTN-gc16, DNI and from-scratch (Afrimi, Aug 2021)',
            '',
            'Made by `python scripts/modulation_experiment.py` (this file, the figures and `results/mod.json`;',
            'each sweep also in `results/mod_sweep_<method>/sweep.md`, `.csv`, `strip.png`).',
            '',
            f'Every network is an AdaFM-Net with {e["base"]:,} parameters (32 features, 8 blocks; the paper: 64, 16)',
            f"trained for {args.iters} iterations of batch 8, 64 px crops of scikit-image's 11 training photos with",
            'clipped Gaussian noise, L1 loss, Adam 5e-4 and a ramp-down over the last 30%, from seed 0 (the option',
            f'files `options/train_modulation_*.yml`). The base learns sigma {LEVEL_A}; from its last checkpoint',
            f'AdaFM, FTN and FTN-gc16 train only their layers for sigma {LEVEL_B} (the base weights stay',
            f'bit-identical), and DNI fine-tunes the whole base for sigma {LEVEL_B}. From scratch: the same recipe at',
            'each level (sigma 20 is the base itself). Test: the 8 held-out 256 px crops (chelsea, coffee) at each',
            'sigma, the noise seeded per image (the same noisy inputs for every method), RGB PSNR, no border crop.',
            f'Budgets: a from-scratch row trains {args.iters} iterations; DNI, AdaFM and FTN start from the base, so',
            f'their networks have seen {2 * args.iters} (the base and the second stage).',
            '',
            'Each cell is the PSNR (dB) at the best of the coefficients 0, 0.1, ..., 1 for that level (in brackets),',
            'as the papers choose it; unseen levels are marked *, the best value of a column is **bold**, the second',
            'underlined. At sigma 20 every modulated network at coefficient 0 *is* the base (exactly).',
            '',
            *table,
            '',
            'Best coefficient per level:',
            '',
            *best_lines,
            '',
            '![PSNR against the coefficient](figures/modulation_sweep.png)',
            '',
            f'One crop at sigma {STRIP_LEVEL} across the coefficients (PSNR of the whole crop; images cut to 128 px):',
            '',
            '![one crop across coefficients](figures/modulation_strip.png)',
            '',
            'Parameters (`AdaFMNet`; the paper-size counts reproduce Table 3 of the FTN paper: 1.41M, 1.83M, 1.44M):',
            '',
            *counts,
            '',
            f"Training time in minutes (BasicSR's `Time consumed`, this machine): {minutes}.",
            '',
        ]
    )


if __name__ == '__main__':
    main()
