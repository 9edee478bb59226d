"""Curves read back from a real train log and plotted to a PNG."""

import glob

import cv2
import pytest

from basicsr_ext.evaluation.curves import parse_train_log
from basicsr_ext.utils.errors import UserError

from conftest import run_script, run_train, tiny_options, write_yaml


def test_parse_and_plot_a_real_log(tmp_path, tiny_data):
    opt = tiny_options(tiny_data, total_iter=6)
    result = run_train(['-opt', write_yaml(tmp_path / 'o.yml', opt)], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    log = glob.glob(str(tmp_path / 'experiments' / 'tiny' / 'train_*.log'))[0]
    parsed = parse_train_log(log)
    assert parsed['name'] == 'tiny'
    assert [it for it, _ in parsed['train']['l_pix']] == [1, 2, 3, 4, 5, 6]
    assert [it for it, _ in parsed['val']['TinyVal']['psnr']] == [2, 4, 6]  # the final repeat of iter 6 merged
    assert [it for it, _ in parsed['val']['TinyVal']['val_loss']] == [2, 4, 6]
    out = tmp_path / 'curves.png'
    proc = run_script('plot_curves', [log, '-o', out, '--reference', 'base=1.5'])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'tiny (TinyVal): final psnr' in proc.stdout
    img = cv2.imread(str(out))
    assert img is not None and img.shape[1] > 800


def test_not_a_log_is_a_clear_error(tmp_path):
    (tmp_path / 'x.log').write_text('hello\n')
    with pytest.raises(UserError, match='no training or validation lines found'):
        parse_train_log(str(tmp_path / 'x.log'))
    with pytest.raises(UserError, match='log file not found'):
        parse_train_log(str(tmp_path / 'missing.log'))
