"""Arch constructor refusals found with the option checks (before any folder is made): the network is built on the
meta device, else on the CPU; only an argument refusal of the arch's own ``__init__`` is the user's."""

import textwrap

import numpy as np
import torch
from torch import nn

import basicsr_ext  # noqa: F401  (registers the archs)
from basicsr_ext.utils.option_check import _constructor_problems


def arch_class(source):
    """A class defined as if in ``basicsr_ext.archs`` (the refusals counted are raised there)."""
    namespace = {'__name__': 'basicsr_ext.archs.fake_arch', 'np': np, 'torch': torch, 'nn': nn}
    exec(textwrap.dedent(source), namespace)  # noqa: S102  (test code, made here)
    return namespace['Net']


def test_a_refusal_raised_as_user_error_is_found():
    from basicsr_ext.archs.modulation_arch import AdaFMNet

    net = {'type': 'AdaFMNet', 'num_feat': 8, 'num_block': 1, 'modulation': {'type': 'adafm', 'kernel_size': 4}}
    assert _constructor_problems(AdaFMNet, net, 'network_g') == [
        ('network_g', 'AdaFMNet refused its arguments: modulation.kernel_size: expected an odd int >= 1, got 4')
    ]


def test_what_only_the_meta_device_refuses_is_not_reported():
    net_cls = arch_class(
        """
        class Net(nn.Module):
            def __init__(self, n=4):
                super().__init__()
                self.rates = np.asarray(torch.linspace(0, 1, n))  # a meta tensor has no numpy value
                if n < 2:
                    raise ValueError(f'Net needs n >= 2, got {n}')
        """
    )
    assert _constructor_problems(net_cls, {'type': 'Net', 'n': 4}, 'network_g') == []
    assert _constructor_problems(net_cls, {'type': 'Net', 'n': 1}, 'network_g') == [
        ('network_g', 'Net refused its arguments: Net needs n >= 2, got 1')
    ]


def test_swin2sr_builds_on_the_meta_device():
    """No CPU build (and its memory) for the AOS Swin2SR during the option checks."""
    from basicsr_ext.archs.swin2sr_arch import Swin2SR
    from basicsr_ext.utils.options import resolve_options

    net = dict(resolve_options('options/train_aos_course_report.yml')['network_g'])
    net.pop('type')
    with torch.device('meta'):
        Swin2SR(**net)
    cpu = Swin2SR(**{**net, 'depths': [2, 2], 'num_heads': [2, 2], 'drop_path_rate': 0.1})
    rates = [block.drop_path for layer in cpu.layers for block in layer.residual_group.blocks]
    assert np.allclose([getattr(r, 'drop_prob', 0.0) for r in rates], torch.linspace(0, 0.1, 4).tolist())


def test_a_refusal_of_a_mapping_an_override_changed_names_the_file_and_the_flag():
    import pytest

    from basicsr_ext.utils.errors import UserError
    from basicsr_ext.utils.option_check import validate_options
    from basicsr_ext.utils.options import resolve_options

    opt = resolve_options('options/train_srcnn.yml', cfg_options=['network_g.num_feat=[64]'])
    entry = '--cfg-options network_g.num_feat=[64]'
    with pytest.raises(UserError) as err:
        validate_options(opt, 'options/train_srcnn.yml', True, {'network_g.num_feat': entry})
    assert str(err.value) == (
        f'options/train_srcnn.yml with {entry}: network_g: SRCNN refused its arguments: '
        'SRCNN needs num_feat of length 2 and kernel_sizes of length 3'
    )
