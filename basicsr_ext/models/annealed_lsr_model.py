"""The annealed L_SR regularizer of the Real-ESRNet face SR report (Tan, AI6126 Project 2, Apr 2024), section 2.

    L_SR = (1 - a) |S(D(I)) - I|_1 + a |S(R(I)) - I|_1

``I`` is the GT batch, ``D`` BasicSR's second-order Real-ESRNet degradation (``RealESRNetModel.feed_data``, reused
as is, with its training-pair pool), ``R`` a clean bicubic downsize of the same GT batch by the scale factor and
``S`` the network. The base criterion is ``train.pixel_opt`` (BasicSR's ``L1Loss`` in the report).

The weight ``a`` follows ``train.lsr``: ``{start: 0.8, end: 0.4, shape: cosine | linear, iters: total_iter}``.
The report writes the schedule as the cosine of the training fraction multiplied by pi, which does not go from 0.8 to
0.4; the evident intent, implemented here, is a half cosine from ``start`` to ``end`` over ``iters`` iterations:
``a(t) = end + (start - end) (1 + cos(pi t / iters)) / 2`` (``linear``: ``start + (end - start) t / iters``), held at
``end`` afterwards. ``a``, both terms and their weighted sum are logged every print as ``alpha``, ``l_degraded``,
``l_clean`` and ``l_pix``.

Everything else (optimizers, schedulers, AMP, accumulation, EMA, best checkpoint, validation on paired LR/HR) is
:class:`ExtRealESRNetModel`'s (``ExtSRModel``'s); validation uses the given LR images, as BasicSR's
RealESRNetModel does.
"""

import math
from collections import OrderedDict
from typing import Literal, Optional

from basicsr.utils.registry import MODEL_REGISTRY
from pydantic import ValidationInfo, model_validator
from torch.nn import functional as F

from basicsr_ext.models.ext_realesrnet_model import ExtRealESRNetModel
from basicsr_ext.utils.option_models import IntRange, NumberRange, Section, option_error

SHAPES = ('cosine', 'linear')


class LSRSchedule(Section):
    start: NumberRange(0, 1) = 0.8
    end: NumberRange(0, 1) = 0.4
    shape: Literal['cosine', 'linear'] = 'cosine'
    iters: Optional[IntRange(1)] = None  # ~: train.total_iter


class TrainOptions(Section):
    lsr: Optional[LSRSchedule] = None

    @model_validator(mode='after')
    def _needs_pixel_loss(self, info: ValidationInfo):
        if (info.context or {}).get('is_train', True) and not getattr(self, 'pixel_opt', None):
            raise option_error('train.pixel_opt', 'AnnealedLSRModel needs the base criterion (e.g. type: L1Loss)')
        return self


def lsr_alpha(current_iter, iters, start=0.8, end=0.4, shape='cosine'):
    """Weight of the clean-downsize term at ``current_iter`` (0-based progress ``current_iter / iters``, clipped)."""
    t = min(max(current_iter / iters, 0.0), 1.0) if iters > 0 else 1.0
    if shape == 'cosine':
        return end + (start - end) * 0.5 * (1.0 + math.cos(math.pi * t))
    if shape == 'linear':
        return start + (end - start) * t
    raise ValueError(f'lsr shape must be one of {SHAPES}, got {shape!r}')


def clean_downsize(gt, scale):
    """R(I): bicubic downsize by ``scale`` with antialiasing (MATLAB ``imresize``-like), clamped to [0, 1]."""
    h, w = gt.shape[-2:]
    return F.interpolate(gt, size=(h // scale, w // scale), mode='bicubic', antialias=True).clamp(0, 1)


@MODEL_REGISTRY.register()
class AnnealedLSRModel(ExtRealESRNetModel):
    """RealESRNetModel's degradations + ExtSRModel's training, with the report's annealed L_SR as the loss."""

    option_keys = {'train': TrainOptions}

    def init_training_settings(self):
        super().init_training_settings()
        lsr = self.opt['train'].get('lsr') or {}  # checked with the options (TrainOptions)
        self.lsr = {
            'start': float(lsr.get('start', 0.8)),
            'end': float(lsr.get('end', 0.4)),
            'shape': lsr.get('shape', 'cosine'),
            'iters': int(lsr.get('iters') or self.opt['train']['total_iter']),
        }

    def current_alpha(self, current_iter):
        # BasicSR counts iterations from 1; the schedule's t = 0 is the first iteration
        return lsr_alpha(current_iter - 1, self.lsr['iters'], self.lsr['start'], self.lsr['end'], self.lsr['shape'])

    def compute_losses(self, current_iter):
        alpha = self.current_alpha(current_iter)
        self.output = self.net_g(self.lq)
        l_degraded = self.cri_pix(self.output, self.gt)
        l_clean = self.cri_pix(self.net_g(clean_downsize(self.gt, self.opt['scale'])), self.gt)
        l_total = (1.0 - alpha) * l_degraded + alpha * l_clean
        loss_dict = OrderedDict(l_pix=l_total, l_degraded=l_degraded, l_clean=l_clean)
        loss_dict['alpha'] = l_total.new_tensor(alpha)
        return l_total, loss_dict
