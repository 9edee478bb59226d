"""Run test files again and again: a flaky failure (a rank aborting at exit) shows up as a run that fails.

python scripts/repeat_tests.py tests/test_distributed.py tests/test_distributed_validation.py --runs 20

Each run is a fresh ``python -m pytest -q`` process; the script stops at the first failing run, prints its output's
tail, and ends with one line: how many runs passed in a row. Exit status 0 when all did, 1 otherwise.
"""

import argparse
import subprocess
import sys
import time


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('files', nargs='+', help='test files (or pytest node ids)')
    parser.add_argument('--runs', type=int, default=20, help='runs (default: 20)')
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error(f'--runs: expected >= 1, got {args.runs}')
    passed, start = 0, time.time()
    for run in range(1, args.runs + 1):
        t0 = time.time()
        proc = subprocess.run(
            [sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', *args.files],
            capture_output=True,
            text=True,
        )
        summary = (proc.stdout.strip().splitlines() or [''])[-1]
        print(f'run {run}: exit {proc.returncode} in {time.time() - t0:.0f} s: {summary}', flush=True)
        if proc.returncode != 0:
            print((proc.stdout + proc.stderr)[-4000:])
            break
        passed += 1
    print(f'{passed} of {args.runs} runs passed in a row ({time.time() - start:.0f} s)')
    return 0 if passed == args.runs else 1


if __name__ == '__main__':
    sys.exit(main())
