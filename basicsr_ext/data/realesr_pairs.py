"""Fixed Real-ESRNet degradations: validation pairs made by the same chain the training batches go through.

Real-ESRGAN draws a new degradation for every training batch (``RealESRGANDataset`` draws the blur and sinc
kernels, ``RealESRNetModel.feed_data`` applies blur, resize, noise and JPEG twice). A validation set needs fixed
pairs. :func:`degrade_realesr` makes one: it runs BasicSR's own ``RealESRGANDataset`` (for the kernels) and
``RealESRNetModel.feed_data`` (for the chain) under a given seed, so the LR image is a sample of exactly the
training distribution and the same seed always gives the same image. Nothing of the chain is re-implemented here.

The default settings are Real-ESRGAN's x4 ones (``options/train_realesrnet_x4plus.yml``) without the USM
sharpening of the GT (``gt_usm``), so the GT of a pair is the image itself.
"""

import random

import cv2
import numpy as np
import torch
from basicsr.data.realesrgan_dataset import RealESRGANDataset
from basicsr.models.realesrnet_model import RealESRNetModel
from basicsr.utils import DiffJPEG, USMSharp

KERNEL_LIST = ['iso', 'aniso', 'generalized_iso', 'generalized_aniso', 'plateau_iso', 'plateau_aniso']
KERNEL_PROB = [0.45, 0.25, 0.12, 0.03, 0.12, 0.03]

# dataset keys (RealESRGANDataset: blur and sinc kernels) of Real-ESRGAN's x4 setting
REALESR_KERNELS = dict(
    blur_kernel_size=21,
    kernel_list=KERNEL_LIST,
    kernel_prob=KERNEL_PROB,
    sinc_prob=0.1,
    blur_sigma=[0.2, 3],
    betag_range=[0.5, 4],
    betap_range=[1, 2],
    blur_kernel_size2=21,
    kernel_list2=KERNEL_LIST,
    kernel_prob2=KERNEL_PROB,
    sinc_prob2=0.1,
    blur_sigma2=[0.2, 1.5],
    betag_range2=[0.5, 4],
    betap_range2=[1, 2],
    final_sinc_prob=0.8,
)

# model keys (RealESRNetModel.feed_data: resize, noise, JPEG) of Real-ESRGAN's x4 setting
REALESR_DEGRADATIONS = dict(
    resize_prob=[0.2, 0.7, 0.1],
    resize_range=[0.15, 1.5],
    gaussian_noise_prob=0.5,
    noise_range=[1, 30],
    poisson_scale_range=[0.05, 3],
    gray_noise_prob=0.4,
    jpeg_range=[30, 95],
    second_blur_prob=0.8,
    resize_prob2=[0.3, 0.4, 0.3],
    resize_range2=[0.3, 1.2],
    gaussian_noise_prob2=0.5,
    noise_range2=[1, 25],
    poisson_scale_range2=[0.05, 2.5],
    gray_noise_prob2=0.4,
    jpeg_range2=[30, 95],
    gt_usm=False,
)

MIN_SIZE = 256  # the strongest first-order downsize (0.15) must leave more than the 21-tap kernels


class _KernelDraw(RealESRGANDataset):
    """RealESRGANDataset's kernel draw without its file list: ``__getitem__`` reads ``self.paths[i]`` with its
    FileClient, so the image bytes are handed over as the 'path' of a memory client."""

    def __init__(self, opt):  # noqa: D107 - the parent reads a meta_info file we do not have
        self.opt = opt
        self.file_client = _BytesClient()
        self.paths = []
        for key, value in opt.items():
            setattr(self, key, value)
        self.kernel_range = [2 * v + 1 for v in range(3, 11)]
        self.pulse_tensor = torch.zeros(21, 21).float()
        self.pulse_tensor[10, 10] = 1


class _BytesClient:
    def get(self, data, client_key=None):
        return data


class _FixedDegradation(RealESRNetModel):
    """RealESRNetModel with only what ``feed_data`` reads: no network, no training-pair pool."""

    def __init__(self, opt):  # noqa: D107 - BaseModel.__init__ would build networks and optimizers
        self.opt = opt
        self.is_train = True
        self.device = torch.device('cpu')
        self.jpeger = DiffJPEG(differentiable=False)
        self.usm_sharpener = USMSharp()

    def _dequeue_and_enqueue(self):
        pass


def degrade_realesr(img, scale, seed, kernels=None, degradations=None):
    """One seeded Real-ESRNet degradation of ``img``.

    Args:
        img (ndarray): HxWx3 BGR image, uint8 or float in [0, 1]; square, side >= 256 and divisible by ``scale``.
        scale (int): Downsizing factor of the chain.
        seed (int): Seeds python's, numpy's and torch's generators for this image (restored afterwards).
        kernels (dict): RealESRGANDataset kernel keys; default :data:`REALESR_KERNELS`.
        degradations (dict): RealESRNetModel degradation keys; default :data:`REALESR_DEGRADATIONS`.

    Returns:
        ndarray: The (H/scale)x(W/scale)x3 BGR uint8 LR image (quantised as the training LR is).
    """
    h, w = img.shape[:2]
    if h != w or h < MIN_SIZE or h % scale:
        raise ValueError(
            f'degrade_realesr: expected a square image, side >= {MIN_SIZE} and divisible by {scale}; got {h}x{w}'
        )
    if img.dtype == np.uint8:
        img = img.astype(np.float32) / 255.0
    kernel_opt = {**REALESR_KERNELS, **(kernels or {}), 'use_hflip': False, 'use_rot': False}
    model_opt = {**REALESR_DEGRADATIONS, **(degradations or {}), 'scale': scale, 'gt_size': h}
    states = random.getstate(), np.random.get_state(), torch.get_rng_state()
    try:
        random.seed(seed)
        np.random.seed(seed % 2**32)
        torch.manual_seed(seed)
        ok, png = cv2.imencode('.png', np.clip(np.round(img * 255.0), 0, 255).astype(np.uint8))
        draw = _KernelDraw(kernel_opt)
        draw.paths = [png.tobytes()]
        sample = draw[0]  # the image is padded to 400 px (reflect) before the kernel draw; we keep our own GT
        gt = torch.from_numpy(np.ascontiguousarray(img[..., ::-1].transpose(2, 0, 1))).float()[None]
        batch = {'gt': gt, **{k: sample[k][None] for k in ('kernel1', 'kernel2', 'sinc_kernel')}}
        degrader = _FixedDegradation(model_opt)
        with torch.no_grad():
            degrader.feed_data(batch)
        lq = degrader.lq[0].numpy().transpose(1, 2, 0)[..., ::-1]
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.set_rng_state(states[2])
    return np.clip(np.round(lq * 255.0), 0, 255).astype(np.uint8)
