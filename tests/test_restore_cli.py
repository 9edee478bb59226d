"""scripts/restore.py with Real-ESRGAN's flags, recursive folders, output names and formats, AOS stacks, and the
restorer's tile halving when memory runs out; tiny networks made here."""

import csv

import cv2
import numpy as np
import pytest
import torch
from test_restore import SRCNN, image, save_net

from basicsr_ext.aos.focal_stack import write_focal_stack
from basicsr_ext.inference.restorer import Restorer
from basicsr_ext.utils.errors import UserError

from conftest import run_script, write_yaml


@pytest.fixture(scope='module')
def srcnn(tmp_path_factory):
    root = tmp_path_factory.mktemp('srcnn_cli')
    opt = write_yaml(root / 'train.yml', {'name': 'x', 'model_type': 'ExtSRModel', 'scale': 2, 'network_g': SRCNN})
    return ['-n', save_net(root / 'net_g_8.pth', SRCNN), '--opt', str(opt)]


def test_real_esrgan_flags_outscale_suffix_and_ext_auto(srcnn, tmp_path):
    (tmp_path / 'in').mkdir()
    cv2.imwrite(str(tmp_path / 'in' / 'photo.jpg'), image((20, 24, 3)))
    cv2.imwrite(str(tmp_path / 'in' / 'grey.png'), image((16, 18), seed=1))
    argv = [*srcnn, '-i', tmp_path / 'in', '-o', tmp_path / 'out', '-s', '3', '--suffix', 'out', '--ext', 'auto']
    run = run_script('restore', [*argv, '-t', '16', '--fp32'])
    assert run.returncode == 0, run.stderr
    photo = cv2.imread(str(tmp_path / 'out' / 'photo_out.jpg'), cv2.IMREAD_UNCHANGED)
    grey = cv2.imread(str(tmp_path / 'out' / 'grey_out.png'), cv2.IMREAD_UNCHANGED)
    assert photo.shape == (60, 72, 3) and grey.shape == (48, 54)  # x3: the x2 output resized by Lanczos
    assert 'output resized from x2 to x3 by Lanczos interpolation (--outscale)' in run.stdout
    net_scale = run_script('restore', [*srcnn, '--input', tmp_path / 'in', '--output', tmp_path / 'x2'])
    assert net_scale.returncode == 0 and read_shape(tmp_path / 'x2' / 'photo.png') == (40, 48, 3)


def read_shape(path):
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED).shape


def test_recursive_folders_keep_their_subfolders(srcnn, tmp_path):
    (tmp_path / 'in' / 'a' / 'b').mkdir(parents=True)
    cv2.imwrite(str(tmp_path / 'in' / 'top.png'), image((12, 12, 3)))
    cv2.imwrite(str(tmp_path / 'in' / 'a' / 'b' / 'deep.png'), image((12, 12, 3), seed=2))
    run = run_script('restore', [*srcnn, '-i', tmp_path / 'in', '-o', tmp_path / 'out', '--recursive'])
    assert run.returncode == 0, run.stderr
    assert (
        read_shape(tmp_path / 'out' / 'a' / 'b' / 'deep.png') == (24, 24, 3) and (tmp_path / 'out' / 'top.png').exists()
    )
    flat = run_script('restore', [*srcnn, '-i', tmp_path / 'in', '-o', tmp_path / 'flat'])
    assert flat.returncode == 0 and not (tmp_path / 'flat' / 'a').exists()  # one level without --recursive
    (tmp_path / 'empty' / 'sub').mkdir(parents=True)
    none = run_script('restore', [*srcnn, '-i', tmp_path / 'empty', '-o', tmp_path / 'o2', '-r'])
    assert none.returncode == 2 and 'no images in it or its subfolders' in none.stderr


@pytest.mark.parametrize(
    'extra, message',
    [
        (['--fp32', '--precision', 'fp16'], '--fp32 and --precision fp16: give one'),
        (['-s', '0'], '--outscale: expected a scale > 0, got 0'),
        (['--ext', 'jpg'], 'JPEG holds 8 bits (use png or tiff)'),
    ],
)
def test_flag_mistakes_are_one_line(srcnn, tmp_path, extra, message):
    (tmp_path / 'in').mkdir()
    cv2.imwrite(str(tmp_path / 'in' / 'deep.png'), image((12, 12, 3), dtype=np.uint16))
    run = run_script('restore', [*srcnn, '-i', tmp_path / 'in' / 'deep.png', '-o', tmp_path / 'out', *extra])
    assert run.returncode == 2 and message in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert not (tmp_path / 'out' / 'deep.jpg').exists()


def test_restore_takes_aos_focal_stacks_as_aos_restore_does(tmp_path):
    (tmp_path / 'stacks').mkdir()
    rng = np.random.default_rng(0)
    stack = np.clip(100 + 20 * rng.standard_normal((3, 48, 48)), 0, 255).astype(np.uint8)
    stack[:, 20:30, 20:26] = 230
    write_focal_stack(str(tmp_path / 'stacks' / 'a.tiff'), stack, [0.0, 0.4, 0.8])
    run = run_script('restore', ['-n', 'aos_person', '-i', tmp_path / 'stacks', '-o', tmp_path / 'out'])
    alias = run_script('aos_restore', ['-i', tmp_path / 'stacks', '-o', tmp_path / 'alias'])
    assert run.returncode == 0 and alias.returncode == 0, run.stderr + alias.stderr
    assert np.array_equal(cv2.imread(str(tmp_path / 'out' / 'a.png')), cv2.imread(str(tmp_path / 'alias' / 'a.png')))
    persons = list(csv.DictReader(open(tmp_path / 'out' / 'persons.csv')))
    assert persons[0]['input'] == 'a' and (tmp_path / 'out' / 'montages' / 'a.png').exists()
    wrong = run_script('restore', ['-n', 'aos_person', '-i', tmp_path / 'stacks', '-o', tmp_path / 'o', '-s', '2'])
    assert wrong.returncode == 2 and '--outscale: for image restorers; aos_person restores focal stacks' in wrong.stderr


class RunsOutOfMemory(torch.nn.Module):
    """The net, refusing inputs larger than ``side`` px as a GPU out of memory would."""

    def __init__(self, net, side):
        super().__init__()
        self.net, self.side = net, side

    def forward(self, x):
        if max(x.shape[-2:]) > self.side:
            raise torch.cuda.OutOfMemoryError('CUDA out of memory. Tried to allocate 2.00 GiB')
        return self.net(x)


def test_out_of_memory_halves_the_tile_until_it_fits(srcnn):
    restorer = Restorer(srcnn[1], opt=srcnn[3], device='cpu')
    img = image((80, 72, 3))
    expected = Restorer(srcnn[1], opt=srcnn[3], device='cpu', tile=40, tile_overlap=8).restore(img)
    restorer.net = RunsOutOfMemory(restorer.net, side=40 + 2 * 16)  # a tile plus the padding of its overlap
    restorer.tile_overlap = 8
    out = restorer.restore(img)
    assert restorer.tile == 40 and restorer.notes == ['out of memory on cpu: tiles halved to 40 px']
    assert np.array_equal(out, expected)
    restorer.net.side = 8
    with pytest.raises(UserError, match='^out of memory on cpu even with tiles of 20 px: CUDA out of memory'):
        restorer.restore(img)


def test_parsers_and_the_package_import_without_torch_and_basicsr_registers_on_first_use():
    """A fresh interpreter (what is measured is the import of a new process): the CLI parsers, ``basicsr_ext`` and
    ``basicsr_ext.inference`` import neither torch nor BasicSR; BasicSR's first import registers every extension."""
    import subprocess
    import sys

    from conftest import REPO

    code = (
        'import sys, basicsr_ext, basicsr_ext.inference, basicsr_ext.cli.restore, basicsr_ext.cli.aos_restore\n'
        "print(sorted(m for m in ('torch', 'basicsr', 'cv2', 'numpy') if m in sys.modules))\n"
        'from basicsr.utils.registry import ARCH_REGISTRY, MODEL_REGISTRY, DATASET_REGISTRY, LOSS_REGISTRY\n'
        "print(ARCH_REGISTRY.get('AOSPersonFillNet').__name__, MODEL_REGISTRY.get('AOSRestorationModel').__name__)\n"
        "print(DATASET_REGISTRY.get('AOSFocalStackDataset').__name__)\n"
        "print(LOSS_REGISTRY.get('PositionEnhancedLoss').__name__)\n"
    )
    run = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        '[]',
        'AOSPersonFillNet AOSRestorationModel',
        'AOSFocalStackDataset',
        'PositionEnhancedLoss',
    ]
