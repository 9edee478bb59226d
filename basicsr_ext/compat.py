"""The one place that adapts PyPI's basicsr 1.4.2 to today's stack: patches of code this project cannot change.

Applied once, when BasicSR is first imported after ``import basicsr_ext`` (``basicsr_ext.register``). Each patch is
a small function named after what it fixes, and each has a test in ``tests/test_compat.py`` that fails without it.
Patches replace module attributes only; BasicSR's files are never edited, so removing a patch restores BasicSR's
behaviour exactly.

=============================  ======================================================================
patch                          why
=============================  ======================================================================
torchvision_functional_tensor  ``basicsr.data.degradations`` imports
                               ``torchvision.transforms.functional_tensor``, removed in torchvision 0.17:
                               ``import basicsr`` fails without it.
realesr_models_on_device       ``RealESRNetModel``/``RealESRGANModel`` put DiffJPEG, USMSharp and the
                               training-pair queue on the GPU with ``.cuda()``: the models cannot be
                               built (or train) on a CPU. Ours use ``self.device``, the same on a GPU.
                               ``filter2D`` calls ``.view`` on its padded input, which fails for the
                               channels-last tensors the CPU degradations produce: made contiguous first.
basicsr_image_errors           ``imfrombytes`` returns None for bytes that are no image (or fails with
                               ``AttributeError: 'NoneType' object has no attribute 'astype'``), so a
                               corrupt file in a BasicSR dataset ends in a traceback that names no file.
                               Ours raises a UserError naming the file ``FileClient.get`` read last.
basicsr_crop_errors            (in ``compat_data.py``, as the two below) ``paired_random_crop`` raises
                               ValueError for an LQ image smaller than the crop or a GT that is not
                               LQ x scale, and crops wrongly with a gt_size that is no multiple of
                               scale; in validation a GT smaller than LQ x scale fails in the model.
                               Ours: a UserError naming the GT file, the sizes and gt_size/scale.
basicsr_pairing_errors         ``paired_paths_from_folder`` asserts on unpaired LQ/GT names (an empty
                               folder pair: ZeroDivisionError); ``paired_paths_from_meta_info_file``
                               lists files it never checks. Ours names both folders and the names.
basicsr_lmdb_errors            A dataroot that is no LMDB (or has no meta_info.txt), a damaged
                               data.mdb, a meta_info.txt key absent from the database, different LQ
                               and GT keys: ValueError, FileNotFoundError, lmdb.Error, TypeError.
                               Ours names the folder (and key) and what is wrong.
basicsr_network_errors         ``build_network`` hands a ``network_*`` mapping to the arch's constructor;
                               a value it refuses (an unknown ``resi_connection``, heads that do not
                               divide the width) ends in a traceback from the constructor. Ours:
                               a UserError naming the key, the arch and the constructor's message.
basicsr_dataset_key_errors     BasicSR's datasets read required options as ``opt['key']``: a key
                               missing from a ``datasets:`` entry (``gt_size``, ``use_hflip``,
                               ``io_backend``) is a bare KeyError, in a worker too. Ours names the
                               dataset entry and the key (the crop keys of a paired train set are
                               asked for earlier, with the options: see the next row).
declare_basicsr_option_keys    (in ``compat_options.py``) BasicSR's models and datasets read keys besides
                               the fixed sections and cannot declare them: ``option_keys`` set on them,
                               so the option check knows their keys without reading their source.
=============================  ======================================================================

What BasicSR does in code this project owns is done in the project's own classes instead, not patched:
option files are read with the safe YAML loader by ``utils/options.py``; resume is ``utils/resume.py``; the
distributed start-up is ``utils/dist.init_dist``; weights-only checkpoint loading and DDP on the CPU are methods of
``ExtSRModel`` (``models/training_state.py``, ``models/optimization_setup.py``).
"""

import importlib
import sys
import types

from basicsr_ext import compat_data, compat_options

_APPLIED = False


def torchvision_functional_tensor():
    try:
        importlib.import_module('torchvision.transforms.functional_tensor')
        return
    except ImportError:
        pass
    from torchvision.transforms import functional

    shim = types.ModuleType('torchvision.transforms.functional_tensor')
    shim.rgb_to_grayscale = functional.rgb_to_grayscale
    sys.modules['torchvision.transforms.functional_tensor'] = shim


def realesr_models_on_device():
    import torch
    from basicsr.models import realesrgan_model, realesrnet_model
    from basicsr.utils import img_process_util

    original_filter2d = img_process_util.filter2D

    def filter2D(img, kernel):  # noqa: N802 (BasicSR's name)
        return original_filter2d(img.contiguous(), kernel)

    filter2D.__doc__ = original_filter2d.__doc__
    for module in (img_process_util, realesrnet_model, realesrgan_model):
        module.filter2D = filter2D

    for module, cls in (
        (realesrnet_model, realesrnet_model.RealESRNetModel),
        (realesrgan_model, realesrgan_model.RealESRGANModel),
    ):
        original_dequeue = cls._dequeue_and_enqueue

        def __init__(self, opt, _cls=cls, _module=module):
            super(_cls, self).__init__(opt)  # SRModel / SRGANModel, as BasicSR's __init__ does, then its 3 lines
            self.jpeger = _module.DiffJPEG(differentiable=False).to(self.device)  # JPEG artifacts
            self.usm_sharpener = _module.USMSharp().to(self.device)  # USM sharpening
            self.queue_size = opt.get('queue_size', 180)

        @torch.no_grad()
        def _dequeue_and_enqueue(self, _original=original_dequeue):
            if not hasattr(self, 'queue_lr'):  # allocate the pool where the batch is; BasicSR's code does the rest
                b, c, h, w = self.lq.size()
                if self.queue_size % b != 0:
                    raise ValueError(f'queue_size {self.queue_size} must be divisible by the batch size {b}')
                self.queue_lr = torch.zeros(self.queue_size, c, h, w, device=self.lq.device)
                self.queue_gt = torch.zeros(self.queue_size, *self.gt.shape[1:], device=self.gt.device)
                self.queue_ptr = 0
            return _original(self)

        cls.__init__ = __init__
        cls._dequeue_and_enqueue = _dequeue_and_enqueue


def basicsr_image_errors():
    import basicsr.data  # noqa: F401  (its dataset modules bind imfrombytes by name: patch those bindings too)
    import cv2
    from basicsr.utils import file_client, img_util

    from basicsr_ext.utils.errors import UserError

    original_get, original_decode = file_client.FileClient.get, img_util.imfrombytes
    last_read = {'path': None}

    def get(self, filepath, client_key='default'):
        last_read['path'] = filepath
        return original_get(self, filepath, client_key)

    def imfrombytes(content, flag='color', float32=False):
        try:
            img = original_decode(content, flag, float32)
        except (AttributeError, cv2.error):
            img = None
        if img is None:
            where = last_read['path'] or 'an image'
            raise UserError(f'{where}: cannot read the image (empty, damaged, or not an image)')
        return img

    imfrombytes.__doc__ = original_decode.__doc__
    file_client.FileClient.get = get
    for name, module in list(sys.modules.items()):
        if (name == 'basicsr.utils' or name.startswith('basicsr.')) and getattr(
            module, 'imfrombytes', None
        ) is original_decode:
            module.imfrombytes = imfrombytes


def basicsr_network_errors():
    import functools

    import basicsr.archs as archs
    import basicsr.models  # noqa: F401  (its model modules bind build_network by name: patch those bindings too)

    from basicsr_ext.utils.errors import ARGUMENT_ERRORS, UserError, constructor_refusal

    original = archs.build_network

    def option_key(net_opt, caller):
        """The option key (network_g, network_d, ...) of the mapping being built, found in the caller's options."""
        for opt in (caller.f_locals.get('opt'), getattr(caller.f_locals.get('self'), 'opt', None)):
            if isinstance(opt, dict):
                for key, value in opt.items():
                    if value is net_opt:
                        return key
        return 'network'

    @functools.wraps(original)
    def build_network(opt):
        name = opt.get('type') if isinstance(opt, dict) else None
        try:
            return original(opt)
        except ARGUMENT_ERRORS as err:
            message = constructor_refusal(err)
            if message is None:
                raise
            key = option_key(opt, sys._getframe(1))
            raise UserError(f'{key}: {name} refused its arguments: {message}') from None

    for name, module in list(sys.modules.items()):
        if name.startswith('basicsr.') and getattr(module, 'build_network', None) is original:
            module.build_network = build_network
    archs.build_network = build_network


# order matters: the first must run before anything imports basicsr
PATCHES = (
    torchvision_functional_tensor,
    realesr_models_on_device,
    basicsr_image_errors,
    compat_data.basicsr_crop_errors,
    compat_data.basicsr_pairing_errors,
    compat_data.basicsr_lmdb_errors,  # after basicsr_image_errors: wraps its imfrombytes
    compat_data.basicsr_dataset_key_errors,
    basicsr_network_errors,
    compat_options.declare_basicsr_option_keys,
)


def apply():
    """Apply every patch once (idempotent)."""
    global _APPLIED
    if _APPLIED:
        return
    for patch in PATCHES:
        patch()
    _APPLIED = True
