"""Deep Network Interpolation: exact endpoints, the (1 - alpha) A + alpha B mix, BasicSR layouts, errors, the script."""

import importlib.util
import math
from os import path as osp

import pytest
import torch
from torch import nn

import basicsr_ext  # noqa: F401
from basicsr_ext.archs.modulation_arch import AdaFMNet
from basicsr_ext.utils.dni import interpolate_checkpoints, interpolate_state_dicts
from basicsr_ext.utils.errors import UserError
from basicsr_ext.utils.file_io import safe_torch_load

from conftest import REPO, run_script

SCRIPT = osp.join(REPO, 'scripts', 'dni_interpolate.py')


def tiny_net(seed):
    torch.manual_seed(seed)
    return AdaFMNet(num_feat=8, num_block=1).eval()


@pytest.fixture
def pair():
    return tiny_net(0).state_dict(), tiny_net(1).state_dict()


def run_dni(*args):
    return run_script('dni_interpolate', args, cwd=REPO)


def test_endpoints_exact_and_mix(pair):
    a, b = pair
    assert any(not torch.equal(a[k], b[k]) for k in a)  # the seeds give different nets
    at0, at1, mix = (interpolate_state_dicts(a, b, alpha) for alpha in (0, 1, 0.25))
    assert list(mix) == list(a)
    for k in a:
        assert torch.equal(at0[k], a[k]) and torch.equal(at1[k], b[k])
        assert torch.allclose(mix[k], 0.75 * a[k] + 0.25 * b[k], atol=1e-7)
        assert mix[k].dtype == a[k].dtype


def test_dtype_of_a_kept():
    a = {'w': torch.tensor([1.0, 2.0], dtype=torch.float64)}
    b = {'w': torch.tensor([3.0, 6.0], dtype=torch.float32)}
    out = interpolate_state_dicts(a, b, 0.5)['w']
    assert out.dtype == torch.float64 and torch.equal(out, torch.tensor([2.0, 4.0], dtype=torch.float64))
    # extrapolation is allowed: alpha 2 gives 2B - A
    assert torch.equal(interpolate_state_dicts(a, b, 2)['w'], torch.tensor([5.0, 10.0], dtype=torch.float64))


def test_network_output_at_endpoints(pair):
    x = torch.rand(1, 3, 12, 12, generator=torch.Generator().manual_seed(2))
    net = AdaFMNet(num_feat=8, num_block=1).eval()
    with torch.no_grad():
        for alpha, seed in ((0, 0), (1, 1)):
            net.load_state_dict(interpolate_state_dicts(*pair, alpha))
            assert torch.equal(net(x), tiny_net(seed)(x))
        net.load_state_dict(interpolate_state_dicts(*pair, 0.5))
        assert not torch.equal(net(x), tiny_net(0)(x))


def test_basicsr_layout(tmp_path, pair):
    a, b = pair
    ema_a = {k: v + 1 for k, v in a.items()}
    torch.save({'params': a, 'params_ema': ema_a}, tmp_path / 'a.pth')
    # B saved from a DDP-wrapped net: the 'module.' prefix is stripped
    torch.save({'params': {f'module.{k}': v for k, v in b.items()}, 'params_ema': b}, tmp_path / 'b.pth')
    out, notes = interpolate_checkpoints(tmp_path / 'a.pth', tmp_path / 'b.pth', 0.5)
    assert list(out) == ['params', 'params_ema'] and notes == []
    for k in a:
        assert torch.allclose(out['params'][k], (a[k] + b[k]) / 2)
        assert torch.allclose(out['params_ema'][k], (ema_a[k] + b[k]) / 2)
    out, _ = interpolate_checkpoints(tmp_path / 'a.pth', tmp_path / 'b.pth', 1, param_keys=['params_ema'])
    assert list(out) == ['params_ema'] and all(torch.equal(out['params_ema'][k], b[k]) for k in b)
    with pytest.raises(UserError, match='no parameter group .params_x'):
        interpolate_checkpoints(tmp_path / 'a.pth', tmp_path / 'b.pth', 0.5, param_keys=['params_x'])

    # a group in one file only is dropped, with a note naming it
    torch.save({'params': b}, tmp_path / 'b_only_params.pth')
    out, notes = interpolate_checkpoints(tmp_path / 'a.pth', tmp_path / 'b_only_params.pth', 0.5)
    assert list(out) == ['params'] and len(notes) == 1 and 'params_ema' in notes[0]
    torch.save({'other': b}, tmp_path / 'b_other.pth')
    with pytest.raises(UserError, match='no parameter group in common'):
        interpolate_checkpoints(tmp_path / 'a.pth', tmp_path / 'b_other.pth', 0.5)


def test_bare_state_dicts(tmp_path, pair):
    a, b = pair
    torch.save(a, tmp_path / 'a.pth')
    torch.save(b, tmp_path / 'b.pth')
    out, notes = interpolate_checkpoints(tmp_path / 'a.pth', tmp_path / 'b.pth', 0.25)
    assert notes == [] and list(out) == list(a)
    assert all(torch.allclose(out[k], 0.75 * a[k] + 0.25 * b[k], atol=1e-7) for k in a)
    torch.save({'params': b}, tmp_path / 'b_grouped.pth')
    with pytest.raises(UserError, match='bare state dict'):
        interpolate_checkpoints(tmp_path / 'a.pth', tmp_path / 'b_grouped.pth', 0.25)
    with pytest.raises(UserError, match='not found'):
        interpolate_checkpoints(tmp_path / 'a.pth', tmp_path / 'missing.pth', 0.25)


def test_errors(pair):
    a, b = pair
    extra = dict(b, **{'conv_extra.weight': torch.zeros(1)})
    with pytest.raises(UserError, match=r"only in A: \[\], only in B: \['conv_extra.weight'\]"):
        interpolate_state_dicts(a, extra, 0.5)
    wide = dict(b, **{'conv_last.weight': torch.zeros(4, 8, 3, 3)})
    with pytest.raises(UserError, match=r'conv_last.weight: shapes differ: \(3, 8, 3, 3\) in A, \(4, 8, 3, 3\) in B'):
        interpolate_state_dicts(a, wide, 0.5)
    for alpha in (math.nan, math.inf, -math.inf, '0.5', True, None):
        with pytest.raises(UserError, match='alpha'):
            interpolate_state_dicts(a, b, alpha)


def test_integer_buffers():
    def bn_net(seed, batches):
        torch.manual_seed(seed)
        net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
        net[1].num_batches_tracked.fill_(batches)
        return net.state_dict()

    out = interpolate_state_dicts(bn_net(0, 5), bn_net(1, 5), 0.5)
    assert out['1.num_batches_tracked'].dtype == torch.int64 and out['1.num_batches_tracked'].item() == 5
    with pytest.raises(UserError, match='1.num_batches_tracked'):
        interpolate_state_dicts(bn_net(0, 5), bn_net(1, 7), 0.5)


def test_script(tmp_path, pair):
    a, b = pair
    torch.save({'params': a, 'params_ema': a}, tmp_path / 'a.pth')
    torch.save({'params': b}, tmp_path / 'b.pth')
    result = run_dni(tmp_path / 'a.pth', tmp_path / 'b.pth', '--alpha', '0.3', '-o', tmp_path / 'out.pth')
    assert result.returncode == 0, result.stderr
    assert result.stdout.count('\n') == 1 and f'{len(a)} tensors' in result.stdout and 'alpha 0.3' in result.stdout
    assert 'params_ema' in result.stderr  # the dropped group's note
    out = safe_torch_load(tmp_path / 'out.pth')  # the digest written with it is checked and removed
    assert list(out) == ['params']
    assert all(torch.allclose(out['params'][k], 0.7 * a[k] + 0.3 * b[k], atol=1e-7) for k in a)

    # several alphas, one out of range: a warning on stderr, every file still written
    pattern = str(tmp_path / 'many' / 'out_{alpha}.pth')
    result = run_dni(tmp_path / 'a.pth', tmp_path / 'b.pth', '--alpha', '0', '0.5', '1', '1.5', '-o', pattern)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count('\n') == 4 and 'warning: alpha 1.5 is outside [0, 1]' in result.stderr
    for alpha, expected in (('0', a), ('1', b), ('1.5', {k: 1.5 * b[k] - 0.5 * a[k] for k in a})):
        params = torch.load(tmp_path / 'many' / f'out_{alpha}.pth', weights_only=True)['params']
        assert all(torch.allclose(params[k], expected[k], rtol=0, atol=0 if alpha != '1.5' else 1e-6) for k in a)
    assert osp.isfile(tmp_path / 'many' / 'out_0.5.pth')


def test_script_mismatch(tmp_path, pair):
    a, b = pair
    torch.save({'params': a}, tmp_path / 'a.pth')
    torch.save({'params': dict(b, **{'conv_last.bias': torch.zeros(4)})}, tmp_path / 'b.pth')
    result = run_dni(tmp_path / 'a.pth', tmp_path / 'b.pth', '--alpha', '0', '1', '-o', tmp_path / 'out_{alpha}.pth')
    assert result.returncode == 2 and result.stdout == ''
    assert result.stderr.startswith('basicsr-ext: error: ') and result.stderr.count('\n') == 1, result.stderr
    assert 'conv_last.bias: shapes differ' in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ['a.pth', 'b.pth']  # nothing written


@pytest.mark.parametrize(
    'args, message',
    [
        (['--alpha', 'nan'], 'finite number'),
        (['--alpha', 'abc'], "expected a number, got 'abc'"),
        (['--alpha', '0', '1'], "need '{alpha}'"),
        (['--alpha', '0.5', '0.50', '-o', 'out_{alpha}.pth'], 'repeated'),
    ],
)
def test_script_usage_errors(tmp_path, pair, capsys, monkeypatch, args, message):
    """The same entry point in-process (no interpreter start per case)."""
    monkeypatch.chdir(tmp_path)  # relative outputs, if any were written, land where the check below sees them
    spec = importlib.util.spec_from_file_location('dni_interpolate', SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    torch.save(pair[0], tmp_path / 'a.pth')
    torch.save(pair[1], tmp_path / 'b.pth')
    with pytest.raises(SystemExit) as exit_info:
        script.main([str(tmp_path / 'a.pth'), str(tmp_path / 'b.pth'), '-o', str(tmp_path / 'out.pth'), *args])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.startswith('basicsr-ext: error: ')
    assert err.count('\n') == 1 and message in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ['a.pth', 'b.pth']
    with pytest.raises(SystemExit):
        script.main([str(tmp_path / 'a.pth'), str(tmp_path / 'missing.pth'), '--alpha', '0.5', '-o', 'x.pth'])
    assert capsys.readouterr().err.startswith('basicsr-ext: error: checkpoint not found')


def test_loads_into_build_network(tmp_path, pair):
    from basicsr.archs import build_network

    torch.save({'params': pair[0]}, tmp_path / 'a.pth')
    torch.save({'params': pair[1]}, tmp_path / 'b.pth')
    out, _ = interpolate_checkpoints(tmp_path / 'a.pth', tmp_path / 'b.pth', 0.4)
    net = build_network({'type': 'AdaFMNet', 'num_feat': 8, 'num_block': 1})
    net.load_state_dict(out['params'], strict=True)
    a, b = pair[0]['conv_first.weight'], pair[1]['conv_first.weight']
    assert torch.allclose(net.conv_first.weight, 0.6 * a + 0.4 * b)
