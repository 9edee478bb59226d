import glob
import inspect
import random
from os import path as osp
from typing import Literal, Optional

import cv2
import numpy as np
import torch
from basicsr.utils import FileClient, get_root_logger
from basicsr.utils.registry import DATASET_REGISTRY
from pydantic import ValidationInfo, model_validator
from torch.utils import data

from basicsr_ext.aos.focal_stack import gt_name, is_own_stack, parse_stack_name, read_focal_stack, read_gt
from basicsr_ext.aos.geometry import MAPPINGS, OLD_MAPPING_NAMES, CameraModel
from basicsr_ext.aos.inputs import height_index
from basicsr_ext.aos.lmdb_store import parse_meta_line
from basicsr_ext.aos.position import PersonPosition
from basicsr_ext.utils.dihedral import apply_numpy, transform_point
from basicsr_ext.utils.errors import UserError
from basicsr_ext.utils.lmdb_digests import DigestChecker
from basicsr_ext.utils.option_models import Number, NumberRange, Section, option_error

INPUT_CHANNEL_KEYS = ('in_chans', 'num_in_ch')  # Swin2SR's, the U-Nets'


class FocalStackOptions(Section):
    """The keys of an AOSFocalStackDataset entry besides the common ones (the class docstring says what they do)."""

    heights: Optional[list[Number]] = None
    position_mapping: Literal[MAPPINGS + tuple(OLD_MAPPING_NAMES)] = 'geometric'
    person_crop_prob: NumberRange(0, 1) = 0.9

    @model_validator(mode='after')
    def _one_plane_per_channel(self, info: ValidationInfo):
        """One focal plane per input channel of ``network_g``."""
        from basicsr.utils.registry import ARCH_REGISTRY

        opt, where = (info.context or {}).get('opt') or {}, (info.context or {}).get('where', 'datasets')
        net = opt.get('network_g')
        if self.heights is None or not isinstance(net, dict) or net.get('type') not in ARCH_REGISTRY:
            return self
        defaults = {n: p.default for n, p in inspect.signature(ARCH_REGISTRY.get(net['type'])).parameters.items()}
        key = next((k for k in INPUT_CHANNEL_KEYS if k in net or k in defaults), None)
        channels = net.get(key, defaults.get(key))
        if key is not None and channels != len(self.heights):
            raise option_error(
                f'{where}.heights',
                f'{len(self.heights)} focal planes ({", ".join(f"{h:g}" for h in self.heights)} m), but '
                f'network_g.{key} is {channels}: one input channel per plane',
            )
        return self


@DATASET_REGISTRY.register()
class AOSFocalStackDataset(data.Dataset):
    """AOS focal stacks (written by ``scripts/aos_prepare.py``) with their GT and the person position.

    Returns ``lq`` (planes, H, W) and ``gt`` (1, H, W) in [0, 1], ``pos`` (row, col) float pixels in the returned
    image, ``has_person`` (bool: a person is in the returned image), ``lq_path`` and ``gt_path``.

    The person's pixels come from the stack's own metadata (``aos.position.PersonPosition``: metres and the camera the
    stack was integrated with, e.g. ``aos_prepare.py --fov/--altitude``), for files on disk and in LMDB alike; a
    stack without metadata (made by another tool) is placed with the metres of its file name and the course camera.

    Args:
        opt (dict): Options:
            dataroot_lq (str): ``<split>/stacks`` folder, or ``<split>/stacks.lmdb`` with ``io_backend.type: lmdb``.
            dataroot_gt (str): ``<split>/gt`` folder, or ``<split>/gt.lmdb``.
            io_backend (dict): ``{type: disk}`` or ``{type: lmdb}`` (BasicSR's FileClient).
            meta_info_file (str, optional): stack file names (disk) or meta_info lines (LMDB); default: the split's
                ``meta_info.txt`` (disk) or the LMDB's own ``meta_info.txt``; a disk folder without one is scanned.
            heights (list[float], optional): focal planes to use, by height in metres (must exist in every stack,
                within ``aos.inputs.HEIGHT_TOL`` as for the restorer); ~ = all planes. Default: ~.
            position_mapping (str): 'geometric' (pinhole projection with the stack's camera, default) or
                'course_report' (the AOS course report's floor(256 (1 - x / 16)), scaled to the image size; its old
                name 'seed' still works, with a warning).
            gt_size (int, optional): random crop size (training); ~ = whole images. Default: ~.
            person_crop_prob (float): probability that a crop contains the person when there is one. Default: 0.9.
            use_hflip (bool), use_rot (bool): the 8 dihedral transforms (rotations by 90 deg and flips), applied alike
                to stack, GT and position. Default: false.
            phase (str): 'train' enables crops and augmentation.

    Samples without a person get the image centre as position (as in the AOS course report) and
    ``has_person = False``.
    """

    option_keys = FocalStackOptions

    def __init__(self, opt):
        super().__init__()
        self.opt = opt
        self.io_backend_opt = dict(opt.get('io_backend') or {'type': 'disk'})
        self.backend = self.io_backend_opt['type']
        if self.backend not in ('disk', 'lmdb'):
            raise UserError(f'datasets.{opt.get("phase")}.io_backend.type: expected disk or lmdb, got {self.backend!r}')
        self.lq_root, self.gt_root = opt['dataroot_lq'], opt['dataroot_gt']
        self.heights = None if opt.get('heights') is None else [float(h) for h in opt['heights']]
        self.mapping = opt.get('position_mapping', 'geometric')
        if self.mapping in OLD_MAPPING_NAMES:
            new = OLD_MAPPING_NAMES[self.mapping]
            get_root_logger().warning(
                f"position_mapping: {self.mapping} is now called {new} (the AOS course report's mapping); "
                f'{self.mapping} still works'
            )
            self.mapping = new
        if self.mapping not in MAPPINGS:
            raise UserError(f'position_mapping: expected one of {MAPPINGS}, got {self.mapping!r}')
        self.gt_size = opt.get('gt_size')
        self.person_crop_prob = float(opt.get('person_crop_prob', 0.9))  # in [0, 1]: FocalStackOptions
        self.train = opt.get('phase') == 'train'
        self.file_client = None
        self.samples = self._lmdb_samples() if self.backend == 'lmdb' else self._disk_samples()
        if not self.samples:
            raise UserError(f'{self.lq_root}: no focal stacks found')

    # ------------------------------------------------------------------------------------------- index
    def _disk_samples(self):
        meta_file = self.opt.get('meta_info_file') or osp.join(osp.dirname(osp.normpath(self.lq_root)), 'meta_info.txt')
        if osp.isfile(meta_file):
            with open(meta_file) as f:
                names = [line.split()[0] for line in f if line.strip()]
        else:
            names = sorted(osp.basename(p) for p in glob.glob(osp.join(self.lq_root, '*_integral.tif*')))
        samples = []
        for name in names:
            run, sim, name_xy = parse_stack_name(name)
            samples.append(
                {
                    'key': f'{run}_{sim}',
                    'lq': osp.join(self.lq_root, name),
                    'gt': osp.join(self.gt_root, gt_name(run, sim)),
                    'name_xy': name_xy,
                    'heights': None,
                }
            )
        return samples

    def _lmdb_samples(self):
        meta_file = self.opt.get('meta_info_file') or osp.join(self.lq_root, 'meta_info.txt')
        if not osp.isfile(meta_file):
            raise UserError(f'{meta_file} not found: dataroot_lq must be a stacks.lmdb made by create_lmdb.py')
        with open(meta_file) as f:
            metas = [parse_meta_line(line, meta_file) for line in f if line.strip()]
        return [
            {'key': m['key'], 'lq': m['key'], 'gt': m['key'], 'name_xy': m['pos'], 'heights': m['heights']}
            for m in metas
        ]

    def __len__(self):
        return len(self.samples)

    # ------------------------------------------------------------------------------------------- loading
    def _load(self, sample):
        """``(stack, gt, meta)`` of one sample; ``meta`` is the stack's metadata (empty for foreign TIFFs)."""
        if self.backend == 'disk':
            stack, meta = read_focal_stack(sample['lq'])
            return stack, read_gt(sample['gt']), meta
        if self.file_client is None:
            self.file_client = FileClient('lmdb', db_paths=[self.lq_root, self.gt_root], client_keys=['lq', 'gt'])
            self.digests = {'lq': DigestChecker(self.lq_root), 'gt': DigestChecker(self.gt_root)}
        values = []
        for client_key in ('lq', 'gt'):
            value = self.file_client.get(sample['key'], client_key)
            if value is None:
                root = self.lq_root if client_key == 'lq' else self.gt_root
                raise UserError(f'{root}: LMDB key {sample["key"]!r} missing')
            values.append(self.digests[client_key].check(sample['key'], bytes(value)))
        stack, meta = read_focal_stack(f'{self.lq_root}:{sample["key"]}', data=values[0])
        if meta.get('heights') is None:
            meta = {**meta, 'heights': sample['heights']}
        gt = cv2.imdecode(np.frombuffer(values[1], np.uint8), cv2.IMREAD_UNCHANGED)
        if gt is None:
            raise UserError(f'{self.gt_root}: LMDB value of {sample["key"]!r} is not an image')
        return stack, gt if gt.ndim == 2 else gt[..., 0], meta

    @staticmethod
    def _person(sample, meta, size):
        """The sample's PersonPosition (None: no person): the stack's metadata, else its file name's metres."""
        if is_own_stack(meta):
            return PersonPosition.from_meta(meta, size)
        if sample['name_xy'] is None:
            return None
        return PersonPosition(*sample['name_xy'], camera=CameraModel(size=size))

    def _select_planes(self, stack, stack_heights, sample):
        if self.heights is None:
            return stack
        if stack_heights is None:
            raise UserError(
                f'{sample["lq"]}: the stack records no focal heights, so planes cannot be chosen by height '
                '(set heights: ~ to use every page)'
            )
        index = []
        for h in self.heights:
            match = height_index(stack_heights, h)
            if match is None:
                raise UserError(
                    f'{sample["lq"]}: focal height {h:g} m not in the stack (it has '
                    f'{", ".join(f"{v:g}" for v in stack_heights)} m)'
                )
            index.append(match)
        return stack[index]

    def __getitem__(self, index):
        sample = self.samples[index]
        stack, gt, meta = self._load(sample)
        if stack.shape[1:] != gt.shape:
            raise UserError(f'{sample["key"]}: stack is {stack.shape[1:]} but GT is {gt.shape}')
        stack = self._select_planes(stack, meta.get('heights'), sample)
        size = gt.shape[-1]
        person = self._person(sample, meta, size)
        has_person = person is not None
        row, col = person.pixels(size, self.mapping) if has_person else (size / 2, size / 2)
        gt = gt[None]
        if self.train and self.gt_size:
            stack, gt, row, col, has_person = self._crop(stack, gt, row, col, has_person)
            size = self.gt_size
        if self.train and (self.opt.get('use_hflip') or self.opt.get('use_rot')):
            k = random.randrange(4) if self.opt.get('use_rot') else 0
            flip = bool(self.opt.get('use_hflip')) and random.random() < 0.5
            stack, gt = apply_numpy(stack, k, flip), apply_numpy(gt, k, flip)
            row, col = transform_point(row, col, size, k, flip)
        return {
            'lq': to_unit_float(stack),
            'gt': to_unit_float(gt),
            'pos': torch.tensor([row, col], dtype=torch.float32),
            'has_person': torch.tensor(has_person),
            'lq_path': sample['lq'] if self.backend == 'disk' else sample['key'],
            'gt_path': sample['gt'] if self.backend == 'disk' else sample['key'],
        }

    def _crop(self, stack, gt, row, col, has_person):
        h, w = gt.shape[-2:]
        s = self.gt_size
        if s > min(h, w):
            raise UserError(f'gt_size {s} is larger than the images ({h}x{w})')
        # pixel i covers positions [i - 0.5, i + 0.5): crops are chosen on the pixel that holds the position
        pr, pc = int(np.floor(row + 0.5)), int(np.floor(col + 0.5))
        inside = 0 <= pr < h and 0 <= pc < w
        if has_person and inside and random.random() < self.person_crop_prob:
            top = random.randint(max(0, pr - s + 1), min(h - s, pr))
            left = random.randint(max(0, pc - s + 1), min(w - s, pc))
        else:
            top, left = random.randint(0, h - s), random.randint(0, w - s)
        row, col = row - top, col - left
        has_person = has_person and 0 <= pr - top < s and 0 <= pc - left < s
        if not has_person:  # no person in the crop: the crop centre, as for samples without one
            row = col = s / 2
        return stack[:, top : top + s, left : left + s], gt[:, top : top + s, left : left + s], row, col, has_person


def to_unit_float(array):
    """uint8 (..., H, W) -> float32 tensor in [0, 1]: one allocation, divided in place (numpy's
    ``astype(float32) / 255`` allocates twice; the values are the same, both divisions are correctly rounded)."""
    return torch.from_numpy(np.ascontiguousarray(array)).to(torch.float32).div_(255.0)
