"""The bad-input corpus, checkpoints: pretrained networks and training states as users get them wrong (empty, not a
checkpoint, another network, changed on disk, a missing parameter group). Each case runs ``train.py`` main in this
process and must end with one line on stderr, exit status 2, no traceback and no temp file left
(``test_bad_inputs.py`` has the option-file corpus and the shared assertions)."""

import pytest
import torch
from test_bad_inputs import assert_nothing_written, assert_one_line_error

from conftest import run_train, tiny_options, write_yaml


def _write(path, data):
    path.write_bytes(data)
    return str(path)


def _save(path, obj):
    torch.save(obj, path)
    return str(path)


def _srcnn_params(tmp_path, **net):
    """The state dict of a tiny SRCNN (the tiny options' network, or with ``net`` changed)."""
    from basicsr_ext.archs.srcnn_arch import SRCNN

    args = dict(num_in_ch=3, num_out_ch=3, upscale=2, num_feat=[8, 4], kernel_sizes=[3, 3, 3])
    args.update(net)
    return SRCNN(**args).state_dict()


def _flip_a_byte(path):
    data = bytearray(open(path, 'rb').read())
    data[len(data) // 2] ^= 0xFF
    open(path, 'wb').write(bytes(data))
    return path


# (id, how to make the pretrained file, the expected message or its start (...))
def _pretrained_cases():
    def empty(tmp):
        return _write(tmp / 'net.pth', b'')

    def tensor(tmp):
        return _save(tmp / 'net.pth', torch.zeros(3))

    def text(tmp):
        return _write(tmp / 'net.pth', b'not a checkpoint')

    def wider(tmp):
        return _save(tmp / 'net.pth', {'params': _srcnn_params(tmp, num_feat=[16, 4])})

    def flipped(tmp):
        from basicsr_ext.utils.file_io import atomic_torch_save

        atomic_torch_save({'params': _srcnn_params(tmp)}, tmp / 'net.pth')
        return _flip_a_byte(str(tmp / 'net.pth'))

    def param_key(tmp):
        return _save(tmp / 'net.pth', {'weights': _srcnn_params(tmp)})

    return [
        ('empty', empty, 'cannot read network checkpoint {f}: the file is empty (0 bytes)'),
        ('bare-tensor', tensor, '{f}: expected a BasicSR checkpoint'),
        ('not-torch', text, 'cannot read network checkpoint {f}: not a torch checkpoint, or a damaged one'),
        (
            'wrong-network',
            wider,
            '{f} does not fit SRCNN (strict=True): Error(s) in loading state_dict for SRCNN: size '
            'mismatch for conv1.weight: copying a param with shape torch.Size([16, 3, 3, 3]) from checkpoint',
        ),
        (
            'flipped-bytes',
            flipped,
            'network checkpoint {f} is damaged: its content does not match the digest written with it (changed or '
            'corrupted after it was saved)',
        ),
        (
            'param-key',
            param_key,
            "{f} has no parameter group 'params' (top-level keys: ['weights']); set "
            'path.param_key_g to one of them, or to ~ for a bare state dict',
        ),
    ]


PRETRAINED_CASES = _pretrained_cases()


@pytest.mark.parametrize('case_id,make,expected', PRETRAINED_CASES, ids=[c[0] for c in PRETRAINED_CASES])
def test_bad_pretrained_network(tmp_path, tiny_data, case_id, make, expected):
    opt = tiny_options(tiny_data)
    opt['path']['pretrain_network_g'] = make(tmp_path)
    opt_file = write_yaml(tmp_path / 'bad.yml', opt)
    run = run_train(['-opt', opt_file], tmp_path)
    assert_one_line_error(run, expected.format(f=opt['path']['pretrain_network_g']), prefix=True)
    assert_nothing_written(tmp_path, run_folders=False)
    assert not list(tmp_path.glob('experiments/*/models/*.pth'))


def _resume_cases():
    def empty(tmp):
        return _write(tmp / '4.state', b'')

    def tensor(tmp):
        return _save(tmp / '4.state', torch.zeros(2))

    def no_iter(tmp):
        return _save(tmp / '4.state', {'epoch': 0, 'optimizers': [], 'schedulers': []})

    return [
        ('missing', lambda tmp: str(tmp / 'absent.state'), '{opt}: path.resume_state: training state not found: {f}'),
        ('empty', empty, 'cannot read resume state {f}: the file is empty (0 bytes)'),
        (
            'bare-tensor',
            tensor,
            'resume state {f}: not a training state (expected iter, epoch, optimizers, schedulers)',
        ),
        ('no-iter', no_iter, 'resume state {f}: not a training state (expected iter, epoch, optimizers, schedulers)'),
    ]


RESUME_CASES = _resume_cases()


@pytest.mark.parametrize('case_id,make,expected', RESUME_CASES, ids=[c[0] for c in RESUME_CASES])
def test_bad_resume_state(tmp_path, tiny_data, case_id, make, expected):
    opt = tiny_options(tiny_data)
    opt['path']['resume_state'] = make(tmp_path)
    opt_file = write_yaml(tmp_path / 'bad.yml', opt)
    run = run_train(['-opt', opt_file], tmp_path)
    assert_one_line_error(run, expected.format(f=opt['path']['resume_state'], opt=opt_file))
    assert_nothing_written(tmp_path, run_folders=False)


def test_damaged_resume_state(tmp_path, tiny_data):
    """A state saved by a real run, then changed on disk: refused with one line naming it."""
    opt = tiny_options(tiny_data, total_iter=2)
    opt['val']['val_freq'] = 8
    opt_file = write_yaml(tmp_path / 'run.yml', opt)
    assert run_train(['-opt', opt_file], tmp_path).returncode == 0
    state = str(tmp_path / 'experiments' / 'tiny' / 'training_states' / '2.state')
    _flip_a_byte(state)
    opt['path']['resume_state'] = state
    run = run_train(['-opt', write_yaml(tmp_path / 'resume.yml', opt)], tmp_path)
    assert_one_line_error(run, f'resume state {state} is damaged', prefix=True)
    assert_nothing_written(tmp_path, run_folders=False)
