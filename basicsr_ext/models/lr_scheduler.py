"""Learning-rate schedulers an option file can name in ``train.scheduler.type``.

Lookup order: BasicSR's own schedulers (``MultiStepLR``/``MultiStepRestartLR``, ``CosineAnnealingRestartLR``), the
schedulers registered here by basicsr-ext, then any class in ``torch.optim.lr_scheduler`` (``CosineAnnealingLR``,
``OneCycleLR``, ``ReduceLROnPlateau``, ...). Schedulers step once per iteration, except ``ReduceLROnPlateau``, which
steps after each validation on the metric named by ``monitor``.
"""

import difflib

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
