"""Patches of BasicSR 1.4.2's data code (see :mod:`basicsr_ext.compat`): a mistake in the data a BasicSR dataset reads
is a UserError naming the file or folder and what was expected, not an assert or a traceback from deep inside.

Each patch wraps BasicSR's function (``functools.wraps``: the original stays reachable as ``__wrapped__``) and, for
functions that BasicSR's dataset modules imported by name, rebinds those names too. On good data the originals run
unchanged.
"""

import functools
import sys
from os import path as osp

MAX_NAMES = 5  # names listed in a message; the count says how many there are in all


def _rebind(module, name, replacement, within):
    """Replace ``module.<name>`` and every binding of the same object in the modules under ``within`` that imported
    it by name (``from basicsr.data.transforms import paired_random_crop``)."""
    original = getattr(module, name)
    for mod_name, mod in list(sys.modules.items()):
        if (mod_name == within or mod_name.startswith(f'{within}.')) and getattr(mod, name, None) is original:
            setattr(mod, name, replacement)
    setattr(module, name, replacement)


def _hw(shape):
    return f'{shape[0]}x{shape[1]}'


def _names(names, noun='image', verbs=('is', 'are')):
    """``('2 images are', 'a.png, b.png')``: the count with its verb, and the first few names, for a message."""
    shown = ', '.join(names[:MAX_NAMES]) + (', ...' if len(names) > MAX_NAMES else '')
    if len(names) == 1:
        return f'1 {noun} {verbs[0]}', shown
    return f'{len(names)} {noun}s {verbs[1]}', shown


def _unmatched(gt_folder, gt_names, lq_folder, lq_names, filename_tmpl=None, noun='image'):
    """The one-line message for GT names without an LQ match and LQ names without a GT match (None if all pair)."""
    parts = []
    tmpl = f' (filename_tmpl {filename_tmpl!r})' if filename_tmpl is not None else ''
    for folder, names, other in ((gt_folder, gt_names, lq_folder), (lq_folder, lq_names, gt_folder)):
        if names:
            count, shown = _names(names, noun, ('has', 'have'))
            parts.append(f'{folder}: {count} no match in {other}{tmpl}: {shown}')
            tmpl = ''  # said once
    return '; '.join(parts) or None


# ----------------------------------------------------------------------------------------------- crop sizes
def basicsr_crop_errors():
    """``paired_random_crop`` raises ValueError (a tuple for the scale mismatch) for an LQ image smaller than the crop
    or a GT that is not LQ x scale; a gt_size that is no multiple of scale silently crops GT and LQ to different
    areas. In validation, a GT smaller than LQ x scale fails later in the model with a tensor-size RuntimeError."""
    import basicsr.data  # noqa: F401  (the dataset modules that bind paired_random_crop by name)
    import torch
    from basicsr.data import paired_image_dataset, realesrgan_paired_dataset, transforms

    from basicsr_ext.utils.errors import UserError

    original_crop = transforms.paired_random_crop

    def hw(img):
        return tuple(img.shape[-2:]) if torch.is_tensor(img) else tuple(img.shape[:2])  # (c, h, w) or (h, w, c)

    @functools.wraps(original_crop)
    def paired_random_crop(img_gts, img_lqs, gt_patch_size, scale, gt_path=None):
        gt_hw = hw(img_gts[0] if isinstance(img_gts, list) else img_gts)
        lq_hw = hw(img_lqs[0] if isinstance(img_lqs, list) else img_lqs)
        where = gt_path or 'a training pair'
        if gt_patch_size % scale:
            raise UserError(
                f'datasets.train.gt_size: {gt_patch_size} is not a multiple of scale {scale} '
                '(the GT crop is the LQ crop x scale)'
            )
        expected = (lq_hw[0] * scale, lq_hw[1] * scale)
        if gt_hw != expected:
            raise UserError(
                f'{where}: GT image is {_hw(gt_hw)} but its LQ image is {_hw(lq_hw)}; '
                f'expected GT = LQ x scale {scale} = {_hw(expected)}'
            )
        lq_patch = gt_patch_size // scale
        if min(lq_hw) < lq_patch:
            raise UserError(
                f'{where}: LQ image is {_hw(lq_hw)}, smaller than the crop '
                f'datasets.train.gt_size {gt_patch_size} / scale {scale} = {lq_patch}'
            )
        return original_crop(img_gts, img_lqs, gt_patch_size, scale, gt_path)

    _rebind(transforms, 'paired_random_crop', paired_random_crop, within='basicsr.data')

    for cls in (paired_image_dataset.PairedImageDataset, realesrgan_paired_dataset.RealESRGANPairedDataset):
        original_getitem = cls.__getitem__

        @functools.wraps(original_getitem)
        def __getitem__(self, index, _original=original_getitem):
            item = _original(self, index)
            if self.opt['phase'] != 'train':  # training crops were checked above; validation reads whole images
                scale = self.opt['scale']
                (h, w), gt_hw = item['lq'].shape[-2:], tuple(item['gt'].shape[-2:])
                expected = (h * scale, w * scale)
                if gt_hw != expected:
                    # PairedImageDataset crops a larger GT to LQ x scale: what is left is a smaller one
                    smaller = gt_hw[0] <= expected[0] and gt_hw[1] <= expected[1]
                    what = 'smaller than' if smaller else f'{_hw(gt_hw)}, not'
                    raise UserError(
                        f'{item["gt_path"]}: GT image is {what} its LQ image {h}x{w} x scale {scale} = {_hw(expected)}'
                    )
            return item

        cls.__getitem__ = __getitem__


# ----------------------------------------------------------------------------------------------- pairing by name
def basicsr_pairing_errors():
    """``paired_paths_from_folder`` asserts equal counts and each GT's LQ name (the message names no folder and only
    the first name); an empty pair of folders gives an empty train set (ZeroDivisionError in BasicSR's
    ``create_train_val_dataloader``). ``paired_paths_from_meta_info_file`` does not check that the files it lists
    exist: a missing one ends in FileNotFoundError while training."""
    from basicsr.data import data_util
    from basicsr.utils import scandir

    from basicsr_ext.utils.errors import UserError

    def lq_name(gt_name, filename_tmpl):
        basename, ext = osp.splitext(osp.basename(gt_name))
        return f'{filename_tmpl.format(basename)}{ext}'

    original_folder = data_util.paired_paths_from_folder

    @functools.wraps(original_folder)
    def paired_paths_from_folder(folders, keys, filename_tmpl):
        lq_folder, gt_folder = folders
        lq_names, gt_names = sorted(scandir(lq_folder)), sorted(scandir(gt_folder))
        if not gt_names:
            raise UserError(f'{gt_folder}: no images in the GT folder (dataroot_gt) of a paired dataset')
        expected = {lq_name(name, filename_tmpl) for name in gt_names}
        present = set(lq_names)
        message = _unmatched(
            gt_folder,
            [name for name in gt_names if lq_name(name, filename_tmpl) not in present],
            lq_folder,
            [name for name in lq_names if name not in expected],
            filename_tmpl,
        )
        if message:
            raise UserError(message)
        return original_folder(folders, keys, filename_tmpl)

    original_meta = data_util.paired_paths_from_meta_info_file

    @functools.wraps(original_meta)
    def paired_paths_from_meta_info_file(folders, keys, meta_info_file, filename_tmpl):
        paths = original_meta(folders, keys, meta_info_file, filename_tmpl)
        lq_key = keys[0]
        if not paths:
            raise UserError(f'{meta_info_file}: lists no images (expected one GT file name a line)')
        for key, folder in reversed(list(zip(keys, folders))):  # GT first
            if osp.isdir(folder):  # a disk backend (memcached paths are no local folders)
                missing = [osp.relpath(p[f'{key}_path'], folder) for p in paths if not osp.isfile(p[f'{key}_path'])]
                if missing:
                    count, shown = _names(missing)
                    tmpl = f' (filename_tmpl {filename_tmpl!r})' if key == lq_key else ''
                    raise UserError(f'{meta_info_file}: {count} listed there but not in {folder}{tmpl}: {shown}')
        return paths

    for name, replacement in (
        ('paired_paths_from_folder', paired_paths_from_folder),
        ('paired_paths_from_meta_info_file', paired_paths_from_meta_info_file),
    ):
        _rebind(data_util, name, replacement, within='basicsr.data')


# ----------------------------------------------------------------------------------------------- LMDB
def basicsr_lmdb_errors():
    """BasicSR's LMDB reading: a dataroot that is no LMDB folder ends in ValueError (name without ``.lmdb``) or
    FileNotFoundError (no ``meta_info.txt``); a damaged ``data.mdb`` in ``lmdb.Error`` when the first sample is read;
    a key of ``meta_info.txt`` absent from the database in ``TypeError: a bytes-like object is required, not
    'NoneType'``; different keys in the LQ and GT databases in a ValueError naming neither."""
    import lmdb
    from basicsr.data import data_util
    from basicsr.utils import file_client, img_util

    from basicsr_ext.utils.errors import UserError

    def check_database(folder):
        if not osp.isfile(osp.join(folder, 'data.mdb')):
            raise UserError(f'{folder}: not an LMDB database (no data.mdb), but io_backend type is lmdb')
        if osp.getsize(osp.join(folder, 'data.mdb')) == 0:  # lmdb's own message for it: 'Bad file descriptor'
            raise UserError(f'{folder}: damaged LMDB: data.mdb is empty (0 bytes)')

    def check_lmdb_folder(folder):
        """What BasicSR's datasets need of an LMDB folder besides the database."""
        check_database(folder)
        if not folder.endswith('.lmdb'):
            raise UserError(f'{folder}: BasicSR reads an LMDB folder only when its name ends in .lmdb')
        if not osp.isfile(osp.join(folder, 'meta_info.txt')):
            raise UserError(f'{folder}: no meta_info.txt (the keys BasicSR reads, one "<key>.png (h,w,c) 1" a line)')

    def lmdb_keys(folder):
        with open(osp.join(folder, 'meta_info.txt')) as fin:
            return [line.split('.')[0] for line in fin]  # as BasicSR reads them

    original_pairs = data_util.paired_paths_from_lmdb

    @functools.wraps(original_pairs)
    def paired_paths_from_lmdb(folders, keys):
        lq_folder, gt_folder = folders
        for folder in (gt_folder, lq_folder):
            check_lmdb_folder(folder)
        lq_keys, gt_keys = lmdb_keys(lq_folder), lmdb_keys(gt_folder)
        if not gt_keys:
            raise UserError(f'{gt_folder}: meta_info.txt lists no images')
        gt_only, lq_only = sorted(set(gt_keys) - set(lq_keys)), sorted(set(lq_keys) - set(gt_keys))
        message = _unmatched(gt_folder, gt_only, lq_folder, lq_only, noun='meta_info.txt key')
        if message:
            raise UserError(message)
        return original_pairs(folders, keys)

    original_paths = data_util.paths_from_lmdb

    @functools.wraps(original_paths)
    def paths_from_lmdb(folder):
        check_lmdb_folder(folder)
        return original_paths(folder)

    _rebind(data_util, 'paired_paths_from_lmdb', paired_paths_from_lmdb, within='basicsr.data')
    _rebind(data_util, 'paths_from_lmdb', paths_from_lmdb, within='basicsr.data')

    backend = file_client.LmdbBackend
    original_init, original_get = backend.__init__, backend.get
    missing = {}  # the last key an LMDB had no value for: (folder, key); one dataset reads at a time per process

    @functools.wraps(original_init)
    def __init__(self, db_paths, client_keys='default', readonly=True, lock=False, readahead=False, **kwargs):
        if readonly:  # a writer may create the database
            for folder in db_paths if isinstance(db_paths, list) else [db_paths]:
                check_database(str(folder))
        try:
            original_init(self, db_paths, client_keys, readonly, lock, readahead, **kwargs)
        except lmdb.Error as err:  # '<folder>: <what>'
            text = str(err)
            folder = next((p for p in self.db_paths if text.startswith(f'{p}: ')), None)
            where, text = (folder, text[len(folder) + 2 :]) if folder else (', '.join(self.db_paths), text)
            raise UserError(f'{where}: damaged LMDB: {text}') from None

    @functools.wraps(original_get)
    def get(self, filepath, client_key):
        value = original_get(self, filepath, client_key)
        missing.clear()
        if value is None:
            missing['at'] = (dict(zip(self._client, self.db_paths)).get(client_key), str(filepath))
        return value

    backend.__init__, backend.get = __init__, get

    inner_decode = img_util.imfrombytes  # basicsr_image_errors' when that patch ran first

    @functools.wraps(inner_decode)
    def imfrombytes(content, flag='color', float32=False):
        if content is None and 'at' in missing:
            folder, key = missing['at']
            raise UserError(f'{folder}: key {key!r} listed in meta_info.txt is not in the database')
        return inner_decode(content, flag, float32)

    _rebind(img_util, 'imfrombytes', imfrombytes, within='basicsr')


# ----------------------------------------------------------------------------------------------- missing keys
def basicsr_dataset_key_errors():
    """BasicSR's datasets read required options with ``opt['key']``: a key missing from a ``datasets:`` entry (e.g.
    ``gt_size`` or ``use_hflip`` of a train set, ``io_backend``) is a bare KeyError from ``__init__`` or, inside a
    DataLoader worker, from ``__getitem__``. Both become a UserError naming the dataset entry and the key."""
    import basicsr.data  # noqa: F401  (registers BasicSR's datasets)
    from basicsr.utils.registry import DATASET_REGISTRY

    from basicsr_ext.utils.errors import UserError

    def missing(opt, err, cls):
        key = err.args[0] if err.args else None
        if not isinstance(opt, dict) or not isinstance(key, str) or key in opt:
            return None  # a KeyError of something else: not a missing option
        where = f'datasets.{opt.get("phase", "?")} ({opt.get("name", cls.__name__)})'
        return UserError(f'{where}: missing required key {key!r} ({cls.__name__} reads it)')

    for cls in {cls for _, cls in DATASET_REGISTRY}:
        if not cls.__module__.startswith('basicsr.') or cls.__dict__.get('_key_errors_patched', False):
            continue

        def init(self, opt, _original=cls.__init__, _cls=cls):
            try:
                _original(self, opt)
            except KeyError as err:
                error = missing(opt, err, _cls)
                if error is None:
                    raise
                raise error from None

        def getitem(self, index, _original=cls.__getitem__, _cls=cls):
            try:
                return _original(self, index)
            except KeyError as err:
                error = missing(getattr(self, 'opt', None), err, _cls)
                if error is None:
                    raise
                raise error from None

        cls.__init__ = functools.wraps(cls.__init__)(init)
        cls.__getitem__ = functools.wraps(cls.__getitem__)(getitem)
        cls._key_errors_patched = True
