"""Which training state a run resumes from: BasicSR's ``load_resume_state``, device-agnostic and weights-only.

BasicSR's maps storages with ``storage.cuda()`` (fails without a GPU), unpickles the file, and with ``auto_resume``
looks under ``experiments/<name>`` relative to the working directory instead of the run's experiment folder.
"""

import os

from basicsr.utils import scandir
from basicsr.utils.misc import check_resume

from basicsr_ext.utils.file_io import safe_torch_load


def newest_state(state_dir):
    """Path of the newest complete ``<iter>.state`` in ``state_dir`` (states are written to a temp name and renamed),
    or None."""
    if not os.path.isdir(state_dir):
        return None
    iters = []
    for name in scandir(state_dir, suffix='.state', recursive=False, full_path=False):
        stem = name[: -len('.state')]
        if stem.isdigit():
            iters.append(int(stem))
    return os.path.join(state_dir, f'{max(iters)}.state') if iters else None


def load_resume_state(opt):
    """The training state to resume from (``--auto_resume``: the newest in ``path.training_states``; else
    ``path.resume_state``), loaded with ``weights_only=True`` onto the run's device; None to start afresh."""
    import torch

    if opt.get('auto_resume'):
        state_dir = opt['path'].get('training_states') or os.path.join('experiments', opt['name'], 'training_states')
        path = newest_state(state_dir)
        if path is not None:
            opt['path']['resume_state'] = path
    else:
        path = opt['path'].get('resume_state')
    if path is None:
        return None
    if opt.get('num_gpu', 0) != 0 and torch.cuda.is_available():
        device = torch.device('cuda', torch.cuda.current_device())
    else:
        device = torch.device('cpu')
    resume_state = safe_torch_load(path, map_location=device, what='resume state')
    check_resume(opt, resume_state['iter'])
    return resume_state
