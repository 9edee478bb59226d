"""The wheel installs anywhere: built from this checkout, installed into a fresh virtual environment (its
dependencies from the running interpreter's site-packages, nothing from the checkout on the path), its console
scripts restore an image and a focal stack with zoo models by name. Subprocesses: the installed package and its
console scripts are what is tested."""

import os
import shutil
import subprocess
import sys
import zipfile
from os import path as osp

import cv2
import numpy as np
import pytest

from basicsr_ext.aos.focal_stack import write_focal_stack

from conftest import REPO


def run(argv, cwd, timeout=600):
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    assert result.returncode == 0, f'{argv}: {result.stdout}\n{result.stderr}'
    return result


@pytest.fixture(scope='module')
def venv(tmp_path_factory):
    root = tmp_path_factory.mktemp('wheel')
    # a copy without build/ (a stale build/lib would carry deleted modules into the wheel) or data and outputs
    skip = shutil.ignore_patterns(
        'build', 'dist', '*.egg-info', '.git', 'datasets', 'experiments', 'results', 'tb_logger'
    )
    source = shutil.copytree(REPO, root / 'source', ignore=skip)
    run([sys.executable, '-m', 'pip', 'wheel', source, '--no-deps', '--no-build-isolation', '-q', '-w', root], source)
    wheel = next(str(root / n) for n in os.listdir(root) if n.endswith('.whl'))
    run([sys.executable, '-m', 'venv', '--system-site-packages', root / 'venv'], root)
    bin_dir = root / 'venv' / 'bin'
    run([bin_dir / 'python', '-m', 'pip', 'install', '--no-deps', '--no-index', '-q', wheel], root)
    return {'wheel': wheel, 'bin': bin_dir, 'work': root}


def test_the_wheel_holds_the_zoo_and_the_option_files(venv):
    names = zipfile.ZipFile(venv['wheel']).namelist()
    shipped = {n.split('/_data/')[1] for n in names if '/_data/' in n}
    assert {'weights/zoo.yml', 'weights/srcnn_x2.pth', 'weights/aos_person.pth', 'options/train_aos.yml'} <= shipped
    assert 'examples/aos/person_visible.tiff' in shipped and 'examples/aos/person_visible_gt.png' in shipped
    entry_points = zipfile.ZipFile(venv['wheel']).read(next(n for n in names if n.endswith('entry_points.txt')))
    for script in ('basicsr-ext-restore', 'basicsr-ext-aos-restore', 'basicsr-ext-demo', 'basicsr-ext-train'):
        assert f'{script} = '.encode() in entry_points


def test_console_scripts_restore_by_zoo_name_outside_the_checkout(venv, tmp_path):
    where = run(
        [venv['bin'] / 'python', '-c', 'import basicsr_ext.resources as r; print(r.shipped_dir("weights"))'], tmp_path
    )
    assert where.stdout.strip().startswith(str(venv['work'] / 'venv')) and not where.stdout.startswith(REPO)
    cv2.imwrite(str(tmp_path / 'photo.png'), np.random.default_rng(0).integers(0, 256, (24, 20, 3), dtype=np.uint8))
    restored = run([venv['bin'] / 'basicsr-ext-restore', '-n', 'srcnn_x2', '-i', 'photo.png', '-o', 'out'], tmp_path)
    assert 'weights: params of srcnn_x2 (the zoo entry srcnn_x2)' in restored.stdout
    assert cv2.imread(str(tmp_path / 'out' / 'photo.png')).shape == (48, 40, 3)
    stack = np.full((3, 48, 48), 100, np.uint8)
    stack[:, 20:30, 20:26] = 230
    write_focal_stack(str(tmp_path / 'stack.tiff'), stack, [0.0, 0.4, 0.8])
    run([venv['bin'] / 'basicsr-ext-aos-restore', '-i', 'stack.tiff', '-o', 'aos'], tmp_path)
    assert cv2.imread(str(tmp_path / 'aos' / 'stack.png'), cv2.IMREAD_UNCHANGED).shape == (48, 48)
    assert osp.isfile(tmp_path / 'aos' / 'persons.csv')
