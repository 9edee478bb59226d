"""scripts/zoo_check.py: every zoo model against its baseline on held-out photos, one table, rows per image."""

import csv
import math

import pytest

from conftest import run_script


def test_zoo_check_scores_models_against_their_baselines(tmp_path):
    out = tmp_path / 'check'
    models = ['srcnn_x2', 'msrresnet_x2_cv2', 'n2n_gaussian']
    run = run_script('zoo_check', ['--models', *models, '--size', '48', '--out', out])
    assert run.returncode == 0, run.stderr
    rows = list(csv.DictReader(open(out / 'per_image.csv')))
    kinds = {r['degradation'] for r in rows}
    # each SR model on the LR kinds its zoo entry names: srcnn_x2 the antialiased three, msrresnet_x2_cv2 INTER_CUBIC
    sr_kinds = {(r['model'], r['degradation']) for r in rows if 'x2' in r['model']}
    assert ('msrresnet_x2_cv2', 'LR by OpenCV INTER_CUBIC') in sr_kinds and len(sr_kinds) == 4
    assert ('srcnn_x2', 'LR by OpenCV INTER_CUBIC') not in sr_kinds
    # the denoiser is scored on the 7 photos its data never used (it trains on camera, brick, grass, gravel, moon)
    assert 'noise sigma 25, 8 bit' in kinds and len(rows) == 12 * 3 + 12 + 7 * 3
    assert not {r['image'] for r in rows if r['model'] == 'n2n_gaussian'} & {
        'camera',
        'brick',
        'grass',
        'gravel',
        'moon',
    }
    for r in rows:
        assert (
            float(r['gain_db']) == round(float(r['psnr']) - float(r['baseline_psnr']), 4)
            or abs(float(r['gain_db']) - (float(r['psnr']) - float(r['baseline_psnr']))) < 1e-3
        )
    table = open(out / 'report.md').read()
    assert table in run.stdout and '| msrresnet_x2_cv2 | LR by OpenCV INTER_CUBIC | 12 |' in table
    assert 'n2n_gaussian leaves out brick, camera, grass, gravel, moon (in its training data)' in table
    assert 'grace_hopper (colour)' in table and run.stdout.strip().splitlines()[-1].split()[1] == 'of'


def test_zoo_check_names_an_unknown_model(tmp_path):
    run = run_script('zoo_check', ['--models', 'no_such_model', '--out', tmp_path])
    assert run.returncode == 2 and run.stderr.startswith('zoo_check: error: --models: not in the zoo: no_such_model')


def test_reference_rows_are_shown_and_not_graded():
    from basicsr_ext.evaluation.zoo_check import summarise

    rows = [
        ('aos_person', 'example stack vs the 0 m integral', 'a', 30.0, 20.0, math.nan, True),
        ('aos_person', 'example stack vs the 0 m integral', 'b', 31.0, 32.0, math.nan, True),
        ('aos_person', 'vs the oracle constant (reference: needs the GT)', 'a', 30.0, 40.0, math.nan, False),
    ]
    lines = {line[1]: line for line in summarise(rows)}
    assert lines['example stack vs the 0 m integral'][-1] == 'FAIL'  # above on average, on only half the images
    assert lines['vs the oracle constant (reference: needs the GT)'][-1] == 'not graded'


def test_a_training_stage_is_labelled_everywhere_a_user_meets_it(tmp_path):
    """aos_sim2real (the stage aos_ground starts from; it dims the person) says so in --list and in every restore,
    and a stage_of that names no zoo entry is one line."""
    from basicsr_ext.inference.restorer import Restorer
    from basicsr_ext.inference.zoo import ZOO_FILE, describe, load_zoo
    from basicsr_ext.utils.errors import UserError
    from basicsr_ext.utils.yaml_io import dump_yaml, load_yaml

    entry = load_zoo()['aos_sim2real']
    assert entry.stage_of == 'aos_ground' and 'training stage of aos_ground' in describe(entry)
    notes = Restorer('aos_sim2real', device='cpu').notes
    assert notes == [entry.stage_note] and 'restore with aos_person' in notes[0]
    assert Restorer('aos_ground', device='cpu').notes == []
    zoo = load_yaml(ZOO_FILE)
    zoo['aos_sim2real']['stage_of'] = 'aos_grund'
    dump_yaml(zoo, tmp_path / 'zoo.yml')
    with pytest.raises(UserError, match=r'aos_sim2real\.stage_of: expected the name of another zoo entry, got'):
        load_zoo(str(tmp_path / 'zoo.yml'))


def test_an_unknown_lr_kind_in_a_zoo_entry_is_one_line():
    from basicsr_ext.evaluation.zoo_check import lr_kinds
    from basicsr_ext.inference.zoo import load_zoo
    from basicsr_ext.utils.errors import UserError

    entry = load_zoo()['msrresnet_x2']
    assert lr_kinds(entry) == ['matlab', 'pil', 'cv2_area']
    entry.extra['lr_kinds'] = ['matlab', 'bilinear']
    with pytest.raises(
        UserError,
        match=r"^msrresnet_x2\.lr_kinds: expected some of matlab, pil, cv2_cubic, cv2_area, got \['bilinear'\]$",
    ):
        lr_kinds(entry)


def test_the_photos_a_model_trained_on_are_found_through_base_files():
    """Every image model of the zoo trained on sample photos, so each leaves some out; adafm_denoise's option files
    take their prepare_data from a _base_ file (train_modulation_base.yml), which counts."""
    from basicsr_ext.evaluation.zoo_check import seen_photos
    from basicsr_ext.inference.zoo import load_zoo

    zoo = load_zoo()
    for entry in zoo.values():
        if entry.task != 'aos':
            assert seen_photos(entry), entry.name
    assert {'camera', 'brick', 'moon'} <= seen_photos(zoo['adafm_denoise'])


def test_an_image_training_stage_is_shown_not_graded_and_stage_of_is_checked(tmp_path):
    from basicsr_ext.evaluation.zoo_check import stage_rows, summarise
    from basicsr_ext.inference.zoo import ZOO_FILE, load_zoo
    from basicsr_ext.utils.errors import UserError
    from basicsr_ext.utils.yaml_io import dump_yaml, load_yaml

    entry = load_zoo()['aos_sim2real']
    rows = [('sr_stage', 'LR by PIL bicubic', 'a', 30.0, 31.0, 0.1, True)]
    (line,) = summarise(stage_rows(entry, rows))
    assert line[1] == 'LR by PIL bicubic (training stage of aos_ground)' and line[-1] == 'not graded'
    for bad in (['aos_ground'], 'aos_sim2real'):  # not a name; itself
        zoo = load_yaml(ZOO_FILE)
        zoo['aos_sim2real']['stage_of'] = bad
        dump_yaml(zoo, tmp_path / 'zoo.yml')
        with pytest.raises(UserError, match=r'aos_sim2real\.stage_of: expected the name of another zoo entry'):
            load_zoo(str(tmp_path / 'zoo.yml'))
