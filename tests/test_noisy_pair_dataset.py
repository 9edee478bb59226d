"""NoisyPairDataset and the Noise2Noise corruptions: statistics, independence, seeding, modes, LMDB, errors."""

import os

import cv2
import numpy as np
import pytest
import torch
from basicsr.losses.basic_loss import L1Loss
from basicsr.utils.lmdb_util import make_lmdb_from_imgs

from basicsr_ext.data import noise_models
from basicsr_ext.data.noisy_pair_dataset import NoisyPairDataset
from basicsr_ext.utils.errors import UserError

GREY = 128  # the flat test image: 128/255 in every channel, so no pixel is 0 (dropped pixels are then visible)


def write_images(folder, images):
    """``images``: name -> HxWx3 uint8 (BGR); written as PNGs."""
    os.makedirs(folder, exist_ok=True)
    for name, img in images.items():
        cv2.imwrite(os.path.join(folder, f'{name}.png'), img)
    return str(folder)


def to_lmdb(folder, lmdb_path):
    names = sorted(os.listdir(folder))
    keys = [os.path.splitext(n)[0] for n in names]
    make_lmdb_from_imgs(str(folder), str(lmdb_path), names, keys, map_size=1 << 24)  # its size guess is too small
    return str(lmdb_path)


def gradient(h, w, offset=0):
    """A colour image whose every pixel differs from its neighbours, so misaligned crops show."""
    r, c = np.mgrid[:h, :w]
    return np.stack([(r * 3 + c) % 200, (c * 5 + r * 2) % 200, (r + c) % 200], -1).astype(np.uint8) + 20 + offset


def flat(size=96):
    return np.full((size, size, 3), GREY, np.uint8)


def dataset(root, **opt):
    base = {'phase': 'val', 'dataroot_gt': str(root), 'io_backend': {'type': 'disk'}}
    base.update(opt)
    return NoisyPairDataset(base)


def np_img(t):
    return t.numpy().transpose(1, 2, 0).astype(np.float64)


def corr(a, b):
    a, b = a.ravel() - a.mean(), b.ravel() - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


# ----------------------------------------------------------------------------------------- statistics of a pair
@pytest.fixture
def flat_root(tmp_path):
    return write_images(tmp_path / 'flat', {'a': flat()})


def train_pair(root, noise, seed=0):
    np.random.seed(seed)
    torch.manual_seed(seed)
    item = dataset(root, phase='train', mode='n2n', noise=noise)[0]
    return item, np_img(item['lq']), np_img(item['gt']), np_img(item['clean'])


def test_gaussian_pair_is_zero_mean_independent_and_unclipped(flat_root, tmp_path):
    item, lq, gt, clean = train_pair(flat_root, {'type': 'gaussian', 'sigma': 25})
    x = GREY / 255
    assert np.allclose(clean, x)
    for noisy in (lq, gt):
        assert abs((noisy - x).mean()) < 0.003
        assert (noisy - x).var() == pytest.approx((25 / 255) ** 2, rel=0.05)
    assert abs(corr(lq - x, gt - x)) < 0.03
    assert item['mask'].shape == (1, 96, 96) and bool((item['mask'] == 1).all())

    # not clipped by default (the official code does not clip): values leave [0, 1] near black and white
    edges = write_images(tmp_path / 'edges', {'a': np.concatenate([flat() * 0, flat() * 0 + 255], 1)})
    _, lq, gt, _ = train_pair(edges, {'type': 'gaussian', 'sigma': 25})
    assert lq.min() < -0.1 and lq.max() > 1.1
    _, lq, _, _ = train_pair(edges, {'type': 'gaussian', 'sigma': 25, 'clip': True})
    assert lq.min() == 0 and lq.max() == 1


def test_poisson_pair_has_mean_x_and_variance_x_over_lambda(flat_root):
    _, lq, gt, _ = train_pair(flat_root, {'type': 'poisson', 'lam': 30})
    x = GREY / 255
    for noisy in (lq, gt):
        assert noisy.mean() == pytest.approx(x, abs=0.004)
        assert noisy.var() == pytest.approx(x / 30, rel=0.05)
        assert np.allclose(noisy * 30, np.round(noisy * 30), atol=1e-4)  # photon counts / lambda
    assert abs(corr(lq, gt)) < 0.03


def test_bernoulli_pair_drops_pixels_at_rate_p_and_masks_the_targets_drops(flat_root):
    item, lq, gt, clean = train_pair(flat_root, {'type': 'bernoulli', 'p': 0.3})
    mask = item['mask'][0].numpy()
    assert item['mask'].shape == (1, 96, 96)
    for noisy in (lq, gt):
        dropped = (noisy == 0).all(-1)
        assert ((noisy == 0).any(-1) == dropped).all()  # a pixel is dropped in all channels or in none
        assert dropped.mean() == pytest.approx(0.3, abs=0.02)
        assert np.array_equal(noisy[~dropped], clean[~dropped])
    assert np.array_equal(mask == 0, (gt == 0).all(-1))  # the mask is the target's valid pixels
    assert abs(corr((lq == 0).all(-1), (gt == 0).all(-1))) < 0.05

    # as BasicSR's L1Loss weight, the mask averages over the target's valid pixels only
    pred = torch.rand(1, 3, 96, 96)
    loss = L1Loss()(pred, item['gt'][None], weight=item['mask'][None])
    valid = item['mask'][0].bool()
    assert loss.item() == pytest.approx((pred[0] - item['gt']).abs()[:, valid].mean().item(), rel=1e-5)


def test_impulse_pair_replaces_pixels_at_rate_p(flat_root):
    _, lq, gt, clean = train_pair(flat_root, {'type': 'impulse', 'p': 0.4})
    hits = [(noisy != clean).any(-1) for noisy in (lq, gt)]
    for noisy, hit in zip((lq, gt), hits):
        assert hit.mean() == pytest.approx(0.4, abs=0.02)
        assert noisy[hit].mean() == pytest.approx(0.5, abs=0.02)  # uniform random colours
    assert abs(corr(*hits)) < 0.05


def test_text_pair_covers_about_p_of_the_pixels(tmp_path):
    root = write_images(tmp_path / 'flat', {'a': flat(128)})
    covers = []
    for seed in range(3):
        _, lq, gt, clean = train_pair(root, {'type': 'text', 'p': 0.25}, seed)
        covers.append([(noisy != clean).any(-1) for noisy in (lq, gt)])
    for lq_cover, gt_cover in covers:
        assert lq_cover.mean() == pytest.approx(0.25, abs=0.03) and gt_cover.mean() == pytest.approx(0.25, abs=0.03)
    assert abs(np.mean([corr(a, b) for a, b in covers])) < 0.1  # strings cluster: a looser bound


def test_noise_models_defaults_and_levels():
    models = noise_models.NOISE_MODELS
    assert models['gaussian'].train == (0.0, 50.0) and models['gaussian'].val == 25.0
    assert models['poisson'].train[1] == 50.0 and models['poisson'].val == 30.0
    assert models['bernoulli'].train == (0.0, 0.95) and models['bernoulli'].val == 0.5
    assert models['text'].train == (0.0, 0.5) and models['text'].val == 0.25
    assert models['impulse'].train == (0.0, 0.95)
    train = noise_models.NoiseSpec({'type': 'gaussian'}, 'train')
    val = noise_models.NoiseSpec({'type': 'gaussian'}, 'val')
    assert train.level == (0.0, 50.0) and val.level == 25.0 and train.clip is False
    # a range is drawn per corruption; lambda = 0 (the paper's lower bound) is raised to the official 0.001
    spec = noise_models.NoiseSpec({'type': 'poisson', 'lam': [0, 50]}, 'train')
    rng = np.random.default_rng(0)
    img = np.full((8, 8, 3), 0.5, np.float32)
    assert len({float(spec.apply(img, rng)[0].var()) for _ in range(5)}) == 5
    tiny = noise_models.NoiseSpec({'type': 'poisson', 'lam': [0, 0.0001]}, 'train')
    assert np.isfinite(tiny.apply(img, rng)[0]).all()


# ----------------------------------------------------------------------------------------- seeding
@pytest.fixture
def two_same_images(tmp_path):
    return write_images(tmp_path / 'gt', {'a': gradient(32, 40), 'b': gradient(32, 40)})


def test_validation_is_deterministic_and_differs_across_indices(two_same_images):
    noise = {'type': 'gaussian'}
    ds = dataset(two_same_images, noise=noise)
    first, again, other = ds[0], ds[0], dataset(two_same_images, noise=noise)[0]
    assert torch.equal(first['lq'], again['lq']) and torch.equal(first['lq'], other['lq'])
    second = ds[1]
    assert torch.equal(first['clean'], second['clean'])  # same image, so only the index changes the noise
    assert not torch.allclose(first['lq'], second['lq'])
    assert not torch.allclose(first['lq'], dataset(two_same_images, noise=noise, seed=1)[0]['lq'])
    # validation sigma is the paper's 25
    assert (first['lq'] - first['clean']).std().item() == pytest.approx(25 / 255, rel=0.1)
    # n2n and n2c validate on the same inputs, against the clean image
    n2c = dataset(two_same_images, noise=noise, mode='n2c')[0]
    assert torch.equal(first['lq'], n2c['lq'])
    assert torch.equal(first['gt'], first['clean']) and torch.equal(n2c['gt'], n2c['clean'])
    assert bool((first['mask'] == 1).all())
    assert first['lq_path'] == first['gt_path'] and first['gt_path'].endswith('a.png')


def test_validation_gt_is_clean_even_for_bernoulli(two_same_images):
    item = dataset(two_same_images, noise={'type': 'bernoulli'})[0]
    assert torch.equal(item['gt'], item['clean']) and bool((item['mask'] == 1).all())
    assert ((item['lq'] == 0).all(0)).float().mean().item() == pytest.approx(0.5, abs=0.1)  # validation p = 0.5


def test_training_draws_fresh_corruptions(two_same_images):
    ds = dataset(two_same_images, phase='train', noise={'type': 'gaussian', 'sigma': 25})
    np.random.seed(0)
    torch.manual_seed(0)
    a, b = ds[0], ds[0]
    assert not torch.allclose(a['lq'], b['lq']) and not torch.allclose(a['gt'], b['gt'])
    np.random.seed(0)
    torch.manual_seed(0)
    assert torch.equal(ds[0]['lq'], a['lq'])  # reproducible from BasicSR's seeds
    # a worker restarted for the next epoch gets numpy's seed again but a new torch seed: new noise
    np.random.seed(0)
    torch.manual_seed(1)
    assert not torch.allclose(ds[0]['lq'], a['lq'])


def test_n2c_target_is_the_clean_crop(two_same_images):
    ds = dataset(two_same_images, phase='train', mode='n2c', noise={'type': 'bernoulli'}, gt_size=16, use_rot=True)
    for _ in range(3):
        item = ds[0]
        assert torch.equal(item['gt'], item['clean']) and bool((item['mask'] == 1).all())
        assert not torch.equal(item['lq'], item['clean'])


# ----------------------------------------------------------------------------------------- crops and shapes
def test_training_crops_and_augmentation_keep_input_on_the_clean_crop(tmp_path):
    root = write_images(tmp_path / 'gt', {'a': gradient(40, 56)})
    ds = dataset(root, phase='train', noise={'type': 'gaussian', 'sigma': 1}, gt_size=16, use_hflip=True, use_rot=True)
    for _ in range(8):
        item = ds[0]
        assert item['lq'].shape == item['gt'].shape == item['clean'].shape == (3, 16, 16)
        assert item['mask'].shape == (1, 16, 16)
        assert (item['lq'] - item['clean']).abs().max().item() < 6 / 255  # the same crop, sigma 1/255
    whole = dataset(root, phase='train', noise={'type': 'gaussian'})[0]
    assert whole['lq'].shape == (3, 40, 56)


def test_validation_mod_crop(tmp_path):
    root = write_images(tmp_path / 'gt', {'a': gradient(50, 45)})
    item = dataset(root, noise={'type': 'poisson'}, mod=8)[0]
    assert item['lq'].shape == item['gt'].shape == (3, 48, 40) and item['mask'].shape == (1, 48, 40)
    assert dataset(root, noise={'type': 'poisson'})[0]['lq'].shape == (3, 50, 45)


def test_lmdb_gives_the_same_items_as_the_folder(tmp_path):
    root = write_images(tmp_path / 'gt', {'a': gradient(24, 24), 'b': gradient(24, 24, 10)})
    lmdb = to_lmdb(root, tmp_path / 'gt.lmdb')
    noise = {'type': 'text'}
    disk, db = dataset(root, noise=noise), dataset(lmdb, noise=noise, io_backend={'type': 'lmdb'})
    assert len(db) == 2
    for i in range(2):
        assert torch.equal(disk[i]['lq'], db[i]['lq']) and torch.equal(disk[i]['gt'], db[i]['gt'])
    assert db[1]['gt_path'] == 'b'


# ----------------------------------------------------------------------------------------- pairs mode
def make_pairs(root):
    """lq = clean + 10, gt = clean + 20 (grey levels), so aligned crops differ by exactly those offsets."""
    names = {'x': 0, 'y': 5}
    write_images(root / 'lq', {n: gradient(24, 32, o + 10) for n, o in names.items()})
    write_images(root / 'gt', {n: gradient(24, 32, o + 20) for n, o in names.items()})
    write_images(root / 'clean', {n: gradient(24, 32, o) for n, o in names.items()})
    return {k: str(root / k) for k in ('lq', 'gt', 'clean')}


def check_pair(item, train, with_clean=True):
    lq, gt = item['lq'], item['gt']
    if with_clean:
        clean = item['clean']
        assert torch.allclose(lq - clean, torch.full_like(lq, 10 / 255), atol=1e-6)
        expected = 20 / 255 if train else 0.0  # validation compares with the clean image
        assert torch.allclose(gt - clean, torch.full_like(gt, expected), atol=1e-6)
    else:
        assert 'clean' not in item
        assert torch.allclose(gt - lq, torch.full_like(gt, 10 / 255), atol=1e-6)
    assert bool((item['mask'] == 1).all())


@pytest.mark.parametrize('backend', ['disk', 'lmdb'])
def test_pairs_mode(tmp_path, backend):
    roots = make_pairs(tmp_path)
    if backend == 'lmdb':
        roots = {k: to_lmdb(v, tmp_path / f'{k}.lmdb') for k, v in roots.items()}
    opt = dict(mode='pairs', io_backend={'type': backend}, dataroot_lq=roots['lq'], dataroot_clean=roots['clean'])
    # one dataset at a time: an LMDB cannot be opened twice in one process (BasicSR's LmdbBackend)
    train = dataset(roots['gt'], phase='train', gt_size=12, use_hflip=True, use_rot=True, **opt)
    assert len(train) == 2
    for _ in range(6):
        item = train[1]
        assert item['lq'].shape == (3, 12, 12)
        check_pair(item, train=True)
    del train
    val = dataset(roots['gt'], **opt)
    check_pair(val[0], train=False)
    assert val[0]['lq'].shape == (3, 24, 32)
    assert val[1]['lq_path'] == (os.path.join(roots['lq'], 'y.png') if backend == 'disk' else 'y')
    del val
    opt.pop('dataroot_clean')
    check_pair(dataset(roots['gt'], **opt)[0], train=False, with_clean=False)  # no clean: gt stays noisy


# ----------------------------------------------------------------------------------------- errors
ERRORS = [
    ({'noise': {'type': 'speckle'}}, 'noise.type'),
    ({'noise': None}, 'noise'),
    ({'noise': {'type': 'gaussian', 'sigma': [50, 0]}}, 'noise.sigma'),
    ({'noise': {'type': 'gaussian', 'sigma': -1}}, 'noise.sigma'),
    ({'noise': {'type': 'gaussian', 'sigma': 'high'}}, 'noise.sigma'),
    ({'noise': {'type': 'gaussian', 'sigma': [1, 2, 3]}}, 'noise.sigma'),
    ({'noise': {'type': 'bernoulli', 'p': 1.5}}, 'noise.p'),
    ({'noise': {'type': 'text', 'p': 1.0}}, 'noise.p'),
    ({'noise': {'type': 'poisson', 'lam': 0}}, 'noise.lam'),
    ({'noise': {'type': 'poisson', 'lambda': 30}}, 'noise.lambda'),
    ({'noise': {'type': 'impulse', 'clip': True}}, 'noise.clip'),
    ({'noise': {'type': 'gaussian', 'clip': 'yes'}}, 'noise.clip'),
    ({'mode': 'n2v'}, 'mode'),
    ({'dataroot_gt': None}, 'dataroot_gt'),
    ({'dataroot_gt': '/nonexistent/folder'}, 'dataroot_gt'),
    ({'mode': 'pairs', 'noise': None}, 'dataroot_lq'),
    ({'mode': 'pairs', 'dataroot_lq': 'LQ'}, 'noise'),
    ({'dataroot_lq': 'LQ'}, 'dataroot_lq'),
    ({'io_backend': {'type': 'ceph'}}, 'io_backend.type'),
    ({'io_backend': {'type': 'lmdb'}}, 'dataroot_gt'),
    ({'gt_size': 0}, 'gt_size'),
    ({'mod': 0}, 'mod'),
    ({'seed': 'x'}, 'seed'),
]


@pytest.mark.parametrize('opt, key', ERRORS)
def test_bad_options_give_one_clear_error(two_same_images, tmp_path, opt, key):
    if opt.get('dataroot_lq') == 'LQ':
        opt = {**opt, 'dataroot_lq': two_same_images}
    full = {'noise': {'type': 'gaussian'}, **opt}
    with pytest.raises(UserError) as err:
        dataset(full.pop('dataroot_gt', two_same_images), **full)
    message = str(err.value)
    assert f'datasets.val.{key}' in message and '\n' not in message


def test_errors_found_when_reading(tmp_path, two_same_images):
    ds = dataset(two_same_images, phase='train', noise={'type': 'gaussian'}, gt_size=64)
    with pytest.raises(UserError, match=r'datasets\.train\.gt_size: 64 is larger'):
        ds[0]
    write_images(tmp_path / 'lq', {'a': gradient(32, 40)})
    with pytest.raises(UserError, match=r'dataroot_lq: no image named .b.'):
        dataset(two_same_images, mode='pairs', dataroot_lq=str(tmp_path / 'lq'))
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(UserError, match='dataroot_gt: no images'):
        dataset(str(empty), noise={'type': 'gaussian'})


def test_target_noise_clips_the_input_only_so_the_target_stays_zero_mean(tmp_path):
    edges = write_images(tmp_path / 'edges', {'a': np.concatenate([flat() * 0, flat() * 0 + 255], 1)})
    clipped, unclipped = {'type': 'gaussian', 'sigma': 25, 'clip': True}, {'type': 'gaussian', 'sigma': 25}
    item = dataset(edges, phase='train', mode='n2n', noise=clipped, target_noise=unclipped)[0]
    lq, gt, clean = np_img(item['lq']), np_img(item['gt']), np_img(item['clean'])
    assert lq.min() == 0 and lq.max() == 1  # the input as a saved 8-bit photo
    assert gt.min() < -0.1 and gt.max() > 1.1 and abs((gt - clean).mean()) < 0.005  # the target: zero-mean noise
    assert (lq - clean)[:, :96].mean() > 0.03 and (lq - clean)[:, 96:].mean() < -0.03  # clipped: biased
    with pytest.raises(UserError, match=r'^datasets.train.target_noise: only used in mode n2n \(mode n2c'):
        dataset(edges, phase='train', mode='n2c', noise=clipped, target_noise=unclipped)
