"""Inference speed of the shipped restorers on this machine: images/s, whole vs tiled, with and without self-ensemble.

python scripts/benchmark_inference.py [--device cpu|cuda] [--repeats 5] [--size 512] [--tile 256] [--threads N]
                                      [--only aos|zoo] [--contiguous]

AOS rows: ``Restorer`` with the shipped default AOS restorer on random --size px focal stacks (as many planes as
the model takes). Zoo rows (when weights/zoo.yml lists them): ``Restorer`` with each sr / denoise / modulation model
on a random --size px RGB image. Each row: median seconds per image over --repeats runs after one warm-up, rows of a
table interleaved round by round (other processes may share the CPU: compare rows within one run). ``--contiguous``
adds each row again in the other memory layout (the Restorer's default: channels-last on the CPU, contiguous on a GPU).
"""

import argparse
import statistics
import sys
import time
from os import path as osp

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from basicsr_ext.inference.devices import pick_device  # noqa: E402
from basicsr_ext.inference.restorer import Restorer  # noqa: E402
from basicsr_ext.inference.tiling import check_tile  # noqa: E402
from basicsr_ext.inference.zoo import DEFAULT_AOS_MODEL, load_zoo  # noqa: E402
from basicsr_ext.utils.errors import UserError  # noqa: E402

MIN_SIZE = 16  # px: the smallest tile (inference/tiling.py check_tile); below it the rows time overheads only


def seconds_per_call(fns, repeats, device):
    """Median seconds of each callable, run interleaved round by round after one warm-up round."""
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)
    times = {name: [] for name in fns}
    for i in range(repeats + 1):
        for name, fn in fns.items():
            sync()
            start = time.perf_counter()
            fn()
            sync()
            if i:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def layouts(args):
    """``[(row suffix, Restorer channels_last)]``: the default layout (channels-last on the CPU, contiguous on a GPU),
    and with --contiguous the other one."""
    if not args.contiguous:
        return [('', None)]
    return [
        ('', None),
        (' (contiguous)', False) if pick_device(args.device).type == 'cpu' else (' (channels-last)', True),
    ]


def aos_rows(args):
    variants = {
        f'AOS {args.size} px, whole': dict(self_ensemble=False),  # one pass (the model's default is self-ensemble)
        f'AOS {args.size} px, tiles of {args.tile}': dict(tile=args.tile, self_ensemble=False),
        f'AOS {args.size} px, whole, self-ensemble x8': dict(self_ensemble=True),
        f'AOS {args.size} px, tiles of {args.tile}, self-ensemble x8': dict(tile=args.tile, self_ensemble=True),
    }
    restorers = {
        name + suffix: Restorer(DEFAULT_AOS_MODEL, device=args.device, channels_last=layout, **kw)
        for name, kw in variants.items()
        for suffix, layout in layouts(args)
    }
    planes = len(next(iter(restorers.values())).heights)
    stack = np.random.default_rng(0).random((planes, args.size, args.size), dtype=np.float32)
    fns = {name: (lambda r=r: r.restore_stack(stack)) for name, r in restorers.items()}
    return seconds_per_call(fns, args.repeats, restorers[next(iter(restorers))].device)


def zoo_rows(args):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (args.size, args.size, 3), dtype=np.uint8)
    fns, device = {}, None
    for entry in load_zoo().values():
        if entry.task == 'aos':
            continue
        for tile in (None, args.tile):
            for suffix, layout in layouts(args):
                restorer = Restorer(entry.name, device=args.device, tile=tile, channels_last=layout)
                device = restorer.device
                name = f'{entry.name} {args.size} px, ' + ('whole' if tile is None else f'tiles of {tile}') + suffix
                fns[name] = lambda r=restorer: r.restore(image)
    return seconds_per_call(fns, args.repeats, device) if fns else {}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--device', default=None, choices=['cpu', 'cuda'], help='default: cuda when available')
    parser.add_argument('--size', type=int, default=512, help='image side in pixels')
    parser.add_argument('--tile', type=int, default=256, help='tile side of the tiled rows')
    parser.add_argument('--repeats', type=int, default=5, help='timed runs per row (median reported)')
    parser.add_argument('--threads', type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument('--only', choices=['aos', 'zoo'], help='one table only')
    parser.add_argument('--contiguous', action='store_true', help='each row also in the other memory layout')
    args = parser.parse_args(argv)
    try:
        check_args(args)
        if args.threads:
            torch.set_num_threads(args.threads)
        run(args)
    except UserError as err:
        print(f'benchmark_inference: error: {err}', file=sys.stderr)
        return 2
    return 0


def check_args(args):
    """One-line errors for flags out of range, before any model is loaded."""
    if args.size < MIN_SIZE:
        raise UserError(f'--size: expected an image side of at least {MIN_SIZE} px, got {args.size}')
    check_tile(args.tile, key='--tile')
    if args.repeats < 1:
        raise UserError(f'--repeats: expected >= 1 timed runs, got {args.repeats}')
    if args.threads is not None and args.threads < 1:
        raise UserError(f'--threads: expected >= 1, got {args.threads}')
    pick_device(args.device)


def run(args):
    where = torch.cuda.get_device_name() if args.device != 'cpu' and torch.cuda.is_available() else 'cpu'
    print(f'torch {torch.__version__} on {where}, {torch.get_num_threads()} threads; median of {args.repeats} runs')
    results = {}
    if args.only in (None, 'aos'):
        results.update(aos_rows(args))
    if args.only in (None, 'zoo'):
        results.update(zoo_rows(args))
    width = max(len(name) for name in results)
    print(f'{"what":<{width}}  {"s/image":>8}  {"images/s":>8}')
    for name, seconds in results.items():
        print(f'{name:<{width}}  {seconds:8.3f}  {1 / seconds:8.2f}')


if __name__ == '__main__':
    sys.exit(main())
