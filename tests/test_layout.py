"""The project's layout rules (docs/architecture.md): layers import only downwards, files stay small, and the docs
cite the source reports by name."""

import ast
import re
from pathlib import Path

from conftest import REPO

ROOT = Path(REPO)
PACKAGE = ROOT / 'basicsr_ext'
# a package may import from itself and from the packages listed for it
ALLOWED = {
    'utils': set(),
    'aos': {'utils'},
    'archs': {'utils', 'aos'},
    'data': {'utils', 'aos'},
    'losses': {'utils', 'aos'},
    'metrics': {'utils', 'aos'},
    'models': {'utils', 'aos', 'archs', 'data', 'losses', 'metrics'},
    # inference: restorers for users' own data, above the models (a zoo entry is a model's network + its checkpoint)
    'inference': {'utils', 'aos', 'archs', 'data', 'metrics', 'models'},
    'evaluation': {'utils', 'aos', 'archs', 'data', 'metrics', 'models', 'inference'},  # experiment runners
    'demo': {'utils', 'aos', 'data', 'inference'},  # the web demo: UI glue over the inference code
    'cli': {'utils', 'aos', 'inference'},  # command-line tools: parsers (stdlib only) and what they run
}
MAX_LINES = 400
LONG_FILES = {'archs/swin2sr_arch.py'}  # as in BasicSR, the Swin arch is one file


def imported_packages(path):
    """The basicsr_ext subpackages a module imports (top-level and function-level imports alike)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f'{node.module}.{a.name}' for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split('.')
            if parts[0] == 'basicsr_ext' and len(parts) > 1:
                found.add(parts[1])
    return found


def test_layers_import_only_downwards():
    packages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / '__init__.py').exists()}
    assert packages == set(ALLOWED), f'every package needs a row in ALLOWED: {sorted(packages ^ set(ALLOWED))}'
    bad = []
    for layer, allowed in ALLOWED.items():
        for path in sorted((PACKAGE / layer).glob('*.py')):
            upward = imported_packages(path) & packages - allowed - {layer}
            if upward:
                bad.append(f'{path.relative_to(ROOT)} imports {sorted(upward)}')
    assert not bad, '\n'.join(bad)


def test_files_stay_small():
    long = [
        f'{path.relative_to(PACKAGE)}: {n} lines'
        for path in sorted(PACKAGE.rglob('*.py'))
        if (n := len(path.read_text().splitlines())) >= MAX_LINES and str(path.relative_to(PACKAGE)) not in LONG_FILES
    ]
    assert not long, long


def test_reports_are_cited_by_name_not_seed_number():
    pattern = re.compile(r'(\b|_)seeds? ?(\d{3}|\d\.\d)', re.IGNORECASE)  # also after an underscore, in names
    must_catch = ['name: train_AOS_Swin2SR_' + 'seed' + '000', 'Seed' + ' 4.3', 'seeds' + ' 123']  # (split: not hits)
    assert all(pattern.search(text) for text in must_catch)
    files = [ROOT / 'README.md', ROOT / 'datasets' / 'README.md', *(ROOT / 'docs').glob('*.md')]
    files += [*(ROOT / 'options').glob('*.yml'), *(ROOT / 'tests').glob('*.py')]
    names = [p.name for p in (ROOT / 'options').glob('*') if 'seed' in p.name.lower()]
    assert not names, f'option files named after a report number: {names}'
    files += [*(ROOT / 'weights').glob('*.md'), *(ROOT / 'scripts').glob('*.py'), *PACKAGE.rglob('*.py')]
    hits = [
        f'{path.relative_to(ROOT)}:{i}: {line.strip()}'
        for path in files
        for i, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert not hits, '\n'.join(hits)


def test_registries_are_read_through_their_public_api():
    """BasicSR's ``Registry`` has ``keys()``, ``in``, iteration and ``get``: its private ``_obj_map`` is not read."""
    files = [*PACKAGE.rglob('*.py'), *(ROOT / 'scripts').glob('*.py'), *(ROOT / 'tests').glob('*.py')]
    hits = [
        f'{path.relative_to(ROOT)}:{i}'
        for path in files
        if path.name != 'test_layout.py'
        for i, line in enumerate(path.read_text().splitlines(), 1)
        if '_obj_map' in line
    ]
    assert not hits, hits
