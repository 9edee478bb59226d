"""Before/after pictures of the zoo models, made with scripts/restore.py, for README's "Use a trained model".

    python scripts/zoo_figures.py [--out docs/figures] [--work results/zoo_figures]

Inputs are the validation photos the training option files prepare (scikit-image's sample photos, never trained on):
- sr: ``datasets/sample_photos/val`` (options/train_srcnn.yml): bicubic x2 | ``srcnn_x2`` | HR;
- denoise: ``datasets/sample_photos_denoise/val`` with Gaussian noise sigma 25 (seed 0): noisy | ``n2n_gaussian`` |
  clean;
- modulation: the same photo with sigma 50: noisy | ``adafm_denoise`` at --coef 0, 0.5, 1 | clean.
Each tile is labelled with its PSNR against the clean image (test.py's computation); the figures are crops of
--crop px, zoomed x2 for the sr row. The command prints every figure it draws.
"""

import argparse
import os
import sys
from os import path as osp

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from basicsr.metrics import calculate_psnr  # noqa: E402

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
    return calculate_psnr(img, ref, crop_border=border)


def crop(img, box):
    top, left, size = box
    return img[top : top + size, left : left + size]


def sr_figure(args):
    hr_path = osp.join(REPO, 'datasets', 'sample_photos', 'val', 'HR', 'coffee.png')
    lr_path = osp.join(REPO, 'datasets', 'sample_photos', 'val', 'LR_bicubic', 'X2', 'coffee.png')
    work = osp.join(args.work, 'sr')
    restore_cli(['--model', 'srcnn_x2', '--input', lr_path, '--output', work])
    hr, lr = read(hr_path), read(lr_path)
    out = read(osp.join(work, osp.splitext(osp.basename(lr_path))[0] + '.png'))
    bicubic = cv2.resize(lr, (hr.shape[1], hr.shape[0]), interpolation=cv2.INTER_CUBIC)
    box = (hr.shape[0] // 2 - args.crop // 2, hr.shape[1] // 2 - args.crop // 2, args.crop)
    tiles, labels = [], []
    for name, img in (('bicubic x2', bicubic), ('srcnn_x2', out), ('HR', hr)):
        tiles.append(cv2.resize(crop(img, box), None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST))
        labels.append(name if img is hr else f'{name}: {psnr(img, hr, 2):.2f} dB')
    return 'zoo_sr.png', tiles, labels


def noisy_copy(clean, sigma, path):
    os.makedirs(osp.dirname(path), exist_ok=True)
    rng = np.random.default_rng(0)
    noisy = np.clip(clean.astype(np.float64) + rng.normal(0, sigma, clean.shape), 0, 255).round().astype(np.uint8)
    cv2.imwrite(path, noisy)
    return noisy


def denoise_figures(args):
    folder = osp.join(REPO, 'datasets', 'sample_photos_denoise', 'val')
    names = sorted(n for n in os.listdir(folder) if n.endswith('.png')) if osp.isdir(folder) else []
    if not names:
        raise UserError(f'{folder}: no validation photos (train options/train_n2n_gaussian.yml first)')
    clean = read(osp.join(folder, names[0]))
    box = (clean.shape[0] // 2 - args.crop // 2, clean.shape[1] // 2 - args.crop // 2, args.crop)
    figures = []
    for sigma, models in ((25, [('n2n_gaussian', None)]), (50, [('adafm_denoise', c) for c in (0, 0.5, 1)])):
        work = osp.join(args.work, f'sigma{sigma}')
        noisy = noisy_copy(clean, sigma, osp.join(args.work, f'noisy_sigma{sigma}.png'))
        tiles, labels = [crop(noisy, box)], [f'noisy sigma {sigma}: {psnr(noisy, clean):.2f} dB']
        for model, coef in models:
            out_dir = osp.join(work, model if coef is None else f'{model}_coef{coef}')
            extra = [] if coef is None else ['--coef', coef]
            noisy_path = osp.join(args.work, f'noisy_sigma{sigma}.png')
            restore_cli(['--model', model, *extra, '--input', noisy_path, '--output', out_dir])
            out = read(osp.join(out_dir, f'noisy_sigma{sigma}.png'))
            tiles.append(crop(out, box))
            labels.append(f'{model}{"" if coef is None else f" coef {coef}"}: {psnr(out, clean):.2f} dB')
        tiles.append(crop(clean, box))
        labels.append('clean')
        figures.append(('zoo_denoise.png' if sigma == 25 else 'zoo_modulation.png', tiles, labels))
    return figures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default=osp.join(REPO, 'docs', 'figures'), help='where the PNGs go')
    parser.add_argument('--work', default=osp.join('results', 'zoo_figures'), help='restore.py outputs')
    parser.add_argument('--crop', type=int, default=160, help='crop side in output pixels')
    args = parser.parse_args(argv)
    try:
        figures = [sr_figure(args), *denoise_figures(args)]
    except UserError as err:
        print(f'zoo_figures: error: {err}', file=sys.stderr)
        return 2
    for name, tiles, labels in figures:
        write_png(osp.join(args.out, name), make_montage(tiles, labels, cols=len(tiles)))
        print(f'{name}: ' + ' | '.join(labels))
    return 0


if __name__ == '__main__':
    sys.exit(main())
