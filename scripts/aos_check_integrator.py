"""Compare the project's integrator with another integrator's output (e.g. LFR's) on the same raw views.

python scripts/aos_check_integrator.py --views DIR --reference integral.png [--height 0]

DIR holds one sample's 11 views (``R_S_pose_0_thermal.png`` ... ``R_S_pose_10_thermal.png``; GT and Parameters.txt
are not needed). The reference is an 8-bit grey (or 3 equal channels) PNG of the same size. Prints the PSNR of our
integral, rounded to uint8 as a PNG stores it, against the reference: over the whole image, and over the columns
where some view is sampled in its outer half pixel (where the coverage rule matters; with a rule that drops those
samples they lose 3-10 dB).
"""

import argparse
import sys
from os import path as osp

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from basicsr_ext.aos.geometry import CameraModel  # noqa: E402
from basicsr_ext.aos.integrator import covered_columns, integrate  # noqa: E402
from basicsr_ext.aos.raw import find_samples, read_gray  # noqa: E402
from basicsr_ext.utils.errors import UserError  # noqa: E402


def psnr(a, b):
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float('inf') if mse == 0 else 10 * np.log10(255.0**2 / mse)


def half_pixel_columns(width, height=0.0):
    """Columns where some view's sample lies in its outer half pixel (``-0.5 <= x < 0`` or ``W - 1 < x <= W - 0.5``)."""
    camera = CameraModel(size=width)
    mask = np.zeros(width, bool)
    for shift in camera.view_shift_px(np.arange(camera.num_views), height):
        lo, mid_lo, mid_hi, hi, _, _ = covered_columns(float(shift), width)
        mask[lo:mid_lo] = mask[mid_hi:hi] = True
    return mask


def compare(views, reference, height=0.0):
    """PSNR (dB) of our uint8 integral of ``views`` against ``reference``: whole image, half-pixel columns."""
    if reference.shape != views.shape[1:]:
        raise UserError(f'reference is {reference.shape[1]}x{reference.shape[0]} px, the views {views.shape[2]} px')
    ours = np.clip(np.rint(integrate(views, height)[0]), 0, 255).astype(np.uint8)
    edge = half_pixel_columns(reference.shape[1], height)
    return {
        'whole': psnr(ours, reference),
        'half_pixel_columns': psnr(ours[:, edge], reference[:, edge]),
        'num_half_pixel_columns': int(edge.sum()),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--views', required=True, help="folder with one sample's 11 views")
    parser.add_argument('--reference', required=True, help='PNG integral made by the other integrator')
    parser.add_argument('--height', type=float, default=0.0, help='focal plane of the reference, metres')
    args = parser.parse_args(argv)
    try:
        samples, _ = find_samples(args.views, views_only=True)
        if len(samples) != 1:
            raise UserError(f'{args.views}: expected the views of exactly one sample, found {len(samples)}')
        views = samples[0].load_views()
        result = compare(views, read_gray(args.reference), args.height)
    except UserError as e:
        print(f'aos_check_integrator: error: {e}', file=sys.stderr)
        return 2
    print(
        f'{samples[0].name} at {args.height:g} m vs {osp.basename(args.reference)}: PSNR {result["whole"]:.2f} dB '
        f'({result["num_half_pixel_columns"]} columns where a view is sampled in its outer half pixel: '
        f'{result["half_pixel_columns"]:.2f} dB)'
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())
