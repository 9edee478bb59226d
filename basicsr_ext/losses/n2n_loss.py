"""Noise2Noise's annealed L0 loss (Lehtinen et al., ICML 2018, section 3.3; Xu, Song, Peng 2022, equation 1).

``(|f(x) - y| + eps) ** gamma`` with gamma annealed linearly from 2 to 0 over training: at gamma 2 it is L2 (the mean
of the targets), at 1 L1 (their median), towards 0 it seeks the mode, which recovers images from targets where
random-valued impulse noise replaced a share of the pixels.
"""

import math
from numbers import Real

from basicsr.losses.loss_util import weighted_loss
from basicsr.utils.registry import LOSS_REGISTRY
from torch import nn

REDUCTIONS = ('none', 'mean', 'sum')


def l0_gamma(current_iter, total_iter, start=2.0, end=0.0):
    """The exponent at BasicSR's ``current_iter`` (counted from 1): linear from ``start`` to ``end``.

    With ``t = (current_iter - 1) / total_iter`` clipped to [0, 1], ``gamma = start + (end - start) * t``: the first
    iteration uses ``start`` and ``end`` is reached one iteration after the last, so every training step has a
    non-zero exponent (at gamma 0 the loss is constant and sends no gradient). The same counting as the ramp-down
    learning rate (``RampDownLR``), whose step index is ``current_iter - 1``.
    """
    if isinstance(total_iter, bool) or not isinstance(total_iter, int) or total_iter <= 0:
        raise ValueError(f'l0_gamma total_iter: expected an int > 0, got {total_iter!r}')
    t = min(max((current_iter - 1) / total_iter, 0.0), 1.0)
    return start + (end - start) * t


@weighted_loss
def l0_loss(pred, target, gamma=2.0, eps=1e-8):
    return ((pred - target).abs() + eps) ** gamma


@LOSS_REGISTRY.register()
class AnnealedL0Loss(nn.Module):
    """Noise2Noise's L0 loss ``(|pred - target| + eps) ** gamma``, with the exponent set from outside.

    The model sets ``gamma`` every iteration (``l0_gamma`` gives the paper's schedule, 2 -> 0). ``weight`` is an
    element-wise weight or mask with BasicSR's semantics (``basicsr.losses.loss_util.weight_reduce_loss``, as for
    ``L1Loss``/``MSELoss``): shape (N, C, H, W) or (N, 1, H, W); with reduction 'mean' the weighted sum is divided by
    the weight's sum (times C when the weight has one channel), so a 0/1 mask of valid pixels gives the mean over the
    valid pixels, and masked pixels neither count nor receive gradient.

    For gamma < 1 the derivative ``gamma * (|d| + eps) ** (gamma - 1)`` grows without bound as the residual ``d``
    goes to 0; ``eps`` caps it at ``gamma * eps ** (gamma - 1)`` (still large: 1e4 at gamma 0.5, eps 1e-8), so
    gradient clipping (``train.grad_clip_norm``) is a sensible companion late in the schedule. With ``eps = 0`` the
    gradient at an exact zero residual is infinite (NaN once multiplied by a zero mask).

    Args:
        loss_weight (float): Weight of the loss. Default: 1.0.
        gamma (float): Initial exponent, >= 0. Default: 2.0.
        eps (float): Added to the absolute residual before the power, >= 0. Default: 1e-8 (the paper's).
        reduction (str): 'none', 'mean' or 'sum'. Default: 'mean'.
    """

    def __init__(self, loss_weight=1.0, gamma=2.0, eps=1e-8, reduction='mean'):
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ValueError(f'AnnealedL0Loss reduction: expected one of {REDUCTIONS}, got {reduction!r}')
        if isinstance(eps, bool) or not isinstance(eps, Real) or not 0 <= eps < math.inf:
            raise ValueError(f'AnnealedL0Loss eps: expected a finite number >= 0, got {eps!r}')
        self.loss_weight = loss_weight
        self.eps = float(eps)
        self.reduction = reduction
        self.gamma = gamma

    @property
    def gamma(self):
        return self._gamma

    @gamma.setter
    def gamma(self, value):
        if isinstance(value, bool) or not isinstance(value, Real) or not 0 <= value < math.inf:
            raise ValueError(f'AnnealedL0Loss gamma: expected a finite number >= 0, got {value!r}')
        self._gamma = float(value)

    def forward(self, pred, target, weight=None, **kwargs):
        """
        Args:
            pred (Tensor): (N, C, H, W) prediction.
            target (Tensor): (N, C, H, W) target.
            weight (Tensor, optional): (N, C, H, W) or (N, 1, H, W) element-wise weights. Default: None.
        """
        return self.loss_weight * l0_loss(
            pred, target, weight, reduction=self.reduction, gamma=self._gamma, eps=self.eps
        )
