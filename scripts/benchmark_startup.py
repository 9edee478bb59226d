"""Start-up time of the command-line tools and the package imports: wall seconds of fresh Python processes.

    python scripts/benchmark_startup.py [--repeats 5]

Prints one row per command: the median and the slowest of ``--repeats`` runs (each a new interpreter, as a user
starts it). ``--help`` and argument errors of restore / aos_restore import the standard library only (target: under
1 s); the last row, BasicSR with every extension registered, is what a restoration or a training run pays once.
"""

import argparse
import statistics
import subprocess
import sys
import time
from os import path as osp

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
COMMANDS = (
    ('python scripts/restore.py --help', ['scripts/restore.py', '--help']),
    ('python scripts/aos_restore.py --help', ['scripts/aos_restore.py', '--help']),
    ('python scripts/restore.py --tile x (an argument error)', ['scripts/restore.py', '--tile', 'x']),
    ('python -c "import basicsr_ext.inference"', ['-c', 'import basicsr_ext.inference']),
    ('python -c "import basicsr_ext"', ['-c', 'import basicsr_ext']),
    ('python -c "import basicsr_ext, basicsr" (everything registered)', ['-c', 'import basicsr_ext, basicsr']),
)


def seconds(argv):
    start = time.perf_counter()
    subprocess.run([sys.executable, *argv], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(prog='benchmark_startup', description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=5, help='runs per command (default: 5)')
    args = parser.parse_args(argv)
    if args.repeats < 1:
        print(f'benchmark_startup: error: --repeats: expected >= 1, got {args.repeats}', file=sys.stderr)
        return 2
    print(f'Python {sys.version.split()[0]}, {args.repeats} run(s) each, wall seconds of a fresh process')
    print('| command | median (s) | slowest (s) |')
    print('|---|---:|---:|')
    for label, command in COMMANDS:
        times = [seconds(command) for _ in range(args.repeats)]
        print(f'| `{label}` | {statistics.median(times):.2f} | {max(times):.2f} |', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
