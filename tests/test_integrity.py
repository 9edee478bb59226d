"""Checkpoint and training-state integrity: a digest written with every checkpoint and checked on load, auto-resume
past damaged states, one line for empty files, bare tensors and states of another network."""

import logging
import math
import re

import pytest
import torch
import yaml

from basicsr_ext.utils.errors import UserError
from basicsr_ext.utils.file_io import atomic_torch_save, content_digest, load_network_params, safe_torch_load
from basicsr_ext.utils.resume import load_resume_state

from conftest import run_train, tiny_options, workers_killed_after, write_yaml

MARK = 1.2345678  # a value whose float32 bytes are easy to find in the file


def flip_a_tensor_byte(path):
    """Change one byte inside the stored data of a tensor filled with MARK: torch still loads the file."""
    data = bytearray(open(path, 'rb').read())
    needle = torch.tensor([MARK], dtype=torch.float32).numpy().tobytes()
    at = data.index(needle)
    data[at] ^= 0x01
    open(path, 'wb').write(bytes(data))


def test_digest_round_trip_and_a_flipped_byte_is_refused(tmp_path):
    params = {'conv.weight': torch.full((4, 3), MARK), 'conv.bias': torch.zeros(4)}
    path = tmp_path / 'net_g_8.pth'
    atomic_torch_save({'params': params}, path)
    raw = torch.load(path, weights_only=True)
    assert raw['digest'] == content_digest({'params': params})  # written into the file
    loaded = safe_torch_load(path)
    assert set(loaded) == {'params'} and torch.equal(loaded['params']['conv.weight'], params['conv.weight'])
    flip_a_tensor_byte(path)
    assert torch.load(path, weights_only=True)['params']['conv.weight'][0, 0] != MARK  # torch alone does not notice
    with pytest.raises(UserError) as info:
        safe_torch_load(path, what='network checkpoint')
    assert str(info.value) == (
        f'network checkpoint {path} is damaged: its content does not match the digest written with it (changed or '
        'corrupted after it was saved)'
    )
    # files without a digest (BasicSR's zoo) and bare state dicts load as before; a bare state dict gets no digest
    torch.save({'params': params}, tmp_path / 'zoo.pth')
    assert set(safe_torch_load(tmp_path / 'zoo.pth')) == {'params'}
    atomic_torch_save(params, tmp_path / 'bare.pth')
    assert set(torch.load(tmp_path / 'bare.pth', weights_only=True)) == set(params)


def test_empty_files_and_bare_tensors_are_one_line(tmp_path):
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    with pytest.raises(UserError, match=r'cannot read network checkpoint .*empty\.pth: the file is empty \(0 bytes\)'):
        load_network_params(empty)
    tensor = tmp_path / 'tensor.pth'
    torch.save(torch.zeros(3), tensor)
    with pytest.raises(UserError, match=r'tensor\.pth: expected a BasicSR checkpoint .* or a state dict, got a Tensor'):
        load_network_params(tensor)


def state(iteration):
    net = torch.nn.Linear(2, 2)
    optimizer = torch.optim.Adam(net.parameters())
    net(torch.ones(1, 2)).sum().backward()
    optimizer.step()
    with torch.no_grad():
        net.weight.fill_(MARK)
    return {
        'epoch': 0,
        'iter': iteration,
        'optimizers': [optimizer.state_dict()],
        'schedulers': [],
        'check': net.weight.detach().clone(),
    }


def resume_opt(root):
    return {
        'name': 'x',
        'auto_resume': True,
        'num_gpu': 0,
        'network_g': {'type': 'SRCNN'},
        'path': {'training_states': str(root / 'states'), 'models': str(root / 'models'), 'resume_state': None},
    }


def test_auto_resume_skips_damaged_states_and_names_them(tmp_path, caplog):
    for iteration in (4, 8, 12):
        atomic_torch_save(state(iteration), tmp_path / 'states' / f'{iteration}.state')
        atomic_torch_save({'params': {'w': torch.full((2,), MARK)}}, tmp_path / 'models' / f'net_g_{iteration}.pth')
    flip_a_tensor_byte(tmp_path / 'states' / '12.state')  # the newest state is damaged
    flip_a_tensor_byte(tmp_path / 'models' / 'net_g_8.pth')  # the next one's network file is
    opt = resume_opt(tmp_path)
    logger = logging.getLogger('basicsr')  # BasicSR's root logger does not propagate
    logger.addHandler(caplog.handler)
    try:
        resumed = load_resume_state(opt)
    finally:
        logger.removeHandler(caplog.handler)
    assert resumed['iter'] == 4 and opt['path']['resume_state'].endswith('4.state')
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and '12.state' in warnings[0] and 'net_g_8.pth is damaged' in warnings[1]
    (tmp_path / 'models' / 'net_g_4.pth').unlink()  # a state whose network is gone cannot be resumed either
    with pytest.raises(UserError, match=r'none of the 3 training states in .* is intact'):
        load_resume_state(resume_opt(tmp_path))
    # an explicit resume_state that is damaged: one line naming it
    opt = resume_opt(tmp_path)
    opt.update(auto_resume=False)
    opt['path']['resume_state'] = str(tmp_path / 'states' / '12.state')
    with pytest.raises(UserError, match=r'resume state .*12\.state is damaged'):
        load_resume_state(opt)


def test_a_training_state_that_does_not_fit_is_one_line(tmp_path, tiny_data):
    """Resuming after the network or the trainable parameters changed: one line naming the state, no traceback."""
    opt = tiny_options(tiny_data, name='run', total_iter=2)
    opt_file = write_yaml(tmp_path / 'run.yml', opt)
    assert run_train(['-opt', opt_file], tmp_path).returncode == 0
    state = tmp_path / 'experiments' / 'run' / 'training_states' / '2.state'
    frozen = run_train(
        ['-opt', opt_file, '--auto_resume', '--cfg-options', 'train.total_iter=4', '+train.trainable_params=[conv3]'],
        tmp_path,
    )
    assert frozen.returncode == 2 and 'Traceback' not in frozen.stderr
    assert frozen.stderr.strip().splitlines()[-1] == (
        f'basicsr-ext: error: {state}: optimizer 0 was saved for 6 parameter tensors, this network has 2 (a training '
        'state of another network or trainable_params setting)'
    )
    wider = run_train(['-opt', opt_file, '--auto_resume', '--cfg-options', 'network_g.num_feat=[16,4]'], tmp_path)
    assert wider.returncode == 2 and 'Traceback' not in wider.stderr
    last = wider.stderr.strip().splitlines()[-1]
    assert last.startswith('basicsr-ext: error: ') and 'net_g_2.pth does not fit SRCNN' in last


def test_continuing_a_finished_run_extends_tied_schedules_and_keeps_the_old_options(tmp_path, tiny_data):
    """A run of 4 iterations with a cosine schedule over them, continued to 8: the rate keeps falling to eta_min on
    the schedule of an 8-iteration run (it does not climb again), and the first resolved option file is kept."""
    opt = tiny_options(tiny_data, name='long', total_iter=4)
    opt['train']['scheduler'] = {'type': 'CosineAnnealingLR', 'T_max': 4, 'eta_min': 0.0}
    opt['logger'].update(print_freq=1, save_checkpoint_freq=4)
    opt_file = write_yaml(tmp_path / 'long.yml', opt)
    assert run_train(['-opt', opt_file], tmp_path).returncode == 0
    run = run_train(['-opt', opt_file, '--auto_resume', '--cfg-options', 'train.total_iter=8'], tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    exp = tmp_path / 'experiments' / 'long'
    log = ''.join(p.read_text() for p in sorted(exp.glob('train_*.log')))
    assert 'train.total_iter 4 -> 8: CosineAnnealingLR.T_max 4 -> 8' in log
    rates = {int(i): float(lr) for i, lr in re.findall(r'iter:\s+(\d+), lr:\(([\d.e+-]+),\)', log)}
    # BasicSR logs the rate used by the iteration: base * (1 + cos(pi (i - 1) / T)) / 2
    for i in range(5, 9):
        assert rates[i] == pytest.approx(1e-3 * (1 + math.cos(math.pi * (i - 1) / 8)) / 2, rel=1e-3)
    assert [rates[i] for i in range(5, 9)] == sorted((rates[i] for i in range(5, 9)), reverse=True)
    copies = sorted(p.name for p in exp.glob('long*.yml'))
    assert len(copies) == 2 and copies[0] == 'long.yml' and copies[1].startswith('long_until_')
    assert yaml.safe_load((exp / copies[1]).read_text())['train']['total_iter'] == 4
    assert yaml.safe_load((exp / 'long.yml').read_text())['train']['total_iter'] == 8


class _BrokenDataset(torch.utils.data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, index):
        raise UserError(f'img{index:03d}.png: cannot read the image (truncated or not an image)')


def test_a_data_error_in_a_worker_is_its_one_line():
    from basicsr_ext.utils.errors import one_line

    with workers_killed_after(), pytest.raises(UserError) as info:
        list(torch.utils.data.DataLoader(_BrokenDataset(), num_workers=2))
    assert 'Original Traceback' in str(info.value)  # what torch hands the main process: 20-odd lines
    assert one_line(info.value) == 'img000.png: cannot read the image (truncated or not an image)'
    assert one_line(UserError('plain message')) == 'plain message'
