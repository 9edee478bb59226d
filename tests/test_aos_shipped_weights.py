"""The shipped weights: every weights/zoo.yml entry is small and verified; the default AOS restorer
(weights/aos_person.pth) is self-describing, matches its model card, restores the ground and keeps the person."""

import hashlib
import re
from os import path as osp

import numpy as np
import pytest
import torch

from basicsr_ext.aos.focal_stack import read_gt
from basicsr_ext.aos.person_scores import contrast_kept
from basicsr_ext.aos.simulator import simulate
from basicsr_ext.inference import Restorer, load_input
from basicsr_ext.inference.zoo import DEFAULT_AOS_MODEL as DEFAULT_MODEL
from basicsr_ext.inference.zoo import ZOO_FILE, load_zoo, resolve
from basicsr_ext.utils.errors import UserError

from conftest import REPO

CARD = osp.join(REPO, 'weights', 'README.md')


def test_every_zoo_entry_is_small_verified_and_documented():
    zoo = load_zoo()
    assert ZOO_FILE == osp.join(REPO, 'weights', 'zoo.yml') and {'aos_person', 'aos_sim2real'} <= set(zoo)
    listing = open(osp.join(REPO, 'docs', 'zoo.md'), encoding='utf-8').read()
    for name, entry in zoo.items():
        assert resolve(name) is entry or resolve(name) == entry  # sha256 checked
        assert osp.getsize(entry.path) < 4 * 2**20, name  # a few MB at most
        assert name in listing and 'python basicsr_ext/train.py' in entry.command


@pytest.mark.parametrize(
    'name, heights, option',
    [
        ('aos_person', [0.0, 0.4, 0.8], 'options/train_aos.yml'),
        ('aos_person0', [0.0], 'options/train_aos_design_person0.yml'),
    ],
)
def test_shipped_weights_match_the_model_card_and_restore(tmp_path, name, heights, option):
    path = resolve(name).path
    assert path == osp.join(REPO, 'weights', f'{name}.pth')
    assert resolve(DEFAULT_MODEL).path == osp.join(REPO, 'weights', 'aos_person.pth')  # the default
    with open(path, 'rb') as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    card = open(CARD, encoding='utf-8').read()
    assert sha in card  # the card names the exact file
    meta = torch.load(path, weights_only=True)['meta']
    assert meta['heights'] == heights and meta['network_g']['type'] == 'AOSPersonFillNet'
    assert option in meta['command'] and meta['command'].replace('/tmp/', '') in card
    assert re.search(r'wall time', card, re.IGNORECASE)
    restorer = Restorer(name, device='cpu')
    # a simulated sample (the simulator's seed 7, a person under canopy): lower error, the person's contrast kept
    simulate(str(tmp_path), 1, seed=7, size=512, workers=1, progress=False)
    [sample] = load_input(str(tmp_path), integrate_at=restorer.heights)
    out, persons, note = restorer.restore_sample(sample)
    gt, integral = read_gt(sample.gt_path).astype(np.float32), sample.stack[0].astype(np.float32)
    assert out.shape == (512, 512) and out.dtype == np.uint8 and note == ''
    assert np.abs(out - gt).mean() < np.abs(integral - gt).mean() / 4
    assert contrast_kept(out, gt) > contrast_kept(integral, gt) + 0.2
    assert np.hypot(persons[0].row - sample.person[0], persons[0].col - sample.person[1]) < 20  # found


def test_the_default_model_runs_with_its_inference_settings_and_says_which():
    """aos_person's zoo entry turns self-ensemble on and pads its ground U-Net by reflection (docs/aos_person.md);
    an explicit choice wins, and the settings line says which was used and why."""
    entry = resolve(DEFAULT_MODEL)
    assert entry.extra['self_ensemble'] is True and entry.network_g['border_pad'] == 32
    default = Restorer(DEFAULT_MODEL, device='cpu')
    assert default.self_ensemble == {'transforms': 8, 'reduce': 'median'}
    assert default.settings == (
        "weights: params of aos_person (the zoo entry aos_person); self-ensemble: 8 transforms, median (the model's "
        'default)'
    )
    off = Restorer(DEFAULT_MODEL, device='cpu', self_ensemble=False)
    assert not off.self_ensemble and off.settings.endswith('self-ensemble: off')
    assert not Restorer('aos_person0', device='cpu').self_ensemble  # an entry without the key: off


def test_a_zoo_entry_with_a_bad_self_ensemble_is_one_line(tmp_path):
    zoo = tmp_path / 'zoo.yml'
    text = open(ZOO_FILE, encoding='utf-8').read().replace('self_ensemble: true', 'self_ensemble: sometimes', 1)
    zoo.write_text(text, encoding='utf-8')
    with pytest.raises(UserError, match=r"zoo.yml: aos_person.self_ensemble: expected true or false, got 'sometimes'"):
        load_zoo(str(zoo))


@pytest.mark.parametrize('module', ['aos_restore', 'restore'])
def test_both_clis_leave_self_ensemble_to_the_model_unless_told(module):
    from importlib import import_module

    parser = import_module(f'basicsr_ext.cli.{module}').build_parser()
    base = ['--input', 'x', '--output', 'y'] + (['--model', 'aos_person'] if module == 'restore' else [])
    assert parser.parse_args(base).self_ensemble is None  # the model's default
    assert parser.parse_args(base + ['--self-ensemble']).self_ensemble is True
    assert parser.parse_args(base + ['--no-self-ensemble']).self_ensemble is False
