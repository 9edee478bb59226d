"""Distributed training on CPU through the real entry point: ``torchrun --nproc_per_node=2 basicsr_ext/train.py
-opt ... --launcher pytorch`` with gloo (picked automatically without a GPU)."""

import copy
import os
import re
import subprocess
import sys
from os import path as osp

import pytest
import torch
import torch.nn.functional as F

import basicsr_ext  # noqa: F401  (compat patches, before anything imports basicsr)
from basicsr_ext.archs.srcnn_arch import SRCNN

from conftest import REPO, TRAIN_PY, tiny_options, write_yaml

WORLD_SIZE = 2
CHECK_LINE = re.compile(
    r'Distributed check: (\d+) ranks, optimizer steps per rank \[([\d, ]+)\], weights identical on all ranks: (\w+)'
)
TIMEOUT = 180


def torchrun(args, cwd, no_python_entry=None, script=TRAIN_PY):
    """``python -m torch.distributed.run --nproc_per_node=2 basicsr_ext/train.py <args>`` in ``cwd`` (CPU, one thread
    per rank); ``script``: another entry point (test.py); ``no_python_entry``: a command run with ``--no-python``."""
    env = dict(os.environ)
    env['PYTHONPATH'] = REPO + os.pathsep + env.get('PYTHONPATH', '')
    env['OMP_NUM_THREADS'] = '1'
    env['CUDA_VISIBLE_DEVICES'] = ''  # gloo on CPU even where a GPU exists
    launcher = [
        sys.executable,
        '-m',
        'torch.distributed.run',
        f'--nproc_per_node={WORLD_SIZE}',
        '--standalone',  # a rendezvous on a port the launcher binds itself: no port picked and freed first
    ]
    if no_python_entry:
        cmd = launcher + ['--no-python', *no_python_entry, *args]
    else:
        cmd = launcher + [script, *args]
    try:
        return subprocess.run(cmd, cwd=str(cwd), capture_output=True, text=True, timeout=TIMEOUT, env=env)
    except subprocess.TimeoutExpired as err:
        pytest.fail(
            f'torchrun did not finish in {TIMEOUT} s (hung rendezvous or collective?)\n'
            f'stdout:\n{err.stdout}\nstderr:\n{err.stderr}'
        )


def output_of(proc):
    return f'{proc.stdout}\n{proc.stderr}'


def distributed_check(proc):
    found = CHECK_LINE.findall(output_of(proc))
    assert len(found) == 1, f'expected one "Distributed check" line (rank 0 only):\n{output_of(proc)[-4000:]}'
    ranks, steps, identical = found[0]
    return int(ranks), [int(s) for s in steps.split(',')], identical == 'True'


def ddp_options(data_root, name, total_iter, pretrain):
    """Tiny options with deterministic batches: whole 32x32 images (the crop can only start at 0), no flips or
    rotations, and a known initial network, so this test can recompute what synchronous training must give."""
    opt = tiny_options(data_root, name, total_iter)
    opt['datasets']['train'].update(gt_size=32, use_hflip=False, use_rot=False)
    opt['path']['pretrain_network_g'] = pretrain
    return opt


def initial_weights(opt, path):
    with torch.random.fork_rng():
        torch.manual_seed(123)
        net = SRCNN(**{k: v for k, v in opt['network_g'].items() if k != 'type'})
    torch.save({'params': net.state_dict()}, path)
    return str(path)


def reference_weights(opt, ranks):
    """Data-parallel Adam as DDP must compute it, in one process: each iteration takes the batch every rank in
    ``ranks`` draws (BasicSR's EnlargedSampler, sharded by rank and reshuffled per epoch) and steps on the mean of
    their gradients. ``ranks=[0]`` is what rank 0 would end with if its gradients were never all-reduced."""
    from basicsr.data.data_sampler import EnlargedSampler  # after basicsr_ext's compat patches
    from basicsr.data.paired_image_dataset import PairedImageDataset

    dataset = PairedImageDataset(dict(copy.deepcopy(opt['datasets']['train']), phase='train', scale=opt['scale']))
    batch_size = opt['datasets']['train']['batch_size_per_gpu']
    iters_per_epoch = len(dataset) // (batch_size * WORLD_SIZE)
    net = SRCNN(**{k: v for k, v in opt['network_g'].items() if k != 'type'})
    net.load_state_dict(torch.load(opt['path']['pretrain_network_g'], weights_only=True)['params'])
    params = list(net.parameters())
    optimizer = torch.optim.Adam(params, lr=opt['train']['optim_g']['lr'])
    for it in range(opt['train']['total_iter']):
        epoch, pos = divmod(it, iters_per_epoch)
        grads = []
        for rank in ranks:
            sampler = EnlargedSampler(dataset, WORLD_SIZE, rank)
            sampler.set_epoch(epoch)
            samples = [dataset[i] for i in list(sampler)[pos * batch_size : (pos + 1) * batch_size]]
            lq = torch.stack([s['lq'] for s in samples])
            gt = torch.stack([s['gt'] for s in samples])
            grads.append(torch.autograd.grad(F.l1_loss(net(lq), gt), params))
        for param, *rank_grads in zip(params, *grads):
            param.grad = sum(rank_grads) / len(rank_grads)
        optimizer.step()
    return net.state_dict()


def max_diff(a, b):
    assert a.keys() == b.keys()
    return max((a[k].double() - b[k].double()).abs().max().item() for k in a)


def test_torchrun_two_cpu_ranks(tmp_path, tiny_data):
    total_iter = 4  # 8 images, 2 ranks x batch 2: 2 iterations per epoch, so 2 epochs with reshuffling
    opt = ddp_options(tiny_data, 'ddp', total_iter, initial_weights(tiny_options(tiny_data), tmp_path / 'init.pth'))
    opt_file = write_yaml(tmp_path / 'ddp.yml', opt)

    proc = torchrun(['-opt', opt_file, '--launcher', 'pytorch'], tmp_path)
    out = output_of(proc)
    assert proc.returncode == 0, out[-6000:]
    assert 'World size (gpu number): 2' in out

    # both ranks stepped every iteration and ended with identical weights (the runner's own check)
    ranks, steps, identical = distributed_check(proc)
    assert ranks == WORLD_SIZE
    assert steps == [total_iter] * WORLD_SIZE
    assert identical

    # independently: the saved weights are those of synchronous training on the union of the two ranks' shards,
    # and far from those of rank 0 (or rank 1) training alone, so the ranks saw different data and averaged grads
    exp = tmp_path / 'experiments' / 'ddp'
    saved = torch.load(exp / 'models' / 'net_g_latest.pth', weights_only=True)['params']
    synced = reference_weights(opt, ranks=[0, 1])
    alone = [reference_weights(opt, ranks=[r]) for r in range(WORLD_SIZE)]
    tol = 1e-6  # one process recomputes the convolutions; the last bits may differ from the ranks' ones
    assert max_diff(saved, synced) <= tol
    for rank, weights in enumerate(alone):
        assert max_diff(saved, weights) > 100 * tol, f'rank {rank} alone gives the same weights: data not sharded?'

    # only rank 0 wrote: one log, one resolved option file, one experiment folder, no temp files
    assert sorted(os.listdir(tmp_path / 'experiments')) == ['ddp']
    assert len(list(exp.glob('*.log'))) == 1
    assert [p.name for p in exp.glob('*.yml')] == ['ddp.yml']
    assert not [p for p in exp.rglob('*') if '.tmp' in p.name]
    assert sorted(p.name for p in (exp / 'models').iterdir()) == ['net_g_2.pth', 'net_g_4.pth', 'net_g_latest.pth']
    assert sorted(p.name for p in (exp / 'training_states').iterdir()) == ['2.state', '4.state']
    log = next(exp.glob('*.log')).read_text()
    assert log.count('Start training from epoch: 0, iter: 0') == 1
    assert out.count('Start training from epoch') == 1  # rank 1 logs errors only
    assert CHECK_LINE.search(log)

    # the training state carries the RNG state of each rank (seeded with manual_seed + rank, so they differ)
    state = torch.load(exp / 'training_states' / '4.state', weights_only=True)
    assert state['iter'] == total_iter and state['optimizer_steps'] == total_iter
    assert len(state['rng']) == WORLD_SIZE
    assert state['rng'][0]['python'] != state['rng'][1]['python']
    assert not torch.equal(state['rng'][0]['torch'], state['rng'][1]['torch'])


def test_local_rank_flags_accepted(tmp_path, tiny_opt_file):
    """Legacy launchers pass the local rank as a flag: ``--local-rank=N`` (torch.distributed.launch, torch >= 2.0)
    or ``--local_rank=N`` (older). Each rank gets its own value here, as those launchers give it."""
    wrapper = '"$0" "$@" --local-rank="$LOCAL_RANK" --local_rank="$LOCAL_RANK"'
    proc = torchrun(
        ['-opt', tiny_opt_file, '--launcher', 'pytorch', '--cfg-options', 'train.total_iter=2'],
        tmp_path,
        no_python_entry=('sh', '-c', wrapper, sys.executable, TRAIN_PY),
    )
    out = output_of(proc)
    assert proc.returncode == 0, out[-6000:]
    assert 'unrecognized arguments' not in out
    assert distributed_check(proc) == (WORLD_SIZE, [2, 2], True)
    assert osp.isfile(tmp_path / 'experiments' / 'tiny' / 'models' / 'net_g_latest.pth')


def test_more_local_ranks_than_gpus_is_one_line(monkeypatch):
    """Nodes with unequal GPUs: a local rank beyond this node's GPUs names the fix instead of a CUDA error."""
    from basicsr_ext.utils.dist import init_dist
    from basicsr_ext.utils.errors import UserError

    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 2)
    monkeypatch.setenv('LOCAL_RANK', '3')
    with pytest.raises(UserError) as err:
        init_dist('pytorch')
    assert str(err.value) == (
        '--launcher pytorch: local rank 3 on a node with 2 visible GPU(s): start at most 2 process(es) on this node '
        '(torchrun --nproc_per_node=2) or set CUDA_VISIBLE_DEVICES'
    )
