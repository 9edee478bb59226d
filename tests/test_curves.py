"""Curves read back from a real training run (its TensorBoard events, its text log) and plotted to a PNG."""

import glob
import os
import shutil
from os import path as osp

import cv2
import pytest

from basicsr_ext.evaluation.curves import load_run, parse_train_log, read_tb_events
from basicsr_ext.utils.errors import UserError
from basicsr_ext.utils.options import resolve_options

from conftest import REPO, make_pairs, run_script, run_train, tiny_options, write_yaml


@pytest.fixture(scope='module')
def tb_run(tmp_path_factory):
    """A tiny run of 6 iterations with ``use_tb_logger: true``, validated at 2, 4 and 6: its root folder."""
    root = tmp_path_factory.mktemp('curves')
    make_pairs(str(root / 'data' / 'train'), 8, 32, seed=1)
    make_pairs(str(root / 'data' / 'val'), 2, 24, seed=2)
    opt = tiny_options(str(root / 'data'), total_iter=6)
    opt['logger']['use_tb_logger'] = True
    result = run_train(['-opt', write_yaml(root / 'o.yml', opt)], root)
    assert result.returncode == 0, result.stderr[-3000:]
    return root


def only_log(root):
    return glob.glob(str(root / 'experiments' / 'tiny' / 'train_*.log'))[0]


def test_events_hold_the_logged_scalars(tb_run):
    from tensorboard.backend.event_processing.event_accumulator import SCALARS, EventAccumulator

    assert os.listdir(tb_run / 'tb_logger') == ['tiny']  # under the run's root (path.root), as experiments/ is
    assert glob.glob(str(tb_run / 'tb_logger' / 'tiny' / 'events.out.tfevents.*'))
    events = EventAccumulator(str(tb_run / 'tb_logger' / 'tiny'), size_guidance={SCALARS: 0}).Reload()
    assert {'losses/l_pix', 'metrics/TinyVal/psnr', 'metrics/TinyVal/val_loss'} <= set(events.Tags()[SCALARS])
    assert [e.step for e in events.Scalars('losses/l_pix')] == [1, 2, 3, 4, 5, 6]
    assert [e.step for e in events.Scalars('metrics/TinyVal/psnr')] == [2, 4, 6]  # no second one after training
    # the same values as the text log (which rounds them to 4 digits)
    text = parse_train_log(only_log(tb_run))
    assert [e.value for e in events.Scalars('losses/l_pix')] == pytest.approx(
        [v for _, v in text['train']['l_pix']], rel=1e-3
    )
    assert [e.value for e in events.Scalars('metrics/TinyVal/psnr')] == pytest.approx(
        [v for _, v in text['val']['TinyVal']['psnr']], abs=1e-4
    )


def test_parse_and_plot_a_real_log(tb_run, tmp_path):
    log = only_log(tb_run)
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


def test_plot_reads_the_events_first(tb_run, tmp_path):
    folder = tb_run / 'tb_logger' / 'tiny'
    run = read_tb_events(str(folder))
    assert run['name'] == 'tiny'
    assert [it for it, _ in run['train']['l_pix']] == [1, 2, 3, 4, 5, 6]
    assert [it for it, _ in run['val']['TinyVal']['val_loss']] == [2, 4, 6]
    event_file = glob.glob(str(folder / 'events.out.tfevents.*'))[0]
    assert load_run(event_file) == run
    assert load_run(str(tb_run / 'experiments' / 'tiny')) == run  # its events in tb_logger/tiny, not the log
    out = tmp_path / 'curves.png'
    proc = run_script('plot_curves', [folder, '-o', out, '--metric', 'val_loss'])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f'tiny (TinyVal): final val_loss {run["val"]["TinyVal"]["val_loss"][-1][1]:.4f}' in proc.stdout
    assert cv2.imread(str(out)) is not None


def test_an_experiment_without_events_falls_back_to_its_log(tb_run, tmp_path):
    exp = tmp_path / 'experiments' / 'tiny'  # the experiment folder alone: no tb_logger/ beside it
    shutil.copytree(tb_run / 'experiments' / 'tiny', exp)
    assert load_run(str(exp)) == parse_train_log(only_log(exp.parent.parent))
    proc = run_script('plot_curves', [exp, '-o', tmp_path / 'curves.png'])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'tiny (TinyVal): final psnr' in proc.stdout


@pytest.mark.parametrize('opt_file', sorted(glob.glob(osp.join(REPO, 'options', 'train_*.yml'))), ids=osp.basename)
def test_shipped_training_options_log_to_tensorboard(opt_file):
    assert resolve_options(opt_file)['logger']['use_tb_logger'] is True


def test_not_a_run_is_a_clear_error(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    (tmp_path / 'x.log').write_text('hello\n')
    with pytest.raises(UserError, match='no training or validation lines found'):
        parse_train_log(str(tmp_path / 'x.log'))
    with pytest.raises(UserError, match='log file not found'):
        parse_train_log(str(tmp_path / 'missing.log'))
    with pytest.raises(UserError, match='not found: .*missing'):
        load_run(str(tmp_path / 'missing'))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(UserError, match=r'empty: no TensorBoard events \(in .*tb_logger.empty\) and no train_\*\.log'):
        load_run(str(tmp_path / 'empty'))
    SummaryWriter(str(tmp_path / 'tb')).close()  # an event file with no scalars (a run stopped before its first log)
    with pytest.raises(UserError, match='tb: no scalars in its TensorBoard events'):
        load_run(str(tmp_path / 'tb'))
    proc = run_script('plot_curves', [tmp_path / 'tb', '-o', tmp_path / 'c.png'])
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f'plot_curves: error: {tmp_path / "tb"}: no scalars in its TensorBoard events (is it a tb_logger/<name> '
        'folder of a run?)'
    ]


def test_the_tensorboard_writer_is_closed_when_training_fails(tmp_path, monkeypatch):
    import basicsr.train as bs_train

    closed = []

    class Writer:
        def close(self):
            closed.append(True)

    monkeypatch.setattr(bs_train, 'init_tb_loggers', lambda opt: Writer())
    make_pairs(str(tmp_path / 'data' / 'val'), 2, 24, seed=2)
    (tmp_path / 'data' / 'train' / 'HR').mkdir(parents=True)  # an empty train set: training fails after the writer
    (tmp_path / 'data' / 'train' / 'LR').mkdir(parents=True)
    opt = tiny_options(str(tmp_path / 'data'))
    opt['logger']['use_tb_logger'] = True
    run = run_train(['-opt', write_yaml(tmp_path / 'o.yml', opt)], tmp_path)
    assert run.returncode == 2 and 'no images in the GT folder' in run.stderr and closed == [True]
