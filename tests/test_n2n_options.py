"""Noise2Noise end to end: every shipped N2N option file trains a few iterations through basicsr_ext/train.py, the
test option file runs, and Noise2NoiseModel's mask and exponent schedule in-process."""

import glob
import os
import shutil

import pytest
import torch
import yaml

import basicsr_ext  # noqa: F401  (before basicsr)
from basicsr_ext.utils.errors import UserError

from conftest import SHRINK_4_ITERS, check_options, option, read_log, run_test, run_train

SHRINK = [*SHRINK_4_ITERS, '+network_g.depth=2']


@pytest.fixture(scope='module')
def n2n_run(tmp_path_factory):
    cwd = tmp_path_factory.mktemp('n2n')
    return cwd, run_train(['-opt', option('train_n2n_gaussian.yml'), '--cfg-options', *SHRINK], cwd)


def test_n2n_gaussian_trains_on_generated_photos(n2n_run):
    cwd, result = n2n_run
    assert result.returncode == 0, result.stderr[-3000:]
    data = cwd / 'datasets' / 'sample_photos_denoise_colour'
    assert (data / '.complete').is_file()
    train = sorted(os.listdir(data / 'train'))
    assert len(train) == 15 and train[3:7] == [f'colour_field_0{i}.png' for i in range(4)]  # 11 photos + 4 synthetic
    assert len(os.listdir(data / 'val')) == 8
    exp = cwd / 'experiments' / 'train_N2NUNet_gaussian_n2n'
    assert sorted(os.listdir(exp / 'models')) == ['net_g_best.pth', 'net_g_latest.pth']
    log = read_log(exp)
    assert 'Model [Noise2NoiseModel] is created' in log and 'NoisyPairDataset' in log
    assert 'Validation SamplePhotosDenoiseVal @ 4 iter' in log and '# psnr:' in log and '# val_loss:' in log
    # RampDownLR over train.total_iter (total_iter: ~): constant for 70% of the 4 iterations, then down
    lrs = [float(line.split('lr:(')[1].split(',')[0]) for line in log.splitlines() if 'lr:(' in line]
    assert lrs[:2] == [3e-4, 3e-4] and lrs[-1] < 3e-4


@pytest.mark.parametrize(
    'opt_file, name, expect',
    [
        ('train_n2c_gaussian.yml', 'train_N2NUNet_gaussian_n2c', ' l_pix: '),
        ('train_n2n_poisson.yml', 'train_N2NUNet_poisson_n2n', ' l_pix: '),
        ('train_n2n_bernoulli.yml', 'train_N2NUNet_bernoulli_n2n', ' l_pix: '),
        ('train_n2n_text.yml', 'train_N2NUNet_text_n2n', 'L1Loss'),
        ('train_n2n_impulse_l0.yml', 'train_N2NUNet_impulse_n2n_l0', ' gamma: '),
    ],
)
def test_every_variant_trains(tmp_path, n2n_run, opt_file, name, expect):
    shutil.copytree(n2n_run[0] / 'datasets', tmp_path / 'datasets')
    # validated on 2 of the 8 photos (on all of them: n2n_run)
    val = tmp_path / 'val2'
    val.mkdir()
    photos = tmp_path / 'datasets' / 'sample_photos_denoise_colour' / 'val'  # the same crops as the variants' own
    for photo in sorted(os.listdir(photos))[:2]:
        shutil.copy(photos / photo, val / photo)
    result = run_train(
        ['-opt', option(opt_file), '--cfg-options', *SHRINK, f'datasets.val.dataroot_gt={val}'], tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    exp = tmp_path / 'experiments' / name
    assert (exp / 'models' / 'net_g_best.pth').is_file()
    log = read_log(exp)
    assert expect in log
    resolved = yaml.safe_load((exp / opt_file).read_text())
    base_exp = n2n_run[0] / 'experiments' / 'train_N2NUNet_gaussian_n2n'
    base = yaml.safe_load((base_exp / 'train_n2n_gaussian.yml').read_text())
    assert resolved['network_g'] == base['network_g'] and resolved['train']['optim_g'] == base['train']['optim_g']
    if opt_file == 'train_n2c_gaussian.yml':
        assert resolved['datasets']['train']['mode'] == 'n2c'
        assert {k: v for k, v in resolved['datasets']['train'].items() if k != 'mode'} == {
            k: v for k, v in base['datasets']['train'].items() if k != 'mode'
        }
    if opt_file == 'train_n2n_impulse_l0.yml':  # gamma goes from 2 down over the 4 iterations
        gammas = [float(line.split(' gamma: ')[1].split()[0]) for line in log.splitlines() if ' gamma: ' in line]
        assert gammas == pytest.approx([2.0, 1.5, 1.0, 0.5])


def test_test_option_file_writes_denoised_images(tmp_path, n2n_run):
    shutil.copytree(n2n_run[0] / 'datasets', tmp_path / 'datasets')
    net = n2n_run[0] / 'experiments' / 'train_N2NUNet_gaussian_n2n' / 'models' / 'net_g_best.pth'
    args = ['-opt', option('test_n2n_gaussian.yml'), '--cfg-options', f'path.pretrain_network_g={net}']
    result = run_test([*args, '+network_g.depth=2'], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / 'results' / 'test_N2NUNet_gaussian_n2n'
    assert len(os.listdir(out / 'visualization' / 'SamplePhotosDenoiseSigma25')) == 8
    assert '# psnr:' in open(glob.glob(str(out / 'test_*.log'))[0]).read()


def n2n_model(train_extra=None, build=True):
    from basicsr.models import build_model

    train = {
        'optim_g': {'type': 'Adam', 'lr': 1e-3},
        'total_iter': 4,
        'warmup_iter': -1,
        'pixel_opt': {'type': 'MSELoss', 'loss_weight': 1.0, 'reduction': 'mean'},
        **(train_extra or {}),
    }
    opt = {
        'name': 'n2n',
        'model_type': 'Noise2NoiseModel',
        'is_train': True,
        'dist': False,
        'num_gpu': 0,
        'rank': 0,
        'world_size': 1,
        'scale': 1,
        'network_g': {'type': 'N2NUNet', 'depth': 1, 'num_feat': 4, 'dec_feat': 4, 'out_feat': [4, 4]},
        'path': {'pretrain_network_g': None, 'strict_load_g': True, 'resume_state': None},
        'train': train,
        'val': {},
    }
    return build_model(opt) if build else opt


def test_masked_target_pixels_send_no_gradient():
    torch.manual_seed(0)
    model = n2n_model()
    lq, gt = torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8)
    mask = torch.ones(1, 1, 8, 8)
    mask[..., :4] = 0
    model.feed_data({'lq': lq, 'gt': gt, 'mask': mask})
    loss, _ = model.compute_losses(1)
    garbage = gt.clone()
    garbage[..., :4] = 1e3  # whatever the dropped pixels hold does not matter
    model.feed_data({'lq': lq, 'gt': garbage, 'mask': mask})
    assert model.compute_losses(1)[0].item() == pytest.approx(loss.item())
    out = model.output.detach()
    assert loss.item() == pytest.approx(((out - gt)[..., 4:] ** 2).mean().item(), rel=1e-5)
    model.feed_data({'lq': lq, 'gt': gt, 'mask': torch.ones(1, 1, 8, 8)})
    assert model.mask is None  # all ones: BasicSR's plain mean


def test_l0_schedule_options_are_checked():
    """Checked with the options, before any folder is made; the line names the option file."""
    with pytest.raises(UserError, match=r'^unit.yml: train\.l0_gamma: only AnnealedL0Loss .* is MSELoss$'):
        check_options(n2n_model({'l0_gamma': {'start': 2}}, build=False))
    with pytest.raises(
        UserError, match=r'^unit.yml: train\.l0_gamma\.stop: unknown key \(known here: end, iters, start\)'
    ):
        check_options(n2n_model({'pixel_opt': {'type': 'AnnealedL0Loss'}, 'l0_gamma': {'stop': 0}}, build=False))
    with pytest.raises(UserError, match=r'^unit.yml: train\.l0_gamma\.iters: expected an integer >= 1 or ~'):
        check_options(n2n_model({'pixel_opt': {'type': 'AnnealedL0Loss'}, 'l0_gamma': {'iters': 0}}, build=False))
    model = n2n_model({'pixel_opt': {'type': 'AnnealedL0Loss'}})
    assert model.l0_gamma == {'start': 2.0, 'end': 0.0, 'iters': 4}
