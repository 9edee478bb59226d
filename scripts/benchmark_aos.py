"""Time the AOS pipeline pieces on random 512x512 data and print one table per section.

python scripts/benchmark_aos.py [--only integrator] [--device cpu|cuda] [--repeats 20] [--threads N]

Sections (one function each, registered in SECTIONS, each returning its table rows): integrator, simulator,
dataset.
Times are medians of --repeats runs after --warmup runs, the rows of a section interleaved round by round; on CUDA
each run is synchronised.
Compare rows within one run: other processes may share the CPU.
"""

import argparse
import statistics
import sys
import time
from os import path as osp

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import torch  # noqa: E402

from basicsr_ext.aos.geometry import CameraModel  # noqa: E402
from basicsr_ext.aos.integrator import integrate  # noqa: E402


def median_ms(fns, device, repeats, warmup):
    """Median wall time in milliseconds of each function in ``fns`` (a dict name -> callable).

    The functions run interleaved, one round at a time, so that load from other processes hits all of them alike and
    their ratios stay meaningful on a shared machine.
    """
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)
    times = {name: [] for name in fns}
    for i in range(warmup + repeats):
        for name, fn in fns.items():
            sync()
            start = time.perf_counter()
            fn()
            sync()
            if i >= warmup:
                times[name].append((time.perf_counter() - start) * 1e3)
    return {name: statistics.median(ts) for name, ts in times.items()}


def bench_integrator(args, device):
    """Integrator ms per plane against ``views.sum(0)``, the memory-bound floor of any mean over the views.

    Returns:
        list[tuple[str, float, float | None]]: (what, ms, ratio to the floor) rows.
    """
    camera = CameraModel(size=args.size)
    gen = torch.Generator().manual_seed(0)
    views_u8 = torch.randint(0, 256, (camera.num_views, args.size, args.size), dtype=torch.uint8, generator=gen)
    views_u8 = views_u8.to(device)
    views = views_u8.float()  # V, H, W float32
    stack_heights = torch.linspace(0.0, 2.5, args.planes).tolist()
    ms = median_ms(
        {
            'convert': views_u8.float,
            'floor': lambda: views.sum(0),
            'one': lambda: integrate(views, 1.3, camera=camera),
            'stack': lambda: integrate(views, stack_heights, camera=camera),
            'one_u8': lambda: integrate(views_u8, 1.3, camera=camera),
        },
        device,
        args.repeats,
        args.warmup,
    )
    floor, per_plane = ms['floor'], ms['stack'] / args.planes
    return [
        (f'uint8 -> float32 of {camera.num_views} views', ms['convert'], None),
        ('views.sum(0), float32 (floor)', floor, 1.0),
        ('integrate, 1 plane', ms['one'], ms['one'] / floor),
        (f'integrate, {args.planes} planes, per plane', per_plane, per_plane / floor),
        ('integrate, 1 plane, uint8 input (incl. conversion)', ms['one_u8'], ms['one_u8'] / floor),
    ]


def bench_dataset(args, device):
    """``AOSFocalStackDataset`` samples per second from TIFF files and from LMDB (a temp split of 16 stacks with
    ``--planes`` planes, all planes loaded, no crop: the decode cost a training run pays per sample)."""
    import tempfile

    import numpy as np

    from basicsr_ext.aos.focal_stack import gt_name, stack_name, write_focal_stack, write_gt
    from basicsr_ext.aos.lmdb_store import create_split_lmdb
    from basicsr_ext.data.aos_focal_stack_dataset import AOSFocalStackDataset

    rng = np.random.default_rng(0)
    heights = [round(0.25 * i, 2) for i in range(args.planes)]
    with tempfile.TemporaryDirectory() as tmp:
        names = []
        for sim in range(16):
            name = stack_name(0, sim, (sim % 5, -2))
            stack = rng.integers(0, 256, (args.planes, args.size, args.size), dtype=np.uint8)
            write_focal_stack(f'{tmp}/stacks/{name}', stack, heights, person={'x': sim % 5, 'y': -2, 'shape': 'idle'})
            write_gt(f'{tmp}/gt/{gt_name(0, sim)}', stack[0])
            names.append(name)
        with open(f'{tmp}/meta_info.txt', 'w') as f:
            f.writelines(f'{n}\n' for n in names)
        create_split_lmdb(tmp, tmp)
        disk = AOSFocalStackDataset(
            {'phase': 'val', 'dataroot_lq': f'{tmp}/stacks', 'dataroot_gt': f'{tmp}/gt', 'io_backend': {'type': 'disk'}}
        )
        lmdb_ds = AOSFocalStackDataset(
            {
                'phase': 'val',
                'dataroot_lq': f'{tmp}/stacks.lmdb',
                'dataroot_gt': f'{tmp}/gt.lmdb',
                'io_backend': {'type': 'lmdb'},
            }
        )
        counter = {'disk': 0, 'lmdb': 0}

        def step(ds, key):
            counter[key] = (counter[key] + 1) % len(ds)
            return ds[counter[key]]

        ms = median_ms(
            {'disk': lambda: step(disk, 'disk'), 'lmdb': lambda: step(lmdb_ds, 'lmdb')},
            torch.device('cpu'),
            max(args.repeats, 32),
            args.warmup,
        )
    return [
        (f'{key}: one sample ({args.planes} planes + GT), {1e3 / ms[key]:.0f} samples/s', ms[key], None)
        for key in ('disk', 'lmdb')
    ]


def bench_simulator(args, device):
    """Simulator: draw and render one raw sample (11 views + GT) in this process, and write it in the raw format."""
    import tempfile

    from basicsr_ext.aos.raw import write_raw_sample
    from basicsr_ext.aos.simulator import simulate_sample

    camera = CameraModel(size=args.size)
    counter = [0]
    last = {}

    def render():
        counter[0] += 1
        last['sample'] = simulate_sample(0, 0, counter[0], camera)

    with tempfile.TemporaryDirectory() as tmp:

        def write():
            params, views, gt = last['sample']
            write_raw_sample(tmp, 0, counter[0], views, gt, params.to_parameters(camera))

        ms = median_ms({'render': render, 'write': write}, torch.device('cpu'), min(args.repeats, 10), 1)
    total = ms['render'] + ms['write']
    return [
        ('render one sample (draw scene, 11 views + GT)', ms['render'], None),
        ('write its 13 files (PNG + Parameters.txt)', ms['write'], None),
        (f'one process: {1e3 / total:.1f} samples/s', total, None),
    ]


SECTIONS = {'integrator': bench_integrator, 'simulator': bench_simulator, 'dataset': bench_dataset}


def print_table(title, rows):
    width = max(len(what) for what, _, _ in rows)
    print(f'\n{title}')
    print(f'{"what":<{width}}  {"ms":>9}  {"x floor":>7}')
    for what, ms, ratio in rows:
        print(f'{what:<{width}}  {ms:9.3f}  {"" if ratio is None else f"{ratio:7.2f}":>7}')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--only', nargs='+', choices=sorted(SECTIONS), help='sections to run (default: all)')
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--size', type=int, default=512, help='image width = height in pixels')
    parser.add_argument('--planes', type=int, default=8, help='focal planes in the stack row')
    parser.add_argument('--repeats', type=int, default=20, help='timed runs per row (median reported)')
    parser.add_argument('--warmup', type=int, default=3, help='untimed rounds first')
    parser.add_argument('--threads', type=int, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args(argv)
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: no CUDA device available')
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    where = torch.cuda.get_device_name(device) if device.type == 'cuda' else f'cpu, {torch.get_num_threads()} threads'
    print(f'torch {torch.__version__} on {where}; {args.size}x{args.size}; median of {args.repeats} runs')
    for name in args.only or SECTIONS:
        print_table(name, SECTIONS[name](args, device))


if __name__ == '__main__':
    main()
