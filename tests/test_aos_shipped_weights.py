"""The shipped weights: every weights/zoo.yml entry is small and verified; the AOS restorer (weights/aos_sim2real.pth)
is self-describing, matches its model card and restores."""

import hashlib
import re
from os import path as osp

import numpy as np
import torch

from basicsr_ext.inference import AOSRestorer
from basicsr_ext.inference.aos_restorer import DEFAULT_MODEL
from basicsr_ext.inference.zoo import ZOO_FILE, load_zoo, resolve

from conftest import REPO

CARD = osp.join(REPO, 'weights', 'README.md')


def test_every_zoo_entry_is_small_verified_and_documented():
    zoo = load_zoo()
    assert ZOO_FILE == osp.join(REPO, 'weights', 'zoo.yml') and 'aos_sim2real' in zoo
    listing = open(osp.join(REPO, 'docs', 'zoo.md'), encoding='utf-8').read()
    for name, entry in zoo.items():
        assert resolve(name) is entry or resolve(name) == entry  # sha256 checked
        assert osp.getsize(entry.path) < 4 * 2**20, name  # a few MB at most
        assert name in listing and 'python basicsr_ext/train.py' in entry.command


def test_shipped_weights_match_the_model_card_and_restore():
    path = resolve(DEFAULT_MODEL).path
    assert path == osp.join(REPO, 'weights', 'aos_sim2real.pth')
    with open(path, 'rb') as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    card = open(CARD, encoding='utf-8').read()
    assert sha in card  # the card names the exact file
    meta = torch.load(path, weights_only=True)['meta']
    assert meta['heights'] == [0.0] and meta['network_g']['type'] == 'AOSGroundFillNet'
    assert 'options/train_aos.yml' in meta['command'] and meta['command'] in card
    assert re.search(r'wall time', card, re.IGNORECASE)
    restorer = AOSRestorer(device='cpu')  # the default model
    # a flat ground with a warm person under a bright, streaky occluder band: the restorer lowers the error
    rng = np.random.default_rng(0)
    gt = np.full((96, 96), 0.4, np.float32)
    gt[40:52, 44:50] = 0.97
    integral = gt.copy()
    integral[10:30] = 0.75 + 0.1 * rng.standard_normal((20, 96)).astype(np.float32)
    out = restorer.restore(integral[None])
    assert out.shape == (96, 96) and out.dtype == np.float32
    assert np.abs(out - gt).mean() < np.abs(integral - gt).mean()
