"""Simulate raw AOS samples (11 thermal views, GT, Parameters.txt) in the JKU course format.

python scripts/aos_simulate.py --out datasets/aos_sim/raw --num 1000 --seed 0 --run 0 --workers 8
"""

import argparse
import sys
import time
from os import path as osp

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from basicsr_ext.aos.simulator import simulate  # noqa: E402
from basicsr_ext.utils.errors import UserError  # noqa: E402
from basicsr_ext.utils.file_io import check_output_folder  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', required=True, help='folder for the raw files (created if missing)')
    parser.add_argument('--num', type=int, required=True, help='number of simulations')
    parser.add_argument('--seed', type=int, default=0, help='base seed; sample S of run R depends on (seed, R, S) only')
    parser.add_argument('--run', type=int, default=0, help='run number R in the file names')
    parser.add_argument('--start', type=int, default=0, help='first simulation number S')
    parser.add_argument('--size', type=int, default=512, help='image size in pixels (the scene stays the same in m)')
    parser.add_argument('--workers', type=int, default=None, help='processes (default: one per CPU core)')
    parser.add_argument(
        '--tree-top-k',
        type=int,
        nargs=2,
        default=None,
        metavar=('LOW', 'HIGH'),
        help="tree top temperatures in kelvin, both included (default: the course's 295 312)",
    )
    args = parser.parse_args(argv)
    try:
        for name in ('seed', 'run', 'start'):
            if getattr(args, name) < 0:
                raise UserError(f'--{name}: expected >= 0, got {getattr(args, name)}')
        if args.num < 1:
            raise UserError(f'--num: expected >= 1 simulations, got {args.num}')
        if args.size < 1:
            raise UserError(f'--size: expected pixels >= 1, got {args.size}')
        if args.workers is not None and args.workers < 0:
            raise UserError(f'--workers: expected >= 0 (0 or 1: in this process), got {args.workers}')
        if args.tree_top_k is not None and not 0 < args.tree_top_k[0] <= args.tree_top_k[1]:
            raise UserError(f'--tree-top-k: expected 0 < LOW <= HIGH kelvin, got {args.tree_top_k}')
        options = dict(seed=args.seed, run=args.run, start_sim=args.start, size=args.size, workers=args.workers)
        if args.tree_top_k is not None:
            options['tree_top_k'] = tuple(args.tree_top_k)
        check_output_folder(args.out, '--out')
        start = time.perf_counter()
        done = simulate(args.out, args.num, **options)
    except UserError as err:
        print(f'aos_simulate: error: {err}', file=sys.stderr)
        return 2
    seconds = time.perf_counter() - start
    rate = len(done) / seconds if seconds > 0 else float('inf')
    print(f'wrote {len(done)} samples to {args.out} in {seconds:.1f} s ({rate:.2f} samples/s)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
