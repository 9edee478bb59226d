"""Every patch of :mod:`basicsr_ext.compat`, exercised through BasicSR's own (patched) functions.

Project rule: each patch has a test named ``test_<patch name>...`` that fails when the patch is removed from
``compat.PATCHES`` (``test_every_patch_has_a_test`` enforces the naming). The ``test_unpatched_...`` tests run
BasicSR's code as shipped (a fresh copy of the module executed from its file, see :func:`pristine`) and show the
failure each patch exists for; when one of them starts failing, an upgrade fixed BasicSR and the patch can go.
"""

import importlib.util
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import textwrap
import zipfile
from collections import OrderedDict
from os import path as osp

import pytest
import torch
import yaml

import basicsr_ext  # noqa: F401  (applies the patches before anything imports basicsr)
from basicsr_ext import compat
from basicsr_ext.utils.errors import UserError

from conftest import REPO, realesr_batch, realesr_options

NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason='BasicSR fails this way only on machines without CUDA')


# ----------------------------------------------------------------------------------------------- helpers
def pristine(module_name):
    """A fresh copy of a BasicSR module executed from its file: BasicSR's code as shipped, no compat patch."""
    module = importlib.import_module(module_name)
    spec = importlib.util.spec_from_file_location(f'_pristine_{module_name.replace(".", "_")}', module.__file__)
    copy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(copy)
    return copy


def python_env(**extra):
    env = dict(os.environ)
    env['PYTHONPATH'] = REPO + os.pathsep + env.get('PYTHONPATH', '')
    env.setdefault('OMP_NUM_THREADS', '1')
    env.update(extra)
    return env


def run_pythons(*codes, cwd, timeout=300, **env):
    """Run ``python -c code`` for each code concurrently (imports dominate: ~6 s each) and return the results."""
    procs = [
        subprocess.Popen(
            [sys.executable, '-c', textwrap.dedent(code)],
            cwd=str(cwd),
            env=python_env(**env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for code in codes
    ]
    results = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=timeout)
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr))
    return results


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class RunsCode:
    """Pickles to ``os.system('touch <marker>')``: unpickling it with plain pickle runs the command."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f'touch {shlex.quote(self.marker)}',)


def bare_model():
    from basicsr.models.base_model import BaseModel

    return BaseModel({'num_gpu': 0, 'is_train': False, 'dist': False})


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


def test_every_patch_has_a_test():
    tests = [name for name in globals() if name.startswith('test_')]
    for patch in compat.PATCHES:
        assert any(name.startswith(f'test_{patch.__name__}') for name in tests), f'no test for {patch.__name__}'


# ----------------------------------------------------------------------------------------------- torchvision
def test_torchvision_functional_tensor_import(tmp_path):
    bare, patched = run_pythons(
        'import basicsr',
        """
        import basicsr_ext, basicsr
        from basicsr.data import degradations
        print('imported', degradations.rgb_to_grayscale.__module__)
        """,
        cwd=tmp_path,
    )
    # BasicSR as shipped cannot be imported on torchvision >= 0.17 ...
    assert bare.returncode != 0
    assert "ModuleNotFoundError: No module named 'torchvision.transforms.functional_tensor'" in bare.stderr
    # ... and can once basicsr_ext is imported first
    assert patched.returncode == 0, patched.stderr[-3000:]
    assert 'imported torchvision.transforms' in patched.stdout


def test_torchvision_functional_tensor_degradations():
    from basicsr.data import degradations
    from torchvision.transforms import functional

    img = torch.rand(2, 3, 16, 16)
    gray = degradations.rgb_to_grayscale(img, num_output_channels=1)
    assert torch.equal(gray, functional.rgb_to_grayscale(img, num_output_channels=1))
    # gray poisson noise goes through rgb_to_grayscale: the noise is the same in every channel
    torch.manual_seed(0)
    noise = degradations.generate_poisson_noise_pt(img, scale=1.0, gray_noise=1)
    assert noise.shape == img.shape
    assert torch.equal(noise[:, 0], noise[:, 1]) and torch.equal(noise[:, 1], noise[:, 2])
    noisy = degradations.add_poisson_noise_pt(img, scale=0.5, gray_noise=torch.ones(2))
    assert noisy.shape == img.shape and 0 <= noisy.min() and noisy.max() <= 1


# ----------------------------------------------------------------------------------------------- safe YAML
BASICSR_OPTIONS = """\
# an option file in BasicSR's own style
name: 001_MSRResNet_x4
model_type: SRModel
scale: 4
num_gpu: 0
datasets:
  train:
    name: DIV2K
    type: PairedImageDataset
    gt_size: 128
network_g:
  type: MSRResNet
  num_feat: 64
train:
  optim_g:
    type: Adam
    lr: !!float 2e-4
    betas: [0.9, 0.99]
  scheduler:
    type: CosineAnnealingRestartLR
    periods: [250000]
    eta_min: !!float 1e-7
"""


@pytest.mark.parametrize('payload', ['os.getcwd []', 'os.system ["touch {marker}"]'])
def test_safe_yaml_basicsr_ordered_yaml_refuses_python_tags(tmp_path, payload):
    from basicsr.utils.options import ordered_yaml

    marker = tmp_path / 'pwned'
    text = f'name: !!python/object/apply:{payload.format(marker=marker)}\nscale: 2\n'
    with pytest.raises(yaml.YAMLError, match='python/object/apply'):
        yaml.load(text, Loader=ordered_yaml()[0])
    assert not marker.exists()


def test_safe_yaml_basicsr_parse_options_refuses_python_tags(tmp_path, monkeypatch):
    """BasicSR's own entry point (``basicsr.utils.options.parse_options``) reads the file with the safe loader."""
    from basicsr.utils import options as bs_options

    marker = tmp_path / 'pwned'
    opt_file = tmp_path / 'evil.yml'
    opt_file.write_text(
        BASICSR_OPTIONS.replace('name: 001_MSRResNet_x4', f'name: !!python/object/apply:os.system ["touch {marker}"]')
    )
    monkeypatch.setattr(sys, 'argv', ['basicsr/train.py', '-opt', str(opt_file)])
    with pytest.raises(yaml.YAMLError, match='python/object/apply:os.system'):
        bs_options.parse_options(str(tmp_path), is_train=True)
    assert not marker.exists()


def test_safe_yaml_basicsr_ordered_yaml_loads_option_files():
    from basicsr.utils.options import ordered_yaml

    loader, dumper = ordered_yaml()
    opt = yaml.load(BASICSR_OPTIONS, Loader=loader)
    assert type(opt) is OrderedDict and type(opt['train']['optim_g']) is OrderedDict
    assert list(opt) == ['name', 'model_type', 'scale', 'num_gpu', 'datasets', 'network_g', 'train']
    assert opt['train']['optim_g']['lr'] == 2e-4 and isinstance(opt['train']['optim_g']['lr'], float)
    assert opt['train']['scheduler']['eta_min'] == 1e-7
    assert opt['train']['optim_g']['betas'] == [0.9, 0.99]
    # BasicSR dumps OrderedDicts with the matching dumper: a plain mapping, in order, that loads back the same
    text = yaml.dump(opt, Dumper=dumper)
    assert '!!' not in text
    assert yaml.load(text, Loader=loader) == opt


def test_safe_yaml_mmengine_config_refuses_python_tags(tmp_path):
    from mmengine.config import Config
    from mmengine.fileio import load

    marker = tmp_path / 'pwned'
    evil = tmp_path / 'evil.yml'
    evil.write_text(f'scale: 2\nname: !!python/object/apply:os.system ["touch {marker}"]\n')
    child = tmp_path / 'child.yml'
    child.write_text('_base_: evil.yml\nscale: 4\n')
    for call in (lambda: Config.fromfile(str(evil)), lambda: Config.fromfile(str(child)), lambda: load(str(evil))):
        with pytest.raises(yaml.YAMLError, match='python/object/apply:os.system'):
            call()
    assert not marker.exists()

    getcwd = tmp_path / 'getcwd.yml'
    getcwd.write_text('name: !!python/object/apply:os.getcwd []\n')
    with pytest.raises(yaml.YAMLError, match='python/object/apply:os.getcwd'):
        Config.fromfile(str(getcwd))


def test_safe_yaml_mmengine_config_loads_option_files(tmp_path):
    from mmengine.config import Config

    (tmp_path / 'base.yml').write_text(BASICSR_OPTIONS)
    (tmp_path / 'child.yml').write_text('_base_: base.yml\nname: 002_child\ntrain:\n  optim_g:\n    lr: !!float 1e-4\n')
    cfg = Config.fromfile(str(tmp_path / 'child.yml')).to_dict()
    assert cfg['name'] == '002_child' and cfg['scale'] == 4
    assert cfg['train']['optim_g'] == {'type': 'Adam', 'lr': 1e-4, 'betas': [0.9, 0.99]}
    assert cfg['train']['scheduler']['eta_min'] == 1e-7


def test_unpatched_ordered_yaml_runs_python_tags(tmp_path):
    loader = pristine('basicsr.utils.options').ordered_yaml()[0]
    marker = tmp_path / 'pwned'
    opt = yaml.load(f'name: !!python/object/apply:os.system ["touch {marker}"]\n', Loader=loader)
    assert marker.exists() and opt['name'] == 0


# ----------------------------------------------------------------------------------------------- resume
@pytest.fixture
def experiment(tmp_path, monkeypatch):
    """``root/experiments/demo`` with training states 4 and 8 (saved from "GPU") and a partial 12 (killed run)."""
    root = tmp_path / 'root'
    exp = root / 'experiments' / 'demo'
    states = exp / 'training_states'
    states.mkdir(parents=True)
    save_as_if_on_cuda(training_state(4), states / '4.state', monkeypatch)
    save_as_if_on_cuda(training_state(8), states / '8.state', monkeypatch)
    (states / '12.state.tmp4242').write_bytes((states / '8.state').read_bytes()[:100])  # killed mid-write
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
def test_resume_on_cpu_auto_resume(experiment, tmp_path, monkeypatch, cwd):
    import basicsr.train as bs_train

    root, opt = experiment
    monkeypatch.chdir(root if cwd == 'root' else tmp_path / 'elsewhere')
    state = bs_train.load_resume_state(opt)
    assert state is not None and state['iter'] == 8
    assert opt['path']['resume_state'] == osp.join(opt['path']['training_states'], '8.state')
    adam = state['optimizers'][0]['state'][0]
    assert adam['exp_avg'].device.type == 'cpu' and adam['exp_avg'].shape == (4, 3, 3, 3)
    assert state['schedulers'][0]['milestones'] == {100: 1}
    # BasicSR's check_resume still runs: the networks come from the resumed iteration
    assert opt['path']['pretrain_network_g'] == osp.join(opt['path']['models'], 'net_g_8.pth')


def test_resume_on_cpu_explicit_state(experiment, tmp_path, monkeypatch):
    import basicsr.train as bs_train

    root, opt = experiment
    monkeypatch.chdir(tmp_path / 'elsewhere')
    opt['auto_resume'] = False
    opt['path']['resume_state'] = osp.join(opt['path']['training_states'], '4.state')
    state = bs_train.load_resume_state(opt)
    assert state['iter'] == 4 and state['optimizers'][0]['state'][0]['exp_avg'].device.type == 'cpu'
    assert opt['path']['pretrain_network_g'] == osp.join(opt['path']['models'], 'net_g_4.pth')

    opt['path']['resume_state'] = None
    assert bs_train.load_resume_state(opt) is None


def test_resume_on_cpu_refuses_code(experiment, monkeypatch):
    import basicsr.train as bs_train

    root, opt = experiment
    monkeypatch.chdir(root)
    marker = root / 'pwned'
    evil = osp.join(opt['path']['training_states'], '16.state')
    torch.save({'epoch': 0, 'iter': 16, 'optimizers': [RunsCode(marker)], 'schedulers': []}, evil)
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')  # torch < 2.6 behaviour: pickle unless told not to
    with pytest.raises(UserError, match=re.escape(f'refusing to load resume state {evil}')):
        bs_train.load_resume_state(opt)
    assert not marker.exists()


@NO_CUDA
def test_unpatched_load_resume_state_needs_cuda(experiment, monkeypatch):
    load_resume_state = pristine('basicsr.train').load_resume_state
    root, opt = experiment
    monkeypatch.chdir(root)  # BasicSR looks for experiments/<name>/training_states under the working directory
    with pytest.raises((RuntimeError, AssertionError), match='NVIDIA|CUDA'):  # torch.cuda.current_device()
        load_resume_state(opt)


def test_unpatched_load_resume_state_ignores_experiment_path(experiment, tmp_path, monkeypatch):
    load_resume_state = pristine('basicsr.train').load_resume_state
    root, opt = experiment
    monkeypatch.chdir(tmp_path / 'elsewhere')
    assert load_resume_state(opt) is None  # silently starts from scratch


# ----------------------------------------------------------------------------------------------- load_network
@pytest.fixture
def checkpoints(tmp_path):
    """A BasicSR-layout checkpoint (``params`` and ``params_ema``, the latter with DDP's ``module.`` prefix)."""
    params = {k: torch.full_like(v, 1.0) for k, v in tiny_net().state_dict().items()}
    params_ema = {f'module.{k}': torch.full_like(v, 2.0) for k, v in tiny_net().state_dict().items()}
    path = tmp_path / 'net_g_8.pth'
    torch.save({'params': params, 'params_ema': params_ema}, path)
    return path


def test_load_network_weights_only_basicsr_checkpoint(checkpoints, tmp_path):
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
def test_load_network_weights_only_refuses_code(tmp_path, monkeypatch, torch_default):
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


def test_load_network_weights_only_missing_param_key(tmp_path):
    path = tmp_path / 'other_layout.pth'
    torch.save({'state_dict': tiny_net().state_dict(), 'meta': {'epoch': 3}}, path)
    with pytest.raises(UserError) as info:
        bare_model().load_network(tiny_net(), str(path), param_key='params')
    message = str(info.value)
    assert str(path) in message and "'params'" in message
    assert "'state_dict'" in message and "'meta'" in message and 'param_key_g' in message


def test_load_network_weights_only_shape_mismatch(checkpoints):
    wider = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Conv2d(8, 3, 3))
    with pytest.raises(UserError) as info:
        bare_model().load_network(wider, str(checkpoints), strict=True, param_key='params')
    message = str(info.value)
    assert message.startswith(f'{checkpoints} does not fit Sequential (strict=True)')
    assert 'size mismatch' in message and '0.weight' in message and '\n' not in message


def test_load_network_weights_only_not_a_checkpoint(tmp_path):
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


@pytest.mark.filterwarnings('ignore:Environment variable TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD')
def test_unpatched_load_network_runs_pickled_code(tmp_path, monkeypatch):
    original = pristine('basicsr.models.base_model').BaseModel.load_network
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    marker = tmp_path / 'pwned'
    evil = tmp_path / 'evil.pth'
    torch.save({'params': RunsCode(marker)}, evil)
    with pytest.raises(AttributeError):  # the payload ran; its result (an int) is no state dict
        original(bare_model(), tiny_net(), str(evil))
    assert marker.exists()


# ----------------------------------------------------------------------------------------------- distributed
DIST_SCRIPT = """
import json, os
import basicsr_ext
import torch
import torch.distributed as dist
from basicsr.models.base_model import BaseModel
from basicsr.utils.dist_util import get_dist_info, init_dist

out = {}
init_dist('pytorch', backend='nccl')  # what an option file written for GPUs asks for
out['pytorch'] = [dist.get_backend(), *get_dist_info()]
model = BaseModel({'dist': True, 'num_gpu': 0, 'is_train': True})
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


def test_dist_on_cpu_gloo_and_ddp(tmp_path):
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
    (result,) = run_pythons(DIST_SCRIPT, cwd=tmp_path, TEST_SLURM_PORT=str(free_port()), **env)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.split('RESULT', 1)[1])
    assert out['pytorch'] == ['gloo', 0, 1]
    assert out['wrapped'] == 'DistributedDataParallel' and out['device_ids'] is None
    assert out['grad'] == [3.0, 3.0]
    assert out['slurm'] == ['gloo', 0, 1, '127.0.0.1', '0']


@NO_CUDA
def test_unpatched_dist_needs_cuda(monkeypatch):
    dist_util = pristine('basicsr.utils.dist_util')
    monkeypatch.setenv('RANK', '0')
    with pytest.raises(ZeroDivisionError):  # rank % torch.cuda.device_count()
        dist_util._init_dist_pytorch('gloo')
    model_to_device = pristine('basicsr.models.base_model').BaseModel.model_to_device
    model = bare_model()
    model.opt['dist'] = True
    with pytest.raises((RuntimeError, AssertionError), match='NVIDIA|CUDA'):  # device_ids=[torch.cuda.current_device()]
        model_to_device(model, torch.nn.Linear(4, 2))


# ----------------------------------------------------------------------------------------------- Real-ESR models
@pytest.mark.parametrize('model_type', ['RealESRNetModel', 'RealESRGANModel'])
def test_realesr_models_on_device_train_on_cpu(model_type):
    from basicsr.models import build_model

    torch.manual_seed(0)
    opt = realesr_options(model_type)
    if model_type == 'RealESRGANModel':
        opt['network_d'] = {'type': 'UNetDiscriminatorSN', 'num_in_ch': 3, 'num_feat': 8, 'skip_connection': True}
        opt['train'].update(
            optim_d={'type': 'Adam', 'lr': 1e-4},
            gan_opt={'type': 'GANLoss', 'gan_type': 'vanilla', 'loss_weight': 0.1},
            net_d_iters=1,
            net_d_init_iters=0,
        )
        opt['path']['pretrain_network_d'] = None
        opt.update(l1_gt_usm=True, percep_gt_usm=True, gan_gt_usm=False)
    model = build_model(opt)  # BasicSR's own __init__ calls .cuda() here
    assert {t.device.type for t in [*model.jpeger.buffers(), *model.usm_sharpener.buffers()]} == {'cpu'}
    data = realesr_batch()
    before = [p.clone() for p in model.net_g.parameters()]
    for it in (1, 2, 3):  # the 2-sample pool of size 4 fills in two steps; the third dequeues
        model.feed_data(data)
        assert model.lq.shape == (2, 3, 8, 8) and model.gt.shape == (2, 3, 32, 32)
        model.optimize_parameters(it)
    assert model.queue_lr.device.type == 'cpu' and model.queue_ptr == 4
    assert any(not torch.equal(a, b) for a, b in zip(before, model.net_g.parameters()))
