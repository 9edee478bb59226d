"""AOS restoration: a focal stack in, the occlusion-free centre view out (the AOS course report, Aliyev et al., JKU,
Jan 2024, sections 4.2-4.4).

On top of :class:`ExtSRModel` (all shared training features), this model adds:

- ``train.position_opt``: :class:`PositionEnhancedLoss` fed with the batch's person positions (``pos``) and
  ``has_person``; ``train.pixel_opt`` may be used with it or instead of it.
- one person window (``aos.position.PersonWindow``) for the loss, the ``calculate_person_psnr`` metric and the
  montages: set it in ``train.position_opt``; a person-PSNR metric without window keys takes it, one whose keys differ
  is an error. Test runs (no loss) take the metric's.
- ``train.multipass_finetune`` (false): the report, section 4.4.6. Every sample's loss alternates between the
  single-pass output and the double-pass output (the network applied to its own output), by sample index and
  iteration, so half of each batch trains the second pass.
- ``val.self_ensemble: {transforms: 8 | 4, reduce: median | mean}`` (off when absent): batched dihedral
  self-ensemble at inference (the report, section 4.3.1).
- ``val.multipass: {max_passes: K, plane: 0}`` (1 = off): the report, section 4.3.2. Pass k + 1 is kept for a sample
  only if its standard deviation is lower than that of pass k; a sample stops at its first rejected pass. For more
  than one focal plane, the next pass's input is the previous input with plane ``plane`` (default 0: the lowest
  height) replaced by the output (``train.multipass_plane`` for fine-tuning).
- ``val.report`` (test runs, ``basicsr_ext/test.py``): the report's results table and montages, written by
  ``aos_test_report.py`` (its docstring lists the options).

How the net is applied (self-ensemble, passes, plane) is :attr:`AOSRestorationModel.inference`, an
``InferenceSettings`` (``aos_inference.py``) read from ``val``; the test report swaps it per variant.
"""

from collections import OrderedDict
from typing import Annotated, Literal, Optional

import torch
from basicsr.losses import build_loss
from basicsr.utils import get_root_logger
from basicsr.utils.registry import MODEL_REGISTRY
from pydantic import BeforeValidator, Field

from basicsr_ext.aos.position import PersonWindow
from basicsr_ext.models.aos_inference import InferenceSettings, next_pass_input
from basicsr_ext.models.aos_test_report import REPORT_VARIANTS, run_test_report
from basicsr_ext.models.ext_sr_model import ExtSRModel
from basicsr_ext.utils.errors import UserError
from basicsr_ext.utils.option_models import Bool, IntRange, Section

PERSON_METRIC = 'calculate_person_psnr'


def resolve_person_window(opt):
    """The run's one PersonWindow; person-PSNR metric options without window keys get the loss's (in place)."""
    loss_opt = (opt.get('train') or {}).get('position_opt') if opt.get('is_train') else None
    window = PersonWindow.from_options(loss_opt) if loss_opt else None
    metrics = (opt.get('val') or {}).get('metrics') or {}
    for name, metric in metrics.items():
        if not isinstance(metric, dict) or metric.get('type') != PERSON_METRIC:
            continue
        if window is None:
            window = PersonWindow.from_options(metric)
            continue
        own = {k: metric[k] for k in PersonWindow.KEYS if k in metric}
        loss_keys = {k: getattr(window, k) for k in PersonWindow.KEYS}
        differ = {k: v for k, v in own.items() if v != loss_keys[k]}
        if differ:
            raise UserError(
                f'val.metrics.{name}: window {differ} differs from train.position_opt '
                f'({", ".join(f"{k}: {loss_keys[k]}" for k in differ)}); loss, metric and montages share one window: '
                'set it in train.position_opt only'
            )
        metric.update(loss_keys)
    return window or PersonWindow()


class SelfEnsemble(Section):
    transforms: Literal[4, 8] = 8
    reduce: Literal['median', 'mean'] = 'median'


OffOr = BeforeValidator(lambda value: value or None)  # false, {} and ~ switch it off


class Multipass(Section):
    max_passes: IntRange(1) = 1
    plane: IntRange(0) = 0


class Report(Section):
    """``val.report`` of a test run (aos_test_report.py)."""

    variants: Annotated[list[Literal[tuple(REPORT_VARIANTS)]], Field(min_length=1)] = list(REPORT_VARIANTS)
    self_ensemble: Annotated[Optional[SelfEnsemble], OffOr] = SelfEnsemble()
    max_passes: IntRange(2) = 2
    plane: IntRange(0) = 0
    montages: IntRange(0) = 8


class ValOptions(Section):
    self_ensemble: Annotated[Optional[SelfEnsemble], OffOr] = None
    multipass: Optional[Multipass] = None
    report: Optional[Report] = None


class TrainOptions(Section):
    multipass_finetune: Bool = False
    multipass_plane: IntRange(0) = 0


@MODEL_REGISTRY.register()
class AOSRestorationModel(ExtSRModel):
    """ExtSRModel + position-enhanced loss, multi-pass fine-tuning, self-ensemble and multi-pass inference."""

    option_keys = {'train': TrainOptions, 'val': ValOptions}

    def __init__(self, opt):
        self.person_window = resolve_person_window(opt)
        self.inference = InferenceSettings.from_val_options(opt.get('val'))
        super().__init__(opt)

    def init_training_settings(self):
        train_opt = self.opt['train']
        self.cri_pos = build_loss(train_opt['position_opt']).to(self.device) if train_opt.get('position_opt') else None
        self.multipass_finetune = bool(train_opt.get('multipass_finetune', False))
        self.multipass_plane = int(train_opt.get('multipass_plane', 0))
        if self.cri_pos is None or train_opt.get('pixel_opt') or train_opt.get('perceptual_opt'):
            super().init_training_settings()
            return
        # SRModel refuses to set up training without a pixel or perceptual loss; the position loss is one, so give
        # it a zero-weight placeholder for the check and drop it again
        train_opt['pixel_opt'] = {'type': 'L1Loss', 'loss_weight': 0.0}
        try:
            super().init_training_settings()
        finally:
            train_opt.pop('pixel_opt')
        self.cri_pix = None

    def has_validation_loss(self):
        return self.is_train and (self.cri_pos is not None or self.cri_pix is not None)

    def validation_loss(self):
        return float(self._losses_of(self.output)[0])

    def feed_data(self, data):
        super().feed_data(data)
        if 'pos' in data:
            self.pos = data['pos'].to(self.device)
        if 'has_person' in data:
            self.has_person = data['has_person'].to(self.device)

    def extra_metric_data(self):
        # the person position of the (batch-1) validation sample, for calculate_person_psnr
        pos = getattr(self, 'pos', None)
        return {} if pos is None else {'pos': tuple(pos[0].tolist())}

    def _losses_of(self, output):
        l_total = 0
        loss_dict = OrderedDict()
        if self.cri_pos is not None:
            l_pos = self.cri_pos(output, self.gt, self.pos, getattr(self, 'has_person', None))
            l_total += l_pos
            loss_dict['l_pos'] = l_pos
        if self.cri_pix is not None:
            l_pix = self.cri_pix(output, self.gt)
            l_total += l_pix
            loss_dict['l_pix'] = l_pix
        return l_total, loss_dict

    def compute_losses(self, current_iter):
        self.output = self.net_g(self.lq)
        if self.multipass_finetune:
            b = self.lq.shape[0]
            parity = (current_iter - 1) % 2  # BasicSR counts from 1: the first iteration has parity 0
            double = (torch.arange(b, device=self.lq.device) + parity) % 2 == 1
            if double.any():
                second = self.net_g(next_pass_input(self.lq[double], self.output[double], self.multipass_plane))
                output = self.output.clone()
                output[double] = second
                self.output = output
        return self._losses_of(self.output)

    def test(self):
        net = self.net_g_ema if hasattr(self, 'net_g_ema') else self.get_bare_model(self.net_g)
        self.output, self.passes = self.inference.apply(net, self.lq, getattr(self, 'gt', None))
        if self.inference.max_passes > 1:
            get_root_logger().debug(f'multi-pass: passes per sample {self.passes.tolist()}')

    def nondist_validation(self, dataloader, current_iter, tb_logger, save_img):
        report = (self.opt.get('val') or {}).get('report')
        if report and not self.is_train:
            self.write_report(dataloader, current_iter, save_img, report)
            return
        super().nondist_validation(dataloader, current_iter, tb_logger, save_img)

    def dist_validation(self, dataloader, current_iter, tb_logger, save_img):
        # the report shards like validation: every rank runs its share of every variant, rank 0 writes the files
        self.nondist_validation(dataloader, current_iter, tb_logger, save_img)

    def write_report(self, dataloader, current_iter, save_img, report):
        """The AOS test report for one test set (``aos_test_report.run_test_report``); keeps its rows."""
        metrics_opt = self.opt['val'].get('metrics') or {}
        out_dir = self.opt['path']['results_root']
        self.report_rows = run_test_report(
            self, dataloader, current_iter, save_img, report, metrics_opt, out_dir, self.person_window
        )
