"""The option keys BasicSR 1.4.2's own models and datasets read besides the fixed sections, declared for them.

Our classes declare theirs in an ``option_keys`` class attribute (see :mod:`basicsr_ext.utils.option_check`); BasicSR's
cannot be edited, so :func:`declare_basicsr_option_keys` (a :mod:`basicsr_ext.compat` patch) sets the same attribute
on them from this table, read off their source (``self.opt[...]``, ``train_opt.get(...)``). Keys that follow a
naming pattern (``optim_d``, ``gan_opt``, ``network_d``, ``dataroot_flow``) need no declaration.
"""

# fmt: off
_DEGRADATIONS = (
    'resize_prob', 'resize_range', 'gaussian_noise_prob', 'noise_range', 'poisson_scale_range', 'gray_noise_prob',
    'jpeg_range', 'second_blur_prob', 'resize_prob2', 'resize_range2', 'gaussian_noise_prob2', 'noise_range2',
    'poisson_scale_range2', 'gray_noise_prob2', 'jpeg_range2', 'gt_size', 'queue_size', 'high_order_degradation',
)
_VIDEO_VAL = ('center_frame_only', 'flip_seq')

MODELS = {
    'EDVRModel': {'train': ('dcn_lr_mul', 'tsa_iter')},
    'RealESRNetModel': {'': (*_DEGRADATIONS, 'gt_usm')},
    'RealESRGANModel': {'': (*_DEGRADATIONS, 'l1_gt_usm', 'percep_gt_usm', 'gan_gt_usm')},
    'StyleGAN2Model': {
        'train': ('mixing_prob', 'net_d_reg_every', 'net_g_reg_every', 'path_batch_shrink', 'path_reg_weight',
                  'r1_reg_weight'),
        'val': ('num_val_samples',),
    },
    'VideoRecurrentModel': {'train': ('fix_flow', 'flow_lr_mul'), 'val': _VIDEO_VAL},
    'VideoRecurrentGANModel': {'train': ('fix_flow', 'flow_lr_mul', 'lr_flow'), 'val': _VIDEO_VAL},
}
_VIDEO_TEST = ('cache_data', 'num_frame', 'padding', 'use_duf_downsampling')
_REDS = ('interval_list', 'num_frame', 'random_reverse', 'test_mode', 'val_partition')
_VIMEO = ('flip_sequence', 'num_frame', 'random_reverse')
DATASETS = {
    'FFHQDataset': ('mean', 'std'),
    'PairedImageDataset': ('color', 'mean', 'std'),
    'SingleImageDataset': ('color', 'mean', 'std'),
    'RealESRGANPairedDataset': ('mean', 'std', 'meta_info'),
    'RealESRGANDataset': (
        'meta_info', 'blur_kernel_size', 'kernel_list', 'kernel_prob', 'blur_sigma', 'betag_range', 'betap_range',
        'sinc_prob', 'blur_kernel_size2', 'kernel_list2', 'kernel_prob2', 'blur_sigma2', 'betag_range2',
        'betap_range2', 'sinc_prob2', 'final_sinc_prob',
    ),
    'REDSDataset': _REDS,
    'REDSRecurrentDataset': _REDS,
    'Vimeo90KDataset': _VIMEO,
    'Vimeo90KRecurrentDataset': _VIMEO,
    'VideoTestDataset': _VIDEO_TEST,
    'VideoTestVimeo90KDataset': _VIDEO_TEST,
    'VideoTestDUFDataset': _VIDEO_TEST,
    'VideoRecurrentTestDataset': _VIDEO_TEST,
}
# fmt: on
# keys a dataset reads with opt[...] in training only (a missing one would be a KeyError once the first batch is read)
TRAIN_KEYS = {name: ('gt_size', 'use_hflip', 'use_rot') for name in ('PairedImageDataset', 'RealESRGANPairedDataset')}


def _with_train_keys(name, keys):
    """A section of ``keys`` (untyped) whose validator asks for the keys ``name`` reads in training."""
    from typing import Any

    from pydantic import ValidationInfo, create_model, model_validator

    from basicsr_ext.utils.option_models import Section, option_error

    def needs_train_keys(self, info: ValidationInfo):
        context = info.context or {}
        missing = [key for key in TRAIN_KEYS[name] if key not in self.model_fields_set]
        if context.get('is_train') and context.get('phase') == 'train' and missing:
            raise option_error(
                f'{context["where"]}.{missing[0]}', f'missing required key ({name} reads it in training)'
            )
        return self

    validators = {'needs_train_keys': model_validator(mode='after')(needs_train_keys)}
    return create_model(f'{name}Options', __base__=Section, __validators__=validators, **{k: (Any, None) for k in keys})


def declare_basicsr_option_keys():
    """Set ``option_keys`` on BasicSR's registered models and datasets (a name in the tables above)."""
    import basicsr.data  # noqa: F401  (registers BasicSR's datasets and models)
    import basicsr.models  # noqa: F401
    from basicsr.utils.registry import DATASET_REGISTRY, MODEL_REGISTRY

    for registry, table in ((MODEL_REGISTRY, MODELS), (DATASET_REGISTRY, DATASETS)):
        for _, cls in registry:
            if cls.__module__.startswith('basicsr.') and cls.__name__ in table:
                keys = table[cls.__name__]
                cls.option_keys = _with_train_keys(cls.__name__, keys) if cls.__name__ in TRAIN_KEYS else keys
