"""Every patch of :mod:`basicsr_ext.compat`, exercised through BasicSR's own (patched) functions.

What BasicSR does in code the project owns (option loading, resume, distributed start-up, checkpoint loading, DDP
on the CPU) is done by the project's own classes instead, tested in ``test_project_runtime.py``.

Project rule: each patch has a test named ``test_<patch name>...`` that fails when the patch is removed from
``compat.PATCHES`` (``test_every_patch_has_a_test`` enforces the naming); each also shows the failure BasicSR's
code as shipped has without it, so when an upgrade fixes BasicSR the patch can go.
"""

import os
import subprocess
import sys
import textwrap

import pytest
import torch

import basicsr_ext  # noqa: F401  (applies the patches before anything imports basicsr)
from basicsr_ext import compat

from conftest import REPO, make_pairs, realesr_batch, realesr_options

NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason='BasicSR fails this way only on machines without CUDA')


# ----------------------------------------------------------------------------------------------- helpers
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


# ----------------------------------------------------------------------------------------------- BasicSR images
@pytest.mark.parametrize('damage', ['garbage', 'empty'])
def test_basicsr_image_errors_name_the_file(tmp_path, damage):
    """A damaged PNG among BasicSR PairedImageDataset's pairs: a UserError naming it (BasicSR: AttributeError)."""
    from basicsr.data.paired_image_dataset import PairedImageDataset

    from basicsr_ext.utils.errors import UserError

    hr, lr = make_pairs(str(tmp_path), 2, 32)
    bad = os.path.join(hr, 'img001.png')
    open(bad, 'wb').write(b'not a png' if damage == 'garbage' else b'')
    opt = {'dataroot_gt': hr, 'dataroot_lq': lr, 'io_backend': {'type': 'disk'}, 'scale': 2, 'phase': 'val'}
    dataset = PairedImageDataset(opt)
    assert dataset[0]['gt'].shape == (3, 32, 32)  # intact pairs read as before
    with pytest.raises(UserError) as info:
        dataset[1]
    assert str(info.value) == f'{bad}: cannot read the image (empty, damaged, or not an image)'
