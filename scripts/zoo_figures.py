"""Before/after pictures of the zoo models, made with scripts/restore.py, for README's "Use a trained model".

    python scripts/zoo_figures.py [--out docs/figures] [--work results/zoo_figures] [--only aos sr denoise]

Inputs are held-out data the training option files prepare (never trained on):
- aos: the first test stacks with a person of ``datasets/aos_person512`` (options/train_aos.yml's simulated data)
  through scripts/aos_restore.py with the shipped default ``aos_person``: its own montage (integral | restored | GT);
- sr: ``datasets/sample_photos_sr_antialiased/val`` (options/train_srcnn_mixed.yml): bicubic x2 | ``srcnn_x2`` | HR;
- denoise: ``datasets/sample_photos_denoise_colour/val`` (options/train_n2n_gaussian.yml) with Gaussian noise
  sigma 25 (seed 0): noisy | ``n2n_gaussian`` | clean;
- modulation: the same photo with sigma 50: noisy | ``adafm_denoise`` at --coef 0, 0.5, 1 | clean.
Each tile is labelled with its PSNR against the clean image (test.py's computation); the figures are crops of
--crop px, zoomed x1.5 for the sr row. The command prints every figure it draws.
"""

import argparse
import os
import sys
from os import path as osp

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

import basicsr_ext  # noqa: E402,F401  (first: adapts basicsr to today's torchvision before it is imported)
from basicsr_ext.utils.errors import UserError  # noqa: E402
from basicsr_ext.utils.montage import make_montage, write_png  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def restore_cli(argv):
    """Run scripts/restore.py's main in this process; UserError when it fails."""
    sys.path.insert(0, osp.join(REPO, 'scripts'))
    import restore

    code = restore.main([str(a) for a in argv])
    if code:
        raise UserError(f'scripts/restore.py {" ".join(map(str, argv))} failed (exit {code})')


def read(path):
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise UserError(f"{path}: not found or not an image (run the zoo model's training command first)")
    return img


def psnr(img, ref, border=0):
    from basicsr.metrics import calculate_psnr

    return calculate_psnr(img, ref, crop_border=border)


def crop(img, box):
    top, left, size = box
    return img[top : top + size, left : left + size]


def aos_figure(args):
    """scripts/aos_restore.py on --aos-samples simulated test stacks (with their GT); its montages side by side."""
    split = osp.join(REPO, 'datasets', 'aos_person512', 'test')
    meta = osp.join(split, 'meta_info.txt')
    if not osp.isfile(meta):
        raise UserError(f'{meta} not found (python basicsr_ext/train.py -opt options/train_aos.yml prepares it)')
    names = [line.split()[0] for line in open(meta) if line.strip() and '_N_' not in line][: args.aos_samples]
    work = osp.join(args.work, 'aos')
    sys.path.insert(0, osp.join(REPO, 'scripts'))
    import aos_restore

    stacks = [osp.join(split, 'stacks', n) for n in names]
    try:
        aos_restore.main(['--input', *stacks, '--gt', osp.join(split, 'gt'), '--output', work, '--model', 'aos_person'])
    except SystemExit as exit_:
        raise UserError(f'scripts/aos_restore.py failed (exit {exit_.code})') from None
    stems = [osp.splitext(n)[0] for n in names]
    montages = [read(osp.join(work, 'montages', f'{stem}.png')) for stem in stems]
    montages = [cv2.resize(m, None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA) for m in montages]  # README size
    width = max(m.shape[1] for m in montages)
    rows = [
        cv2.copyMakeBorder(m, 0, 4, 0, width - m.shape[1], cv2.BORDER_CONSTANT, value=(255, 255, 255)) for m in montages
    ]
    return 'zoo_aos.png', [np.concatenate(rows)], [f'aos_person on {len(stems)} simulated test stacks']


def sr_figure(args):
    hr_path = osp.join(REPO, 'datasets', 'sample_photos_sr_antialiased', 'val', 'HR', 'coffee.png')
    lr_path = osp.join(REPO, 'datasets', 'sample_photos_sr_antialiased', 'val', 'LR_bicubic', 'X2', 'coffee.png')
    work = osp.join(args.work, 'sr')
    restore_cli(['--model', 'srcnn_x2', '--input', lr_path, '--output', work])
    hr, lr = read(hr_path), read(lr_path)
    out = read(osp.join(work, osp.splitext(osp.basename(lr_path))[0] + '.png'))
    bicubic = cv2.resize(lr, (hr.shape[1], hr.shape[0]), interpolation=cv2.INTER_CUBIC)
    box = (hr.shape[0] // 2 - args.crop // 2, hr.shape[1] // 2 - args.crop // 2, args.crop)
    tiles, labels = [], []
    for name, img in (('bicubic x2', bicubic), ('srcnn_x2', out), ('HR', hr)):
        tiles.append(cv2.resize(crop(img, box), None, fx=1.5, fy=1.5, interpolation=cv2.INTER_NEAREST))
        labels.append(name if img is hr else f'{name}: {psnr(img, hr, 2):.2f} dB')
    return 'zoo_sr.png', tiles, labels


def noisy_copy(clean, sigma, path):
    os.makedirs(osp.dirname(path), exist_ok=True)
    rng = np.random.default_rng(0)
    noisy = np.clip(clean.astype(np.float64) + rng.normal(0, sigma, clean.shape), 0, 255).round().astype(np.uint8)
    cv2.imwrite(path, noisy)
    return noisy


def denoise_figures(args):
    folder = osp.join(REPO, 'datasets', 'sample_photos_denoise_colour', 'val')
    names = sorted(n for n in os.listdir(folder) if n.endswith('.png')) if osp.isdir(folder) else []
    if not names:
        raise UserError(f'{folder}: no validation photos (train options/train_n2n_gaussian.yml first)')
    clean = read(osp.join(folder, names[0]))
    box = (clean.shape[0] // 2 - args.crop // 2, clean.shape[1] // 2 - args.crop // 2, args.crop)
    figures = []
    for sigma, models in ((25, [('n2n_gaussian', None)]), (50, [('adafm_denoise', c) for c in (0, 0.5, 1)])):
        work = osp.join(args.work, f'sigma{sigma}')
        noisy = noisy_copy(clean, sigma, osp.join(args.work, f'noisy_sigma{sigma}.png'))
        tiles, labels = [crop(noisy, box)], [f'sigma {sigma}: {psnr(noisy, clean):.2f} dB']
        for model, coef in models:
            out_dir = osp.join(work, model if coef is None else f'{model}_coef{coef}')
            extra = [] if coef is None else ['--coef', coef]
            noisy_path = osp.join(args.work, f'noisy_sigma{sigma}.png')
            restore_cli(['--model', model, *extra, '--input', noisy_path, '--output', out_dir])
            out = read(osp.join(out_dir, f'noisy_sigma{sigma}.png'))
            tiles.append(crop(out, box))
            labels.append(f'{model if coef is None else f"{model} {coef}"}: {psnr(out, clean):.2f} dB')
        tiles.append(crop(clean, box))
        labels.append('clean')
        figures.append(('zoo_denoise.png' if sigma == 25 else 'zoo_modulation.png', tiles, labels))
    return figures


FIGURES = {  # --only: name -> figures (zoo_aos.png; zoo_sr.png; zoo_denoise.png and zoo_modulation.png)
    'aos': lambda args: [aos_figure(args)],
    'sr': lambda args: [sr_figure(args)],
    'denoise': lambda args: denoise_figures(args),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default=osp.join(REPO, 'docs', 'figures'), help='where the PNGs go')
    parser.add_argument('--work', default=osp.join('results', 'zoo_figures'), help='restore.py outputs')
    parser.add_argument('--crop', type=int, default=232, help='crop side in output pixels')
    parser.add_argument('--aos-samples', type=int, default=2, help='simulated AOS test stacks (with a person)')
    parser.add_argument(
        '--only', nargs='+', choices=FIGURES, default=list(FIGURES), help='these figures only (default: all)'
    )
    args = parser.parse_args(argv)
    try:
        figures = [fig for name in args.only for fig in FIGURES[name](args)]
    except UserError as err:
        print(f'zoo_figures: error: {err}', file=sys.stderr)
        return 2
    for name, tiles, labels in figures:
        write_png(osp.join(args.out, name), make_montage(tiles, labels, cols=len(tiles)))
        print(f'{name}: ' + ' | '.join(labels))
    return 0


if __name__ == '__main__':
    sys.exit(main())
