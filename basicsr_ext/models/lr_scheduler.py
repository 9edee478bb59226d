"""Learning-rate schedulers an option file can name in ``train.scheduler.type``.

Lookup order: BasicSR's own schedulers (``MultiStepLR``/``MultiStepRestartLR``, ``CosineAnnealingRestartLR``), the
schedulers registered here by basicsr-ext, then any class in ``torch.optim.lr_scheduler`` (``CosineAnnealingLR``,
``OneCycleLR``, ``ReduceLROnPlateau``, ...). Schedulers step once per iteration, except ``ReduceLROnPlateau``, which
steps after each validation on the metric named by ``monitor``.

Ours: ``RampDownLR`` (Noise2Noise's ramp-down: constant, then a squared half-cosine to 0 over the last part).
"""

import difflib
import math
from numbers import Real

import torch
from basicsr.models import lr_scheduler as bs_lr_scheduler

from basicsr_ext.utils.errors import UserError

BASICSR_SCHEDULERS = {
    'MultiStepLR': bs_lr_scheduler.MultiStepRestartLR,  # BasicSR maps both names to its restart variant
    'MultiStepRestartLR': bs_lr_scheduler.MultiStepRestartLR,
    'CosineAnnealingRestartLR': bs_lr_scheduler.CosineAnnealingRestartLR,
}
# basicsr-ext's own schedulers: name -> class (filled by the modules that define them)
EXTRA_SCHEDULERS = {}


class SchedulerOptionError(UserError, ValueError):
    """A bad scheduler option: a ValueError for Python callers, a one-line UserError for the runners."""


def ramp_down_factor(step, total_iter, rampdown_fraction=0.3):
    """Noise2Noise's learning-rate factor at 0-based ``step`` (the official ``compute_ramped_down_lrate``).

    1 before ``start = total_iter * (1 - rampdown_fraction)``; from there ``(0.5 + cos(pi * t) / 2) ** 2`` with
    ``t = (step - start) / (rampdown_fraction * total_iter)``, clipped to 1 so the factor stays 0 after the end
    (the official loop never gets there: its last step is ``total_iter - 1``).
    """
    start = total_iter * (1 - rampdown_fraction)
    if step < start:
        return 1.0
    t = min((step - start) / rampdown_fraction / total_iter, 1.0)
    return (0.5 + math.cos(t * math.pi) / 2) ** 2


class RampDownLR(torch.optim.lr_scheduler.LRScheduler):
    """Constant learning rate, then over the last ``rampdown_fraction`` of ``total_iter`` iterations a squared
    half-cosine from 1 to 0 (Noise2Noise: 300k iterations, fraction 0.3; 0.5 for its long runs).

    Stepped once per iteration as BasicSR does (``update_learning_rate`` steps from ``current_iter`` 2 on), so
    ``last_epoch`` is ``current_iter - 1``, the official loop's 0-based ``i``, and the rate at every iteration is the
    official one. ``last_epoch == total_iter`` (one step past the last iteration) gives 0.

    Args:
        optimizer (Optimizer): Wrapped optimizer; each param group ramps from its own initial rate.
        total_iter (int): Iterations of the whole run (``train.total_iter``).
        rampdown_fraction (float): Share of the run at the end that ramps down, in (0, 1]. Default: 0.3.
        last_epoch (int): Index of the last step, for resuming. Default: -1.
    """

    def __init__(self, optimizer, total_iter, rampdown_fraction=0.3, last_epoch=-1):
        if isinstance(total_iter, bool) or not isinstance(total_iter, int) or total_iter <= 0:
            raise SchedulerOptionError(f'RampDownLR total_iter: expected an int > 0, got {total_iter!r}')
        if (
            isinstance(rampdown_fraction, bool)
            or not isinstance(rampdown_fraction, Real)
            or not 0 < rampdown_fraction <= 1
        ):
            raise SchedulerOptionError(
                f'RampDownLR rampdown_fraction: expected a number in (0, 1], got {rampdown_fraction!r}'
            )
        self.total_iter = total_iter
        self.rampdown_fraction = float(rampdown_fraction)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        factor = ramp_down_factor(self.last_epoch, self.total_iter, self.rampdown_fraction)
        return [base_lr * factor for base_lr in self.base_lrs]


EXTRA_SCHEDULERS['RampDownLR'] = RampDownLR


def _torch_schedulers():
    base = torch.optim.lr_scheduler.LRScheduler
    names = {}
    for name in dir(torch.optim.lr_scheduler):
        obj = getattr(torch.optim.lr_scheduler, name)
        if isinstance(obj, type) and (issubclass(obj, base) or name == 'ReduceLROnPlateau') and obj is not base:
            names[name] = obj
    return names


def get_scheduler_class(name, key='train.scheduler.type'):
    for table in (BASICSR_SCHEDULERS, EXTRA_SCHEDULERS, _torch_schedulers()):
        if name in table:
            return table[name]
    known = sorted(set(BASICSR_SCHEDULERS) | set(EXTRA_SCHEDULERS) | set(_torch_schedulers()))
    close = difflib.get_close_matches(str(name), known, n=5, cutoff=0.4)
    raise UserError(
        f'{key}: unknown scheduler {name!r}. '
        + (f'Closest: {", ".join(close)}.' if close else f'Known: {", ".join(known)}.')
    )


def is_plateau(scheduler):
    return isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)


def extend_schedulers(schedulers, old_total, new_total):
    """Continue a run past (or short of) the ``total_iter`` it was started with: every schedule whose length was that
    ``total_iter`` gets the new one, and the rate continues as if the run had been started with ``new_total``.

    The rule: ``CosineAnnealingLR.T_max``, ``RampDownLR.total_iter`` and the sum of ``CosineAnnealingRestartLR.periods``
    (its last period absorbs the difference) that equal ``old_total`` become ``new_total``; other schedules
    (milestones, warm-ups, plateau) keep their settings. Returns what was changed, one string per scheduler.
    """
    changed = []
    for scheduler in schedulers:
        name = type(scheduler).__name__
        if isinstance(scheduler, torch.optim.lr_scheduler.CosineAnnealingLR) and scheduler.T_max == old_total:
            scheduler.T_max = new_total
            # torch steps this schedule recursively from the current rate: restart it from the closed form, the
            # rate a run started with new_total has at this iteration
            for group, lr in zip(scheduler.optimizer.param_groups, scheduler._get_closed_form_lr()):
                group['lr'] = lr
            scheduler._last_lr = [group['lr'] for group in scheduler.optimizer.param_groups]
            changed.append(f'{name}.T_max {old_total} -> {new_total}')
        elif isinstance(scheduler, RampDownLR) and scheduler.total_iter == old_total:
            scheduler.total_iter = new_total
            changed.append(f'{name}.total_iter {old_total} -> {new_total}')
        elif hasattr(scheduler, 'periods') and hasattr(scheduler, 'cumulative_period'):
            periods = list(scheduler.periods)
            if sum(periods) == old_total and periods[-1] + new_total - old_total > 0:
                periods[-1] += new_total - old_total
                scheduler.periods = periods
                scheduler.cumulative_period = [sum(periods[: i + 1]) for i in range(len(periods))]
                changed.append(f'{name}.periods -> {periods}')
    return changed
