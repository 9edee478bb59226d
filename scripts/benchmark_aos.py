"""Time the AOS pipeline pieces on random 512x512 data and print one table per section.

python scripts/benchmark_aos.py [--only integrator] [--device cpu|cuda] [--repeats 20] [--threads N]

Sections (one function each, registered in SECTIONS, each returning its table rows): integrator, simulator,
dataset, swin (a train step of our Swin2SR next to BasicSR's SwinIR, same sizes), selfensemble (batched 8-transform
self-ensemble by transforms per forward next to a loop over the transforms), memory (peak memory of a train step with
``use_checkpoint`` off, 'block' and 'parts', at --memory-size px; a fresh process per row on the CPU, where it is
peak RSS above the loaded model).
The network sections use train_aos_swin2sr128.yml's Swin2SR (embed 32, depths [2, 2], 4 heads, window 8, MLP ratio 2) at
--net-size px, batch --net-batch.
Times are medians of --repeats runs after --warmup runs, the rows of a section interleaved round by round; on CUDA
each run is synchronised.
Compare rows within one run: other processes may share the CPU.
"""

import argparse
import json
import statistics
import subprocess
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
    from basicsr_ext.utils.lmdb_digests import digest

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
        # the LMDB rows include the digest check of both values (digests.xxh128); its cost alone, on the same bytes
        key = lmdb_ds.samples[0]['key']
        values = [bytes(lmdb_ds.file_client.get(key, client)) for client in ('lq', 'gt')]
        ms['digest'] = median_ms(
            {'digest': lambda: [digest(v) for v in values]}, torch.device('cpu'), max(args.repeats, 32), args.warmup
        )['digest']
    rows = [
        (f'{key}: one sample ({args.planes} planes + GT), {1e3 / ms[key]:.0f} samples/s', ms[key], None)
        for key in ('disk', 'lmdb')
    ]
    return rows + [
        (
            'lmdb: of which the digest check of its 2 values (ratio: share of the sample)',
            ms['digest'],
            ms['digest'] / ms['lmdb'],
        )
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


NET = dict(
    in_chans=1, embed_dim=32, depths=[2, 2], num_heads=[4, 4], window_size=8, mlp_ratio=2, upsampler='', upscale=1
)


def _nets(args, device, use_checkpoint=False):
    from basicsr.archs.swinir_arch import SwinIR

    from basicsr_ext.archs.swin2sr_arch import Swin2SR

    torch.manual_seed(0)
    opts = dict(NET, img_size=args.net_size, resi_connection='1conv')
    return {
        'Swin2SR (ours)': Swin2SR(**opts, use_checkpoint=use_checkpoint).to(device),
        "SwinIR (BasicSR's)": SwinIR(**opts, use_checkpoint=use_checkpoint).to(device),
    }


def _train_step(net, x, gt, optimizer):
    optimizer.zero_grad(set_to_none=True)
    loss = (net(x) - gt).abs().mean()
    loss.backward()
    optimizer.step()


def bench_swin(args, device):
    """One AdamW train step (forward, L1, backward, update) of Swin2SR and of BasicSR's SwinIR, same sizes."""
    nets = _nets(args, device)
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(args.net_batch, 1, args.net_size, args.net_size, generator=gen).to(device)
    gt = torch.rand(args.net_batch, 1, args.net_size, args.net_size, generator=gen).to(device)
    fns = {}
    for name, net in nets.items():
        opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
        fns[f'{name} train step'] = lambda net=net, opt=opt: _train_step(net, x, gt, opt)
    ms = median_ms(fns, device, args.repeats, args.warmup)
    params = {name: sum(p.numel() for p in net.parameters()) for name, net in nets.items()}
    floor = ms["SwinIR (BasicSR's) train step"]
    rows = [(f'{what} ({params[what.rsplit(" train", 1)[0]]:,} params)', v, v / floor) for what, v in ms.items()]
    return rows


def sequential_self_ensemble(net, x, reduce='median'):
    """The loop the batched version replaces: one forward per dihedral transform."""
    from basicsr_ext.utils.dihedral import TRANSFORMS_8, apply, invert

    outs = torch.stack([invert(net(apply(x, k, flip)), k, flip) for k, flip in TRANSFORMS_8])
    return outs.median(dim=0).values if reduce == 'median' else outs.mean(dim=0)


def bench_selfensemble(args, device):
    """8-transform median self-ensemble at inference: the automatic chunking (what validation, test and inference
    use) and fixed chunk sizes, against a plain loop over the transforms."""
    from basicsr_ext.utils.dihedral import auto_chunk, self_ensemble

    net = _nets(args, device)['Swin2SR (ours)'].eval()
    x = torch.rand(args.net_batch, 1, args.net_size, args.net_size, generator=torch.Generator().manual_seed(0))
    x = x.to(device)
    chunks = [c for c in (1, 2, 4, 8) if c != auto_chunk(x, 8)]
    with torch.no_grad():
        diff = max(
            (self_ensemble(net, x, chunk=c) - sequential_self_ensemble(net, x)).abs().max().item()
            for c in [None, *chunks]
        )
        fns = {'single forward': lambda: net(x), 'loop': lambda: sequential_self_ensemble(net, x)}
        fns['auto'] = lambda: self_ensemble(net, x)
        for c in chunks:
            fns[f'chunk {c}'] = lambda c=c: self_ensemble(net, x, chunk=c)
        ms = median_ms(fns, device, args.repeats, args.warmup)
    rows = [('single forward (no ensemble)', ms['single forward'], ms['single forward'] / ms['loop'])]
    rows.append((f'self-ensemble x8, auto chunk ({auto_chunk(x, 8)} per forward)', ms['auto'], ms['auto'] / ms['loop']))
    rows += [(f'self-ensemble x8, {c} per forward', ms[f'chunk {c}'], ms[f'chunk {c}'] / ms['loop']) for c in chunks]
    rows.append((f'self-ensemble x8, loop over transforms (max |diff| of all rows {diff:.1e})', ms['loop'], 1.0))
    return rows


def _peak_memory_child(args, device, use_checkpoint):
    """Peak memory (MiB) of a Swin2SR train step above the state with the model, data and optimizer state in place.

    Returns ``{'mib': tensor peak, 'rss': peak RSS or None}``. The tensor peak is the most memory tensors held at once
    during the step: CUDA's ``max_memory_allocated``; on the CPU the same quantity from the profiler's allocation
    record (its "Total Allocated" over the step). The CPU also gives the peak RSS (``VmHWM``, reset through
    ``/proc/self/clear_refs``, over two steps), which adds what glibc's allocator keeps.
    """
    net = _nets(args, device, use_checkpoint)['Swin2SR (ours)']
    x = torch.rand(args.net_batch, 1, args.net_size, args.net_size, device=device)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
    if device.type == 'cuda':
        _train_step(net, x, x, opt)  # optimizer state allocated, kernels loaded
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        _train_step(net, x, x, opt)
        torch.cuda.synchronize()
        return {'mib': (torch.cuda.max_memory_allocated() - base) / 2**20, 'rss': None}
    with torch.no_grad():
        net(x[:1, :, :8, :8])  # load the kernels without keeping activations
    base = _proc_status_mib('VmRSS')  # model, data, libraries
    with open('/proc/self/clear_refs', 'w') as f:  # reset the peak RSS (VmHWM) to the current RSS
        f.write('5')
    _train_step(net, x, x, opt)
    _train_step(net, x, x, opt)
    rss = _proc_status_mib('VmHWM') - base
    return {'mib': _tensor_peak_cpu(lambda: _train_step(net, x, x, opt)), 'rss': rss}


def _tensor_peak_cpu(step):
    """MiB: the most memory tensors held at once during ``step()`` above what they held before it (CPU)."""
    import tempfile

    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    with tempfile.TemporaryDirectory() as tmp:
        prof.export_chrome_trace(f'{tmp}/trace.json')
        with open(f'{tmp}/trace.json') as f:
            events = json.load(f)['traceEvents']
    memory = sorted((e for e in events if e.get('name') == '[memory]' and 'args' in e), key=lambda e: e['ts'])
    if not memory:
        return float('nan')
    before = memory[0]['args']['Total Allocated'] - memory[0]['args']['Bytes']  # held when the step began
    return (max(e['args']['Total Allocated'] for e in memory) - before) / 2**20


def _proc_status_mib(field):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(f'{field}:'):
                return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f'/proc/self/status has no {field}')


CHECKPOINT_SETTINGS = (False, 'block', 'parts')  # use_checkpoint values the memory section compares


def bench_memory(args, device):
    """Peak memory of a Swin2SR train step without ``use_checkpoint`` and with each granularity (the ms column holds
    MiB here): the tensor peak (what CUDA's allocator counts), and on the CPU also the peak RSS."""
    results = []
    for index, flag in enumerate(CHECKPOINT_SETTINGS):
        if device.type == 'cuda':
            result = _peak_memory_child(
                argparse.Namespace(**{**vars(args), 'net_size': args.memory_size}), device, flag
            )
        else:  # peak RSS only ever grows: measure each setting in a fresh process
            cmd = [sys.executable, __file__, '--memory-child', str(index), '--device', args.device]
            cmd += ['--net-size', str(args.memory_size), '--net-batch', str(args.net_batch)]
            if args.threads:
                cmd += ['--threads', str(args.threads)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            result = json.loads(out.strip().splitlines()[-1])
        results.append((flag, result))
    rows = []
    for key, what in (('mib', 'peak tensor MiB'), ('rss', 'peak RSS MiB')):
        if results[0][1][key] is None:
            continue
        off = results[0][1][key]
        rows += [
            (f'{what}, use_checkpoint={flag}', r[key], None if flag is False else r[key] / off) for flag, r in results
        ]
    return rows


SECTIONS = {
    'integrator': bench_integrator,
    'simulator': bench_simulator,
    'dataset': bench_dataset,
    'swin': bench_swin,
    'selfensemble': bench_selfensemble,
    'memory': bench_memory,
}


# (value column, ratio column) per section; the rest report ms against their floor
COLUMNS = {
    'dataset': ('ms', 'share'),
    'swin': ('ms', 'x SwinIR'),
    'selfensemble': ('ms', 'x loop'),
    'memory': ('MiB', 'x off'),
}


def print_table(title, rows):
    width = max(len(what) for what, _, _ in rows)
    unit, ratio_name = COLUMNS.get(title, ('ms', 'x floor'))
    print(f'\n{title}')
    print(f'{"what":<{width}}  {unit:>9}  {ratio_name:>8}')
    for what, ms, ratio in rows:
        print(f'{what:<{width}}  {ms:9.3f}  {"" if ratio is None else f"{ratio:8.2f}":>8}')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--only', nargs='+', choices=sorted(SECTIONS), help='sections to run (default: all)')
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--size', type=int, default=512, help='image width = height in pixels')
    parser.add_argument('--planes', type=int, default=8, help='focal planes in the stack row')
    parser.add_argument('--repeats', type=int, default=20, help='timed runs per row (median reported)')
    parser.add_argument('--warmup', type=int, default=3, help='untimed rounds first')
    parser.add_argument('--threads', type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument(
        '--net-size', type=int, default=64, help='network sections: image size (train_aos_swin2sr128.yml crop)'
    )
    parser.add_argument('--net-batch', type=int, default=4, help='network sections: batch size')
    parser.add_argument('--memory-size', type=int, default=128, help='memory section: image size')
    parser.add_argument('--memory-child', type=int, choices=range(len(CHECKPOINT_SETTINGS)), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: no CUDA device available')
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if args.memory_child is not None:
        print(json.dumps(_peak_memory_child(args, device, CHECKPOINT_SETTINGS[args.memory_child])))
        return
    where = torch.cuda.get_device_name(device) if device.type == 'cuda' else f'cpu, {torch.get_num_threads()} threads'
    print(
        f'torch {torch.__version__} on {where}; data sections {args.size}x{args.size}, network sections '
        f'{args.net_size}x{args.net_size} batch {args.net_batch}; median of {args.repeats} runs'
    )
    for name in args.only or SECTIONS:
        print_table(name, SECTIONS[name](args, device))


if __name__ == '__main__':
    main()
