"""Multi-node training as two torchrun agents on this machine (loopback, c10d rendezvous, one CPU process each): the
run trains with identical weights on both nodes, and a second launch resumes it past its first end."""

import os
import subprocess
import sys

import pytest
from test_distributed import CHECK_LINE

from conftest import REPO, TRAIN_PY, free_port, tiny_options, write_yaml

TIMEOUT = 180


def two_agents(args, cwd, job):
    """``torchrun --nnodes 2 --nproc_per_node 1 --rdzv-backend c10d`` twice, as two nodes would start it."""
    env = dict(os.environ, OMP_NUM_THREADS='1', CUDA_VISIBLE_DEVICES='')
    env['PYTHONPATH'] = REPO + os.pathsep + env.get('PYTHONPATH', '')
    endpoint = f'127.0.0.1:{free_port()}'
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nnodes=2', '--nproc_per_node=1', '--rdzv-backend=c10d']
    cmd += [f'--rdzv-endpoint={endpoint}', f'--rdzv-id={job}', TRAIN_PY, *args]
    agents = [
        subprocess.Popen(cmd, cwd=str(cwd), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    ]
    outputs = []
    try:
        for agent in agents:
            outputs.append(agent.communicate(timeout=TIMEOUT)[0])
    except subprocess.TimeoutExpired:
        for agent in agents:
            agent.kill()
        pytest.fail(f'the two agents did not finish in {TIMEOUT} s (rendezvous hung?)')
    return [a.returncode for a in agents], '\n'.join(outputs)


def test_two_nodes_train_and_resume(tmp_path, tiny_data):
    opt_file = write_yaml(tmp_path / 'mn.yml', tiny_options(tiny_data, name='mn', total_iter=4))
    codes, out = two_agents(['-opt', opt_file, '--launcher', 'pytorch'], tmp_path, 'first')
    assert codes == [0, 0], out[-5000:]
    assert CHECK_LINE.findall(out) == [('2', '4, 4', 'True')]

    extend = ['-opt', opt_file, '--launcher', 'pytorch', '--auto_resume', '--cfg-options', 'train.total_iter=6']
    codes, out = two_agents(extend, tmp_path, 'second')
    assert codes == [0, 0], out[-5000:]
    assert 'Resuming training from epoch: 1, iter: 4.' in out
    assert CHECK_LINE.findall(out) == [('2', '6, 6', 'True')]
    exp = tmp_path / 'experiments' / 'mn'
    assert sorted(p.name for p in (exp / 'training_states').iterdir()) == ['2.state', '4.state', '6.state']
    assert not [p for p in exp.rglob('*') if '.tmp' in p.name]
