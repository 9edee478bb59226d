"""Two-stage training of continuous-level networks (Afrimi 2021: AdaFM, FTN; DNI needs no model).

Stage 1 trains the base network at level a with no modulation layers (``options/train_modulation_base.yml``).
Stage 2 (``train_modulation_adafm.yml``, ``train_modulation_ftn.yml``) builds the same network with
``modulation: {type: adafm | ftn, ...}``, loads the stage-1 checkpoint through ``path.pretrain_network_g``, trains
only the parameters named by ``train.trainable_params`` (``[adafm]`` / ``[ftn]``; the log states how many) at
level b, with the coefficient at 1. At test time the coefficient slides between the two levels
(``scripts/modulation_sweep.py``).

:class:`ModulationModel` is :class:`ExtSRModel` (which does the freezing, for any model) plus:

- loading a checkpoint of the *base* network into the modulated one: the modulation layers, which the base
  checkpoint cannot have, keep their identity initialisation; every other tensor must be there with its shape
  (anything else is an error naming the keys). A checkpoint of the modulated network loads as usual.
- the modulation layers, their parameter count and coefficient (``network_g.modulation.coef``, 1 by default: the
  level the layers train for) are logged at start;
- ``train.level_path: {sigma: [a, b], prob: p}`` [ext, not in the AdaFM or FTN papers]: with probability ``p`` an
  iteration trains at a coefficient ``c`` drawn uniformly from [0, 1] on fresh Gaussian noise of sigma
  ``a + c (b - a)`` (0-255 scale; clipped to [0, 1] when ``datasets.train.noise.clip`` is, as ``NoisyPairDataset``
  does) added to the batch's clean target, instead of at the end level on the dataset's input (whose sigma must be
  ``b``; denoising only, ``scale: 1``). Stage 2 then trains the path the coefficient slides along, not only its end:
  with the end level alone, the levels between are whatever the linear interpolation of the layers gives, which for
  the zoo's ``adafm_denoise`` was a colour cast of 4 grey levels at coefficient 0.5 on its validation crops
  (docs/zoo.md). The coefficient is back where it was after every such step.
"""

from typing import Annotated, Optional

import torch
from basicsr.utils import get_root_logger
from basicsr.utils.registry import MODEL_REGISTRY
from pydantic import Field, ValidationInfo, model_validator

from basicsr_ext.archs.modulation_arch import (
    modulation_coefs,
    modulation_layers,
    modulation_param_names,
    set_modulation_coef,
)
from basicsr_ext.models.ext_sr_model import ExtSRModel
from basicsr_ext.utils.errors import UserError
from basicsr_ext.utils.file_io import load_network_params
from basicsr_ext.utils.option_models import NumberRange, Section, option_error


class LevelPath(Section):
    sigma: Annotated[list[NumberRange(0)], Field(min_length=2, max_length=2)]  # [level at 0, level at 1], 0-255
    prob: NumberRange(0, 1) = 0.5  # share of iterations on the path (the rest: the end level, the dataset's input)


class TrainOptions(Section):
    level_path: Optional[LevelPath] = None

    @model_validator(mode='after')
    def _path_fits_the_data(self, info: ValidationInfo):
        opt = (info.context or {}).get('opt') or {}
        if self.level_path is None:
            return self
        if opt.get('scale', 1) != 1:
            raise option_error(
                'train.level_path',
                f"adds noise at the target's size: denoising only (scale 1), got scale {opt['scale']}",
            )
        noise = ((opt.get('datasets') or {}).get('train') or {}).get('noise')
        end = noise.get('sigma') if isinstance(noise, dict) else None
        if noise is not None and (
            not isinstance(noise, dict)
            or noise.get('type', 'gaussian') != 'gaussian'
            or end != self.level_path.sigma[1]
        ):
            raise option_error(
                'train.level_path.sigma',
                f'its end level {self.level_path.sigma[1]:g} must be the level of the training noise, '
                f'datasets.train.noise (Gaussian sigma {end})',
            )
        return self


@MODEL_REGISTRY.register()
class ModulationModel(ExtSRModel):
    """ExtSRModel for modulated networks: base checkpoints load into them; the coefficient is an option."""

    option_keys = {'train': TrainOptions}

    def __init__(self, opt):
        super().__init__(opt)
        bare = self.get_bare_model(self.net_g)
        layers = modulation_layers(bare)
        extra = modulation_param_names(bare)
        coefs = modulation_coefs(bare)
        get_root_logger().info(
            f'Modulation: {len(layers)} layers ({", ".join(sorted({type(m).__name__ for m in layers.values()}))}), '
            f'{sum(p.numel() for n, p in bare.named_parameters() if n in extra):,} parameters, coefficient '
            f'{", ".join(map(str, coefs))} (network_g.modulation.coef)'
            if layers
            else 'Modulation: network_g has no modulation layers (stage 1, or a plain network)'
        )

    def load_network(self, net, load_path, strict=True, param_key='params'):
        bare = self.get_bare_model(net)
        extra = modulation_param_names(bare)
        if not extra:
            return super().load_network(net, load_path, strict, param_key)
        state, used_key = load_network_params(load_path, param_key, get_root_logger())
        own = bare.state_dict()
        missing = set(own) - set(state)
        if not missing or not missing <= extra or set(state) - set(own):
            # a checkpoint of the modulated network itself, or one that does not fit: BasicSR's rules and messages
            return super().load_network(net, load_path, strict, param_key)
        wrong = [k for k in state if state[k].shape != own[k].shape]
        if wrong:
            k = wrong[0]
            raise UserError(
                f'{load_path} does not fit {bare.__class__.__name__}: {k} has shape {tuple(state[k].shape)} in the '
                f'checkpoint, {tuple(own[k].shape)} in the network ({len(wrong)} such tensors); check network_g'
            )
        bare.load_state_dict(state, strict=False)
        n_new = sum(own[k].numel() for k in missing)
        get_root_logger().info(
            f'Loaded the base network from {load_path} [{used_key}]: {len(state)} tensors; the {len(missing)} '
            f'modulation tensors ({n_new:,} parameters) it does not have keep their identity initialisation.'
        )

    def optimize_parameters(self, current_iter):
        path = (self.opt.get('train') or {}).get('level_path')
        prob = path.get('prob', LevelPath.model_fields['prob'].default) if path else 0
        if not prob:
            return super().optimize_parameters(current_iter)
        bare = self.get_bare_model(self.net_g)
        starts = modulation_coefs(bare)
        if not starts or torch.rand(()).item() >= prob:
            return super().optimize_parameters(current_iter)
        coef = torch.rand(()).item()
        low, high = path['sigma']
        self.lq = self.gt + (low + coef * (high - low)) / 255.0 * torch.randn_like(self.gt)
        if ((self.opt.get('datasets') or {}).get('train', {}).get('noise') or {}).get('clip', False):
            self.lq.clamp_(0, 1)
        set_modulation_coef(bare, coef)
        try:
            return super().optimize_parameters(current_iter)
        finally:
            set_modulation_coef(bare, starts[0])
