"""examples/: the bundled inputs restore with the shipped weights right after install, and are what
scripts/make_examples.py makes."""

import csv
import json
from os import path as osp

import numpy as np

from basicsr_ext.aos.focal_stack import read_focal_stack, read_gt

from conftest import REPO, load_script

EXAMPLES = osp.join(REPO, 'examples', 'aos')
STEMS = ('no_person', 'person_hidden', 'person_visible')


def test_the_readme_first_command_restores_the_aos_examples_and_finds_the_persons(tmp_path, capsys):
    out = tmp_path / 'restored'
    assert load_script('aos_restore').main(['--input', EXAMPLES, '--output', str(out), '--device', 'cpu']) in (0, None)
    printed = capsys.readouterr().out
    assert 'weights: params of aos_person' in printed and 'Mean over 3 sample(s)' in printed
    for stem in STEMS:
        assert (out / f'{stem}.png').is_file() and (out / 'montages' / f'{stem}.png').is_file()
    with open(out / 'report.csv') as f:  # the GT beside each stack (<stem>_gt.png) was picked up
        rows = {(r['sample'], r['method']): r for r in csv.DictReader(f)}
    for stem in ('person_hidden', 'person_visible'):
        restored, integral = rows[stem, 'restored'], rows[stem, 'integral']
        assert float(restored['found']) == 1 and float(restored['candidate_m']) < 1.3  # the first candidate
        assert float(restored['contrast']) > float(integral['contrast'])
    assert rows['no_person', 'restored']['contrast'] == 'n/a'
    assert float(rows['person_visible', 'restored']['psnr']) > float(rows['person_visible', 'integral']['psnr']) + 10
    persons = json.loads((out / 'person_visible_persons.json').read_text())
    assert persons['camera'] == 'stack metadata' and persons['candidates'][0]['x_m'] is not None


def test_the_examples_are_what_make_examples_writes(tmp_path):
    load_script('make_examples').main(['--out', str(tmp_path)])
    for stem in STEMS:
        made, meta = read_focal_stack(str(tmp_path / 'aos' / f'{stem}.tiff'))
        shipped, shipped_meta = read_focal_stack(osp.join(EXAMPLES, f'{stem}.tiff'))
        assert np.array_equal(made, shipped) and meta['heights'] == shipped_meta['heights'] == [0.0, 0.4, 0.8]
        assert meta['person'] == shipped_meta['person'] and (meta['person'] is None) == (stem == 'no_person')
        assert np.array_equal(
            read_gt(str(tmp_path / 'aos' / f'{stem}_gt.png')), read_gt(osp.join(EXAMPLES, f'{stem}_gt.png'))
        )


def test_photo_examples_are_made_on_demand_and_restore_with_their_baselines(tmp_path):
    load_script('make_examples').main(['--out', str(tmp_path), '--photos-only'])
    for folder in ('sr', 'sr_cv2'):
        assert sorted(p.name for p in (tmp_path / folder).glob('*.png')) == ['coins.png', 'grace_hopper.png']
    assert not (tmp_path / 'aos').exists()
    for model, folder in (('msrresnet_x2', 'sr'), ('msrresnet_x2_cv2', 'sr_cv2'), ('n2n_gaussian', 'denoise')):
        out = tmp_path / f'out_{model}'
        argv = ['-n', model, '-i', str(tmp_path / folder), '-o', str(out), '--gt', str(tmp_path / folder / 'gt')]
        assert load_script('restore').main(argv) == 0
        with open(out / 'report.csv') as f:
            rows = {r['image']: r for r in csv.DictReader(f)}
        assert float(rows['mean']['gain_db']) > 0  # above its baseline (bicubic; the noisy input) on average
