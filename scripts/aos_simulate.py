"""Simulate raw AOS samples (11 thermal views, GT, Parameters.txt) in the JKU course format.

python scripts/aos_simulate.py --out datasets/aos_sim/raw --num 1000 --seed 0 --run 0 --workers 8
"""

import argparse
import sys
import time
from os import path as osp

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from basicsr_ext.aos.simulator import simulate  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', required=True, help='folder for the raw files (created if missing)')
    parser.add_argument('--num', type=int, required=True, help='number of simulations')
    parser.add_argument('--seed', type=int, default=0, help='base seed; sample S of run R depends on (seed, R, S) only')
    parser.add_argument('--run', type=int, default=0, help='run number R in the file names')
    parser.add_argument('--start', type=int, default=0, help='first simulation number S')
    parser.add_argument('--size', type=int, default=512, help='image size in pixels (the scene stays the same in m)')
    parser.add_argument('--workers', type=int, default=None, help='processes (default: one per CPU core)')
    args = parser.parse_args(argv)
    for name in ('num', 'seed', 'run', 'start'):
        if getattr(args, name) < 0:
            parser.error(f'--{name} must be >= 0, got {getattr(args, name)}')
    if args.size <= 0:
        parser.error(f'--size must be > 0, got {args.size}')
    start = time.perf_counter()
    done = simulate(
        args.out, args.num, seed=args.seed, run=args.run, start_sim=args.start, size=args.size, workers=args.workers
    )
    seconds = time.perf_counter() - start
    rate = len(done) / seconds if seconds > 0 else float('inf')
    print(f'wrote {len(done)} samples to {args.out} in {seconds:.1f} s ({rate:.2f} samples/s)')


if __name__ == '__main__':
    main()
