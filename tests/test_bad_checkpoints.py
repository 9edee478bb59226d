"""The bad-input corpus, checkpoints: pretrained networks and training states as users get them wrong (empty, not a
checkpoint, another network, changed on disk, a missing parameter group). Each case runs ``train.py`` main in this
process and must end with one line on stderr, exit status 2, no traceback and no temp file left (the option-file
corpus: ``test_bad_options.py`` and ``test_bad_inputs.py``; the shared assertions: ``error_lines.py``)."""

import pytest
import torch

from conftest import run_train, tiny_options, write_yaml
from error_lines import assert_nothing_written, assert_one_line_error


def writing(name, data):
    """A maker of ``tmp/name`` holding the bytes ``data``."""

    def make(tmp):
        (tmp / name).write_bytes(data)
        return str(tmp / name)

    return make


def saving(name, obj):
    """A maker of ``tmp/name`` holding ``obj`` (torch.save), or ``obj(tmp)`` when it is a function."""

    def make(tmp):
        torch.save(obj(tmp) if callable(obj) else obj, tmp / name)
        return str(tmp / name)

    return make


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
    empty, tensor, text = writing('net.pth', b''), saving('net.pth', torch.zeros(3)), writing('net.pth', b'not a ckpt')
    wider = saving('net.pth', lambda tmp: {'params': _srcnn_params(tmp, num_feat=[16, 4])})
    param_key = saving('net.pth', lambda tmp: {'weights': _srcnn_params(tmp)})

    def flipped(tmp):
        from basicsr_ext.utils.file_io import atomic_torch_save

        atomic_torch_save({'params': _srcnn_params(tmp)}, tmp / 'net.pth')
        return _flip_a_byte(str(tmp / 'net.pth'))

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


def _resume_cases():
    empty, tensor = writing('4.state', b''), saving('4.state', torch.zeros(2))
    no_iter = saving('4.state', {'epoch': 0, 'optimizers': [], 'schedulers': []})

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


# (path key, id, how to make the file, the expected line; a network's ends with the load error: its start is checked)
CASES = [('pretrain_network_g', *c) for c in _pretrained_cases()] + [('resume_state', *c) for c in _resume_cases()]


@pytest.mark.parametrize('key,case_id,make,expected', CASES, ids=[f'{c[0]}-{c[1]}' for c in CASES])
def test_bad_checkpoint(tmp_path, tiny_data, key, case_id, make, expected):
    opt = tiny_options(tiny_data)
    opt['path'][key] = make(tmp_path)
    opt_file = write_yaml(tmp_path / 'bad.yml', opt)
    run = run_train(['-opt', opt_file], tmp_path)
    line = expected.format(f=opt['path'][key], opt=opt_file)
    assert_one_line_error(run, line, prefix=key == 'pretrain_network_g')
    assert_nothing_written(tmp_path, run_folders=False)
    assert not list(tmp_path.glob('experiments/*/models/*.pth'))


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
