"""Untrusted inputs through the real runner (``main`` of ``basicsr_ext/train.py``, in this process): nothing in an
option file or a checkpoint runs code. Each case is refused with exit status 2 and one ``basicsr-ext: error:`` line
naming the file at fault."""

import os
import shlex
from os import path as osp

import torch

from conftest import run_train, tiny_options, write_yaml


class RunsCode:
    """Pickles to ``os.system('touch <marker>')``: unpickling it with plain pickle runs the command."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f'touch {shlex.quote(self.marker)}',)


def append_line(path, line):
    """Append ``line`` to a YAML file and return its (1-based) line number."""
    with open(path) as f:
        number = len(f.read().splitlines()) + 1
    with open(path, 'a') as f:
        f.write(line + '\n')
    return number


def refusal(result):
    """The one error line of a refused run (exit status 2, no traceback, the error is the last thing printed)."""
    assert result.returncode == 2, result.stderr[-3000:]
    assert 'Traceback' not in result.stderr, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith('basicsr-ext: error:')]
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr[-3000:]
    return errors[0]


def test_option_file_python_tag_is_refused(tmp_path, tiny_data):
    marker = tmp_path / 'pwned'
    opt = tiny_options(tiny_data)
    del opt['name']
    opt_file = write_yaml(tmp_path / 'evil.yml', opt)
    line = append_line(opt_file, f'name: !!python/object/apply:os.system ["touch {marker}"]')
    result = run_train(['-opt', opt_file], cwd=tmp_path)
    error = refusal(result)
    assert result.stderr.strip() == error  # nothing but the error: refused before anything else ran
    assert error.startswith(f'basicsr-ext: error: {opt_file}, line {line}: ')
    assert 'python/object/apply:os.system' in error and 'are not allowed' in error
    assert not marker.exists()
    assert not (tmp_path / 'experiments').exists()


def test_option_file_harmless_looking_python_tag_is_refused(tmp_path, tiny_data):
    """``os.getcwd`` would "only" fill in a value: refused all the same."""
    opt = tiny_options(tiny_data)
    del opt['name']
    opt_file = write_yaml(tmp_path / 'getcwd.yml', opt)
    line = append_line(opt_file, 'name: !!python/object/apply:os.getcwd []')
    code, _, err = run_train(['-opt', opt_file], cwd=tmp_path)
    assert code == 2, 'the option file was accepted'
    assert err.count('\n') == 1 and 'Traceback' not in err
    assert err.startswith(f'basicsr-ext: error: {opt_file}, line {line}: ')
    assert 'python/object/apply:os.getcwd' in err and 'are not allowed' in err
    assert not (tmp_path / 'experiments').exists()


def test_base_option_file_python_tag_is_refused(tmp_path, tiny_data):
    """The tag hides in an inherited ``_base_`` file; the option file given on the command line looks clean."""
    marker = tmp_path / 'pwned'
    opt = tiny_options(tiny_data)
    del opt['name']
    base_file = write_yaml(tmp_path / 'base_evil.yml', opt)
    line = append_line(base_file, f'name: !!python/object/apply:os.system ["touch {marker}"]')
    opt_file = write_yaml(tmp_path / 'clean.yml', {'_base_': 'base_evil.yml', 'name': 'clean'})
    result = run_train(['-opt', opt_file], cwd=tmp_path)
    error = refusal(result)
    assert result.stderr.strip() == error
    assert error.startswith(f'basicsr-ext: error: {base_file}, line {line}: ')
    assert 'python/object/apply:os.system' in error and 'are not allowed' in error
    assert not marker.exists()
    assert not (tmp_path / 'experiments').exists()


def test_malicious_pretrained_network_is_refused(tmp_path, tiny_data):
    marker = tmp_path / 'pwned'
    evil = str(tmp_path / 'net_g_latest.pth')
    torch.save({'params': RunsCode(marker)}, evil)
    opt = tiny_options(tiny_data)
    opt['path']['pretrain_network_g'] = evil
    result = run_train(
        ['-opt', write_yaml(tmp_path / 'pretrained.yml', opt)],
        cwd=tmp_path,
        env_extra={'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD': '1'},
    )  # what torch < 2.6 did by default
    error = refusal(result)
    assert error.startswith(f'basicsr-ext: error: refusing to load network checkpoint {evil}: ')
    assert 'posix.system' in error
    assert not marker.exists()
    assert not os.listdir(osp.join(tmp_path, 'experiments', 'tiny', 'models'))


def test_malicious_training_state_is_refused_on_auto_resume(tmp_path, tiny_data):
    marker = tmp_path / 'pwned'
    states = tmp_path / 'experiments' / 'tiny' / 'training_states'
    states.mkdir(parents=True)
    torch.save({'epoch': 0, 'iter': 2, 'optimizers': [], 'schedulers': []}, states / '2.state')
    evil = str(states / '4.state')  # the newest state: the one --auto_resume picks
    torch.save({'epoch': 0, 'iter': 4, 'optimizers': [RunsCode(marker)], 'schedulers': []}, evil)
    opt_file = write_yaml(tmp_path / 'tiny.yml', tiny_options(tiny_data))
    result = run_train(
        ['-opt', opt_file, '--auto_resume'], cwd=tmp_path, env_extra={'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD': '1'}
    )
    error = refusal(result)
    assert error.startswith(f'basicsr-ext: error: refusing to load resume state {evil}: ')
    assert 'posix.system' in error
    assert not marker.exists()
    assert sorted(os.listdir(states)) == ['2.state', '4.state']
