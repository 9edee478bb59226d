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

from basicsr.utils.registry import MODEL_REGISTRY

from basicsr_ext.models.ext_sr_model import ExtSRModel
from basicsr_ext.utils.errors import UserError


@MODEL_REGISTRY.register()
class Noise2NoiseModel(ExtSRModel):
    """ExtSRModel + the target's valid-pixel mask in the pixel loss + the annealed L0 exponent schedule."""

    def init_training_settings(self):
        super().init_training_settings()
        from basicsr_ext.losses.n2n_loss import AnnealedL0Loss

        if self.cri_pix is None:
            raise UserError('train.pixel_opt: Noise2NoiseModel needs a pixel loss (e.g. type: L1Loss)')
        schedule = self.opt['train'].get('l0_gamma')
        self.l0_gamma = None
        if isinstance(self.cri_pix, AnnealedL0Loss):
            schedule = dict(schedule or {})
            unknown = set(schedule) - {'start', 'end', 'iters'}
            if unknown:
                raise UserError(f'train.l0_gamma: unknown keys {sorted(unknown)}; expected start, end, iters')
            try:
                self.l0_gamma = {
                    'start': float(schedule.get('start', 2.0)),
                    'end': float(schedule.get('end', 0.0)),
                    'iters': int(schedule.get('iters') or self.opt['train']['total_iter']),
                }
            except (TypeError, ValueError):
                raise UserError(
                    f'train.l0_gamma: start/end must be numbers and iters an integer, got {schedule}'
                ) from None
            if self.l0_gamma['iters'] <= 0:
                raise UserError(f'train.l0_gamma.iters: expected > 0, got {self.l0_gamma["iters"]}')
        elif schedule:
            raise UserError(
                f'train.l0_gamma: only AnnealedL0Loss has an exponent to anneal; train.pixel_opt.type is '
                f'{self.opt["train"]["pixel_opt"]["type"]}'
            )

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
