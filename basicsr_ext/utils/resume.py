"""Which training state a run resumes from: BasicSR's ``load_resume_state``, device-agnostic and weights-only.

BasicSR's maps storages with ``storage.cuda()`` (fails without a GPU), unpickles the file, and with ``auto_resume``
looks under ``experiments/<name>`` relative to the working directory instead of the run's experiment folder. Ours
also checks each file's digest and resumes from the newest intact state.
"""

import os

from basicsr.utils import get_root_logger, scandir
from basicsr.utils.misc import check_resume

from basicsr_ext.utils.errors import UserError
from basicsr_ext.utils.file_io import RefusedCheckpoint, safe_torch_load


def states_newest_first(state_dir):
    """Paths of the complete ``<iter>.state`` files in ``state_dir``, newest first (states are written to a temp name
    and renamed, so a killed save leaves no such file)."""
    if not os.path.isdir(state_dir):
        return []
    iters = []
    for name in scandir(state_dir, suffix='.state', recursive=False, full_path=False):
        stem = name[: -len('.state')]
        if stem.isdigit():
            iters.append(int(stem))
    return [os.path.join(state_dir, f'{i}.state') for i in sorted(iters, reverse=True)]


def _load_state(path, device):
    state = safe_torch_load(path, map_location=device, what='resume state')
    if not isinstance(state, dict) or not isinstance(state.get('iter'), int) or 'optimizers' not in state:
        raise UserError(f'resume state {path}: not a training state (expected iter, epoch, optimizers, schedulers)')
    return state


def _networks_of(opt, iteration):
    """The network files BasicSR's ``check_resume`` pairs with the state of ``iteration``."""
    models = opt['path'].get('models')
    names = [k[len('network_') :] for k in opt if k.startswith('network_')] or ['g']
    return [os.path.join(models, f'net_{n}_{iteration}.pth') for n in names] if models else []


def load_resume_state(opt):
    """The training state to resume from, loaded with ``weights_only=True`` onto the run's device; None to start
    afresh.

    ``--auto_resume``: the newest state in ``path.training_states`` that is intact together with its network files
    (digest checked); a damaged one, or one whose network file is missing, is skipped with a warning naming it. A
    state with pickled Python objects stops the run (refused, never skipped). ``path.resume_state``: that file, or
    one line saying what is wrong with it.
    """
    import torch

    if opt.get('num_gpu', 0) != 0 and torch.cuda.is_available():
        device = torch.device('cuda', torch.cuda.current_device())
    else:
        device = torch.device('cpu')
    if not opt.get('auto_resume'):
        path = opt['path'].get('resume_state')
        if path is None:
            return None
        resume_state = _load_state(path, device)
    else:
        state_dir = opt['path'].get('training_states') or os.path.join('experiments', opt['name'], 'training_states')
        resume_state, candidates = None, states_newest_first(state_dir)
        for path in candidates:
            try:
                state = _load_state(path, device)
                for net_file in _networks_of(opt, state['iter']):
                    safe_torch_load(net_file, what='network checkpoint')
            except RefusedCheckpoint:
                raise  # a file with pickled code is a reason to stop, not to resume from an older state
            except UserError as err:
                get_root_logger().warning(f'--auto_resume: skipping {path}: {err}')
                continue
            resume_state = state
            opt['path']['resume_state'] = path
            break
        if resume_state is None and candidates:
            raise UserError(
                f'--auto_resume: none of the {len(candidates)} training states in {state_dir} is intact (see the '
                'warnings); remove them to start afresh, or give one with path.resume_state'
            )
        if resume_state is None:
            return None
    check_resume(opt, resume_state['iter'])
    return resume_state
