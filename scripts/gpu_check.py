"""The prepared GPU check: what needs a GPU to measure, in one run of under 5 minutes, printed as one table.

bash scripts/gpu_check.sh            # on a GPU machine; the figures go into the README with the card's name
bash scripts/gpu_check.sh --dry-run  # on the CPU with tiny sizes and gloo (CI runs this, so the check cannot rot)

Rows: train steps of the AOS course report's full configuration (options/train_aos_course_report.yml: Swin2SR embed 32,
depths [6, 6, 6, 6], 512 px, batch 2, gradient checkpointing) in fp32, AMP fp16 (GradScaler) and AMP bf16, with
iterations/s and peak memory; 8-transform self-ensemble by chunk size (transforms per forward) against a loop of
forwards; whole vs tiled inference in images/s; the shipped restorers (``aos_person``, ``msrresnet_x2``) in the
channels-last and the contiguous memory layout, to settle the Restorer's GPU default (channels-last is the CPU's); a
DDP smoke run of train.py under torchrun (nccl on GPUs, one process per GPU). Times are medians; rows that compare
run interleaved (scripts/benchmark_aos.py's median_ms).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from os import path as osp

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, osp.join(REPO, 'scripts'))

import torch  # noqa: E402
from benchmark_aos import median_ms, sequential_self_ensemble  # noqa: E402

import basicsr_ext  # noqa: E402,F401  (registers the archs)

REPORT_OPT = osp.join(REPO, 'options', 'train_aos_course_report.yml')


def seed_network(dry_run, device):
    """The seed configuration's Swin2SR (dry run: one stage of 2 blocks, 32 px)."""
    from basicsr.utils.registry import ARCH_REGISTRY

    from basicsr_ext.utils.options import resolve_options

    net_opt = dict(resolve_options(REPORT_OPT)['network_g'])
    if dry_run:
        net_opt.update(depths=[2], num_heads=[4], img_size=32)
    torch.manual_seed(0)
    return ARCH_REGISTRY.get(net_opt.pop('type'))(**net_opt).to(device), net_opt


def check_train_steps(args, device, size, batch):
    """fp32 / AMP fp16 / AMP bf16 train steps (forward, L1, backward, AdamW) with checkpointing."""
    rows = []
    for name, dtype in (('fp32', None), ('AMP fp16', torch.float16), ('AMP bf16', torch.bfloat16)):
        if dtype is torch.float16 and device.type != 'cuda':
            rows.append((f'train step, {name}', f'{size} px, batch {batch}', 'skipped: fp16 autocast is for CUDA'))
            continue
        net, net_opt = seed_network(args.dry_run, device)
        x = torch.rand(batch, net_opt['in_chans'], size, size, device=device)
        gt = torch.rand(batch, 1, size, size, device=device)
        optimizer = torch.optim.AdamW(net.parameters(), lr=1e-4)
        scaler = torch.amp.GradScaler('cuda', enabled=dtype is torch.float16)

        def step(net=net, x=x, gt=gt, optimizer=optimizer, scaler=scaler, dtype=dtype):
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
                loss = (net(x).float() - gt).abs().mean()
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()

        if device.type == 'cuda':
            step()
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        ms = median_ms({'step': step}, device, args.repeats, args.warmup)['step']
        peak = f', peak {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB' if device.type == 'cuda' else ''
        rows.append((f'train step, {name}', f'{size} px, batch {batch}, checkpointing', f'{1e3 / ms:.2f} it/s{peak}'))
        del net, optimizer
        if device.type == 'cuda':
            torch.cuda.empty_cache()
    return rows


def check_self_ensemble(args, device, size):
    """x8 median self-ensemble at inference by transforms per forward, against a loop over the transforms."""
    from basicsr_ext.utils.dihedral import auto_chunk, self_ensemble

    net, net_opt = seed_network(args.dry_run, device)
    net.eval()
    x = torch.rand(1, net_opt['in_chans'], size, size, device=device)
    with torch.no_grad():
        fns = {'loop': lambda: sequential_self_ensemble(net, x)}
        for chunk in (1, 2, 4, 8):
            fns[chunk] = lambda chunk=chunk: self_ensemble(net, x, chunk=chunk)
        ms = median_ms(fns, device, max(3, args.repeats // 2), 1)
    auto = auto_chunk(x, 8)
    return [
        (
            f'self-ensemble x8, {c} per forward' + (' (auto)' if c == auto else ''),
            f'{size} px, batch 1',
            f'{ms[c]:.1f} ms, {ms[c] / ms["loop"]:.2f}x the loop',
        )
        for c in (1, 2, 4, 8)
    ] + [('self-ensemble x8, loop of forwards', f'{size} px, batch 1', f'{ms["loop"]:.1f} ms')]


def check_tiled(args, device, size):
    """Whole-image vs tiled inference (tiles of half the size, default overlap) in images/s."""
    from basicsr_ext.inference.tiling import tiled_forward

    net, net_opt = seed_network(args.dry_run, device)
    net.eval()
    x = torch.rand(1, net_opt['in_chans'], size, size, device=device)
    tile, multiple = size // 2, net_opt['window_size']
    with torch.no_grad():
        ms = median_ms(
            {
                'whole': lambda: tiled_forward(net, x, None, multiple=multiple),
                'tiled': lambda: tiled_forward(net, x, tile, multiple=multiple),
            },
            device,
            max(3, args.repeats // 2),
            1,
        )
    return [
        ('inference, whole image', f'{size} px', f'{1e3 / ms["whole"]:.2f} images/s'),
        ('inference, tiled', f'{size} px in tiles of {tile}', f'{1e3 / ms["tiled"]:.2f} images/s'),
    ]


def check_memory_format(args, device, size):
    """The shipped restorers in the channels-last vs the contiguous layout (interleaved), in images/s: the Restorer runs
    channels-last on the CPU (1.25-1.65x faster there, README); this row decides it on a GPU."""
    from basicsr_ext.inference.restorer import Restorer

    rows = []
    for name in ('aos_person', 'msrresnet_x2'):
        layouts = {k: Restorer(name, device=str(device), self_ensemble=False, channels_last=k) for k in (True, False)}
        channels = layouts[True].descriptor.in_channels or 3
        x = torch.rand(1, channels, size, size, device=device)
        fns = {k: (lambda r=r, x=x: r.forward(x)) for k, r in layouts.items()}
        ms = median_ms(fns, device, args.repeats, args.warmup)
        rows.append(
            (
                f'Restorer {name}, channels-last vs contiguous',
                f'{size} px, one pass, fp32',
                f'{1e3 / ms[True]:.2f} vs {1e3 / ms[False]:.2f} images/s ({ms[False] / ms[True]:.2f}x)',
            )
        )
    return rows


def _tiny_ddp_options(root, backend, num_gpu):
    import cv2
    import numpy as np

    rng = np.random.default_rng(0)
    for split, n in (('train', 8), ('val', 2)):
        for kind, size in (('HR', 32), ('LR', 16)):
            os.makedirs(osp.join(root, split, kind), exist_ok=True)
            for i in range(n):
                cv2.imwrite(
                    osp.join(root, split, kind, f'{i:03d}.png'), rng.integers(0, 256, (size, size, 3), np.uint8)
                )
    pair = {'type': 'PairedImageDataset', 'io_backend': {'type': 'disk'}}
    return {
        'name': 'gpu_check_ddp',
        'model_type': 'ExtSRModel',
        'scale': 2,
        'num_gpu': num_gpu,
        'manual_seed': 0,
        'dist_params': {'backend': backend},
        'datasets': {
            'train': dict(
                pair,
                name='train',
                dataroot_gt=f'{root}/train/HR',
                dataroot_lq=f'{root}/train/LR',
                gt_size=16,
                use_hflip=True,
                use_rot=True,
                num_worker_per_gpu=0,
                batch_size_per_gpu=2,
            ),
            'val': dict(pair, name='val', dataroot_gt=f'{root}/val/HR', dataroot_lq=f'{root}/val/LR'),
        },  # fmt: skip
        'network_g': {
            'type': 'SRCNN',
            'num_in_ch': 3,
            'num_out_ch': 3,
            'upscale': 2,
            'num_feat': [8, 4],
            'kernel_sizes': [3, 3, 3],
        },  # fmt: skip
        'path': {'root': root},
        'train': {
            'optim_g': {'type': 'Adam', 'lr': 1e-3},
            'total_iter': 4,
            'warmup_iter': -1,
            'pixel_opt': {'type': 'L1Loss', 'loss_weight': 1.0},
        },  # fmt: skip
        'val': {'val_freq': 4, 'metrics': {'psnr': {'type': 'calculate_psnr', 'crop_border': 2}}},
        'logger': {'print_freq': 1, 'save_checkpoint_freq': 4, 'use_tb_logger': False},
    }


def check_ddp(args, device):
    """train.py under torchrun (training, then sharded validation): one process per GPU with nccl, and 2 CPU
    processes with gloo when there are fewer than 2 GPUs (the dry run: only those)."""
    cuda = device.type == 'cuda'
    runs = [('nccl', torch.cuda.device_count())] if cuda else []
    if not runs or runs[0][1] < 2:  # sharded validation needs 2 ranks: with one GPU, 2 CPU processes under gloo
        runs.append(('gloo', 2))
    return [_ddp_row(backend, nproc, cuda and backend == 'nccl') for backend, nproc in runs]


def _ddp_row(backend, nproc, cuda):
    from basicsr_ext.utils.yaml_io import dump_yaml

    with tempfile.TemporaryDirectory() as root:
        opt_file = osp.join(root, 'ddp.yml')
        dump_yaml(_tiny_ddp_options(root, backend, 'auto' if cuda else 0), opt_file)
        cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', f'--nproc_per_node={nproc}']
        cmd += [osp.join(REPO, 'basicsr_ext', 'train.py'), '-opt', opt_file, '--launcher', 'pytorch']
        env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
        if not cuda:
            env['CUDA_VISIBLE_DEVICES'] = ''  # gloo on the CPU
        start = time.perf_counter()
        run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=root)
        seconds = time.perf_counter() - start
        saved = osp.isfile(osp.join(root, 'experiments', 'gpu_check_ddp', 'models', 'net_g_4.pth'))
    if run.returncode == 0 and saved:
        result = f'ok: 4 iterations + validation in {seconds:.1f} s'
    else:
        result = 'FAILED: ' + ((run.stderr or run.stdout).strip().splitlines() or ['no output'])[-1][:200]
    return ('DDP smoke run (train.py, torchrun)', f'{backend}, {nproc} process(es)', result)


def print_table(header, rows):
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(3)]
    line = '| ' + ' | '.join(f'{{:<{w}}}' for w in widths) + ' |'
    print(line.format(*header))
    print('| ' + ' | '.join('-' * w for w in widths) + ' |')
    for row in rows:
        print(line.format(*row))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--dry-run', action='store_true', help='CPU, tiny sizes, gloo: checks that the check works')
    parser.add_argument('--repeats', type=int, default=None, help='timed runs per row (default: 10, dry run 1)')
    parser.add_argument('--warmup', type=int, default=None, help='untimed runs first (default: 2, dry run 1)')
    parser.add_argument('--out', help='also write the rows as JSON here')
    args = parser.parse_args(argv)
    args.repeats = args.repeats or (1 if args.dry_run else 10)
    args.warmup = args.warmup or (1 if args.dry_run else 2)
    if not args.dry_run and not torch.cuda.is_available():
        print(
            'gpu_check: error: no CUDA device is visible (use --dry-run to check the script on the CPU)',
            file=sys.stderr,
        )
        return 2
    device = torch.device('cpu' if args.dry_run else 'cuda')
    size, batch = (32, 1) if args.dry_run else (512, 2)
    where = 'CPU (dry run)' if args.dry_run else torch.cuda.get_device_name(device)
    started = time.perf_counter()
    rows = check_train_steps(args, device, size, batch)
    rows += check_self_ensemble(args, device, size)
    rows += check_tiled(args, device, size)
    rows += check_memory_format(args, device, size)
    rows += check_ddp(args, device)
    took = time.perf_counter() - started
    print(f'\ngpu_check on {where}, torch {torch.__version__} (CUDA {torch.version.cuda}), {took:.0f} s')
    print_table(('check', 'setting', 'result'), rows)
    if args.out:
        with open(args.out, 'w') as f:
            json.dump({'device': where, 'torch': torch.__version__, 'rows': rows}, f, indent=1)
    return 1 if any(str(r[2]).startswith('FAILED') for r in rows) else 0


if __name__ == '__main__':
    sys.exit(main())
