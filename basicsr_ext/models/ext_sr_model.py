"""The base model of basicsr-ext: BasicSR's SRModel plus the training features every experiment here shares.

All features are driven by options (``options/train_srcnn.yml`` shows each key with its default):

- ``train.accumulate_grad_batches`` (1): the optimizer steps every k iterations on the summed gradients of k
  batches (losses are divided by k, so k batches of b equal one batch of k*b). Iterations still count batches;
  DDP skips the gradient all-reduce on the k-1 intermediate batches. Keep ``save_checkpoint_freq`` a multiple of k.
- ``train.use_amp`` (false), ``train.amp_dtype`` (fp16 on GPU, bf16 on CPU): autocast for the forward and losses;
  fp16 uses a GradScaler (its state is in the training state).
- ``train.grad_clip_norm`` (none): clip the global gradient norm before each step; the norm is logged.
- ``train.optim_g.type``: any ``torch.optim`` optimizer by name (Adam, AdamW, SGD, ...).
- ``train.scheduler.type``: BasicSR's schedulers or any ``torch.optim.lr_scheduler`` by name, including
  ``ReduceLROnPlateau`` with ``monitor: <metric>`` (stepped after each validation of the first val dataset), and
  ours (``RampDownLR``; its ``total_iter: ~`` means ``train.total_iter``).
- validation loss: the pixel loss on the validation set, logged as ``val_loss`` next to the metrics.
- ``val.save_best: {metric: psnr, mode: max}``: keep ``models/net_g_best.pth`` for the best value so far.
- ``train.ema_decay``: BasicSR's EMA (net_g_ema, saved as params_ema), updated after each optimizer step.
- ``train.trainable_params`` (all): regular expressions (``re.search`` on parameter names); only matching parameters
  train, the rest are frozen before the network is wrapped for DDP and stay bit-identical (also in the EMA copy).
  The log states how many parameters train. Stage 2 of modulation training uses ``[adafm]`` or ``[ftn]``.
- ``train.max_nonfinite_steps`` (10): a step whose loss or gradients are NaN/Inf is skipped; after that many in a
  row training stops with a message saying where and what to try.
- checkpoints and training states are written atomically with a content digest checked on load; training states
  carry the RNG states of every rank, the GradScaler, the best-metric records and the guard counters, so
  ``--auto_resume`` continues exactly (from the newest intact state; a state that does not fit the network is one
  line).

The model is four parts, one file each, read top to bottom; SRModel (and BaseModel) do the rest:

=======================  ===========================================================================================
part                     what it does
=======================  ===========================================================================================
``optimization_setup``   freezing (``trainable_params``), the DDP wrapper on any device, optimizer and schedulers by
                         name, EMA of the trainable parameters
``training_step``        ``optimize_parameters``: accumulation, AMP, clipping, the NaN/Inf guard, EMA updates;
                         models override ``compute_losses(current_iter)`` only
``validation``           ``validate_loop`` (metrics, ``val_loss``, images), best values, ReduceLROnPlateau,
                         ``save_best``; the same ``after_validation`` for one process and for DDP
``training_state``       atomic checkpoints and training states, every rank's RNG state, weights-only loading
=======================  ===========================================================================================

BasicSR methods replaced (all public; the reasons are in each method's docstring or comment): ``model_to_device``,
``setup_optimizers``, ``get_optimizer``, ``setup_schedulers``, ``update_learning_rate``, ``model_ema``,
``init_training_settings``, ``optimize_parameters``, ``test``, ``nondist_validation``, ``dist_validation``,
``save``, ``save_network``, ``save_training_state``, ``resume_training``, ``load_network``. BaseModel's private
``_update_best_metric_result`` and ``_print_different_keys_loading`` are called, never replaced.
"""

from typing import Annotated, Literal, Optional, Union

from basicsr.models.sr_model import SRModel
from basicsr.utils import get_root_logger
from basicsr.utils.registry import MODEL_REGISTRY
from pydantic import BeforeValidator, Field, field_validator

from basicsr_ext.models.optimization_setup import OptimizationSetup, check_scheduler
from basicsr_ext.models.training_state import TrainingState
from basicsr_ext.models.training_step import TrainingDiverged, TrainingStep
from basicsr_ext.models.validation import Validation
from basicsr_ext.utils.option_models import Bool, IntRange, Number, Section, Str, to_number

__all__ = ['ExtSRModel', 'TrainingDiverged']


class TrainOptions(Section):
    """The ``train`` keys of ExtSRModel (the module docstring says what each does)."""

    accumulate_grad_batches: IntRange(1) = 1
    use_amp: Bool = False
    amp_dtype: Optional[Literal['float16', 'bfloat16', 'fp16', 'bf16']] = None  # ~: fp16 on a GPU, bf16 on the CPU
    grad_clip_norm: Optional[Annotated[float, Field(gt=0), BeforeValidator(to_number)]] = None
    max_nonfinite_steps: IntRange(1) = 10
    trainable_params: Optional[list] = None

    _scheduler = field_validator('scheduler', check_fields=False)(check_scheduler)


class SaveBest(Section):
    metric: Union[Str, Annotated[dict[str, Number], Field(min_length=1)]]  # one result, or {name: weight}
    mode: Optional[Literal['max', 'min']] = None  # ~: min for val_loss, else max


class ValOptions(Section):
    save_best: Optional[SaveBest] = None


@MODEL_REGISTRY.register()
class ExtSRModel(OptimizationSetup, TrainingStep, Validation, TrainingState, SRModel):
    """SRModel with the shared training features of basicsr-ext (see the module docstring for the options)."""

    option_keys = {'train': TrainOptions, 'val': ValOptions}

    def init_training_settings(self):
        features = self.init_training_step()
        self.init_best_checkpoint()
        super().init_training_settings()
        get_root_logger().info(f'Training features: {features}')
