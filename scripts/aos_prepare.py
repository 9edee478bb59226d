"""Raw AOS samples (real JKU format or aos_simulate.py output) -> focal-stack TIFFs + GT PNGs, split train/val/test.

    python scripts/aos_prepare.py --raw datasets/aos_raw --out datasets/aos_stacks --heights 0 0.5 1 1.5 --workers 2

Bad samples (incomplete, unreadable, malformed Parameters.txt) are listed at the end and in report.json; the rest are
converted. The exit code is 2 when no sample could be converted (the report is still written). A flag out of range or a
folder without any raw sample is one error line before anything is written. Running it again skips what is already
converted.
"""

import argparse
import math
import sys
import time
from os import path as osp

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from basicsr_ext.aos.convert import convert  # noqa: E402
from basicsr_ext.utils.errors import UserError  # noqa: E402
from basicsr_ext.utils.file_io import check_output_folder  # noqa: E402


def check_args(args):
    """One-line errors for flags out of range, before anything is read or written."""
    if not (math.isfinite(args.altitude) and args.altitude > 0):
        raise UserError(f'--altitude: expected metres > 0, got {args.altitude:g}')
    if not (math.isfinite(args.fov) and 0 < args.fov < 180):
        raise UserError(f'--fov: expected degrees between 0 and 180, got {args.fov:g}')
    for h in args.heights:
        if not (math.isfinite(h) and 0 <= h < args.altitude):
            raise UserError(
                f'--heights: expected metres from 0 (the ground) up to --altitude {args.altitude:g}, got {h:g}'
            )
    repeated = sorted({h for h in args.heights if args.heights.count(h) > 1})
    if repeated:
        raise UserError(f'--heights: {repeated[0]:g} given twice; each focal height once')
    for flag, value in (('--val', args.val), ('--test', args.test)):
        if not (math.isfinite(value) and 0 <= value <= 1):
            raise UserError(f'{flag}: expected a fraction from 0 to 1, got {value:g}')
    if args.val + args.test > 1:
        raise UserError(f'--val {args.val:g} + --test {args.test:g}: the held-out fractions add up to more than 1')
    if args.workers < 1:
        raise UserError(f'--workers: expected >= 1, got {args.workers}')
    if args.montages < 0:
        raise UserError(f'--montages: expected >= 0, got {args.montages}')
    check_output_folder(args.out, '--out', inputs=[args.raw])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--raw', required=True, help='folder with raw samples (13 files each)')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument(
        '--heights',
        type=float,
        nargs='+',
        default=[0.0, 0.5, 1.0, 1.5],
        help='focal heights in metres above ground (default: 0 0.5 1 1.5)',
    )
    parser.add_argument('--seed', type=int, default=0, help='seed of the train/val/test split')
    parser.add_argument('--val', type=float, default=0.1, help='fraction of the split run held out for validation')
    parser.add_argument('--test', type=float, default=0.1, help='fraction of the split run held out for testing')
    parser.add_argument('--split-run', type=int, default=None, help='run to split (default: the lowest); others train')
    parser.add_argument('--fov', type=float, default=50.0, help='camera field of view in degrees')
    parser.add_argument('--altitude', type=float, default=35.0, help='flight altitude in metres')
    parser.add_argument('--workers', type=int, default=1, help='parallel processes')
    parser.add_argument('--montages', type=int, default=4, help='montage PNGs of the first N samples (0: none)')
    args = parser.parse_args(argv)
    start = time.time()
    try:
        check_args(args)
        report = convert(
            args.raw,
            args.out,
            args.heights,
            seed=args.seed,
            val=args.val,
            test=args.test,
            split_run=args.split_run,
            workers=args.workers,
            camera_kwargs={'fov_deg': args.fov, 'altitude': args.altitude},
            montages=args.montages,
        )
    except UserError as err:
        print(f'aos_prepare: error: {err}', file=sys.stderr)
        return 2
    seconds = time.time() - start
    counts = ', '.join(f'{k} {v}' for k, v in report['counts'].items())
    print(f'converted {report["converted"]} samples ({counts}) in {seconds:.1f} s; bad samples: {len(report["bad"])}')
    for bad in report['bad']:
        print(f'  {bad["sample"]}: {bad["reason"]}')
    print(f'report: {osp.join(args.out, "report.json")}')
    if report['converted'] == 0:
        print(
            f'aos_prepare: error: no sample of {args.raw} was converted ({len(report["bad"])} bad, listed above and in '
            'report.json)',
            file=sys.stderr,
        )
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
