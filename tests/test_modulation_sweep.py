"""Modulation sweeps (Afrimi 2021): the table, the strip, coefficient 0 = the base net, DNI endpoints, the script."""

import csv
import json
import os
import re

import cv2
import numpy as np
import pytest
import torch
from basicsr.metrics import calculate_psnr
from basicsr.utils import tensor2img

from basicsr_ext.archs.modulation_arch import AdaFMNet, modulation_param_names
from basicsr_ext.data.noisy_pair_dataset import NoisyPairDataset
from basicsr_ext.evaluation.modulation_sweep import run_sweep, write_sweep
from basicsr_ext.utils.errors import UserError

from conftest import REPO, run_script, write_yaml

BASE = {'type': 'AdaFMNet', 'num_feat': 8, 'num_block': 1}
LEVELS = [10, 30, 50]
COEFS = [0, 0.5, 1]


@pytest.fixture
def images(tmp_path):
    """Three smooth 24x24 colour images."""
    folder = tmp_path / 'clean'
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        small = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
        cv2.imwrite(str(folder / f'img{i}.png'), cv2.resize(small, (24, 24), interpolation=cv2.INTER_CUBIC))
    return str(folder)


def plain_net(seed=0):
    """A tiny AdaFMNet whose output depends on its input: Kaiming weights without AdaFMNet's x 0.1 (which leaves the
    untrained output near 0, clamped to black) and a grey output bias."""
    torch.manual_seed(seed)
    net = AdaFMNet(num_feat=8, num_block=1)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.Conv2d):
                m.weight.mul_(10)
        net.conv_last.bias.fill_(0.5)
    return net


def modulated(mtype, base_net=None, seed=0):
    """A tiny modulated AdaFMNet with the base weights of ``base_net`` and random, non-zero modulation layers."""
    net = AdaFMNet(num_feat=8, num_block=1, modulation={'type': mtype})
    missing = net.load_state_dict((base_net or plain_net(seed)).state_dict(), strict=False).missing_keys
    assert set(missing) == modulation_param_names(net)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name in modulation_param_names(net):
                p.add_(0.2 * torch.randn(p.shape, generator=gen))
    return net


def save(net, path):
    torch.save({'params': net.state_dict()}, path)
    return str(path)


def reference_psnr(net, images, level, seed=0, clip=True):
    """Mean PSNR of ``net`` on the noisy images, computed here without the sweep."""
    dataset = NoisyPairDataset(
        {
            'phase': 'val',
            'mode': 'n2c',
            'dataroot_gt': images,
            'noise': {'type': 'gaussian', 'sigma': level, 'clip': clip},
            'seed': seed,
        }
    )
    net.eval()
    values = []
    with torch.no_grad():
        for i in range(len(dataset)):
            item = dataset[i]
            out = tensor2img(net(item['lq'][None]))
            values.append(calculate_psnr(out, tensor2img(item['gt']), crop_border=0))
    return sum(values) / len(values)


def table_rows(md):
    return [[c.strip() for c in line.strip('|').split('|')] for line in md.splitlines() if line.startswith('|')]


@pytest.mark.parametrize('mtype', ['adafm', 'ftn'])
def test_sweep_writes_table_csv_json_and_strip(tmp_path, images, mtype):
    ckpt = save(modulated(mtype), tmp_path / 'mod.pth')
    opt = {**BASE, 'modulation': {'type': mtype}}
    result = run_sweep(opt, LEVELS, COEFS, images, checkpoint=ckpt)
    paths = write_sweep(result, str(tmp_path / 'out'), 'tiny sweep')
    assert sorted(os.listdir(tmp_path / 'out')) == ['strip.png', 'sweep.csv', 'sweep.json', 'sweep.md']

    psnr = np.array(result['psnr'])
    assert psnr.shape == (len(COEFS), len(LEVELS)) and np.isfinite(psnr).all()
    rows = table_rows(open(paths['md']).read())
    header, body, colour = rows[0], rows[2:6], rows[8:]
    assert header[1:] == rows[6][1:] == [f'sigma {lv}' for lv in LEVELS]
    assert [r[0] for r in body] == ['0', '0.5', '1', 'noisy input']
    # the colour error table (the images are colour): the mean over channels of |mean(out) - mean(clean)|
    assert [r[0] for r in colour] == ['0', '0.5', '1']
    assert [r[1:] for r in colour] == [[f'{c:.2f}' for c in row] for row in result['colour']]
    assert all(c >= 0 for row in result['colour'] for c in row)
    for j, level in enumerate(LEVELS):
        best = int(np.argmax(psnr[:, j]))
        assert result['best'][level] == COEFS[best]
        bold = [i for i, r in enumerate(body[:-1]) if r[j + 1].startswith('**')]
        assert bold == [best]
        assert body[best][j + 1] == f'**{psnr[best, j]:.2f}**'
    assert body[-1][1:] == [f'{result["input_psnr"][lv]:.2f}' for lv in LEVELS]

    with open(paths['csv']) as f:
        records = list(csv.DictReader(f))
    assert len(records) == len(COEFS) * len(LEVELS)
    assert float(records[0]['colour_error']) == pytest.approx(result['colour'][0][0], abs=1e-4)
    assert sum(int(r['best']) for r in records) == len(LEVELS)
    saved = json.load(open(paths['json']))
    assert saved['psnr'] == result['psnr'] and saved['best'] == {str(k): v for k, v in result['best'].items()}
    assert saved['strip']['level'] == 30 and saved['strip']['image'] == 'img0'

    strip = cv2.imread(paths['png'])
    assert strip is not None and strip.ndim == 3
    pad = 4  # make_montage's default
    assert strip.shape[1] == (2 + len(COEFS)) * (24 + pad) + pad


def test_coef_zero_is_the_base_network(tmp_path, images):
    base = plain_net(1)
    for mtype in ('adafm', 'ftn'):
        ckpt = save(modulated(mtype, base), tmp_path / f'{mtype}.pth')
        result = run_sweep({**BASE, 'modulation': {'type': mtype}}, LEVELS, COEFS, images, checkpoint=ckpt)
        assert result['psnr'][0] == [reference_psnr(base, images, lv) for lv in LEVELS]
        assert all(a != b for a, b in zip(result['psnr'][0], result['psnr'][-1]))


def test_dni_endpoints_are_the_two_networks(tmp_path, images):
    net_a, net_b = plain_net(1), plain_net(2)
    dni = (save(net_a, tmp_path / 'a.pth'), save(net_b, tmp_path / 'b.pth'))
    result = run_sweep(BASE, LEVELS, [0, 0.3, 1], images, dni=dni)
    assert result['method'] == 'dni'
    assert result['psnr'][0] == [reference_psnr(net_a, images, lv) for lv in LEVELS]
    assert result['psnr'][2] == [reference_psnr(net_b, images, lv) for lv in LEVELS]
    assert result['psnr'][1] != result['psnr'][0]


def test_user_errors(tmp_path, images):
    plain = save(plain_net(), tmp_path / 'plain.pth')
    mod_opt = {**BASE, 'modulation': {'type': 'adafm'}}
    mod = save(modulated('adafm'), tmp_path / 'mod.pth')
    empty = tmp_path / 'empty'
    empty.mkdir()
    cases = [
        (dict(net_opt=BASE, checkpoint=plain), 'network_g.modulation'),  # modulated sweep, plain net
        (dict(net_opt=mod_opt, dni=(mod, mod)), 'network_g.modulation'),  # DNI of a modulated net
        (dict(net_opt=mod_opt, checkpoint=mod, images=str(empty)), 'images'),
        (dict(net_opt=mod_opt, checkpoint=mod, coefs=[0, 'x']), 'coefs'),
        (dict(net_opt=mod_opt, checkpoint=mod, levels=[20, float('nan')]), 'levels'),
        (dict(net_opt=mod_opt, checkpoint=plain), 'plain.pth'),  # base checkpoint into the modulated net
        (dict(net_opt=mod_opt, checkpoint=str(tmp_path / 'missing.pth')), 'missing.pth'),
        (dict(net_opt=mod_opt, checkpoint=mod, strip_level=25), 'strip_level'),
    ]
    for kwargs, where in cases:
        kwargs = {'levels': LEVELS, 'coefs': COEFS, 'images': images, **kwargs}
        with pytest.raises(UserError, match=re.escape(where)) as err:
            run_sweep(**kwargs)
        assert '\n' not in str(err.value)


def test_script(tmp_path, images):
    net_g = {**BASE, 'modulation': {'type': 'ftn'}}
    val = {
        'name': 'TinyVal',
        'type': 'NoisyPairDataset',
        'dataroot_gt': images,
        'mode': 'n2c',
        'noise': {'type': 'gaussian', 'sigma': 20, 'clip': True},
        'seed': 3,
    }
    opt_file = write_yaml(tmp_path / 'tiny.yml', {'name': 'tiny', 'network_g': net_g, 'datasets': {'val': val}})
    ckpt = save(modulated('ftn'), tmp_path / 'ftn.pth')
    out = tmp_path / 'out'
    args = ['-opt', opt_file, '--checkpoint', ckpt, '--levels', '10', '40', '--steps', '3', '--device', 'cpu']
    proc = run_script('modulation_sweep', [*args, '-o', out], REPO)
    assert proc.returncode == 0, proc.stderr
    assert sorted(os.listdir(out)) == ['strip.png', 'sweep.csv', 'sweep.json', 'sweep.md']
    saved = json.load(open(out / 'sweep.json'))
    assert saved['coefs'] == [0, 0.5, 1] and saved['levels'] == [10, 40] and saved['seed'] == 3
    assert '| sigma 10 | sigma 40 |' in proc.stdout and 'wrote' in proc.stdout

    plain_file = write_yaml(tmp_path / 'plain.yml', {'name': 'plain', 'network_g': BASE, 'datasets': {'val': val}})
    plain = save(plain_net(), tmp_path / 'plain.pth')
    for opt, checkpoint, where in (
        (opt_file, str(tmp_path / 'missing.pth'), 'missing.pth'),
        (plain_file, plain, 'network_g.modulation'),
    ):
        bad = tmp_path / 'bad'
        proc = run_script(
            'modulation_sweep', ['-opt', opt, '--checkpoint', checkpoint, '--device', 'cpu', '-o', bad], REPO
        )
        assert proc.returncode == 2, proc.stderr
        errors = [line for line in proc.stderr.splitlines() if 'error:' in line]
        assert len(errors) == 1 and where in errors[0], proc.stderr
        assert not bad.exists()
