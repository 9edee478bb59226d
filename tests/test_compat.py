"""Every patch of :mod:`basicsr_ext.compat`, exercised through BasicSR's own (patched) functions.

What BasicSR does in code the project owns (option loading, resume, distributed start-up, checkpoint loading, DDP
on the CPU) is done by the project's own classes instead, tested in ``test_project_runtime.py``.

Project rule: each patch has a test named ``test_<patch name>...`` that fails when the patch is removed from
``compat.PATCHES`` (``test_every_patch_has_a_test`` enforces the naming); each also shows the failure BasicSR's
code as shipped has without it, so when an upgrade fixes BasicSR the patch can go.
"""

import inspect
import os
import random
import subprocess
import sys
import textwrap

import cv2
import numpy as np
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


# ----------------------------------------------------------------------------------------------- BasicSR data
def make_lmdb(folder):
    """``<folder>.lmdb`` of the images in ``folder``, keys their names without extension (BasicSR's own tool)."""
    from basicsr.utils.lmdb_util import make_lmdb_from_imgs

    names = sorted(os.listdir(folder))
    keys = [os.path.splitext(n)[0] for n in names]
    make_lmdb_from_imgs(folder, f'{folder}.lmdb', names, keys, map_size=2**24)  # its estimate is too small here
    return f'{folder}.lmdb'


def write_png(path, size):
    cv2.imwrite(path, np.zeros((size, size, 3), np.uint8))


def paired_opt(hr, lr, phase='train', **extra):
    """Options of a BasicSR PairedImageDataset on ``hr``/``lr`` (x2, 16 px GT crops without flips)."""
    opt = dict(dataroot_gt=hr, dataroot_lq=lr, io_backend={'type': 'disk'}, scale=2, phase=phase, gt_size=16)
    return {**opt, 'use_hflip': False, 'use_rot': False, **extra}


@pytest.mark.parametrize(
    'case, gt_size, message',
    [
        ('lq_small', 16, '{gt}: LQ image is 6x6, smaller than the crop datasets.train.gt_size 16 / scale 2 = 8'),
        ('scale', 16, '{gt}: GT image is 24x24 but its LQ image is 16x16; expected GT = LQ x scale 2 = 32x32'),
        ('gt_size', 17, 'datasets.train.gt_size: 17 is not a multiple of scale 2 (the GT crop is the LQ crop x scale)'),
    ],
)
def test_basicsr_crop_errors_in_training(tmp_path, case, gt_size, message):
    """A pair that does not fit the crop: a UserError naming the GT file and the sizes (BasicSR: ValueError, or for
    a gt_size that is no multiple of scale a GT crop that is not the LQ crop x scale)."""
    from basicsr.data import paired_image_dataset, transforms
    from basicsr.data.paired_image_dataset import PairedImageDataset

    from basicsr_ext.utils.errors import UserError

    hr, lr = make_pairs(str(tmp_path), 2, 32)
    gt = os.path.join(hr, 'img001.png')
    if case == 'lq_small':
        write_png(gt, 12)
        write_png(os.path.join(lr, 'img001.png'), 6)
    elif case == 'scale':
        write_png(gt, 24)
    dataset = PairedImageDataset(paired_opt(hr, lr, gt_size=gt_size))
    assert paired_image_dataset.paired_random_crop is transforms.paired_random_crop  # the dataset's binding too
    with pytest.raises(UserError) as info:
        dataset[1]
    assert str(info.value) == message.format(gt=gt)

    original = transforms.paired_random_crop.__wrapped__
    shapes = {'lq_small': ((12, 12), (6, 6)), 'scale': ((24, 24), (16, 16)), 'gt_size': ((32, 32), (16, 16))}[case]
    img_gt, img_lq = (np.zeros(shape + (3,), np.float32) for shape in shapes)
    if case == 'gt_size':  # BasicSR crops 8 LQ pixels and 17 (16 at the border) GT pixels: no LQ x scale
        random.seed(0)
        assert {original(img_gt, img_lq, gt_size, 2, gt)[0].shape[0] for _ in range(50)} == {16, 17}
    else:
        with pytest.raises(ValueError):
            original(img_gt, img_lq, gt_size, 2, gt)


def test_basicsr_crop_errors_in_validation(tmp_path):
    """A validation GT smaller than LQ x scale: a UserError naming it (BasicSR crops GT to LQ x scale and the model
    fails on the different tensor sizes)."""
    from basicsr.data.paired_image_dataset import PairedImageDataset

    from basicsr_ext.utils.errors import UserError

    hr, lr = make_pairs(str(tmp_path), 2, 24)
    gt = os.path.join(hr, 'img001.png')
    write_png(gt, 20)
    dataset = PairedImageDataset(paired_opt(hr, lr, phase='val'))
    assert dataset[0]['gt'].shape == (3, 24, 24)
    with pytest.raises(UserError) as info:
        dataset[1]
    assert str(info.value) == f'{gt}: GT image is smaller than its LQ image 12x12 x scale 2 = 24x24'
    item = inspect.unwrap(PairedImageDataset.__getitem__)(dataset, 1)
    assert item['gt'].shape == (3, 20, 20) and item['lq'].shape == (3, 12, 12)


@pytest.mark.parametrize('case', ['hr_only', 'lr_only', 'renamed', 'empty'])
def test_basicsr_pairing_errors_folders(tmp_path, case):
    """Unpaired LQ/GT folders: a UserError naming both folders and the names (BasicSR: AssertionError naming no
    folder; two empty folders: an empty dataset)."""
    import shutil

    from basicsr.data import data_util
    from basicsr.data.paired_image_dataset import PairedImageDataset

    from basicsr_ext.utils.errors import UserError

    hr, lr = make_pairs(str(tmp_path), 3, 16)
    tmpl = "(filename_tmpl '{}')"
    if case == 'hr_only':
        os.remove(os.path.join(lr, 'img001.png'))
        message = f'{hr}: 1 image has no match in {lr} {tmpl}: img001.png'
    elif case == 'lr_only':
        os.remove(os.path.join(hr, 'img001.png'))
        os.remove(os.path.join(hr, 'img002.png'))
        message = f'{lr}: 2 images have no match in {hr} {tmpl}: img001.png, img002.png'
    elif case == 'renamed':
        os.rename(os.path.join(lr, 'img001.png'), os.path.join(lr, 'img001x2.png'))
        message = (
            f'{hr}: 1 image has no match in {lr} {tmpl}: img001.png; {lr}: 1 image has no match in {hr}: img001x2.png'
        )
    else:
        for folder in (hr, lr):
            shutil.rmtree(folder)
            os.makedirs(folder)
        message = f'{hr}: no images in the GT folder (dataroot_gt) of a paired dataset'
    with pytest.raises(UserError) as info:
        PairedImageDataset(paired_opt(hr, lr))
    assert str(info.value) == message

    original = data_util.paired_paths_from_folder.__wrapped__
    if case == 'empty':
        assert original([lr, hr], ['lq', 'gt'], '{}') == []
    else:
        with pytest.raises(AssertionError):
            original([lr, hr], ['lq', 'gt'], '{}')


def test_basicsr_pairing_errors_meta_info_file(tmp_path):
    """A meta_info_file listing an image that is not there: a UserError naming it (BasicSR: FileNotFoundError when
    the sample is read)."""
    from basicsr.data import data_util
    from basicsr.data.paired_image_dataset import PairedImageDataset

    from basicsr_ext.utils.errors import UserError

    hr, lr = make_pairs(str(tmp_path), 2, 16)
    meta = str(tmp_path / 'meta_info.txt')
    open(meta, 'w').write('img000.png (16,16,3)\nimg001.png (16,16,3)\n')
    os.remove(os.path.join(lr, 'img001.png'))
    with pytest.raises(UserError) as info:
        PairedImageDataset(paired_opt(hr, lr, meta_info_file=meta))
    assert str(info.value) == f"{meta}: 1 image is listed there but not in {lr} (filename_tmpl '{{}}'): img001.png"
    paths = data_util.paired_paths_from_meta_info_file.__wrapped__([lr, hr], ['lq', 'gt'], meta, '{}')
    assert not os.path.exists(paths[1]['lq_path'])


@pytest.mark.parametrize('case', ['plain', 'no_data', 'empty_data', 'no_meta', 'keys_differ'])
def test_basicsr_lmdb_errors_folders(tmp_path, case):
    """An LMDB dataroot that is not one, or not BasicSR's: a UserError naming it and what is wrong (BasicSR:
    ValueError, FileNotFoundError, lmdb.Error)."""
    from basicsr.data import data_util
    from basicsr.data.paired_image_dataset import PairedImageDataset

    from basicsr_ext.utils.errors import UserError

    hr, lr = make_pairs(str(tmp_path), 2, 16)
    gt, lq = make_lmdb(hr), make_lmdb(lr)
    raw = (ValueError, FileNotFoundError)
    if case == 'plain':
        gt = hr
        message = f'{hr}: not an LMDB database (no data.mdb), but io_backend type is lmdb'
    elif case == 'no_data':
        os.remove(os.path.join(gt, 'data.mdb'))
        message = f'{gt}: not an LMDB database (no data.mdb), but io_backend type is lmdb'
    elif case == 'empty_data':
        open(os.path.join(gt, 'data.mdb'), 'wb').close()
        message = f'{gt}: damaged LMDB: data.mdb is empty (0 bytes)'
    elif case == 'no_meta':
        os.remove(os.path.join(gt, 'meta_info.txt'))
        message = f'{gt}: no meta_info.txt (the keys BasicSR reads, one "<key>.png (h,w,c) 1" a line)'
    else:
        with open(os.path.join(lq, 'meta_info.txt'), 'a') as f:
            f.write('img007.png (8,8,3) 1\n')
        message = f'{lq}: 1 meta_info.txt key has no match in {gt}: img007'
    with pytest.raises(UserError) as info:
        PairedImageDataset(paired_opt(gt, lq, io_backend={'type': 'lmdb'}))
    assert str(info.value) == message

    original = data_util.paired_paths_from_lmdb.__wrapped__
    if case in ('no_data', 'empty_data'):  # BasicSR fails when the first sample is read
        import lmdb
        from basicsr.utils.file_client import LmdbBackend

        original([lq, gt], ['lq', 'gt'])
        with pytest.raises(lmdb.Error):
            LmdbBackend.__init__.__wrapped__(object.__new__(LmdbBackend), [lq, gt], ['lq', 'gt'])
    else:
        with pytest.raises(raw):
            original([lq, gt], ['lq', 'gt'])


def test_basicsr_lmdb_errors_damaged_database(tmp_path):
    """A data.mdb that is no LMDB: a UserError naming the folder with lmdb's message (BasicSR: lmdb.InvalidError)."""
    import lmdb
    from basicsr.utils.file_client import LmdbBackend

    from basicsr_ext.utils.errors import UserError

    hr, _ = make_pairs(str(tmp_path), 1, 16)
    gt = make_lmdb(hr)
    open(os.path.join(gt, 'data.mdb'), 'wb').write(b'not an lmdb' * 1000)
    with pytest.raises(UserError) as info:
        LmdbBackend([gt], ['gt'])
    assert str(info.value) == f'{gt}: damaged LMDB: MDB_INVALID: File is not an LMDB file'
    with pytest.raises(lmdb.InvalidError):
        LmdbBackend.__init__.__wrapped__(object.__new__(LmdbBackend), [gt], ['gt'])


def test_basicsr_lmdb_errors_key_not_in_database(tmp_path):
    """A key of meta_info.txt the database lacks: a UserError naming the folder and key (BasicSR: TypeError, a
    bytes-like object is required, not 'NoneType')."""
    from basicsr.data.paired_image_dataset import PairedImageDataset
    from basicsr.utils import img_util

    from basicsr_ext.utils.errors import UserError

    hr, lr = make_pairs(str(tmp_path), 2, 16)
    gt, lq = make_lmdb(hr), make_lmdb(lr)
    for folder in (gt, lq):
        with open(os.path.join(folder, 'meta_info.txt'), 'a') as f:
            f.write('img009.png (16,16,3) 1\n')
    dataset = PairedImageDataset(paired_opt(gt, lq, phase='val', io_backend={'type': 'lmdb'}))
    assert dataset[0]['gt'].shape == (3, 16, 16)  # sorted keys: img000, img001, img009
    with pytest.raises(UserError) as info:
        dataset[2]
    assert str(info.value) == f"{gt}: key 'img009' listed in meta_info.txt is not in the database"
    with pytest.raises(TypeError, match='NoneType'):
        img_util.imfrombytes.__wrapped__(None, float32=True)


# ----------------------------------------------------------------------------------------------- missing keys
def test_basicsr_dataset_key_errors_name_the_entry_and_key(tmp_path):
    """A train entry without gt_size: BasicSR's PairedImageDataset raises a bare KeyError('gt_size') from
    __getitem__ (and one without io_backend from __init__); patched, a UserError naming the entry and the key."""
    from basicsr.data.paired_image_dataset import PairedImageDataset

    from basicsr_ext.utils.errors import UserError

    from conftest import make_pairs

    hr, lr = make_pairs(str(tmp_path), 2, 16)
    opt = {'name': 'Tiny', 'phase': 'train', 'scale': 2, 'dataroot_gt': hr, 'dataroot_lq': lr}
    with pytest.raises(UserError, match=r"^datasets\.train \(Tiny\): missing required key 'io_backend' "):
        PairedImageDataset(dict(opt))
    dataset = PairedImageDataset(dict(opt, io_backend={'type': 'disk'}, use_hflip=True, use_rot=True))
    expected = "datasets.train (Tiny): missing required key 'gt_size' (PairedImageDataset reads it)"
    with pytest.raises(UserError) as err:
        dataset[0]
    assert str(err.value) == expected
    with pytest.raises(KeyError, match='gt_size'):  # BasicSR's own behaviour
        inspect.unwrap(PairedImageDataset.__getitem__)(dataset, 0)


# ----------------------------------------------------------------------------------------------- networks
def test_basicsr_network_errors_name_the_key_and_arch():
    """An arch constructor refusing a value: BasicSR's build_network lets its ValueError through (a traceback);
    patched, SRModel's build of network_g is a UserError naming the key and the arch."""
    import basicsr.archs as archs
    from basicsr.models import sr_model

    from basicsr_ext.utils.errors import UserError

    net_opt = {'type': 'SRCNN', 'num_in_ch': 3, 'num_out_ch': 3, 'upsample': 'cubic'}
    with pytest.raises(ValueError, match="upsample must be 'bicubic' or 'none'"):
        archs.build_network.__wrapped__(net_opt)
    assert sr_model.build_network is archs.build_network  # the name SRModel calls is the patched one

    def model_init(opt):  # as SRModel.__init__ calls it
        return sr_model.build_network(opt['network_g'])

    with pytest.raises(UserError) as err:
        model_init({'network_g': net_opt})
    assert str(err.value) == (
        "network_g: SRCNN refused its arguments: SRCNN upsample must be 'bicubic' or 'none', got 'cubic'"
    )


def test_declare_basicsr_option_keys():
    """BasicSR's models and datasets get the keys they read declared (no source scanning); every name of the tables
    is a registered class, and a misspelt key of a BasicSR dataset is named with the right one."""
    from basicsr.utils.registry import DATASET_REGISTRY, MODEL_REGISTRY

    from basicsr_ext import compat_options
    from basicsr_ext.utils.option_check import lookup, option_problems

    for registry, table in ((MODEL_REGISTRY, compat_options.MODELS), (DATASET_REGISTRY, compat_options.DATASETS)):
        for name, keys in table.items():
            declared = lookup(registry, name).option_keys
            assert (tuple(declared.model_fields) if isinstance(declared, type) else declared) == keys, name
    entry = {'type': 'PairedImageDataset', 'name': 'x', 'io_backend': {'type': 'disk'}, 'colour': 'y'}
    opt = {'name': 'x', 'model_type': 'SRModel', 'network_g': {'type': 'SRCNN'}, 'datasets': {'test': entry}}
    assert list(option_problems(opt, is_train=False))[:1] == [
        ('datasets.test.colour', 'unknown key (did you mean color?); keys of your own go under the top-level extra: '
         'mapping')
    ]  # fmt: skip
