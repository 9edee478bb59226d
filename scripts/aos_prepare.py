"""Raw AOS samples (real JKU format or aos_simulate.py output) -> focal-stack TIFFs + GT PNGs, split train/val/test.

    python scripts/aos_prepare.py --raw datasets/aos_raw --out datasets/aos_stacks --heights 0 0.5 1 1.5 --workers 2

Bad samples (incomplete, unreadable, malformed Parameters.txt) are listed at the end and in report.json; the rest are
converted. The exit code is 2 when no sample could be converted (the report is still written). Running it again skips
what is already converted.
"""

import argparse
import sys
import time
from os import path as osp

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from basicsr_ext.aos.convert import convert  # noqa: E402
from basicsr_ext.utils.errors import UserError  # noqa: E402


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
