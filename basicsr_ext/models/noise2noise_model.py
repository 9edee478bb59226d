"""Noise2Noise training (Lehtinen et al., ICML 2018; the EE-559 report): a denoiser learned from pairs of noisy images.

The data side is :class:`~basicsr_ext.data.noisy_pair_dataset.NoisyPairDataset`: ``lq`` is one corruption of a crop
and ``gt`` the training target (a second, independent corruption in ``n2n`` mode, the clean crop in ``n2c`` mode,
the clean image in validation), with ``mask`` marking the target's valid pixels (Bernoulli dropout). The model is
:class:`ExtSRModel` (every shared training feature) with two additions:

- the mask is passed to the pixel loss as BasicSR's element-wise ``weight``, so dropped target pixels neither count
  nor send gradients (BasicSR's ``L1Loss``/``MSELoss``/``CharbonnierLoss`` and ``AnnealedL0Loss`` all take it);
- with ``AnnealedL0Loss`` as ``train.pixel_opt``, its exponent follows ``train.l0_gamma: {start: 2, end: 0, iters}``
  (the paper: linear from 2 to 0 over training; ``iters`` defaults to ``train.total_iter``) and is logged as
  ``gamma`` every print.
"""

from collections import OrderedDict
from typing import Optional

from basicsr.utils.registry import MODEL_REGISTRY
from pydantic import ValidationInfo, model_validator

from basicsr_ext.models.ext_sr_model import ExtSRModel
from basicsr_ext.utils.option_models import IntRange, Number, Section, option_error


class L0Schedule(Section):
    start: Number = 2.0
    end: Number = 0.0
    iters: Optional[IntRange(1)] = None  # ~: train.total_iter


class TrainOptions(Section):
    l0_gamma: Optional[L0Schedule] = None

    @model_validator(mode='after')
    def _pixel_loss(self, info: ValidationInfo):
        pixel = getattr(self, 'pixel_opt', None)
        if (info.context or {}).get('is_train', True) and not pixel:
            raise option_error('train.pixel_opt', 'Noise2NoiseModel needs a pixel loss (e.g. type: L1Loss)')
        if (
            self.l0_gamma is not None
            and self.l0_gamma.model_fields_set
            and (pixel or {}).get('type') != 'AnnealedL0Loss'
        ):
            raise option_error(
                'train.l0_gamma',
                f'only AnnealedL0Loss has an exponent to anneal; train.pixel_opt.type is {(pixel or {}).get("type")}',
            )
        return self


@MODEL_REGISTRY.register()
class Noise2NoiseModel(ExtSRModel):
    """ExtSRModel + the target's valid-pixel mask in the pixel loss + the annealed L0 exponent schedule."""

    option_keys = {'train': TrainOptions}

    def init_training_settings(self):
        super().init_training_settings()
        from basicsr_ext.losses.n2n_loss import AnnealedL0Loss

        self.l0_gamma = None
        if isinstance(self.cri_pix, AnnealedL0Loss):  # the schedule was checked with the options (TrainOptions)
            schedule = self.opt['train'].get('l0_gamma') or {}
            self.l0_gamma = {
                'start': float(schedule.get('start', 2.0)),
                'end': float(schedule.get('end', 0.0)),
                'iters': int(schedule.get('iters') or self.opt['train']['total_iter']),
            }

    def feed_data(self, data):
        super().feed_data(data)
        mask = data.get('mask')
        # an all-ones mask changes nothing: skip it so the loss is BasicSR's plain mean
        self.mask = None if mask is None or bool((mask == 1).all()) else mask.to(self.device)

    def compute_losses(self, current_iter):
        from basicsr_ext.losses.n2n_loss import l0_gamma

        self.output = self.net_g(self.lq)
        loss_dict = OrderedDict()
        if self.l0_gamma is not None:
            s = self.l0_gamma
            self.cri_pix.gamma = l0_gamma(current_iter, s['iters'], s['start'], s['end'])
        l_pix = self.cri_pix(self.output, self.gt, weight=self.mask)
        loss_dict['l_pix'] = l_pix
        if self.l0_gamma is not None:
            loss_dict['gamma'] = l_pix.new_tensor(self.cri_pix.gamma)
        return l_pix, loss_dict
