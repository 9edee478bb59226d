"""The project's own replacements for BasicSR code it owns the call sites of: resume (``utils/resume.py``),
weights-only checkpoint loading (``models/training_state.py``), the distributed start-up (``utils/dist.init_dist``)
and DDP wrapping on the CPU (``models/optimization_setup.py``). BasicSR's versions need CUDA, unpickle files, or look
for states relative to the working directory (``compat.py`` explains why these are not patches)."""

import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
import zipfile
from os import path as osp

import pytest
import torch

from basicsr_ext.models.training_state import TrainingState
from basicsr_ext.utils.errors import UserError
from basicsr_ext.utils.resume import load_resume_state

from conftest import REPO, free_port


# ----------------------------------------------------------------------------------------------- helpers
def run_python(code, cwd, timeout=300, **extra):
    """``python -c code`` in its own process (a process group, once started, stays for the process's lifetime)."""
    env = dict(os.environ)
    env['PYTHONPATH'] = REPO + os.pathsep + env.get('PYTHONPATH', '')
    env.setdefault('OMP_NUM_THREADS', '1')
    env.update(extra)
    return subprocess.run(
        [sys.executable, '-c', textwrap.dedent(code)],
        cwd=str(cwd),
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class RunsCode:
    """Pickles to ``os.system('touch <marker>')``: unpickling it with plain pickle runs the command."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f'touch {shlex.quote(self.marker)}',)


def bare_model():
    from basicsr.models.base_model import BaseModel

    class Loader(TrainingState, BaseModel):
        """The checkpoint part of ExtSRModel on BasicSR's BaseModel."""

    return Loader({'num_gpu': 0, 'is_train': False, 'dist': False})


def tiny_net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Conv2d(4, 3, 3))


def training_state(iteration):
    """What BasicSR's ``save_training_state`` writes: epoch, iter, optimizer and scheduler state dicts."""
    from basicsr.models.lr_scheduler import MultiStepRestartLR

    net = tiny_net()
    optimizer = torch.optim.Adam(net.parameters(), 1e-3)
    scheduler = MultiStepRestartLR(optimizer, milestones=[100])
    net(torch.rand(1, 3, 8, 8)).mean().backward()
    optimizer.step()
    scheduler.step()
    return {
        'epoch': 0,
        'iter': iteration,
        'optimizers': [optimizer.state_dict()],
        'schedulers': [scheduler.state_dict()],
    }


def save_as_if_on_cuda(obj, path, monkeypatch):
    """``torch.save`` with every storage tagged ``cuda:0``, as a GPU run writes it (no GPU needed)."""
    with monkeypatch.context() as m:
        m.setattr(torch.serialization, '_package_registry', list(torch.serialization._package_registry))
        torch.serialization.register_package(-100, lambda storage: 'cuda:0', lambda storage, location: None)
        torch.save(obj, path)
    with zipfile.ZipFile(path) as archive:
        pickled = archive.read(next(n for n in archive.namelist() if n.endswith('/data.pkl')))
    assert b'cuda:0' in pickled and b'cpu' not in pickled


# ----------------------------------------------------------------------------------------------- resume
@pytest.fixture
def experiment(tmp_path, monkeypatch):
    """``root/experiments/demo`` with training states 4 and 8 (saved from "GPU") and their networks, and a partial 12
    (killed run)."""
    root = tmp_path / 'root'
    exp = root / 'experiments' / 'demo'
    states = exp / 'training_states'
    states.mkdir(parents=True)
    save_as_if_on_cuda(training_state(4), states / '4.state', monkeypatch)
    save_as_if_on_cuda(training_state(8), states / '8.state', monkeypatch)
    (states / '12.state.tmp4242').write_bytes((states / '8.state').read_bytes()[:100])  # killed mid-write
    (exp / 'models').mkdir()
    for iteration in (4, 8):
        torch.save({'params': tiny_net().state_dict()}, exp / 'models' / f'net_g_{iteration}.pth')
    (tmp_path / 'elsewhere').mkdir()
    opt = {
        'name': 'demo',
        'num_gpu': 0,
        'auto_resume': True,
        'is_train': True,
        'network_g': {'type': 'SRCNN'},
        'path': {
            'pretrain_network_g': None,
            'resume_state': None,
            'root': str(root),
            'experiments_root': str(exp),
            'models': str(exp / 'models'),
            'training_states': str(states),
        },
    }
    return root, opt


@pytest.mark.parametrize('cwd', ['root', 'elsewhere'])
def test_resume_auto_resume(experiment, tmp_path, monkeypatch, cwd):
    root, opt = experiment
    monkeypatch.chdir(root if cwd == 'root' else tmp_path / 'elsewhere')
    state = load_resume_state(opt)
    assert state is not None and state['iter'] == 8
    assert opt['path']['resume_state'] == osp.join(opt['path']['training_states'], '8.state')
    adam = state['optimizers'][0]['state'][0]
    assert adam['exp_avg'].device.type == 'cpu' and adam['exp_avg'].shape == (4, 3, 3, 3)
    assert state['schedulers'][0]['milestones'] == {100: 1}
    # BasicSR's check_resume still runs: the networks come from the resumed iteration
    assert opt['path']['pretrain_network_g'] == osp.join(opt['path']['models'], 'net_g_8.pth')


def test_resume_explicit_state(experiment, tmp_path, monkeypatch):
    root, opt = experiment
    monkeypatch.chdir(tmp_path / 'elsewhere')
    opt['auto_resume'] = False
    opt['path']['resume_state'] = osp.join(opt['path']['training_states'], '4.state')
    state = load_resume_state(opt)
    assert state['iter'] == 4 and state['optimizers'][0]['state'][0]['exp_avg'].device.type == 'cpu'
    assert opt['path']['pretrain_network_g'] == osp.join(opt['path']['models'], 'net_g_4.pth')

    opt['path']['resume_state'] = None
    assert load_resume_state(opt) is None


def test_resume_refuses_code(experiment, monkeypatch):
    root, opt = experiment
    monkeypatch.chdir(root)
    marker = root / 'pwned'
    evil = osp.join(opt['path']['training_states'], '16.state')
    torch.save({'epoch': 0, 'iter': 16, 'optimizers': [RunsCode(marker)], 'schedulers': []}, evil)
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')  # torch < 2.6 behaviour: pickle unless told not to
    with pytest.raises(UserError, match=re.escape(f'refusing to load resume state {evil}')):
        load_resume_state(opt)
    assert not marker.exists()


# ----------------------------------------------------------------------------------------------- load_network
@pytest.fixture
def checkpoints(tmp_path):
    """A BasicSR-layout checkpoint (``params`` and ``params_ema``, the latter with DDP's ``module.`` prefix)."""
    params = {k: torch.full_like(v, 1.0) for k, v in tiny_net().state_dict().items()}
    params_ema = {f'module.{k}': torch.full_like(v, 2.0) for k, v in tiny_net().state_dict().items()}
    path = tmp_path / 'net_g_8.pth'
    torch.save({'params': params, 'params_ema': params_ema}, path)
    return path


def test_load_network_basicsr_checkpoint(checkpoints, tmp_path):
    model = bare_model()
    for param_key, value in (('params', 1.0), ('params_ema', 2.0)):
        net = tiny_net()
        model.load_network(net, str(checkpoints), strict=True, param_key=param_key)
        assert all(torch.all(p == value) for p in net.state_dict().values())
    # params_ema missing: BasicSR falls back to params
    only_params = tmp_path / 'only_params.pth'
    torch.save({'params': tiny_net().state_dict()}, only_params)
    net = tiny_net()
    with torch.no_grad():
        net[0].weight.zero_()
    model.load_network(net, str(only_params), param_key='params_ema')
    assert torch.equal(net[0].weight, tiny_net()[0].weight)
    # param_key None: a bare state dict
    bare = tmp_path / 'bare.pth'
    torch.save({k: torch.zeros_like(v) for k, v in tiny_net().state_dict().items()}, bare)
    model.load_network(net, str(bare), param_key=None)
    assert all(torch.all(p == 0) for p in net.state_dict().values())


@pytest.mark.parametrize('torch_default', ['weights_only', 'pickle'])
def test_load_network_refuses_code(tmp_path, monkeypatch, torch_default):
    if torch_default == 'pickle':  # torch < 2.6, or a user who set this to load old checkpoints
        monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    marker = tmp_path / 'pwned'
    evil = tmp_path / 'evil.pth'
    torch.save({'params': RunsCode(marker)}, evil)
    with pytest.raises(UserError) as info:
        bare_model().load_network(tiny_net(), str(evil))
    message = str(info.value)
    assert message.startswith(f'refusing to load network checkpoint {evil}') and '\n' not in message
    assert 'posix.system' in message and 'weights_only=True' in message
    assert not marker.exists()


def test_load_network_missing_param_key(tmp_path):
    path = tmp_path / 'other_layout.pth'
    torch.save({'state_dict': tiny_net().state_dict(), 'meta': {'epoch': 3}}, path)
    with pytest.raises(UserError) as info:
        bare_model().load_network(tiny_net(), str(path), param_key='params')
    message = str(info.value)
    assert str(path) in message and "'params'" in message
    assert "'state_dict'" in message and "'meta'" in message and 'param_key_g' in message


def test_load_network_shape_mismatch(checkpoints):
    wider = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Conv2d(8, 3, 3))
    with pytest.raises(UserError) as info:
        bare_model().load_network(wider, str(checkpoints), strict=True, param_key='params')
    message = str(info.value)
    assert message.startswith(f'{checkpoints} does not fit Sequential (strict=True)')
    assert 'size mismatch' in message and '0.weight' in message and '\n' not in message


def test_load_network_not_a_checkpoint(tmp_path):
    junk = tmp_path / 'junk.pth'
    junk.write_text('not a checkpoint')
    with pytest.raises(UserError, match=re.escape(f'cannot read network checkpoint {junk}: not a torch checkpoint')):
        bare_model().load_network(tiny_net(), str(junk))
    truncated = tmp_path / 'truncated.pth'
    torch.save({'params': tiny_net().state_dict()}, truncated)
    truncated.write_bytes(truncated.read_bytes()[:200])
    with pytest.raises(UserError, match=re.escape(f'cannot read network checkpoint {truncated}')):
        bare_model().load_network(tiny_net(), str(truncated))
    with pytest.raises(UserError, match='network checkpoint not found: .*missing.pth'):
        bare_model().load_network(tiny_net(), str(tmp_path / 'missing.pth'))


# ----------------------------------------------------------------------------------------------- distributed
DIST_SCRIPT = """
import json, os
import basicsr_ext
import torch
import torch.distributed as dist
from basicsr.utils.dist_util import get_dist_info
from basicsr_ext.models.optimization_setup import OptimizationSetup
from basicsr_ext.utils.dist import init_dist
from basicsr.models.base_model import BaseModel

out = {}
init_dist('pytorch', backend='nccl')  # what an option file written for GPUs asks for
out['pytorch'] = [dist.get_backend(), *get_dist_info()]
class Model(OptimizationSetup, BaseModel):
    pass

model = Model({'dist': True, 'num_gpu': 0, 'is_train': False})
net = model.model_to_device(torch.nn.Linear(4, 2))
out['wrapped'] = type(net).__name__
out['device_ids'] = net.device_ids
net(torch.ones(3, 4)).sum().backward()  # gradients are all-reduced through gloo
out['grad'] = net.module.bias.grad.tolist()
dist.destroy_process_group()

init_dist('slurm', backend='nccl', port=int(os.environ['TEST_SLURM_PORT']))
out['slurm'] = [dist.get_backend(), *get_dist_info(), os.environ['MASTER_ADDR'], os.environ['LOCAL_RANK']]
dist.destroy_process_group()
print('RESULT', json.dumps(out))
"""


def test_dist_start_gloo_and_ddp_on_cpu(tmp_path):
    """``--launcher pytorch``/``slurm`` and DDP wrapping on a machine without GPUs (own process: the group stays)."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    scontrol = bin_dir / 'scontrol'
    scontrol.write_text('#!/bin/sh\necho 127.0.0.1\n')  # stands in for `scontrol show hostname <nodelist>`
    scontrol.chmod(0o755)
    env = dict(
        MASTER_ADDR='127.0.0.1',
        MASTER_PORT=str(free_port()),
        RANK='0',
        WORLD_SIZE='1',
        LOCAL_RANK='0',
        SLURM_PROCID='0',
        SLURM_NTASKS='1',
        SLURM_NODELIST='node0',
        CUDA_VISIBLE_DEVICES='',
        PATH=f'{bin_dir}{os.pathsep}{os.environ["PATH"]}',
    )
    result = run_python(DIST_SCRIPT, tmp_path, TEST_SLURM_PORT=str(free_port()), **env)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.split('RESULT', 1)[1])
    assert out['pytorch'] == ['gloo', 0, 1]
    assert out['wrapped'] == 'DistributedDataParallel' and out['device_ids'] is None
    assert out['grad'] == [3.0, 3.0]
    assert out['slurm'] == ['gloo', 0, 1, '127.0.0.1', '0']


def test_option_files_are_yaml_only(tmp_path):
    """mmengine's Config would execute a .py option file (or a .py ``_base_``) as Python."""
    from basicsr_ext.utils.options import resolve_options

    marker = tmp_path / 'pwned'
    evil = tmp_path / 'evil.py'
    evil.write_text(f"{{'name': __import__('os').system('touch {marker}')}}\n")  # also a valid YAML mapping
    with pytest.raises(UserError, match=r'evil\.py: option files are YAML: expected a \.yml or \.yaml file'):
        resolve_options(str(evil))
    child = tmp_path / 'child.yml'
    child.write_text('_base_: evil.py\nname: x\n')
    with pytest.raises(UserError, match=r'evil\.py: option files are YAML'):
        resolve_options(str(child))
    assert not marker.exists()
