"""Bad training data through the real entry point (``basicsr_ext/train.py``, ``main(argv)`` in this process): every
mistake ends as one line ``basicsr-ext: error: <message>`` on stderr with exit status 2, no traceback, nothing
half-written.

The data is ``tiny_data`` (8 x2 train pairs of 32 px, 2 val pairs of 24 px) read by BasicSR's PairedImageDataset;
the messages come from the patches of ``basicsr_ext/compat.py`` and ``compat_data.py``. Training runs 4 iterations of
2 samples, so every train sample is read once; cases with 2 workers raise the error in a DataLoader worker (torch
re-raises it in the main process). The val cases validate at iteration 2.
"""

import os
import shutil
from os import path as osp

import cv2
import numpy as np
import pytest

from conftest import run_train, tiny_options, workers_killed_after, write_yaml

TMPL = "(filename_tmpl '{}')"
UNREADABLE = 'cannot read the image (empty, damaged, or not an image)'


def write_png(path, size):
    cv2.imwrite(path, np.zeros((size, size, 3), np.uint8))


def make_lmdb(folder):
    """``<folder>.lmdb`` of the images in ``folder``, keys their names without extension (BasicSR's own tool)."""
    from basicsr.utils.lmdb_util import make_lmdb_from_imgs

    names = sorted(os.listdir(folder))
    keys = [osp.splitext(n)[0] for n in names]
    make_lmdb_from_imgs(folder, f'{folder}.lmdb', names, keys, map_size=2**24)  # its estimate is too small here
    return f'{folder}.lmdb'


def use_lmdb(opt):
    """Train from LMDBs of the train pairs; returns (gt, lq) LMDB folders."""
    train = opt['datasets']['train']
    gt, lq = make_lmdb(train['dataroot_gt']), make_lmdb(train['dataroot_lq'])
    train.update(dataroot_gt=gt, dataroot_lq=lq, io_backend={'type': 'lmdb'})
    return gt, lq


def replace_in_meta_info(folder, old, new):
    meta = osp.join(folder, 'meta_info.txt')
    text = open(meta).read()
    open(meta, 'w').write(text.replace(old, new))


# ----------------------------------------------------------------------------------------------- cases
# each damages the data (or the options) in place and returns the message expected after 'basicsr-ext: error: '
def corrupt_gt_png(hr, lr, opt):
    bad = osp.join(hr, 'img003.png')
    open(bad, 'wb').write(open(bad, 'rb').read()[:8] + b'\x00garbage' * 40)  # PNG signature, then no PNG
    return f'{bad}: {UNREADABLE}'


def empty_gt_png(hr, lr, opt):
    bad = osp.join(hr, 'img005.png')
    open(bad, 'wb').close()
    return f'{bad}: {UNREADABLE}'


def text_file_as_lq_png(hr, lr, opt):
    notes, bad = osp.join(lr, 'notes.txt'), osp.join(lr, 'img002.png')
    open(notes, 'w').write('shot list\nimg002: beach\n')
    os.replace(notes, bad)
    return f'{bad}: {UNREADABLE}'


def lq_smaller_than_crop(hr, lr, opt):
    gt = osp.join(hr, 'img004.png')
    write_png(gt, 12)
    write_png(osp.join(lr, 'img004.png'), 6)
    return f'{gt}: LQ image is 6x6, smaller than the crop datasets.train.gt_size 16 / scale 2 = 8'


def gt_lq_scale_mismatch(hr, lr, opt):
    gt = osp.join(hr, 'img006.png')
    write_png(gt, 24)
    return f'{gt}: GT image is 24x24 but its LQ image is 16x16; expected GT = LQ x scale 2 = 32x32'


def gt_size_not_multiple_of_scale(hr, lr, opt):
    opt['datasets']['train']['gt_size'] = 17  # the GT crop would be 17 px, its LQ crop x 2 only 16
    return 'datasets.train.gt_size: 17 is not a multiple of scale 2 (the GT crop is the LQ crop x scale)'


def train_set_without_gt_size(hr, lr, opt):
    del opt['datasets']['train']['gt_size']  # BasicSR: KeyError('gt_size') from __getitem__; here: an option error
    return '<opt_file>: datasets.train.gt_size: missing required key (PairedImageDataset reads it in training)'


def train_set_without_use_hflip(hr, lr, opt):
    del opt['datasets']['train']['use_hflip']
    return '<opt_file>: datasets.train.use_hflip: missing required key (PairedImageDataset reads it in training)'


def hr_without_lr(hr, lr, opt):
    os.remove(osp.join(lr, 'img003.png'))
    os.remove(osp.join(lr, 'img005.png'))
    return f'{hr}: 2 images have no match in {lr} {TMPL}: img003.png, img005.png'


def lr_without_hr(hr, lr, opt):
    os.remove(osp.join(hr, 'img007.png'))
    return f'{lr}: 1 image has no match in {hr} {TMPL}: img007.png'


def lr_named_otherwise(hr, lr, opt):
    for i in range(8):
        os.rename(osp.join(lr, f'img{i:03d}.png'), osp.join(lr, f'img{i:03d}x2.png'))
    return (
        f'{hr}: 8 images have no match in {lr} {TMPL}: img000.png, img001.png, img002.png, img003.png, img004.png, '
        f'...; {lr}: 8 images have no match in {hr}: img000x2.png, img001x2.png, img002x2.png, img003x2.png, '
        'img004x2.png, ...'
    )


def empty_gt_folder(hr, lr, opt):
    shutil.rmtree(hr)
    os.makedirs(hr)
    return f'{hr}: no images in the GT folder (dataroot_gt) of a paired dataset'


def empty_gt_and_lq_folders(hr, lr, opt):  # BasicSR: ZeroDivisionError (0 iterations per epoch)
    for folder in (hr, lr):
        shutil.rmtree(folder)
        os.makedirs(folder)
    return f'{hr}: no images in the GT folder (dataroot_gt) of a paired dataset'


def meta_info_file_lists_missing_image(hr, lr, opt):
    meta = osp.join(osp.dirname(hr), 'meta_info_train.txt')
    open(meta, 'w').write(''.join(f'img{i:03d}.png (32,32,3)\n' for i in (0, 1, 2, 3, 4, 5, 6, 8)))
    opt['datasets']['train']['meta_info_file'] = meta
    return f'{meta}: 1 image is listed there but not in {hr}: img008.png'


def lmdb_dataroot_is_plain_folder(hr, lr, opt):
    use_lmdb(opt)
    opt['datasets']['train']['dataroot_gt'] = hr  # the image folder, not HR.lmdb
    return f'{hr}: not an LMDB database (no data.mdb), but io_backend type is lmdb'


def lmdb_data_mdb_empty(hr, lr, opt):
    gt, _ = use_lmdb(opt)
    open(osp.join(gt, 'data.mdb'), 'wb').close()
    return f'{gt}: damaged LMDB: data.mdb is empty (0 bytes)'


def lmdb_data_mdb_damaged(hr, lr, opt):
    _, lq = use_lmdb(opt)
    open(osp.join(lq, 'data.mdb'), 'wb').write(b'not an LMDB' * 1000)
    return f'{lq}: damaged LMDB: MDB_INVALID: File is not an LMDB file'


def lmdb_meta_info_missing(hr, lr, opt):
    gt, _ = use_lmdb(opt)
    os.remove(osp.join(gt, 'meta_info.txt'))
    return f'{gt}: no meta_info.txt (the keys BasicSR reads, one "<key>.png (h,w,c) 1" a line)'


def lmdb_meta_info_key_not_in_database(hr, lr, opt):
    gt, lq = use_lmdb(opt)
    for folder in (gt, lq):
        replace_in_meta_info(folder, 'img006.png', 'img060.png')
    return f"{gt}: key 'img060' listed in meta_info.txt is not in the database"


def lmdb_keys_differ(hr, lr, opt):
    gt, lq = use_lmdb(opt)
    replace_in_meta_info(lq, 'img001.png', 'img010.png')
    key = '1 meta_info.txt key has no match in'
    return f'{gt}: {key} {lq}: img001; {lq}: {key} {gt}: img010'


def val_corrupt_gt_png(hr, lr, opt):
    bad = osp.join(opt['datasets']['val']['dataroot_gt'], 'img001.png')
    open(bad, 'wb').write(b'\x89PNG\r\n\x1a\n' + b'\x00' * 100)
    return f'{bad}: {UNREADABLE}'


def val_gt_smaller_than_lq_x_scale(hr, lr, opt):
    gt = osp.join(opt['datasets']['val']['dataroot_gt'], 'img000.png')
    write_png(gt, 20)
    return f'{gt}: GT image is smaller than its LQ image 12x12 x scale 2 = 24x24'


CASES = [
    (corrupt_gt_png, 0),
    (corrupt_gt_png, 2),
    (empty_gt_png, 0),
    (text_file_as_lq_png, 2),
    (lq_smaller_than_crop, 0),
    (lq_smaller_than_crop, 2),
    (gt_lq_scale_mismatch, 0),
    (gt_size_not_multiple_of_scale, 0),
    (train_set_without_gt_size, 0),
    (train_set_without_gt_size, 2),
    (train_set_without_use_hflip, 0),
    (hr_without_lr, 0),
    (lr_without_hr, 0),
    (lr_named_otherwise, 0),
    (empty_gt_folder, 0),
    (empty_gt_and_lq_folders, 0),
    (meta_info_file_lists_missing_image, 0),
    (lmdb_dataroot_is_plain_folder, 0),
    (lmdb_data_mdb_empty, 0),
    (lmdb_data_mdb_damaged, 0),
    (lmdb_data_mdb_damaged, 2),
    (lmdb_meta_info_missing, 0),
    (lmdb_meta_info_key_not_in_database, 0),
    (lmdb_meta_info_key_not_in_database, 2),
    (lmdb_keys_differ, 0),
    (val_corrupt_gt_png, 0),
    (val_gt_smaller_than_lq_x_scale, 0),
]


@pytest.mark.parametrize(
    'damage, workers', [pytest.param(*case, id=f'{case[0].__name__}-w{case[1]}') for case in CASES]
)
def test_bad_training_data_is_one_line(tmp_path, tiny_data, damage, workers):
    opt = tiny_options(tiny_data, total_iter=4)
    opt['datasets']['train']['num_worker_per_gpu'] = workers
    opt['logger']['save_checkpoint_freq'] = 100  # no checkpoint: a .pth would mean training went on
    if damage.__name__.startswith('val_'):
        opt['val']['val_freq'] = 2  # validates after 2 of the 4 iterations
    else:
        del opt['datasets']['val'], opt['val']
    train = opt['datasets']['train']
    expected = damage(train['dataroot_gt'], train['dataroot_lq'], opt)

    opt_file = write_yaml(tmp_path / 'bad_data.yml', opt)
    expected = expected.replace('<opt_file>', opt_file)  # option mistakes are found before anything is read
    with workers_killed_after():
        result = run_train(['-opt', opt_file], tmp_path)

    assert result.returncode == 2, result.stderr[-3000:]
    assert 'Traceback' not in result.stderr, result.stderr[-3000:]
    assert result.stderr.rstrip('\n').splitlines()[-1] == f'basicsr-ext: error: {expected}'
    assert sorted(tmp_path.rglob('*.tmp*')) == []
    assert sorted(tmp_path.rglob('models/*.pth')) == []
