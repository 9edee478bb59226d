"""Restore your own images with a zoo model or any BasicSR checkpoint: super-resolution, denoising, modulation, and
AOS focal stacks.

    python scripts/restore.py --list
    python scripts/restore.py -n srcnn_x2 -i photos/ -o out [--gt hr/] [-t 256] [-s 3] [--suffix out] [--ext auto]
    python scripts/restore.py -n adafm_denoise --coef 0.5 -i noisy/ -o out
    python scripts/restore.py -n net_g_latest.pth --opt options/train_srcnn.yml -i a.png -o out
    python scripts/restore.py -n A.pth --dni B.pth --alpha 0.3 --opt options/train_modulation_dni.yml ...
    python scripts/restore.py -n aos_person -i stacks/ -o out     # focal stacks: as scripts/aos_restore.py

The flags of Real-ESRGAN's inference script work as there: -i/--input, -o/--output, -n/--model, -s/--outscale,
-t/--tile, --suffix, --ext, --fp32 (on a GPU the default is half precision). Writes OUT/<stem>[_suffix].<ext> (the
input's bit depth; grey stays grey; a float image as a float TIFF). With --gt DIR (files of the same stem): PSNR and
SSIM per image and their mean, as test.py computes them (crop_border = the scale), beside the baseline to beat,
printed and in OUT/report.csv. An input that cannot be read is reported by name and the others still run (exit code 2
at the end; a single input ends with its one error line). Nothing is written for an image that fails, and an output
that would replace an input is refused. An AOS model that takes several focal planes restores stacks exactly as
scripts/aos_restore.py does (person candidates, montages, the AOS report with --gt).
"""

import argparse
import sys


def build_parser():
    parser = argparse.ArgumentParser(prog='restore', description=__doc__.splitlines()[0])
    parser.add_argument('--list', action='store_true', help='print the zoo, one model a line, and exit')
    parser.add_argument('-n', '--model', '--model_name', dest='model', help='zoo name (see --list) or checkpoint path')
    parser.add_argument('-i', '--input', nargs='+', help='image files and/or folders (AOS: stacks or their folders)')
    parser.add_argument('-o', '--output', help='output folder')
    parser.add_argument('-r', '--recursive', action='store_true', help='look for images in subfolders too')
    parser.add_argument(
        '-s',
        '--outscale',
        type=float,
        help="final scale of the output (default: the network's); other scales resize its output with Lanczos",
    )
    parser.add_argument('--suffix', default='', help='output name <stem>_<suffix>.<ext> (default: none, <stem>.<ext>)')
    parser.add_argument(
        '--ext',
        default='png',
        choices=['png', 'auto', 'jpg', 'tiff'],
        help="output format (default png; auto: the input's; a float image is always a float TIFF)",
    )
    parser.add_argument('--opt', help='option file whose network_g builds the net (for checkpoint paths)')
    parser.add_argument(
        '--param-key',
        choices=('auto', 'params', 'params_ema'),
        help="checkpoint group (default auto: the zoo entry's; with --opt, the group its validation scored: params_ema "
        'when the option file trains an EMA, else params; otherwise the EMA when present)',
    )
    parser.add_argument('--gt', help="folder of ground-truth images with the inputs' stems: PSNR/SSIM")
    parser.add_argument('--crop-border', type=int, help="border cropped for PSNR/SSIM (default: the zoo's, or scale)")
    parser.add_argument('--y-channel', action='store_true', help="PSNR/SSIM on the Y channel (default: the zoo's)")
    parser.add_argument('--coef', type=float, help='modulation coefficient of AdaFM / FTN layers (0 = base)')
    parser.add_argument('--dni', help='second checkpoint: weights (1 - alpha) MODEL + alpha DNI')
    parser.add_argument('--alpha', type=float, help='DNI weight of --dni (default 0.5)')
    parser.add_argument(
        '-t', '--tile', type=int, help='tile side in input pixels for large images (halved on a GPU out of memory)'
    )
    parser.add_argument('--tile-overlap', '--tile_pad', type=int, help='tile overlap in input pixels (default: tile/8)')
    parser.add_argument(
        '--self-ensemble',
        action=argparse.BooleanOptionalAction,
        help="median over the 8 dihedral transforms (default: the model's; on for aos_person)",
    )
    parser.add_argument('--device', help='cpu or cuda (default: cuda when available)')
    parser.add_argument(
        '--precision',
        choices=['fp32', 'fp16', 'bf16'],
        help='default: fp16 on a GPU (as Real-ESRGAN), fp32 on the CPU; fp16/bf16: GPU only',
    )
    parser.add_argument('--fp32', action='store_true', help='fp32 on a GPU too (same as --precision fp32)')
    return parser


def main(argv=None):
    from basicsr_ext.cli import run_parsed

    return run_parsed('restore', 'basicsr_ext.cli.restore_run', build_parser().parse_args(argv))


if __name__ == '__main__':
    sys.exit(main())
