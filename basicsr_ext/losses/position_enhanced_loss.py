import torch
from basicsr.utils.registry import LOSS_REGISTRY
from torch import nn

from basicsr_ext.aos.gt_person import hot_thresholds_torch, person_mask_torch
from basicsr_ext.aos.position import PersonWindow
from basicsr_ext.utils.errors import UserError

CRITERIA = ('l1', 'l2', 'charbonnier')


@LOSS_REGISTRY.register()
class PositionEnhancedLoss(nn.Module):
    """The position-enhanced loss of the AOS course report (Aliyev et al., JKU, Jan 2024, section 4.2): a pixel loss
    that weighs a patch around the person.

    With the per-pixel loss ``l`` (L1 by default), a ``p`` x ``p`` window P centred on the person position (clipped
    at the image border; pixels outside the image count as zero) and an ``H`` x ``W`` image::

        L_P = sum_{(i, j) in P} l_ij / p^2
        L_F = sum_{(i, j) not in P} l_ij / (H W - p^2)
        L_pos = w L_P + (1 - w) L_F

    The two normalisations are the report's constants (p^2 and H W - p^2), also when the window is clipped. With
    ``p = 96``, ``w = 0.5`` and 512 x 512 images this is the report's loss exactly. Samples without a person use the
    mean of ``l`` over the image when ``no_person_whole_image`` is true (the report used the centre patch instead,
    which ``false`` reproduces). Channels are averaged per pixel first. The window is ``aos.position.PersonWindow``.

    ``mask_weight`` > 0 adds a term on the person itself: ``mask_weight x`` the mean of ``l`` over the union of the
    GT's person mask M (``aos.gt_person``: GT above its median + half the way to its maximum) and the pixels the
    output makes as warm as that threshold (for a GT without a person: 20 grey levels above its median), averaged over
    the samples where that union is not empty. In the 96 px window at 512 px the person is about 5 % of the pixels, so
    the window term alone lets a net trade the person for the ground around it; a term on M alone lets it paint warm
    blobs wherever a person might be. On the union a missed person pixel and a false warm pixel cost the same.

    Args:
        loss_weight (float): Weight of the whole loss. Default: 1.0.
        patch_size (int): Window side at ``image_size`` pixels. Default: 96.
        weight (float): w, the share of the person patch. Default: 0.5.
        criterion (str): Per-pixel loss: 'l1', 'l2' or 'charbonnier'. Default: 'l1'.
        image_size (int | None): Image width the patch size refers to; the window is scaled by
            ``W_full / image_size`` where ``W_full`` is ``full_size`` or, when that is None, the input width.
            Default: 512.
        full_size (int | None): Width of the full images when training on crops (so the window keeps its size in
            metres); None = the input width. Default: None.
        no_person_whole_image (bool): Whole-image loss for samples without a person. Default: True.
        mask_weight (float): Weight of the person-mask term (0: off, the report's loss). Default: 0.
        eps (float): Charbonnier epsilon. Default: 1e-12.
    """

    def __init__(
        self,
        loss_weight=1.0,
        patch_size=96,
        weight=0.5,
        criterion='l1',
        image_size=512,
        full_size=None,
        no_person_whole_image=True,
        mask_weight=0.0,
        eps=1e-12,
    ):
        super().__init__()
        if criterion not in CRITERIA:
            raise UserError(f'PositionEnhancedLoss criterion: expected one of {CRITERIA}, got {criterion!r}')
        if not 0 <= weight <= 1:
            raise UserError(f'PositionEnhancedLoss weight: expected a value in [0, 1], got {weight!r}')
        if patch_size <= 0:
            raise UserError(f'PositionEnhancedLoss patch_size: expected a positive size, got {patch_size!r}')
        self.loss_weight = loss_weight
        self.patch_size = patch_size
        self.weight = weight
        self.criterion = criterion
        self.image_size = image_size
        self.full_size = full_size
        self.window = PersonWindow(patch_size, image_size, full_size)
        self.no_person_whole_image = no_person_whole_image
        if not (isinstance(mask_weight, (int, float)) and mask_weight >= 0):
            raise UserError(f'PositionEnhancedLoss mask_weight: expected a number >= 0, got {mask_weight!r}')
        self.mask_weight = float(mask_weight)
        self.eps = eps

    def window_size(self, width):
        return self.window.side(width)

    def pixel_loss(self, pred, target):
        diff = pred - target
        if self.criterion == 'l1':
            loss = diff.abs()
        elif self.criterion == 'l2':
            loss = diff * diff
        else:
            loss = torch.sqrt(diff * diff + self.eps)
        return loss.mean(dim=1)  # b, h, w

    def person_mask(self, pos, height, width, p):
        """(b, h, w) float mask of the clipped p x p window centred on the pixel holding each ``pos`` (row, col)."""
        centre = torch.floor(pos.to(torch.float64) + 0.5).long()  # pixel i covers [i - 0.5, i + 0.5)
        top = centre[:, 0] - p // 2
        left = centre[:, 1] - p // 2
        rows = torch.arange(height, device=pos.device)
        cols = torch.arange(width, device=pos.device)
        in_rows = (rows[None] >= top[:, None]) & (rows[None] < top[:, None] + p)  # b, h
        in_cols = (cols[None] >= left[:, None]) & (cols[None] < left[:, None] + p)  # b, w
        return (in_rows[:, :, None] & in_cols[:, None, :]).to(torch.float32)

    def forward(self, pred, target, pos, has_person=None):
        """
        Args:
            pred (Tensor): (b, c, h, w) output.
            target (Tensor): (b, c, h, w) ground truth.
            pos (Tensor): (b, 2) person position (row, col) in pixels.
            has_person (Tensor | None): (b,) bool; None = every sample has a person.
        """
        b, _, h, w = pred.shape
        if pos.shape != (b, 2):
            raise ValueError(f'PositionEnhancedLoss: pos must be (batch, 2) = ({b}, 2), got {tuple(pos.shape)}')
        loss = self.pixel_loss(pred, target).float()  # b, h, w
        p = self.window_size(w)
        mask = self.person_mask(pos, h, w, p)
        patch = (loss * mask).sum(dim=(1, 2)) / (p * p)
        frame = (loss * (1 - mask)).sum(dim=(1, 2)) / max(h * w - p * p, 1)
        per_sample = self.weight * patch + (1 - self.weight) * frame
        if has_person is not None and self.no_person_whole_image:
            has_person = has_person.to(device=loss.device, dtype=torch.bool).reshape(b)
            per_sample = torch.where(has_person, per_sample, loss.mean(dim=(1, 2)))
        total = per_sample.mean()
        if self.mask_weight > 0:
            total = total + self.mask_weight * self.mask_term(loss, pred, target)
        return self.loss_weight * total

    def mask_term(self, loss, pred, target):
        """Mean per-pixel loss over each sample's union of person mask and warm output (see the class docstring),
        averaged over the samples where it is not empty (0 when it is empty everywhere)."""
        threshold, _ = hot_thresholds_torch(target.detach())
        person = person_mask_torch(target.detach())[:, 0] > 0
        warm = pred.detach().float().mean(dim=1) > threshold.view(-1, 1, 1)
        union = (person | warm).float()  # b, h, w
        area = union.sum(dim=(1, 2))
        some = area > 0
        if not some.any():
            return loss.new_zeros(())
        return ((loss * union).sum(dim=(1, 2))[some] / area[some]).mean()
