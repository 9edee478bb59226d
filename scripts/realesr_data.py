"""Real-ESRNet data from your own HR folder (FFHQ, DIV2K, ...) for train_sr_lsr.yml / train_sr_l1.yml.

python scripts/realesr_data.py meta-info datasets/FFHQ/train
    writes datasets/FFHQ/train/meta_info.txt (the image files of the folder, sorted, one per line): the list
    BasicSR's RealESRGANDataset reads (``datasets.train.meta_info``).
python scripts/realesr_data.py val-pairs datasets/FFHQ/val -o datasets/FFHQ_val_x4 --scale 4 [--crops 1 --size 256]
    writes OUT/HR, OUT/LR_realesr/X4 and OUT/LR_bicubic/X4: ``--crops`` seeded ``--size`` crops of every image
    (``--size 0``: the whole image, which must then be square), each degraded once by its own seeded draw of the
    Real-ESRNet chain (basicsr_ext/data/realesr_pairs.py), and the clean MATLAB-bicubic LR of the same crops.
    The folder is built under a temporary name and renamed when complete.

python scripts/realesr_data.py lmdb datasets/FFHQ/train -o datasets/FFHQ_train.lmdb
    packs the folder with BasicSR's ``make_lmdb_from_imgs`` (keys: file names without extension; the LMDB's own
    meta_info.txt); use it with ``io_backend: {type: lmdb}`` and ``dataroot_gt: datasets/FFHQ_train.lmdb`` (no
    ``meta_info`` key). Written under a temporary name and renamed when complete.
"""

import argparse
import os
import sys
from os import path as osp

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import basicsr_ext  # noqa: E402,F401
from basicsr_ext.data.prepare import build_atomically  # noqa: E402
from basicsr_ext.utils.errors import UserError  # noqa: E402
from basicsr_ext.utils.file_io import check_output_file, check_output_folder, write_text_atomic  # noqa: E402
from basicsr_ext.utils.images import IMG_EXTENSIONS, check_image_file, read_image  # noqa: E402


def list_images(folder, quick=False):
    """The image files of ``folder``, sorted, each checked without decoding (``check_image_file``): an empty,
    truncated or non-image file is refused by name before anything is written."""
    if not osp.isdir(folder):
        raise UserError(f'{folder}: not a folder')
    names = sorted(n for n in os.listdir(folder) if n.lower().endswith(IMG_EXTENSIONS))
    if not names:
        raise UserError(f'{folder}: no image files ({", ".join(IMG_EXTENSIONS)})')
    for name in names:
        check_image_file(osp.join(folder, name), quick=quick)
    return names


def meta_info(folder, output=None):
    output = output or osp.join(folder, 'meta_info.txt')
    check_output_file(output, '-o')
    names = list_images(folder, quick=True)  # large folders: the ends of PNG / JPEG files, not every byte
    write_text_atomic(output, ''.join(f'{name}\n' for name in names))
    print(f'wrote {output} ({len(names)} images)')


def make_lmdb(folder, output):
    import shutil
    import tempfile

    from basicsr.utils.lmdb_util import make_lmdb_from_imgs

    if not output.endswith('.lmdb'):
        raise UserError(f'-o: expected a name ending in .lmdb, got {output}')
    if osp.exists(output):
        raise UserError(f'{output} exists; remove it or choose another name')
    check_output_folder(output, '-o')
    names = list_images(folder)
    stems = [osp.splitext(n)[0] for n in names]
    bad = [n for n in stems if '.' in n]
    if bad:  # RealESRGANDataset takes the key up to the first '.' of each meta_info line
        raise UserError(f'{folder}: file names with a dot before the extension cannot be LMDB keys: {bad[:3]}')
    parent = osp.dirname(osp.abspath(output))
    os.makedirs(parent, exist_ok=True)
    tmp = osp.join(tempfile.mkdtemp(prefix=f'.{osp.basename(output)}.tmp-', dir=parent), 'db.lmdb')
    try:
        # map size as BasicSR's LmdbMaker (1 TiB, sparse): make_lmdb_from_imgs's own guess from the first image
        # overflows when that image compresses better than the rest
        try:
            make_lmdb_from_imgs(folder, tmp, names, stems, multiprocessing_read=False, map_size=1024**4)
        except AttributeError:  # BasicSR's reader got None from cv2.imread: a file the checks above let through
            raise UserError(f'{folder}: OpenCV cannot decode one of its images (damaged or unsupported)') from None
        os.replace(tmp, output)
    finally:
        shutil.rmtree(osp.dirname(tmp), ignore_errors=True)
    print(f'wrote {output} ({len(names)} images)')


def val_pairs(folder, output, scale, crops, size, seed):
    import cv2
    import numpy as np

    from basicsr_ext.data.realesr_pairs import MIN_SIZE, degrade_realesr
    from basicsr_ext.data.sample_photos_prepare import write_sr_pair

    if scale < 1:
        raise UserError(f'--scale: expected an integer >= 1, got {scale}')
    if seed < 0:
        raise UserError(f'--seed: expected >= 0, got {seed}')
    check_output_folder(output, '-o', inputs=[folder])
    names = list_images(folder)
    if size and (size < MIN_SIZE or size % scale):
        raise UserError(f'--size: expected >= {MIN_SIZE} and divisible by --scale {scale}, got {size}')

    def build(tmp):
        hr_dir, real_dir = osp.join(tmp, 'HR'), osp.join(tmp, 'LR_realesr', f'X{scale}')
        bicubic_dir = osp.join(tmp, 'LR_bicubic', f'X{scale}')
        for d in (hr_dir, real_dir, bicubic_dir):
            os.makedirs(d)
        rng = np.random.RandomState(seed)
        for i, name in enumerate(names):
            img = read_image(osp.join(folder, name), cv2.IMREAD_COLOR)
            h, w = img.shape[:2]
            side = size or h
            if size == 0 and (h != w or h < MIN_SIZE or h % scale):
                raise UserError(
                    f'{osp.join(folder, name)}: {h}x{w}; --size 0 needs square images, side >= {MIN_SIZE} and '
                    f'divisible by {scale} (or give --size)'
                )
            if min(h, w) < side:
                raise UserError(f'{osp.join(folder, name)}: {h}x{w} is smaller than --size {side}')
            stem = osp.splitext(name)[0]
            for k in range(crops if size else 1):
                top, left = rng.randint(0, h - side + 1), rng.randint(0, w - side + 1)
                crop = img[top : top + side, left : left + side]
                out = f'{stem}_{k:02d}' if size and crops > 1 else stem
                write_sr_pair(crop, scale, hr_dir, bicubic_dir, out)
                lq = degrade_realesr(crop, scale, seed=seed * 1_000_003 + i * 1000 + k)
                cv2.imwrite(osp.join(real_dir, f'{out}.png'), lq)

    if not build_atomically(output, build):
        print(f'{output} is already complete; left as it is')
        return
    print(f'wrote {output}: HR, LR_realesr/X{scale}, LR_bicubic/X{scale}')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='command', required=True)
    p = sub.add_parser('meta-info', help='write meta_info.txt for RealESRGANDataset')
    p.add_argument('folder')
    p.add_argument('-o', '--output', help='default: FOLDER/meta_info.txt')
    p = sub.add_parser('lmdb', help='pack an HR folder into an LMDB for RealESRGANDataset')
    p.add_argument('folder')
    p.add_argument('-o', '--output', required=True, help='the .lmdb folder to write')
    p = sub.add_parser('val-pairs', help='write fixed Real-ESRNet-degraded LR/HR validation pairs')
    p.add_argument('folder')
    p.add_argument('-o', '--output', required=True)
    p.add_argument('--scale', type=int, default=4)
    p.add_argument('--crops', type=int, default=1, help='crops per image (with --size)')
    p.add_argument('--size', type=int, default=256, help='crop side; 0 = whole (square) images')
    p.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    try:
        if args.command == 'meta-info':
            meta_info(args.folder, args.output)
        elif args.command == 'lmdb':
            make_lmdb(args.folder, args.output)
        else:
            if args.crops < 1:
                raise UserError(f'--crops: expected >= 1, got {args.crops}')
            val_pairs(args.folder, args.output, args.scale, args.crops, args.size, args.seed)
    except UserError as err:
        print(f'basicsr-ext: error: {err}', file=sys.stderr)
        sys.exit(2)


if __name__ == '__main__':
    main()
