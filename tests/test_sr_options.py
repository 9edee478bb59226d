"""Option files of the Real-ESRNet face SR report (Tan, Apr 2024) end to end (train_sr_lsr.yml, train_sr_l1.yml,
test_sr*.yml, train_srcnn_915.yml), the fixed Real-ESRNet validation pairs and the data they are made from."""

import glob
import os
import random
import re
import shutil

import cv2
import numpy as np
import pytest
import torch
import yaml

import basicsr_ext  # noqa: F401  (before basicsr)
from basicsr_ext.data.prepare import PREPARE_REGISTRY
from basicsr_ext.data.realesr_pairs import degrade_realesr
from basicsr_ext.data.sample_photos_prepare import REALESR_TRAIN_PHOTOS, load_photo

from conftest import option, realesr_options, run_script, run_test, run_train

# a tiny MSRResNet and a small batch, so the shipped experiment runs in seconds on the CPU; validated once, after
# training (at iter 2: a val_freq of 2 would validate twice at iter 2)
SHRINK = [
    'train.total_iter=2',
    'train.scheduler.T_max=2',
    'val.val_freq=4',
    'logger.print_freq=1',
    'network_g.num_feat=8',
    'network_g.num_block=1',
    'gt_size=64',
    'queue_size=2',
    'datasets.train.batch_size_per_gpu=2',
    'datasets.train.num_worker_per_gpu=0',
]


@pytest.fixture(scope='module')
def lsr_run(tmp_path_factory):
    cwd = tmp_path_factory.mktemp('sr_lsr')
    return cwd, run_train(['-opt', option('train_sr_lsr.yml'), '--cfg-options', *SHRINK], cwd)


def read_log(exp):
    return open(sorted(glob.glob(str(exp / 'train_*.log')))[-1]).read()


def test_lsr_option_file_trains_logs_both_terms_and_keeps_the_best(lsr_run):
    cwd, result = lsr_run
    assert result.returncode == 0, result.stderr[-3000:]
    data = cwd / 'datasets' / 'sample_photos_realesr'
    assert (data / '.complete').is_file()  # generated on first use
    exp = cwd / 'experiments' / 'train_MSRResNetx4_realesr_lsr'
    # the best checkpoint too: BasicSR's RealESRNetModel clears is_train while it validates
    assert sorted(os.listdir(exp / 'models')) == ['net_g_best.pth', 'net_g_latest.pth']
    log = read_log(exp)
    assert 'Model [AnnealedLSRModel] is created' in log and 'RealESRGANDataset' in log
    for key in ('l_pix', 'l_degraded', 'l_clean', 'alpha'):
        assert f' {key}: ' in log, key
    assert 'Validation SamplePhotosRealESRVal @ 2 iter' in log
    assert '# psnr:' in log and '# val_loss:' in log and 'Saved best checkpoint: psnr' in log


def test_l1_option_file_is_the_same_experiment_without_the_regularizer(tmp_path, lsr_run):
    lsr_cwd, _ = lsr_run
    shutil.copytree(lsr_cwd / 'datasets', tmp_path / 'datasets')
    result = run_train(['-opt', option('train_sr_l1.yml'), '--cfg-options', *SHRINK], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    exp = tmp_path / 'experiments' / 'train_MSRResNetx4_realesr_l1'
    log = read_log(exp)
    assert 'Model [ExtRealESRNetModel] is created' in log
    assert ' l_pix: ' in log and ' alpha: ' not in log and ' l_clean: ' not in log
    assert (exp / 'models' / 'net_g_best.pth').is_file()
    resolved = yaml.safe_load((exp / 'train_sr_l1.yml').read_text())
    base = yaml.safe_load((lsr_cwd / 'experiments' / 'train_MSRResNetx4_realesr_lsr' / 'train_sr_lsr.yml').read_text())
    assert resolved['train']['lsr'] is None
    for key in set(base) | set(resolved):  # only the name, the model and the loss differ
        if key not in ('name', 'model_type', 'train'):
            assert resolved[key] == base[key], key
    assert {k: v for k, v in resolved['train'].items() if k != 'lsr'} == {
        k: v for k, v in base['train'].items() if k != 'lsr'
    }


def test_test_options_run_on_both_lr_sets(tmp_path, lsr_run):
    lsr_cwd, _ = lsr_run
    shutil.copytree(lsr_cwd / 'datasets', tmp_path / 'datasets')
    net = lsr_cwd / 'experiments' / 'train_MSRResNetx4_realesr_lsr' / 'models' / 'net_g_best.pth'
    tiny = ['network_g.num_feat=8', 'network_g.num_block=1', f'path.pretrain_network_g={net}']
    result = run_test(['-opt', option('test_sr.yml'), '--cfg-options', *tiny], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    bicubic = run_test(['-opt', option('test_sr_bicubic.yml')], tmp_path)
    assert bicubic.returncode == 0, bicubic.stderr[-3000:]
    psnr = {}
    for name in ('test_MSRResNetx4_realesr_lsr', 'test_bicubicx4_realesr'):
        out = tmp_path / 'results' / name
        log = open(glob.glob(str(out / 'test_*.log'))[0]).read()
        assert 'Test RealESRDegraded\n' in log and 'Test BicubicClean\n' in log and 'Best:' not in log  # no iterations
        assert len(os.listdir(out / 'visualization' / 'RealESRDegraded')) == 12
        psnr[name] = [float(v) for v in re.findall(r'# psnr: ([0-9.]+)', log)]
    degraded, clean = psnr['test_bicubicx4_realesr']
    assert clean > degraded + 2  # the degraded LR is much harder than the clean bicubic LR of the same crops


def test_srcnn_915_option_file_trains(tmp_path):
    result = run_train(['-opt', option('train_srcnn_915.yml'), '--cfg-options', 'train.total_iter=2'], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    exp = tmp_path / 'experiments' / 'train_SRCNN915x2_sample_photos'
    params = torch.load(exp / 'models' / 'net_g_latest.pth', weights_only=True)['params']
    assert params['conv2.weight'].shape == (32, 64, 1, 1)
    assert 'MSELoss' in read_log(exp)


def test_realesr_photos_and_fixed_pairs(lsr_run):
    cwd, _ = lsr_run
    root = cwd / 'datasets' / 'sample_photos_realesr'
    names = (root / 'train' / 'meta_info.txt').read_text().split()
    assert len(names) == len(REALESR_TRAIN_PHOTOS) == 11
    for name in names:  # RealESRGANDataset crops 400 px; every listed file exists and is large enough
        img = cv2.imread(str(root / 'train' / 'HR' / name))
        assert img is not None and min(img.shape[:2]) >= 400, name
    val = sorted(os.listdir(root / 'val' / 'HR'))
    assert len(val) == 12 and val[0] == 'chelsea_00.png'
    for folder in ('LR_realesr', 'LR_bicubic'):
        assert sorted(os.listdir(root / 'val' / folder / 'X4')) == val
    hr = cv2.imread(str(root / 'val' / 'HR' / val[0]))
    lq = cv2.imread(str(root / 'val' / 'LR_realesr' / 'X4' / val[0]))
    assert hr.shape == (256, 256, 3) and lq.shape == (64, 64, 3)
    # the same crop and seed give the same pair, byte for byte
    again = PREPARE_REGISTRY.get('sample_photos_realesr')(str(cwd / 'again'), val_crops=1, train=())
    assert again is True
    for folder in ('HR', 'LR_realesr/X4', 'LR_bicubic/X4'):
        a = cv2.imread(str(root / 'val' / folder / 'chelsea_00.png'))
        b = cv2.imread(str(cwd / 'again' / 'val' / folder / 'chelsea_00.png'))
        assert np.array_equal(a, b), folder


def test_degrade_realesr_is_seeded_and_leaves_the_generators_alone():
    img = load_photo('coffee.png')[:256, :256]
    random.seed(1)
    np.random.seed(1)
    torch.manual_seed(1)
    before = random.random(), np.random.rand(), torch.rand(1).item()
    random.seed(1)
    np.random.seed(1)
    torch.manual_seed(1)
    a = degrade_realesr(img, 4, seed=5)
    after = random.random(), np.random.rand(), torch.rand(1).item()
    assert before == after  # the callers' random streams are untouched
    b = degrade_realesr(img.astype(np.float32) / 255.0, 4, seed=5)
    c = degrade_realesr(img, 4, seed=6)
    assert a.shape == (64, 64, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    # a degradation, not a different picture: close to the clean downsize in the mean, far from it in detail
    clean = cv2.resize(img, (64, 64), interpolation=cv2.INTER_AREA).astype(np.float32)
    assert abs(a.mean() - clean.mean()) < 12
    assert np.abs(a.astype(np.float32) - clean).mean() > 2


def test_degrade_realesr_refuses_small_or_odd_images():
    with pytest.raises(ValueError, match='square image'):
        degrade_realesr(np.zeros((128, 128, 3), np.uint8), 4, seed=0)
    with pytest.raises(ValueError, match='divisible by 4'):
        degrade_realesr(np.zeros((258, 258, 3), np.uint8), 4, seed=0)


def test_validation_feeds_the_given_lr_on_every_path():
    """RealESRNetModel.feed_data degrades whenever is_train is set; BasicSR clears it in nondist_validation only,
    our multi-GPU path calls validate_loop directly: it must not degrade (nor need the kernels)."""
    from basicsr.models import build_model

    opt = realesr_options('ExtRealESRNetModel', val={'metrics': {}})
    opt['datasets'] = {'val': {'name': 'v'}}
    model = build_model(opt)
    lq, gt = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 64, 64)
    loader = [{'lq': lq, 'gt': gt, 'lq_path': ['a.png']}]
    loader = type('Loader', (list,), {'dataset': type('D', (), {'opt': {'name': 'v'}})()})(loader)
    results = model.validate_loop(loader, 1, save_img=False)
    assert model.is_train  # restored
    with torch.no_grad():
        expected = model.cri_pix(model.net_g(lq), gt).item()
    assert results['val_loss'] == pytest.approx(expected, rel=1e-5)


def realesr_data(*args, cwd):
    return run_script('realesr_data', args, cwd)


def test_own_folder_switch_meta_info_lmdb_and_val_pairs(tmp_path):
    """The documented switch to your own HR folder: meta_info or an LMDB for training, fixed validation pairs."""
    hr = tmp_path / 'hr'
    hr.mkdir()
    cv2.imwrite(str(hr / 'a.png'), load_photo('astronaut.png')[:420, :410])
    cv2.imwrite(str(hr / 'b.png'), load_photo('rocket.jpg')[:300, :400])
    assert realesr_data('meta-info', hr, cwd=tmp_path).returncode == 0
    assert (hr / 'meta_info.txt').read_text() == 'a.png\nb.png\n'
    result = realesr_data('lmdb', hr, '-o', tmp_path / 'hr.lmdb', cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / 'hr.lmdb' / 'meta_info.txt').read_text().startswith('a.png (420,410,3)')
    result = realesr_data('val-pairs', hr, '-o', tmp_path / 'val', '--crops', 2, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    names = ['a_00.png', 'a_01.png', 'b_00.png', 'b_01.png']
    assert sorted(os.listdir(tmp_path / 'val' / 'HR')) == names
    assert cv2.imread(str(tmp_path / 'val' / 'LR_realesr' / 'X4' / 'b_01.png')).shape == (64, 64, 3)
    assert sorted(os.listdir(tmp_path / 'val' / 'LR_bicubic' / 'X4')) == names
    # bad input: one line naming the file, nothing written
    cv2.imwrite(str(hr / 'c.png'), np.zeros((100, 300, 3), np.uint8))
    result = realesr_data('val-pairs', hr, '-o', tmp_path / 'val2', cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.startswith('basicsr-ext: error: ')
    assert 'c.png: 100x300 is smaller than --size 256' in result.stderr and len(result.stderr.splitlines()) == 1
    assert not (tmp_path / 'val2').exists() and not glob.glob(str(tmp_path / '.val2*'))

    # train on the LMDB, validate on the pairs: only data keys change in the option file
    own = [
        'prepare_data=~',
        'datasets.train.io_backend.type=lmdb',
        f'datasets.train.dataroot_gt={tmp_path / "hr.lmdb"}',
        'datasets.train.meta_info=~',
        f'datasets.val.dataroot_gt={tmp_path / "val" / "HR"}',
        f'datasets.val.dataroot_lq={tmp_path / "val" / "LR_realesr" / "X4"}',
    ]
    result = run_train(['-opt', option('train_sr_l1.yml'), '--cfg-options', *SHRINK, *own], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert not (tmp_path / 'datasets').exists()
    log = read_log(tmp_path / 'experiments' / 'train_MSRResNetx4_realesr_l1')
    assert 'Validation SamplePhotosRealESRVal @ 2 iter' in log
