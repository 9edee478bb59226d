"""scripts/zoo_check.py: every zoo model against its baseline on held-out photos, one table, rows per image."""

import csv

from conftest import run_script


def test_zoo_check_scores_models_against_their_baselines(tmp_path):
    out = tmp_path / 'check'
    run = run_script('zoo_check', ['--models', 'srcnn_x2', 'n2n_gaussian', '--size', '48', '--out', out])
    assert run.returncode == 0, run.stderr
    rows = list(csv.DictReader(open(out / 'per_image.csv')))
    kinds = {r['degradation'] for r in rows}
    assert {'LR by OpenCV INTER_CUBIC', 'LR by MATLAB-style bicubic (BasicSR imresize)'} <= kinds
    # the denoiser is scored on the 7 photos its data never used (it trains on camera, brick, grass, gravel, moon)
    assert 'noise sigma 25, 8 bit' in kinds and len(rows) == 12 * 4 + 7 * 3
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
    assert table in run.stdout and '| srcnn_x2 | LR by OpenCV INTER_CUBIC | 12 |' in table
    assert 'n2n_gaussian leaves out brick, camera, grass, gravel, moon (in its training data)' in table
    assert 'grace_hopper (colour)' in table and run.stdout.strip().splitlines()[-1].split()[1] == 'of'


def test_zoo_check_names_an_unknown_model(tmp_path):
    run = run_script('zoo_check', ['--models', 'no_such_model', '--out', tmp_path])
    assert run.returncode == 2 and run.stderr.startswith('zoo_check: error: --models: not in the zoo: no_such_model')
