"""Distributed helpers BasicSR lacks."""

import torch
import torch.distributed as dist

from basicsr_ext.utils.errors import UserError


def barrier(opt):
    if opt.get('dist'):
        dist.barrier()


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
