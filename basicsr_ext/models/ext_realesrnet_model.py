"""BasicSR's Real-ESRNet degradations with :class:`ExtSRModel`'s training features and a plain pixel loss."""

from basicsr.models.realesrnet_model import RealESRNetModel
from basicsr.utils.registry import MODEL_REGISTRY

from basicsr_ext.models.ext_sr_model import ExtSRModel


@MODEL_REGISTRY.register()
class ExtRealESRNetModel(RealESRNetModel, ExtSRModel):
    """``RealESRNetModel`` (second-order degradations of each GT batch, training-pair pool, validation on the given
    LR images) trained by ``ExtSRModel`` (any torch optimizer/scheduler, accumulation, AMP, gradient clipping, best
    checkpoint, NaN guard, ``val_loss``). Its loss is ``train.pixel_opt`` on S(D(I)) and I: the L1 baseline of
    the Real-ESRNet face SR report (Tan, AI6126 Project 2, Apr 2024), and the base of :class:`AnnealedLSRModel`."""

    def validate_loop(self, dataloader, current_iter, save_img, on_sample=None):
        # RealESRNetModel.feed_data degrades every batch while is_train is set; validation feeds the given LR images.
        # BasicSR clears the flag in nondist_validation only; here both the single- and the multi-GPU paths do.
        is_train, self.is_train = self.is_train, False
        try:
            return super().validate_loop(dataloader, current_iter, save_img, on_sample)
        finally:
            self.is_train = is_train
