from os import path as osp

import numpy as np
import torch
from basicsr.data.data_util import paths_from_lmdb
from basicsr.data.transforms import augment, mod_crop, paired_random_crop
from basicsr.utils import FileClient, imfrombytes, img2tensor, scandir
from basicsr.utils.registry import DATASET_REGISTRY
from torch.utils import data

from basicsr_ext.data.noise_models import NoiseSpec
from basicsr_ext.utils.errors import UserError
from basicsr_ext.utils.images import IMG_EXTENSIONS

MODES = ('n2n', 'n2c', 'pairs')


@DATASET_REGISTRY.register()
class NoisyPairDataset(data.Dataset):
    """Noise2Noise training pairs (Lehtinen et al. 2018): two corruptions of one image, or given noisy pairs.

    Returns ``lq`` (network input), ``gt`` (training target), ``clean`` (the clean image, when known), ``mask``,
    ``lq_path`` and ``gt_path``; images are RGB, CxHxW, float32.

    - ``gt`` in training: a second, independent corruption (n2n), the clean image (n2c) or the given second noisy
      image (pairs). In validation it is the clean image whenever one is known, so BasicSR's metrics measure the
      restoration; in pairs mode without ``dataroot_clean`` it stays the second noisy image.
    - ``mask`` (1xHxW): 1 where the target is valid. Only a Bernoulli-corrupted target (n2n training) has zeros, at
      its dropped pixels (the paper's masked loss); it is all ones otherwise. It is BasicSR's loss ``weight``
      shape (``cri_pix(output, gt, weight=mask)`` averages over the valid pixels).

    Corruptions: in validation they depend only on (``seed``, index), so every validation is the same and n2n / n2c
    validate on the same inputs. In training every call draws fresh ones: its generator is seeded from numpy's global
    RNG (seeded per worker by BasicSR) and torch's seed (new for every epoch's workers; BasicSR re-seeds numpy with
    the same value when it restarts the workers each epoch). The two corruptions of a pair use independent streams
    and draw their levels independently, as the official code does.

    Args:
        opt (dict): Options:
            dataroot_gt (str): folder of clean images (n2n, n2c) or of the second noisy image of each pair (pairs);
                an ``.lmdb`` made by BasicSR's ``make_lmdb_from_imgs`` with ``io_backend.type: lmdb``.
            dataroot_lq (str): pairs mode: the first noisy images (same file names / keys as ``dataroot_gt``).
            dataroot_clean (str, optional): pairs mode: clean images of the pairs (same names), for metrics.
            io_backend (dict): ``{type: disk}`` (default) or ``{type: lmdb}`` (BasicSR's FileClient).
            mode (str): 'n2n' (default), 'n2c' or 'pairs'.
            noise (dict): n2n, n2c: ``{type: gaussian | poisson | bernoulli | impulse | text, <level>: value or
                [lo, hi], clip: bool}``; the level key is sigma (0-255 scale), lam or p, and defaults to the
                paper's training range (train) or validation value (val); see ``noise_models.NOISE_MODELS``.
            target_noise (dict, optional): n2n training: the target's corruption when it differs from the input's
                (e.g. inputs clipped to [0, 1] as saved 8-bit photos are, targets unclipped so that their noise stays
                zero-mean: a clipped target biases what Noise2Noise learns near black and white). Default: ``noise``.
            seed (int): validation corruptions seed. Default: 0.
            gt_size (int, optional): training crop size; ~ = whole images. Default: ~.
            use_hflip (bool), use_rot (bool): BasicSR's flips / rotations in training. Default: false.
            mod (int): validation images are cropped to a multiple of this (U-Nets need 2^depth). Default: 1.
            phase (str): 'train' or 'val'.
    """

    option_keys = ('mode', 'noise', 'target_noise', 'seed', 'mod')  # read (and checked) in __init__

    def __init__(self, opt):
        super().__init__()
        self.opt = opt
        self.phase = opt.get('phase', 'val')
        self.train = self.phase == 'train'
        where = f'datasets.{self.phase}'
        self.mode = opt.get('mode', 'n2n')
        if self.mode not in MODES:
            raise UserError(f'{where}.mode: expected one of {", ".join(MODES)}, got {self.mode!r}')
        self.backend = (opt.get('io_backend') or {}).get('type', 'disk')
        if self.backend not in ('disk', 'lmdb'):
            raise UserError(f'{where}.io_backend.type: expected disk or lmdb, got {self.backend!r}')

        keys = ('gt', 'lq', 'clean') if self.mode == 'pairs' else ('gt',)
        self.roots = {}
        for key in keys:
            root = opt.get(f'dataroot_{key}')
            if root is None:
                if key == 'clean':
                    continue
                kind = 'noisy' if self.mode == 'pairs' else 'clean'
                need = f'a folder or .lmdb of {kind} images'
                raise UserError(f'{where}.dataroot_{key}: missing; mode {self.mode} needs {need}')
            self.roots[key] = osp.expanduser(str(root))
        if self.mode != 'pairs' and opt.get('dataroot_lq') is not None:
            raise UserError(f'{where}.dataroot_lq: only used in mode pairs (mode {self.mode} corrupts dataroot_gt)')

        if self.mode == 'pairs':
            if opt.get('noise') is not None:
                raise UserError(f'{where}.noise: not used in mode pairs (the noisy images are given); remove it')
            self.noise = None
        else:
            self.noise = NoiseSpec(opt.get('noise'), self.phase, f'{where}.noise')
        self.target_noise = self.noise
        if opt.get('target_noise') is not None:
            if self.mode != 'n2n':
                raise UserError(f'{where}.target_noise: only used in mode n2n (mode {self.mode} has no noisy target)')
            self.target_noise = NoiseSpec(opt['target_noise'], self.phase, f'{where}.target_noise')

        self.seed = opt.get('seed', 0)
        self.mod = opt.get('mod', 1)
        self.gt_size = opt.get('gt_size')
        for key, value, low in (('seed', self.seed, 0), ('mod', self.mod, 1), ('gt_size', self.gt_size, 1)):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < low):
                raise UserError(f'{where}.{key}: expected an integer >= {low}, got {value!r}')

        self.samples = self._lmdb_samples(where) if self.backend == 'lmdb' else self._disk_samples(where)
        self.file_client = None

    # ------------------------------------------------------------------------------------------- index
    def _disk_samples(self, where):
        names = {}
        for key, root in self.roots.items():
            if root.endswith('.lmdb'):
                raise UserError(f'{where}.dataroot_{key}: {root} is an LMDB; set io_backend.type: lmdb')
            if not osp.isdir(root):
                raise UserError(f'{where}.dataroot_{key}: folder not found: {root}')
            files = sorted(p for p in scandir(root) if p.lower().endswith(IMG_EXTENSIONS))
            names[key] = {osp.splitext(p)[0]: osp.join(root, p) for p in files}
        if not names['gt']:
            raise UserError(f'{where}.dataroot_gt: no images ({", ".join(IMG_EXTENSIONS)}) in {self.roots["gt"]}')
        for key in names:
            missing = sorted(set(names['gt']) - set(names[key]))
            if missing:
                raise UserError(
                    f'{where}.dataroot_{key}: no image named {missing[0]!r} (as in dataroot_gt) in {self.roots[key]}'
                    + (f' ({len(missing)} missing)' if len(missing) > 1 else '')
                )
        return [{key: names[key][name] for key in names} for name in sorted(names['gt'])]

    def _lmdb_samples(self, where):
        keys = {}
        for key, root in self.roots.items():
            if not root.endswith('.lmdb'):
                raise UserError(f'{where}.dataroot_{key}: io_backend.type is lmdb but {root} does not end with .lmdb')
            if not osp.isfile(osp.join(root, 'meta_info.txt')):
                raise UserError(f"{where}.dataroot_{key}: {root}/meta_info.txt not found (BasicSR's LMDBs have one)")
            keys[key] = paths_from_lmdb(root)
        for key in keys:
            missing = sorted(set(keys['gt']) - set(keys[key]))
            if missing:
                root = self.roots[key]
                raise UserError(f'{where}.dataroot_{key}: no LMDB key {missing[0]!r} (as in dataroot_gt) in {root}')
        if not keys['gt']:
            raise UserError(f'{where}.dataroot_gt: {self.roots["gt"]}/meta_info.txt lists no images')
        return [{key: name for key in keys} for name in keys['gt']]

    def __len__(self):
        return len(self.samples)

    # ------------------------------------------------------------------------------------------- loading
    def _read(self, sample, key):
        if self.file_client is None:  # opened lazily: LMDB environments must not cross a worker fork
            if self.backend == 'lmdb':
                roots = list(self.roots.items())
                self.file_client = FileClient('lmdb', db_paths=[r for _, r in roots], client_keys=[k for k, _ in roots])
            else:
                self.file_client = FileClient('disk')
        value = self.file_client.get(sample[key], key)
        if value is None:
            raise UserError(f'{self.roots[key]}: LMDB key {sample[key]!r} missing')
        try:
            return imfrombytes(value, float32=True)  # HWC, BGR, [0, 1]
        except Exception as err:
            raise UserError(f'{self.roots[key]}: cannot decode {sample[key]!r} as an image ({err})') from None

    def _generators(self, index):
        if self.train:
            entropy = [int(np.random.randint(2**32, dtype=np.uint64)), torch.initial_seed()]
        else:
            entropy = [self.seed, index]
        return [np.random.default_rng(s) for s in np.random.SeedSequence(entropy).spawn(2)]

    def __getitem__(self, index):
        sample = self.samples[index]
        imgs = {key: self._read(sample, key) for key in sample}  # gt (+ lq, clean in pairs mode)
        shapes = {key: img.shape for key, img in imgs.items()}
        if len(set(shapes.values())) > 1:
            raise UserError(f'{sample["gt"]}: the images of this pair differ in size: {shapes}')
        names = list(imgs)
        if self.train:
            if self.gt_size is not None:
                h, w = shapes['gt'][:2]
                if self.gt_size > min(h, w):
                    raise UserError(f'datasets.train.gt_size: {self.gt_size} is larger than {sample["gt"]} ({h}x{w})')
                gts = paired_random_crop([imgs[k] for k in names], imgs['gt'], self.gt_size, 1, sample['gt'])[0]
                imgs = dict(zip(names, gts if isinstance(gts, list) else [gts]))
            out = augment([imgs[k] for k in names], self.opt.get('use_hflip', False), self.opt.get('use_rot', False))
            imgs = dict(zip(names, out if isinstance(out, list) else [out]))
        else:
            imgs = {k: mod_crop(v, self.mod) for k, v in imgs.items()}
        imgs = {k: np.ascontiguousarray(v) for k, v in imgs.items()}

        mask = None
        if self.mode == 'pairs':
            lq, target, clean = imgs['lq'], imgs['gt'], imgs.get('clean')
            lq_path = sample['lq']
        else:
            clean = imgs['gt']
            rng_lq, rng_gt = self._generators(index)
            lq = self.noise.apply(clean, rng_lq)[0]
            if self.mode == 'n2n' and self.train:
                target, mask = self.target_noise.apply(clean, rng_gt)
            else:
                target = clean
            lq_path = sample['gt']
        if not self.train and clean is not None:
            target, mask = clean, None
        if mask is None:
            mask = np.ones(target.shape[:2] + (1,), np.float32)

        lq_t, gt_t = img2tensor([lq, target], bgr2rgb=True, float32=True)
        item = {'lq': lq_t, 'gt': gt_t, 'mask': torch.from_numpy(mask.transpose(2, 0, 1).copy())}
        if clean is not None:
            item['clean'] = img2tensor(clean, bgr2rgb=True, float32=True)
        item['lq_path'], item['gt_path'] = lq_path, sample['gt']
        return item
