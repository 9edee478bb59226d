"""One training iteration: forward and losses, accumulation, AMP, gradient clipping, the NaN/Inf guard, EMA.

A part of :class:`~basicsr_ext.models.ext_sr_model.ExtSRModel` (read that module's docstring for the options).
Models change what is computed by overriding :meth:`TrainingStep.compute_losses`, never the step itself.
"""

from collections import OrderedDict
from contextlib import nullcontext

import torch
import torch.distributed as dist
from basicsr.utils import get_root_logger
from torch.nn.parallel import DistributedDataParallel

from basicsr_ext.utils.errors import UserError

AMP_DTYPES = {'bf16': torch.bfloat16, 'bfloat16': torch.bfloat16, 'fp16': torch.float16, 'float16': torch.float16}


class TrainingDiverged(UserError):
    """Too many consecutive non-finite steps."""


class TrainingStep:
    """``optimize_parameters`` of every basicsr-ext model; the losses come from :meth:`compute_losses`."""

    def init_training_step(self):
        """Read the step's options (called from ``init_training_settings``)."""
        train_opt = self.opt['train']
        # the values were checked with the options (ext_sr_model.TrainOptions)
        self.accumulate_grad_batches = int(train_opt.get('accumulate_grad_batches', 1))
        self.grad_clip_norm = train_opt.get('grad_clip_norm')
        self.use_amp = bool(train_opt.get('use_amp', False))
        amp_dtype = train_opt.get('amp_dtype') or ('fp16' if self.device.type == 'cuda' else 'bf16')
        self.amp_dtype = AMP_DTYPES[amp_dtype]
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.use_amp and self.amp_dtype == torch.float16)
        self.max_nonfinite_steps = int(train_opt.get('max_nonfinite_steps', 10))
        self.nonfinite_steps = 0  # consecutive skipped steps
        self.optimizer_steps = 0
        self._window_nonfinite = False  # a non-finite loss since the last optimizer step
        return (
            f'accumulate_grad_batches={self.accumulate_grad_batches}, '
            f'use_amp={self.use_amp} ({amp_dtype if self.use_amp else "-"}), '
            f'grad_clip_norm={self.grad_clip_norm}, max_nonfinite_steps={self.max_nonfinite_steps}'
        )

    def compute_losses(self, current_iter):
        """Forward and losses for the current batch at iteration ``current_iter`` (1-based, as BasicSR counts).

        Returns ``(l_total, loss_dict)``; this default is SRModel's pixel + perceptual losses. Subclasses override it
        (annealed schedules read ``current_iter``); the step around it stays the same.
        """
        self.output = self.net_g(self.lq)
        l_total = 0
        loss_dict = OrderedDict()
        if self.cri_pix:
            l_pix = self.cri_pix(self.output, self.gt)
            l_total += l_pix
            loss_dict['l_pix'] = l_pix
        if self.cri_perceptual:
            l_percep, l_style = self.cri_perceptual(self.output, self.gt)
            if l_percep is not None:
                l_total += l_percep
                loss_dict['l_percep'] = l_percep
            if l_style is not None:
                l_total += l_style
                loss_dict['l_style'] = l_style
        return l_total, loss_dict

    def optimize_parameters(self, current_iter):
        k = self.accumulate_grad_batches
        step_now = current_iter % k == 0
        skip_sync = not step_now and isinstance(self.net_g, DistributedDataParallel)
        with self.net_g.no_sync() if skip_sync else nullcontext():
            with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.use_amp):
                l_total, loss_dict = self.compute_losses(current_iter)
            if not torch.isfinite(l_total.detach()).all():
                self._window_nonfinite = True
            self.scaler.scale(l_total / k).backward()
        if step_now:
            grad_norm = self._optimizer_step(current_iter, loss_dict)
            if grad_norm is not None:
                loss_dict['grad_norm'] = grad_norm
        self.log_dict = self.reduce_loss_dict(OrderedDict((n, v.detach().float()) for n, v in loss_dict.items()))

    def _optimizer_step(self, current_iter, loss_dict):
        """Unscale, measure/clip the gradient norm, guard against NaN/Inf, step, update EMA."""
        self.scaler.unscale_(self.optimizer_g)
        params = [p for group in self.optimizer_g.param_groups for p in group['params'] if p.grad is not None]
        grad_norm = torch.nn.utils.clip_grad_norm_(params, self.grad_clip_norm or float('inf')) if params else None
        bad = self._window_nonfinite
        if grad_norm is not None and not self.scaler.is_enabled():  # with a scaler, Inf grads are its business
            bad = bad or not bool(torch.isfinite(grad_norm))
        if self.opt['dist']:  # every rank must take the same decision
            flag = torch.tensor([float(bad)], device=self.device)
            dist.all_reduce(flag)
            bad = flag.item() > 0
        self._window_nonfinite = False
        if bad:
            self._skip_step(current_iter, loss_dict)
            return None
        self.nonfinite_steps = 0
        self.scaler.step(self.optimizer_g)
        self.scaler.update()
        self.optimizer_g.zero_grad(set_to_none=True)
        self.optimizer_steps += 1
        if self.ema_decay > 0:
            self.model_ema(decay=self.ema_decay)
        return grad_norm

    def _skip_step(self, current_iter, loss_dict):
        self.optimizer_g.zero_grad(set_to_none=True)
        if self.scaler.is_enabled():
            self.scaler.update()
        self.nonfinite_steps += 1
        losses = ', '.join(f'{n}={float(v.detach()):.4g}' for n, v in loss_dict.items())
        get_root_logger().warning(
            f'iter {current_iter}: non-finite loss or gradient ({losses}); step skipped '
            f'({self.nonfinite_steps}/{self.max_nonfinite_steps} in a row)'
        )
        if self.nonfinite_steps >= self.max_nonfinite_steps:
            raise TrainingDiverged(
                f'training diverged: {self.nonfinite_steps} consecutive steps with non-finite loss or gradients '
                f'up to iter {current_iter} ({losses}). Lower train.optim_g.lr, set train.grad_clip_norm, or '
                'check the data; train.max_nonfinite_steps sets this limit'
            )
