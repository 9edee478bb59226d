"""Paired SR data cut from the photos that ship inside scikit-image (a BasicSR dependency).

It lets every SR option file run on a fresh clone with no download. HR images are mod-cropped to the scale and the
LR images are made with BasicSR's MATLAB-compatible bicubic ``imresize``, the usual DIV2K/Set5 convention (and, with
``lr_kinds``, also the ways users make them: PIL bicubic, OpenCV INTER_CUBIC and INTER_AREA), so the folders are read
by BasicSR's own ``PairedImageDataset``. Switch to DIV2K or your own folders by changing
``dataroot_gt``/``dataroot_lq`` (see datasets/README.md).
"""

import os
from os import path as osp

import cv2
import numpy as np
from basicsr.utils.matlab_functions import imresize

from basicsr_ext.data.prepare import PREPARE_REGISTRY, build_atomically
from basicsr_ext.utils.errors import UserError

# colour photos bundled in skimage/data (files inside the wheel, no network); chelsea and coffee are held out
TRAIN_PHOTOS = ('astronaut.png', 'rocket.jpg', 'motorcycle_left.png', 'hubble_deep_field.jpg', 'retina.jpg', 'ihc.png')
VAL_PHOTOS = ('chelsea.png', 'coffee.png')


def load_photo(filename):
    """A BGR uint8 photo from scikit-image's bundled data folder."""
    import skimage.data

    path = osp.join(osp.dirname(skimage.data.__file__), filename)
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f'scikit-image sample photo not found or unreadable: {path}')
    return img


def downscale(hr, kind, scale):
    """The LR image of ``hr`` (BGR or grey uint8) by one of :data:`LR_KINDS`: how users make LR images."""
    if kind not in LR_KINDS:
        raise ValueError(f'LR kind {kind!r}: expected one of {", ".join(LR_KINDS)}')
    h, w = hr.shape[0] // scale, hr.shape[1] // scale
    if kind == 'matlab':  # BasicSR's MATLAB-compatible antialiased bicubic (the DIV2K/Set5 convention)
        lr = imresize(hr.astype(np.float32) / 255.0, 1 / scale)
        return np.clip(np.round(lr * 255.0), 0, 255).astype(np.uint8)
    if kind == 'pil':  # PIL's bicubic (antialiased on downscaling)
        from PIL import Image

        if hr.ndim == 2:
            return np.asarray(Image.fromarray(hr).resize((w, h), Image.BICUBIC))
        rgb = Image.fromarray(np.ascontiguousarray(hr[..., ::-1])).resize((w, h), Image.BICUBIC)
        return np.ascontiguousarray(np.asarray(rgb)[..., ::-1])
    flag = {'cv2_cubic': cv2.INTER_CUBIC, 'cv2_area': cv2.INTER_AREA}[kind]  # OpenCV: cubic does not antialias
    return cv2.resize(hr, (w, h), interpolation=flag)


LR_KINDS = {
    'matlab': 'MATLAB-style bicubic (BasicSR imresize)',
    'pil': 'PIL bicubic',
    'cv2_cubic': 'OpenCV INTER_CUBIC',
    'cv2_area': 'OpenCV INTER_AREA',
}


def write_sr_pair(img, scale, hr_dir, lr_dir, name, kind='matlab'):
    """Mod-crop ``img`` to ``scale`` and write it with its downscale by ``kind`` (:data:`LR_KINDS`) as ``name.png``."""
    h, w = img.shape[:2]
    hr = img[: h - h % scale, : w - w % scale]
    cv2.imwrite(osp.join(hr_dir, f'{name}.png'), hr)
    cv2.imwrite(osp.join(lr_dir, f'{name}.png'), downscale(hr, kind, scale))


def check_count(preparer, count, key='colour_fields'):
    """One line when the image count ``key`` is not an integer >= 0."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise UserError(f'{preparer} {key}: expected an integer >= 0, got {count!r}')


@PREPARE_REGISTRY.register()
def sample_photos_sr(root, scale=2, train=TRAIN_PHOTOS, val=VAL_PHOTOS, lr_kinds=('matlab',), colour_fields=0, seed=0):
    """Write ``root/{train,val}/HR`` and ``root/{train,val}/LR_bicubic/X{scale}`` from scikit-image's photos.

    Each training image gets one pair per LR kind in ``lr_kinds`` (:data:`LR_KINDS`; named ``<photo>_<kind>`` when
    there are several), so a model learns the ways its users make LR images; the training images are the photos plus
    ``colour_fields`` synthetic images of saturated colours and smooth hue ramps (:mod:`basicsr_ext.data.colour_fields`,
    seeded by ``seed``). Validation pairs are made by the first kind of ``lr_kinds``.
    """
    from basicsr_ext.data.colour_fields import colour_fields as make_colour_fields

    kinds = list(lr_kinds)
    bad = [k for k in kinds if k not in LR_KINDS]
    if not kinds or bad:
        raise UserError(f'lr_kinds: expected some of {", ".join(LR_KINDS)}, got {lr_kinds!r}')
    check_count('sample_photos_sr', colour_fields)

    def build(tmp):
        for split, names in (('train', train), ('val', val)):
            hr_dir = osp.join(tmp, split, 'HR')
            lr_dir = osp.join(tmp, split, 'LR_bicubic', f'X{scale}')
            os.makedirs(hr_dir)
            os.makedirs(lr_dir)
            images = [(osp.splitext(filename)[0], load_photo(filename)) for filename in names]
            if split == 'train':
                fields = make_colour_fields(colour_fields, seed)
                images += [(f'colour_field_{i:02d}', img) for i, img in enumerate(fields)]
            for stem, img in images:
                for kind in kinds if split == 'train' else kinds[:1]:
                    name = f'{stem}_{kind}' if split == 'train' and len(kinds) > 1 else stem
                    write_sr_pair(img, scale, hr_dir, lr_dir, name, kind)

    return build_atomically(root, build)


def seeded_crops(filenames, crops, size, seed, what):
    """``(i, k, name, crop)``: ``crops`` square crops of side ``size`` at seeded positions from each photo ``i``,
    named ``<photo>_<k>`` (the validation crops of the preparers below)."""
    rng = np.random.RandomState(seed)
    for i, filename in enumerate(filenames):
        img = load_photo(filename)
        h, w = img.shape[:2]
        if min(h, w) < size:
            raise ValueError(f'{what}: {filename} ({h}x{w}) is smaller than crop_size {size}')
        for k in range(crops):
            top, left = rng.randint(0, h - size + 1), rng.randint(0, w - size + 1)
            yield i, k, f'{osp.splitext(filename)[0]}_{k:02d}', img[top : top + size, left : left + size]


# Real-ESR training photos: the colour photos above plus scikit-image's grey photos and textures (read as 3 equal
# channels); every one is >= 400 px, RealESRGANDataset's crop size
REALESR_TRAIN_PHOTOS = (*TRAIN_PHOTOS, 'camera.png', 'brick.png', 'grass.png', 'gravel.png', 'moon.png')


@PREPARE_REGISTRY.register()
def sample_photos_realesr(
    root, scale=4, val_crops=6, crop_size=256, seed=0, train=REALESR_TRAIN_PHOTOS, val=VAL_PHOTOS
):
    """Training GT for BasicSR's ``RealESRGANDataset`` and fixed Real-ESRNet-degraded validation pairs.

    Writes ``root/train/HR/*.png`` with ``root/train/meta_info.txt`` (one file name per line, the list
    ``RealESRGANDataset`` reads), and ``root/val/HR/*.png`` + ``root/val/LR_realesr/X{scale}/*.png``:
    ``val_crops`` seeded ``crop_size`` crops of each validation photo, each degraded by its own seeded draw of
    Real-ESRGAN's x4 chain (:func:`basicsr_ext.data.realesr_pairs.degrade_realesr`), read by ``PairedImageDataset``.
    ``root/val/LR_bicubic/X{scale}`` holds the clean MATLAB-bicubic LR of the same crops (the regularizer's R(I)).
    """
    from basicsr_ext.data.realesr_pairs import degrade_realesr

    def build(tmp):
        hr_dir = osp.join(tmp, 'train', 'HR')
        os.makedirs(hr_dir)
        names = []
        for filename in train:
            name = f'{osp.splitext(filename)[0]}.png'
            cv2.imwrite(osp.join(hr_dir, name), load_photo(filename))
            names.append(name)
        with open(osp.join(tmp, 'train', 'meta_info.txt'), 'w') as f:
            f.write(''.join(f'{name}\n' for name in names))

        val_hr = osp.join(tmp, 'val', 'HR')
        val_lr = osp.join(tmp, 'val', 'LR_realesr', f'X{scale}')
        os.makedirs(val_hr)
        os.makedirs(val_lr)
        os.makedirs(osp.join(tmp, 'val', 'LR_bicubic', f'X{scale}'))
        for i, k, name, crop in seeded_crops(val, val_crops, crop_size, seed, 'sample_photos_realesr'):
            write_sr_pair(crop, scale, val_hr, osp.join(tmp, 'val', 'LR_bicubic', f'X{scale}'), name)
            lq = degrade_realesr(crop, scale, seed=seed * 1000 + i * 100 + k)
            cv2.imwrite(osp.join(val_lr, f'{name}.png'), lq)

    return build_atomically(root, build)


@PREPARE_REGISTRY.register()
def sample_photos_denoise(
    root,
    val_crops=4,
    crop_size=256,
    seed=0,
    train=REALESR_TRAIN_PHOTOS,
    val=VAL_PHOTOS,
    colour_fields=0,
    full_range_fields=0,
):
    """Clean images for denoising (``NoisyPairDataset`` adds the noise): ``root/train/*.png``, the 11 training photos
    of :func:`sample_photos_realesr` plus ``colour_fields`` synthetic images of saturated colours
    (:mod:`basicsr_ext.data.colour_fields`, seeded by ``seed``) and ``full_range_fields`` more whose colours reach 0
    and 255 (``full_range=True``, seeded by ``seed + 1``), and ``root/val/*.png``, ``val_crops`` seeded ``crop_size``
    crops of each held-out photo (chelsea, coffee)."""
    from basicsr_ext.data.colour_fields import colour_fields as make_colour_fields

    check_count('sample_photos_denoise', colour_fields)
    check_count('sample_photos_denoise', full_range_fields, 'full_range_fields')

    def build(tmp):
        os.makedirs(osp.join(tmp, 'train'))
        os.makedirs(osp.join(tmp, 'val'))
        for filename in train:
            cv2.imwrite(osp.join(tmp, 'train', f'{osp.splitext(filename)[0]}.png'), load_photo(filename))
        for i, img in enumerate(make_colour_fields(colour_fields, seed)):
            cv2.imwrite(osp.join(tmp, 'train', f'colour_field_{i:02d}.png'), img)
        for i, img in enumerate(make_colour_fields(full_range_fields, seed + 1, full_range=True)):
            cv2.imwrite(osp.join(tmp, 'train', f'full_range_field_{i:02d}.png'), img)
        for _, _, name, crop in seeded_crops(val, val_crops, crop_size, seed, 'sample_photos_denoise'):
            cv2.imwrite(osp.join(tmp, 'val', f'{name}.png'), crop)

    return build_atomically(root, build)
