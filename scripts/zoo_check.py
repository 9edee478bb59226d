"""Every zoo model against the obvious baseline, on photos it never saw, for the degradations users make.

    python scripts/zoo_check.py [--models srcnn_x2 n2n_gaussian ...] [--size 256] [--out results/zoo_check]

Photos: the scikit-image and matplotlib sample images that no option file trains or validates on (camera, coins,
moon, page, text, brick, grass, gravel, clock, cell, the colour wheel, Grace Hopper), centre crops of --size px;
they ship inside those packages (no download). Per model and degradation kind:

- SR (``msrresnet_x2``, ``msrresnet_x2_cv2``, ``srcnn_x2``): LR made the ways its zoo entry's ``lr_kinds`` name
  (MATLAB-style bicubic, BasicSR's ``imresize``; PIL bicubic; OpenCV ``INTER_CUBIC``; ``INTER_AREA``; all four when it
  names none); the baseline is OpenCV bicubic upscaling of the same LR; PSNR on Y with the zoo entry's crop border;
- denoising (``n2n_gaussian``): Gaussian noise of sigma 15, 25, 50 clipped and rounded to 8 bits, as every saved noisy
  photo is; the baseline is the noisy input itself; PSNR on all channels;
- modulation (``adafm_denoise``): the same noise at sigma 20, 50, 80 with --coef 0, 0.5, 1 (the levels it was trained
  for); the baseline is the noisy input;
- AOS (``aos_*``): the example stacks of ``examples/aos`` with their GT; baselines the 0 m integral and the blind
  constant (the integral's median), what a user has without a model; the oracle constant (the GT's median,
  docs/aos_person.md) is a reference row: it needs the GT, so it is shown and not graded; so are the rows of a
  training stage (a zoo entry with ``stage_of``, e.g. ``aos_sim2real``: shipped for fine-tuning, not for restoring).

A graded row passes when the model is above its baseline on average and on at least 90 % of the images, and, for colour
photos, its colour error (the mean over channels of |mean(output) - mean(GT)|, grey levels) is within 2. The command
prints one markdown table and writes it with a CSV per image to --out.
"""

import argparse
import sys
from os import path as osp

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))


def build_parser():
    parser = argparse.ArgumentParser(prog='zoo_check', description=__doc__.splitlines()[0])
    parser.add_argument('--models', nargs='+', help='zoo names (default: every zoo model)')
    parser.add_argument('--size', type=int, default=256, help='centre crop side of each photo in px (default: 256)')
    parser.add_argument('--out', default='results/zoo_check', help='folder for report.md and per_image.csv')
    parser.add_argument('--device', help='cpu or cuda (default: cuda when available)')
    return parser


def main(argv=None):
    from basicsr_ext.cli import run_parsed

    return run_parsed('zoo_check', 'basicsr_ext.evaluation.zoo_check', build_parser().parse_args(argv))


if __name__ == '__main__':
    sys.exit(main())
