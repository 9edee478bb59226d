"""Annealed L_SR (Real-ESRNet face SR report, Tan 2024): schedule values, reduction to L1, gradients, CPU steps."""

import math
import re

import pytest
import torch
from basicsr.models import build_model

from basicsr_ext.models.annealed_lsr_model import clean_downsize, lsr_alpha
from basicsr_ext.utils.errors import UserError

from conftest import check_options, realesr_batch, realesr_options


def test_schedule_values():
    assert lsr_alpha(0, 100) == pytest.approx(0.8)
    assert lsr_alpha(50, 100) == pytest.approx(0.6)
    assert lsr_alpha(100, 100) == pytest.approx(0.4)
    assert lsr_alpha(25, 100) == pytest.approx(0.4 + 0.2 * (1 + math.cos(math.pi / 4)))  # 0.741, above linear's 0.7
    assert lsr_alpha(250, 100) == pytest.approx(0.4)  # held at the end value
    assert lsr_alpha(25, 100, shape='linear') == pytest.approx(0.7)
    assert lsr_alpha(50, 100, start=0.0, end=1.0, shape='linear') == pytest.approx(0.5)
    with pytest.raises(ValueError, match='shape'):
        lsr_alpha(0, 10, shape='step')


def lsr_model(**lsr):
    torch.manual_seed(0)
    return build_model(realesr_options('AnnealedLSRModel', {'lsr': lsr}))


def batch():
    return realesr_batch()


def test_reduces_to_l1_when_alpha_is_zero():
    model = lsr_model(start=0.0, end=0.0)
    model.feed_data(batch())
    l_total, losses = model.compute_losses(1)
    assert losses['alpha'].item() == 0.0
    assert torch.equal(l_total, model.cri_pix(model.net_g(model.lq), model.gt))
    assert losses['l_clean'].item() > 0  # computed and logged, weighted 0


def test_gradient_flows_through_both_terms():
    model = lsr_model(start=0.5, end=0.5)
    model.feed_data(batch())
    params = list(model.net_g.parameters())
    l_total, _ = model.compute_losses(1)
    got = torch.autograd.grad(l_total, params)
    degraded = torch.autograd.grad(model.cri_pix(model.net_g(model.lq), model.gt), params)
    clean = torch.autograd.grad(model.cri_pix(model.net_g(clean_downsize(model.gt, 4)), model.gt), params)
    for g, d, c in zip(got, degraded, clean):
        assert torch.allclose(g, 0.5 * d + 0.5 * c, atol=1e-6)
    assert any(not torch.allclose(d, c) for d, c in zip(degraded, clean))  # two different terms


def test_trains_on_cpu_and_logs_alpha_and_terms():
    model = lsr_model()  # defaults: 0.8 -> 0.4 over total_iter (10)
    before = [p.clone() for p in model.net_g.parameters()]
    alphas = []
    for it in range(1, 4):
        model.feed_data(batch())  # BasicSR's Real-ESRNet degradations, on the CPU
        model.optimize_parameters(it)
        log = model.get_current_log()
        assert {'l_pix', 'l_degraded', 'l_clean', 'alpha'} <= set(log)
        assert log['l_pix'] == pytest.approx((1 - log['alpha']) * log['l_degraded'] + log['alpha'] * log['l_clean'])
        alphas.append(log['alpha'])
    assert alphas == pytest.approx([lsr_alpha(i, 10) for i in range(3)])
    assert any(not torch.equal(a, b) for a, b in zip(before, model.net_g.parameters()))
    assert clean_downsize(model.gt, 4).shape == model.lq.shape


@pytest.mark.parametrize(
    'lsr, message',
    [
        ({'shape': 'step'}, "train.lsr.shape: expected one of 'cosine', 'linear', got 'step' (a string)"),
        ({'start': 1.5}, 'train.lsr.start: expected a number in [0, 1], got 1.5'),
        (
            {'stop': 0.1},
            'train.lsr.stop: unknown key (known here: end, iters, shape, start); keys of your own go under',
        ),
        ({'iters': 'ten'}, "train.lsr.iters: expected an integer >= 1 or ~ (null), got 'ten' (a string)"),
    ],
)
def test_bad_schedule_options_name_the_key(lsr, message):
    """Checked with the options (before any folder is made); the line names the option file and the key."""
    with pytest.raises(UserError, match='^unit.yml: ' + re.escape(message)):
        check_options(realesr_options('AnnealedLSRModel', {'lsr': lsr}))
    opt = realesr_options('AnnealedLSRModel')
    del opt['train']['pixel_opt']
    with pytest.raises(UserError, match=r'^unit.yml: train\.pixel_opt: AnnealedLSRModel needs the base criterion'):
        check_options(opt)
