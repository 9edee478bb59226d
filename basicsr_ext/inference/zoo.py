"""The model zoo: weights the project's own experiments trained, listed in ``weights/zoo.yml``.

Each entry of the metafile names one weight file in ``weights/`` and says everything needed to use and to trust it::

    srcnn_x2:
      task: sr                      # aos | sr | denoise | modulation
      input: x2 LR made by ...      # what it expects (optional; printed by --list)
      file: srcnn_x2.pth            # in weights/; BasicSR's layout ({'params': ...}), or a restorer checkpoint (aos)
      sha256: 3f0c...               # of the file: checked on every load, a damaged copy is refused
      param_key: params
      self_ensemble: false          # optional, default false: the inference default of Restorer / the CLIs
      stage_of: aos_ground          # optional: a training stage the named model's command starts from (as Real-ESRGAN
                                    # ships RealESRNet): --list and every restore say so; zoo_check shows, not grades it
      network_g: {type: SRCNN, ...} # the arch options (an aos restorer's file carries them too; they must agree)
      command: python basicsr_ext/train.py -opt options/train_srcnn.yml && ...
      data: ...                     # what it was trained on
      figures: {...}                # what the command's run printed
      wall_time: ...

:func:`resolve` turns a name into a :class:`ZooEntry` (the file verified); anything that is not a zoo name is taken
as a path to a checkpoint (BasicSR's own zoo files included), for the caller to pair with arch options.
"""

import copy
from dataclasses import dataclass, field
from os import path as osp
from typing import Optional

from basicsr_ext.inference.export import file_sha256
from basicsr_ext.resources import shipped_dir
from basicsr_ext.utils.errors import UserError
from basicsr_ext.utils.yaml_io import load_yaml

WEIGHTS_DIR = shipped_dir('weights')  # the checkout's weights/, or the installed package data
ZOO_FILE = osp.join(WEIGHTS_DIR, 'zoo.yml')
TASKS = ('aos', 'sr', 'denoise', 'modulation')
DEFAULT_AOS_MODEL = 'aos_person'  # the shipped AOS restorer: scripts/aos_restore.py's and the demo's default
REQUIRED = ('task', 'file', 'sha256', 'network_g', 'command', 'data', 'figures')


@dataclass(frozen=True)
class ZooEntry:
    """One model of the zoo (see the module docstring for the keys)."""

    name: str
    task: str
    path: str
    sha256: str
    network_g: dict
    command: str
    data: str
    figures: dict
    param_key: Optional[str] = 'params'
    extra: dict = field(default_factory=dict)

    @property
    def stage_of(self):
        """The zoo model whose training starts from this one (the entry's optional ``stage_of``), else None."""
        return self.extra.get('stage_of')

    @property
    def stage_note(self):
        """What a user is told when a training stage restores their images (None for a restorer)."""
        if not self.stage_of:
            return None
        people = f'; to find people restore with {DEFAULT_AOS_MODEL}' if self.task == 'aos' else ''
        stage = f'{self.name} is a training stage (the start of {self.stage_of})'
        return f'{stage}, shipped for fine-tuning, not for restoring{people}'

    @property
    def self_ensemble(self):
        """The model's inference default for self-ensemble (the entry's optional ``self_ensemble``, else off)."""
        return bool(self.extra.get('self_ensemble', False))

    def network(self):
        """A copy of the arch options (BasicSR's ``build_network`` pops keys)."""
        return copy.deepcopy(self.network_g)

    def verify(self):
        """Check the file against the metafile's sha256; UserError naming the file when it differs or is missing."""
        if not osp.isfile(self.path):
            raise UserError(f'{self.name}: weight file not found: {self.path}')
        actual = file_sha256(self.path)
        if actual != self.sha256:
            raise UserError(
                f'{self.path}: sha256 {actual[:12]}... does not match {self.sha256[:12]}... in {ZOO_FILE} '
                '(a damaged or edited copy; restore it from the repository)'
            )
        return self


def load_zoo(zoo_file=ZOO_FILE):
    """``{name: ZooEntry}`` of the metafile, in file order; UserError naming the entry and key when one is wrong."""
    data = load_yaml(zoo_file)
    folder = osp.dirname(osp.abspath(zoo_file))
    entries = {}
    for name, raw in data.items():
        if not isinstance(raw, dict):
            raise UserError(f'{zoo_file}: {name}: expected a mapping of {", ".join(REQUIRED)}')
        missing = [k for k in REQUIRED if k not in raw]
        if missing:
            raise UserError(f'{zoo_file}: {name}: missing {", ".join(missing)}')
        if raw['task'] not in TASKS:
            raise UserError(f'{zoo_file}: {name}.task: expected one of {", ".join(TASKS)}, got {raw["task"]!r}')
        if not isinstance(raw['network_g'], dict) or 'type' not in raw['network_g']:
            raise UserError(f'{zoo_file}: {name}.network_g: expected a mapping with a type key')
        if raw['figures'] is not None and not isinstance(raw['figures'], dict):
            raise UserError(f'{zoo_file}: {name}.figures: expected a mapping (name: value), got {raw["figures"]!r}')
        if not isinstance(raw.get('self_ensemble', False), bool):
            raise UserError(f'{zoo_file}: {name}.self_ensemble: expected true or false, got {raw["self_ensemble"]!r}')
        stage_of = raw.get('stage_of')
        if stage_of is not None and not (isinstance(stage_of, str) and stage_of in data and stage_of != name):
            raise UserError(f'{zoo_file}: {name}.stage_of: expected the name of another zoo entry, got {stage_of!r}')
        known = set(REQUIRED) | {'param_key'}
        entries[name] = ZooEntry(
            name=name,
            task=raw['task'],
            path=osp.join(folder, raw['file']),
            sha256=str(raw['sha256']),
            network_g=dict(raw['network_g']),
            command=str(raw['command']),
            data=str(raw['data']),
            figures=dict(raw['figures'] or {}),
            param_key=raw.get('param_key', 'params'),
            extra={k: v for k, v in raw.items() if k not in known},
        )
    return entries


def resolve(name, zoo_file=ZOO_FILE):
    """The verified :class:`ZooEntry` called ``name``, or None when ``name`` is not in the zoo (a checkpoint path)."""
    entries = load_zoo(zoo_file) if osp.isfile(zoo_file) else {}
    if name in entries:
        return entries[name].verify()
    if not osp.exists(name):
        names = ', '.join(entries) or 'none'
        raise UserError(f'model file not found: {name} (nor a zoo name: {names})')
    return None


def describe(entry):
    """One line for ``--list``: the name first, then task, arch, figures and size, and what input it expects (the
    entry's ``input``, when given)."""
    size = osp.getsize(entry.path) / 1e6 if osp.isfile(entry.path) else float('nan')
    figures = ', '.join(f'{k} {v}' for k, v in entry.figures.items())
    expects = f'  input: {entry.extra["input"]}' if entry.extra.get('input') else ''
    stage = f'  training stage of {entry.stage_of} (for fine-tuning)' if entry.stage_of else ''
    return f'{entry.name}  {entry.task}  {entry.network_g["type"]}  {figures}  ({size:.1f} MB){stage}{expects}'
