"""Resuming through the real entry point: a run killed with SIGKILL (``python basicsr_ext/train.py`` in a subprocess,
the one thing here that needs a process of its own) continues with ``--auto_resume``, and an interrupted run ends
bit-identical to an uninterrupted one (weights, optimizer, scheduler and RNG states)."""

import os
import random
import re
import subprocess
import sys
import time

import torch

from conftest import REPO, TRAIN_PY, run_train, tiny_options, write_yaml

ITER_LINE = re.compile(r'\[(\S+?)\.\.\]\[epoch:\s*(\d+), iter:\s*([\d,]+),')


def logged_iters(text, name):
    """``(epoch, iter)`` of every ``[name..][epoch: E, iter: N, ...]`` training log line (BasicSR's MessageLogger
    shows the first 5 characters of the name and formats the iteration with thousands separators)."""
    return [(int(e), int(i.replace(',', ''))) for n, e, i in ITER_LINE.findall(text) if n == name[:5]]


def no_val_options(data_root, name, total_iter, save_freq):
    opt = tiny_options(data_root, name, total_iter)
    del opt['val'], opt['datasets']['val']
    opt['logger'].update(print_freq=1, save_checkpoint_freq=save_freq)
    return opt


def popen_train(args, cwd, out_path):
    env = dict(os.environ)
    env['PYTHONPATH'] = REPO + os.pathsep + env.get('PYTHONPATH', '')
    env['OMP_NUM_THREADS'] = '1'
    out = open(out_path, 'w')
    proc = subprocess.Popen(
        [sys.executable, TRAIN_PY, *args], cwd=str(cwd), stdout=out, stderr=subprocess.STDOUT, env=env, text=True
    )
    out.close()  # the child holds its own copy
    return proc


def state_iters(folder):
    return sorted(int(p.name[: -len('.state')]) for p in folder.glob('*.state')) if folder.is_dir() else []


def temp_files(exp):
    return [p for sub in ('models', 'training_states') for p in (exp / sub).iterdir() if '.tmp' in p.name]


def test_kill_and_auto_resume(tmp_path, tiny_data):
    total_iter, batch = 40, 4
    iters_per_epoch = 8 // batch  # 8 train images
    save_freq = 2 * iters_per_epoch  # states at ends of epochs (mid-epoch resumes: the next test)
    opt = no_val_options(tiny_data, 'killed', total_iter, save_freq)
    # a wider net on whole 32x32 images, so the 40 iterations take long enough (~1-2 s) to be killed halfway
    opt['network_g'].update(num_feat=[64, 32], kernel_sizes=[9, 5, 5])
    opt['datasets']['train'].update(gt_size=32, batch_size_per_gpu=batch)
    opt_file = write_yaml(tmp_path / 'killed.yml', opt)
    exp = tmp_path / 'experiments' / 'killed'
    states = exp / 'training_states'

    proc = popen_train(['-opt', opt_file], tmp_path, tmp_path / 'first.out')
    try:
        deadline = time.monotonic() + 150
        while not state_iters(states):
            assert proc.poll() is None, (tmp_path / 'first.out').read_text()[-4000:]
            assert time.monotonic() < deadline, 'no training state was written in time'
            time.sleep(0.01)
        time.sleep(random.uniform(0, 0.15))  # an arbitrary point: mid-iteration, mid-save, ...
    finally:
        proc.kill()
        proc.wait(30)
    assert proc.returncode == -9, 'the run finished before it could be killed'
    resume_iter = max(state_iters(states))
    assert resume_iter % save_freq == 0 and resume_iter < total_iter
    assert not (exp / 'models' / 'net_g_latest.pth').exists()
    first_log = next(exp.glob('*.log')).read_text()
    first_iters = logged_iters(first_log, 'killed')
    resume_epoch = dict((i, e) for e, i in first_iters)[resume_iter]

    # a save torn by the kill, as atomic_torch_save leaves it: partial data under a temp name, never under the real one
    torn = save_freq * (resume_iter // save_freq + 1)
    (states / f'{torn}.state.tmp4242').write_bytes(b'PK\x03\x04 truncated')
    (exp / 'models' / f'net_g_{torn}.pth.tmp4242').write_bytes(b'PK\x03\x04 truncated')

    time.sleep(1 - time.time() % 1)  # log files are named to the second: the resumed run's must not replace the first
    second = run_train(['-opt', opt_file, '--auto_resume'], tmp_path)
    out = second.stdout + second.stderr
    assert second.returncode == 0, out[-4000:]
    assert f'Resuming training from epoch: {resume_epoch}, iter: {resume_iter}.' in out

    iters = logged_iters(out, 'killed')
    assert [i for _, i in iters] == list(range(resume_iter + 1, total_iter + 1))  # print_freq 1
    # the epoch goes on where the killed run was (not restarted from the saved epoch's first batch)
    assert all(e == (i - 1) // iters_per_epoch for e, i in first_iters + iters), first_iters + iters

    assert torch.load(exp / 'models' / 'net_g_latest.pth', weights_only=True)['params']
    assert state_iters(states)[-1] == total_iter - total_iter % save_freq
    assert not temp_files(exp)
    assert sorted(os.listdir(tmp_path / 'experiments')) == ['killed']  # resumed in place, nothing archived
    assert len(list(exp.glob('*.log'))) == 2


def flatten(obj, prefix=''):
    """Nested dicts/lists/tuples of a training state -> {'a.b.0': leaf}."""
    if isinstance(obj, dict):
        items = obj.items()
    elif isinstance(obj, (list, tuple)):
        items = enumerate(obj)
    else:
        return {prefix: obj}
    out = {}
    for key, value in items:
        out.update(flatten(value, f'{prefix}.{key}' if prefix else str(key)))
    return out


def differing(a, b):
    fa, fb = flatten(a), flatten(b)
    keys = sorted(set(fa) | set(fb))
    return [
        k
        for k in keys
        if k not in fa
        or k not in fb
        or not (torch.equal(fa[k], fb[k]) if isinstance(fa[k], torch.Tensor) else fa[k] == fb[k])
    ]


def test_interrupted_run_matches_uninterrupted(tmp_path, tiny_data):
    """Straight 8 iterations vs 2, then resumed to 8: the resume lands mid-epoch (4 iterations per epoch), the resumed
    run finishes that epoch and goes through the next. Random crops, flips and rotations use the RNG the training
    state restores; no loader workers (their RNG is not part of a training state, so with workers only the main
    process's streams would continue exactly)."""
    opt = no_val_options(tiny_data, 'run', total_iter=8, save_freq=2)
    opt['datasets']['train']['num_worker_per_gpu'] = 0
    (tmp_path / 'a').mkdir()
    (tmp_path / 'b').mkdir()
    opt_a = write_yaml(tmp_path / 'a' / 'run.yml', opt)
    opt_b = write_yaml(tmp_path / 'b' / 'run.yml', opt)

    straight = run_train(['-opt', opt_a], tmp_path / 'a')
    assert straight.returncode == 0, (straight.stdout + straight.stderr)[-4000:]
    for args in (['--cfg-options', 'train.total_iter=2'], ['--auto_resume']):
        proc = run_train(['-opt', opt_b, *args], tmp_path / 'b')
        assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    resumed = proc.stderr + proc.stdout
    assert 'Resuming training from epoch: 0, iter: 2.' in resumed
    assert [i for _, i in logged_iters(resumed, 'run')] == [3, 4, 5, 6, 7, 8]

    exp_a, exp_b = tmp_path / 'a' / 'experiments' / 'run', tmp_path / 'b' / 'experiments' / 'run'
    weights_a = torch.load(exp_a / 'models' / 'net_g_latest.pth', weights_only=True)['params']
    weights_b = torch.load(exp_b / 'models' / 'net_g_latest.pth', weights_only=True)['params']
    assert weights_a.keys() == weights_b.keys()
    assert [k for k in weights_a if not torch.equal(weights_a[k], weights_b[k])] == []

    # the last training states agree in every field: optimizer moments and step, scheduler, RNG of python, numpy
    # and torch, counters (torch's stream only if no data loader iterator drew from it at a different point)
    state_a = torch.load(exp_a / 'training_states' / '8.state', weights_only=True)
    state_b = torch.load(exp_b / 'training_states' / '8.state', weights_only=True)
    assert differing(state_a, state_b) == []
    assert state_a['optimizer_steps'] == 8 and state_a['epoch'] == 1
