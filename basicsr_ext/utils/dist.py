"""Distributed start-up and checks: BasicSR's ``init_dist`` made device-agnostic, barrier, replica check.

BasicSR's ``_init_dist_pytorch``/``_init_dist_slurm`` call ``torch.cuda.set_device`` unconditionally (a division by
zero without GPUs), so CPU runs under gloo cannot start; :func:`init_dist` is the same start-up on any device:
``nccl`` falls back to ``gloo`` without CUDA, each rank takes the GPU of its ``LOCAL_RANK`` (also with unequal GPUs
per node), and the slurm launcher reads SLURM's variables as BasicSR does.
"""

import os
import subprocess

import torch
import torch.distributed as dist

from basicsr_ext.utils.errors import UserError


def init_dist(launcher, backend='nccl', port=None):
    """Start the process group for ``launcher`` ('pytorch': torchrun's variables; 'slurm': SLURM's)."""
    if backend == 'nccl' and not torch.cuda.is_available():
        backend = 'gloo'
    if launcher == 'slurm':
        _slurm_environment(port)
    elif launcher != 'pytorch':
        raise UserError(f'--launcher: expected none, pytorch or slurm, got {launcher!r}')
    if torch.cuda.is_available():
        count = torch.cuda.device_count()
        local_rank = int(os.environ.get('LOCAL_RANK', int(os.environ.get('RANK', 0)) % count))
        if local_rank >= count:  # more processes on this node than it has GPUs (nodes may differ)
            raise UserError(
                f'--launcher {launcher}: local rank {local_rank} on a node with {count} visible GPU(s): start at most '
                f'{count} process(es) on this node (torchrun --nproc_per_node={count}) or set CUDA_VISIBLE_DEVICES'
            )
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend=backend)


def _slurm_environment(port):
    """torchrun's variables from SLURM's: the first host of the node list is the master."""
    proc_id = int(os.environ['SLURM_PROCID'])
    num_gpus = torch.cuda.device_count()
    os.environ['MASTER_ADDR'] = subprocess.getoutput(
        f'scontrol show hostname {os.environ["SLURM_NODELIST"]} | head -n1'
    )
    if port is not None:
        os.environ['MASTER_PORT'] = str(port)
    os.environ.setdefault('MASTER_PORT', '29500')
    os.environ['WORLD_SIZE'] = os.environ['SLURM_NTASKS']
    os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', str(proc_id % max(num_gpus, 1)))
    os.environ['RANK'] = str(proc_id)


def barrier(opt):
    if opt.get('dist'):
        dist.barrier()


def shutdown(finished=True):
    """End the process group, if one was started, so that no rank exits while its communication threads still run
    (at exit they abort the process: "terminate called without an active exception", exit -6). After a finished run
    every rank first waits for the others (a barrier); after a failure it does not (the others may be inside a
    collective that would never match it)."""
    if not (dist.is_available() and dist.is_initialized()):
        return
    if finished:
        dist.barrier()
    dist.destroy_process_group()


def weight_fingerprint(net):
    """Three float64 numbers that differ between two networks unless their weights are identical."""
    total = torch.zeros(3, dtype=torch.float64)
    offset = 0
    for param in net.state_dict().values():
        flat = param.detach().double().flatten().cpu()
        pos = torch.arange(offset, offset + flat.numel(), dtype=torch.float64)
        total += torch.stack([flat.sum(), (flat * flat).sum(), (flat * torch.cos(pos)).sum()])
        offset += flat.numel()
    return total


def check_replicas_in_sync(model, logger):
    """After distributed training: every rank took the same number of optimizer steps and holds identical weights.

    DDP keeps replicas identical only if every gradient is all-reduced; a desynchronised run is a silent bug, so this
    compares fingerprints of the weights across ranks and stops with an error when they differ.
    """
    net = model.get_bare_model(model.net_g)
    device = next(net.parameters()).device
    local = torch.cat(
        [torch.tensor([float(getattr(model, 'optimizer_steps', -1))], dtype=torch.float64), weight_fingerprint(net)]
    ).to(device)
    gathered = [torch.zeros_like(local) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, local)
    steps = [int(g[0].item()) for g in gathered]
    identical = all(torch.equal(g[1:], gathered[0][1:]) for g in gathered)
    logger.info(
        f'Distributed check: {len(gathered)} ranks, optimizer steps per rank {steps}, '
        f'weights identical on all ranks: {identical}'
    )
    if not identical or len(set(steps)) != 1:
        raise UserError(
            f'distributed replicas diverged: optimizer steps per rank {steps}, weights identical: '
            f'{identical}. Gradients were not synchronised (check find_unused_parameters and any '
            'rank-dependent code in the model)'
        )
