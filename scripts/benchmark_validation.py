"""Time the AOS test report (sharded under DDP) in one process and under torchrun with N CPU processes.

python scripts/benchmark_validation.py [--samples 16] [--size 96] [--procs 2]

Makes a synthetic AOS test set (``aos_synthetic`` preparer) in a temp folder, then runs ``test.py -opt
options/test_aos.yml`` on it (a randomly initialised Swin2SR of train_aos_swin2sr128.yml, the four report variants:
integral, simple, +self-ensemble x8, +multi-pass) once in one process and once under ``torchrun --nproc_per_node N
--launcher pytorch`` (gloo), each with one thread per process, and prints the wall times, the speed-up, and whether
the two report tables agree. Process start-up (imports, model build) is included: it is what a user waits for.
"""

import argparse
import csv
import os
import socket
import subprocess
import sys
import tempfile
import time
from os import path as osp

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _run(cmd, cwd):
    env = dict(os.environ, OMP_NUM_THREADS='1', CUDA_VISIBLE_DEVICES='')
    env['PYTHONPATH'] = REPO + os.pathsep + env.get('PYTHONPATH', '')
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f'benchmark_validation: {" ".join(cmd[:6])} ... failed:\n{(proc.stderr or proc.stdout)[-3000:]}')
    return seconds


def _table(results_dir):
    with open(osp.join(results_dir, 'AOSBench_report.csv')) as f:
        return {row['variant']: {k: float(v) for k, v in row.items() if k != 'variant'} for row in csv.DictReader(f)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--samples', type=int, default=16, help='test samples (the preparer splits off ~1/10 for val)')
    parser.add_argument('--size', type=int, default=96, help='image size in pixels')
    parser.add_argument('--procs', type=int, default=2, help='torchrun processes')
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        data = osp.join(tmp, 'aos')
        cfg = [
            f'prepare_data.0.root={data}',
            f'prepare_data.0.num_samples={args.samples}',
            f'prepare_data.0.size={args.size}',
            'datasets.test_1.name=AOSBench',
            f'datasets.test_1.dataroot_lq={data}/train/stacks',
            f'datasets.test_1.dataroot_gt={data}/train/gt',
            'path.pretrain_network_g=~',
            f'network_g.img_size={args.size}',
            'val.report.montages=0',
            f'+path.root={tmp}',
        ]
        test_py, opt = osp.join(REPO, 'basicsr_ext', 'test.py'), osp.join(REPO, 'options', 'test_aos.yml')
        _run([sys.executable, test_py, '-opt', opt, '--cfg-options', *cfg, 'name=prepare'], tmp)  # data, imports warm
        n = len(os.listdir(f'{data}/train/stacks'))
        one = _run([sys.executable, test_py, '-opt', opt, '--cfg-options', *cfg, 'name=one'], tmp)
        launcher = [sys.executable, '-m', 'torch.distributed.run', f'--nproc_per_node={args.procs}']
        launcher += [f'--master_port={_free_port()}', test_py]
        many = _run([*launcher, '-opt', opt, '--launcher', 'pytorch', '--cfg-options', *cfg, 'name=many'], tmp)
        a, b = _table(osp.join(tmp, 'results', 'one')), _table(osp.join(tmp, 'results', 'many'))
        diff = max(abs(a[v][m] - b[v][m]) for v in a for m in a[v])
    print(f'AOS test report, {n} samples of {args.size} px, 4 variants (incl. self-ensemble x8 and multi-pass), CPU:')
    print(f'| processes | wall s | speed-up |\n| --- | --- | --- |\n| 1 | {one:.1f} | 1.00 |')
    print(f'| {args.procs} (torchrun, gloo, sharded) | {many:.1f} | {one / many:.2f} |')
    print(f'largest difference between the two report tables: {diff:.1e}')


if __name__ == '__main__':
    main()
