"""Restore AOS focal stacks you already have (TIFFs, per-plane PNG folders, raw 11-view samples); no GT needed.

    python scripts/aos_restore.py --input stacks/ sample_33/ --output restored [--model aos_person]
        [--heights 0 0.4 ...] [--plane-scale 0.1] [--opt train.yml] [--self-ensemble] [--multipass 2]
        [--gt gt_dir] [--tile 256] [--device cpu]

Writes OUT/<stem>.png (uint8, the input's size), OUT/<stem>_persons.json (the person candidates: pixel, ground
position in metres, score) and OUT/persons.csv (all inputs), OUT/montages/<stem>.png (lowest plane | restored with
the candidates | GT; OUT/montages.png has them all for up to 12 inputs), and with any GT OUT/report.md +
OUT/report.csv (PSNR, SSIM, background PSNR, person PSNR, person contrast kept, person found, for the integral, two
constant baselines and the output). Details: docs/aos_restore.md.
"""

import argparse
import sys


def build_parser():
    parser = argparse.ArgumentParser(prog='aos_restore', description=__doc__.splitlines()[0])
    parser.add_argument(
        '-i', '--input', nargs='+', required=True, help='TIFFs, plane/raw-sample folders, or their parents'
    )
    parser.add_argument('-o', '--output', required=True, help='output folder')
    parser.add_argument('--heights', type=float, nargs='+', help='plane heights in metres (TIFF pages / sorted PNGs)')
    parser.add_argument(
        '--plane-scale',
        type=float,
        nargs='+',
        help='metres per unit of a plane name number (default 0.01); one value, or one per --input item',
    )
    parser.add_argument(
        '-n', '--model', help='zoo name or restorer checkpoint (default: aos_person, the shipped default AOS restorer)'
    )
    parser.add_argument('--opt', help='training option file, for a plain BasicSR checkpoint without meta')
    parser.add_argument(
        '--param-key',
        default='auto',
        choices=['auto', 'params', 'params_ema'],
        help="a training checkpoint's group (default auto: the one its validation scored)",
    )
    parser.add_argument(
        '--self-ensemble',
        action=argparse.BooleanOptionalAction,
        help="median over the 8 dihedral transforms (default: the model's; on for aos_person)",
    )
    parser.add_argument(
        '--multipass',
        type=int,
        default=1,
        help='maximum passes, rule of the AOS course report, section 4.3.2 (default: 1)',
    )
    parser.add_argument('--gt', help='folder with GT images: X.png, X_gt.png, X_GT.png, X/gt.png or X/X_gt.png')
    parser.add_argument(
        '--align-gt',
        action='store_true',
        help="score against each GT moved onto its integral's person where the GT is visibly shifted (a check)",
    )
    parser.add_argument('-t', '--tile', type=int, help='tile size in px (default: whole image up to 512 px)')
    parser.add_argument('--device', choices=['cpu', 'cuda'], help='default: cuda when available')
    parser.add_argument('--precision', default='fp32', choices=['fp32', 'fp16', 'bf16'], help='fp16/bf16: GPU only')
    parser.add_argument('--candidates', type=int, default=5, help='person candidates kept per input (default: 5)')
    return parser


def main(argv=None):
    from basicsr_ext.cli import run_parsed

    if run_parsed('aos_restore', 'basicsr_ext.cli.aos_restore_run', build_parser().parse_args(argv)) == 2:
        sys.exit(2)


if __name__ == '__main__':
    main()
