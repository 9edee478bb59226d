"""The one place that adapts PyPI's basicsr 1.4.2 (and mmengine's YAML loading) to today's stack.

Applied once by ``import basicsr_ext``. Each patch is a small function named after what it fixes, and each has a
test in ``tests/test_compat.py`` that fails without it. Patches replace module attributes only; BasicSR's files
are never edited, so removing a patch restores BasicSR's behaviour exactly.

=============================  ======================================================================
patch                          why
=============================  ======================================================================
torchvision_functional_tensor  ``basicsr.data.degradations`` imports
                               ``torchvision.transforms.functional_tensor``, removed in torchvision 0.17:
                               ``import basicsr`` fails without it.
safe_yaml                      BasicSR's ``ordered_yaml()`` and mmengine's YAML handler use PyYAML's full
                               Loader, which executes ``!!python/object/apply:...`` tags.
resume_on_cpu                  ``basicsr.train.load_resume_state`` maps storages with ``storage.cuda()``
                               (crashes without a GPU), loads with pickle, and looks for states under a
                               path relative to the working directory instead of the experiment folder.
load_network_weights_only      ``BaseModel.load_network`` calls ``torch.load`` without ``weights_only``:
                               on torch < 2.6 a crafted .pth runs code, on newer torch a refusal is a long
                               traceback. Ours loads weights only and names the file and key at fault.
dist_on_cpu                    ``_init_dist_pytorch``/``_init_dist_slurm`` call ``torch.cuda.set_device``
                               (division by zero without GPUs) and ``model_to_device`` wraps DDP with
                               ``device_ids=[cuda device]``: distributed runs on CPU (gloo) fail.
realesr_models_on_device       ``RealESRNetModel``/``RealESRGANModel`` put DiffJPEG, USMSharp and the
                               training-pair queue on the GPU with ``.cuda()``: the models cannot be
                               built (or train) on a CPU. Ours use ``self.device``, the same on a GPU.
                               ``filter2D`` calls ``.view`` on its padded input, which fails for the
                               channels-last tensors the CPU degradations produce: made contiguous first.
=============================  ======================================================================
"""

import importlib
import os
import sys
import types

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


def safe_yaml():
    from collections import OrderedDict

    import basicsr.utils.options as bs_options
    import yaml
    from mmengine.fileio.handlers import yaml_handler

    from basicsr_ext.utils.yaml_io import SafeDumper, SafeLoader

    class OrderedSafeLoader(SafeLoader):
        """BasicSR's loader builds OrderedDicts; keep that, minus the unsafe tags."""

    def construct_ordered(loader, node):
        return OrderedDict(loader.construct_pairs(node))

    OrderedSafeLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_ordered)

    def ordered_yaml():
        return OrderedSafeLoader, SafeDumper

    bs_options.ordered_yaml = ordered_yaml
    yaml_handler.Loader = SafeLoader  # YamlHandler.load_from_fileobj reads this module global at call time


def resume_on_cpu():
    import basicsr.train as bs_train
    from basicsr.utils import scandir
    from basicsr.utils.misc import check_resume

    from basicsr_ext.utils.file_io import safe_torch_load

    def load_resume_state(opt):
        """BasicSR's ``load_resume_state`` made device-agnostic and safe.

        With ``auto_resume`` it picks the newest ``<iter>.state`` in ``opt['path']['training_states']`` (complete
        files only: states are written to a temp name and renamed). Storages are mapped to the device the model
        will run on; the file is loaded with ``weights_only=True``.
        """
        resume_state_path = None
        if opt.get('auto_resume'):
            state_dir = opt['path'].get('training_states') or os.path.join(
                'experiments', opt['name'], 'training_states'
            )
            if os.path.isdir(state_dir):
                iters = []
                for name in scandir(state_dir, suffix='.state', recursive=False, full_path=False):
                    stem = name[: -len('.state')]
                    if stem.isdigit():
                        iters.append(int(stem))
                if iters:
                    resume_state_path = os.path.join(state_dir, f'{max(iters)}.state')
                    opt['path']['resume_state'] = resume_state_path
        elif opt['path'].get('resume_state'):
            resume_state_path = opt['path']['resume_state']

        if resume_state_path is None:
            return None
        import torch

        if opt.get('num_gpu', 0) != 0 and torch.cuda.is_available():
            device = torch.device('cuda', torch.cuda.current_device())
        else:
            device = torch.device('cpu')
        resume_state = safe_torch_load(resume_state_path, map_location=device, what='resume state')
        check_resume(opt, resume_state['iter'])
        return resume_state

    bs_train.load_resume_state = load_resume_state


def load_network_weights_only():
    from basicsr.models.base_model import BaseModel
    from basicsr.utils import get_root_logger

    from basicsr_ext.utils.errors import UserError
    from basicsr_ext.utils.file_io import load_network_params

    def load_network(self, net, load_path, strict=True, param_key='params'):
        """BasicSR's ``load_network`` with ``weights_only=True`` and one-line errors naming the file and key."""
        logger = get_root_logger()
        net = self.get_bare_model(net)
        load_net, param_key = load_network_params(load_path, param_key, logger)
        logger.info(f'Loading {net.__class__.__name__} model from {load_path}, with param key: [{param_key}].')
        self._print_different_keys_loading(net, load_net, strict)
        try:
            net.load_state_dict(load_net, strict=strict)
        except RuntimeError as err:
            summary = ' '.join(str(err).split())[:400]
            raise UserError(
                f'{load_path} does not fit {net.__class__.__name__} (strict={strict}): {summary}. '
                'Check network options against the checkpoint, or set path.strict_load_g: false'
            ) from None

    BaseModel.load_network = load_network


def dist_on_cpu():
    import subprocess

    import basicsr.utils.dist_util as dist_util
    import torch
    import torch.distributed as dist
    from basicsr.models.base_model import BaseModel
    from torch.nn.parallel import DataParallel, DistributedDataParallel

    def _pick_backend(backend):
        if backend == 'nccl' and not torch.cuda.is_available():
            return 'gloo'
        return backend

    def _init_dist_pytorch(backend, **kwargs):
        if torch.cuda.is_available():
            local_rank = int(os.environ.get('LOCAL_RANK', int(os.environ['RANK']) % torch.cuda.device_count()))
            torch.cuda.set_device(local_rank)
        kwargs.pop('port', None)
        dist.init_process_group(backend=_pick_backend(backend), **kwargs)

    def _init_dist_slurm(backend, port=None):
        proc_id = int(os.environ['SLURM_PROCID'])
        ntasks = int(os.environ['SLURM_NTASKS'])
        node_list = os.environ['SLURM_NODELIST']
        num_gpus = torch.cuda.device_count()
        local_rank = int(os.environ.get('SLURM_LOCALID', proc_id % max(num_gpus, 1)))
        if num_gpus > 0:
            torch.cuda.set_device(local_rank)
        addr = subprocess.getoutput(f'scontrol show hostname {node_list} | head -n1')
        if port is not None:
            os.environ['MASTER_PORT'] = str(port)
        os.environ.setdefault('MASTER_PORT', '29500')
        os.environ['MASTER_ADDR'] = addr
        os.environ['WORLD_SIZE'] = str(ntasks)
        os.environ['LOCAL_RANK'] = str(local_rank)
        os.environ['RANK'] = str(proc_id)
        dist.init_process_group(backend=_pick_backend(backend))

    def model_to_device(self, net):
        net = net.to(self.device)
        if self.opt['dist']:
            find_unused_parameters = self.opt.get('find_unused_parameters', False)
            device_ids = [torch.cuda.current_device()] if self.device.type == 'cuda' else None
            net = DistributedDataParallel(net, device_ids=device_ids, find_unused_parameters=find_unused_parameters)
        elif self.opt['num_gpu'] > 1:
            net = DataParallel(net)
        return net

    dist_util._init_dist_pytorch = _init_dist_pytorch
    dist_util._init_dist_slurm = _init_dist_slurm
    BaseModel.model_to_device = model_to_device


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


# order matters: the first must run before anything imports basicsr
PATCHES = (
    torchvision_functional_tensor,
    safe_yaml,
    resume_on_cpu,
    load_network_weights_only,
    dist_on_cpu,
    realesr_models_on_device,
)


def apply():
    """Apply every patch once (idempotent)."""
    global _APPLIED
    if _APPLIED:
        return
    for patch in PATCHES:
        patch()
    _APPLIED = True
