"""Focal stacks and GTs in LMDB: one key per sample, read through BasicSR's ``FileClient('lmdb')``.

BasicSR's ``LmdbMaker`` records only ``(h, w, c)`` per key and exits the process when the folder exists, so this
writer is our own. It stores each converted file's bytes unchanged (the TIFF of the stack, the PNG of the GT): an
LMDB round trip returns exactly the arrays of the files. Per split it writes ``stacks.lmdb`` and ``gt.lmdb`` with the
same keys (``{run}_{sim}``) and a ``meta_info.txt`` in each, one line per key::

    0_12 0_12_4_-6_integral.tiff (4,512,512) uint8 pos=4,-6 shape=laying heights=0,0.5,1,1.5

Each LMDB also gets ``digests.xxh128`` (a digest of every value, checked when the value is read:
``basicsr_ext/utils/lmdb_digests.py``). The map size is computed from the input sizes; each LMDB is built under a
temp name and renamed when complete.
"""

import os
import shutil
from os import path as osp

import lmdb

from basicsr_ext.aos.focal_stack import gt_name, parse_stack_name, read_focal_stack
from basicsr_ext.utils.errors import UserError
from basicsr_ext.utils.lmdb_digests import DIGEST_FILE, digest_lines


def _fmt(v):
    return f'{v:g}'


def meta_line(key, stack_file, stack, meta):
    person = meta.get('person')
    pos = 'N' if person is None else f'{_fmt(person["x"])},{_fmt(person["y"])}'
    shape = 'N' if person is None else person.get('shape') or 'unknown'
    heights = ','.join(_fmt(h) for h in meta.get('heights') or [])
    dims = ','.join(str(d) for d in stack.shape)
    return f'{key} {stack_file} ({dims}) {stack.dtype} pos={pos} shape={shape} heights={heights}\n'


def parse_meta_line(line, source='meta_info.txt'):
    """``{'key', 'file', 'shape', 'dtype', 'pos' (x, y) or None, 'person_shape', 'heights'}`` of one line."""
    parts = line.split()
    try:
        key, stack_file, dims, dtype = parts[:4]
        fields = dict(p.split('=', 1) for p in parts[4:])
        pos = None if fields['pos'] == 'N' else tuple(float(v) for v in fields['pos'].split(','))
        return {
            'key': key,
            'file': stack_file,
            'shape': tuple(int(d) for d in dims.strip('()').split(',')),
            'dtype': dtype,
            'pos': pos,
            'person_shape': None if fields['shape'] == 'N' else fields['shape'],
            'heights': [float(h) for h in fields['heights'].split(',') if h],
        }
    except (ValueError, KeyError) as err:
        raise UserError(f'{source}: cannot parse meta_info line {line.strip()!r} ({err})') from None


def plan_split_lmdb(split_dir, out_dir):
    """Read and check everything :func:`write_split_lmdb` will pack, writing nothing: ``split_dir/meta_info.txt``,
    each listed stack (decoded, for its meta line) and GT (structure checked), and that neither LMDB exists in
    ``out_dir``. Returns the plan; UserError naming the file at fault."""
    from basicsr_ext.utils.images import check_image_file

    meta_file = osp.join(split_dir, 'meta_info.txt')
    if not osp.isfile(meta_file):
        raise UserError(f'{meta_file} not found: is {split_dir} a split folder written by aos_prepare.py?')
    with open(meta_file, encoding='utf-8', errors='replace') as f:
        names = [line.strip() for line in f if line.strip()]
    if not names:
        raise UserError(f'{meta_file}: lists no stacks')
    entries, keys, total = [], set(), 0
    for name in names:
        run, sim, _ = parse_stack_name(name)
        key = f'{run}_{sim}'
        if key in keys:
            raise UserError(f'{meta_file}: two stacks for sample {key}; keys must be unique')
        keys.add(key)
        stack_path = osp.join(split_dir, 'stacks', name)
        gt_path = osp.join(split_dir, 'gt', gt_name(run, sim))
        for path in (stack_path, gt_path):
            if not osp.isfile(path):
                raise UserError(f'{meta_file} lists {name}, but {path} is missing')
            total += osp.getsize(path)
        stack, meta = read_focal_stack(stack_path)
        check_image_file(gt_path, 'GT image')
        entries.append((key, name, stack_path, gt_path, meta_line(key, name, stack, meta)))
    for db_name in ('stacks.lmdb', 'gt.lmdb'):
        final = osp.join(out_dir, db_name)
        if osp.exists(final):
            raise UserError(f'{final} already exists; remove it to rebuild')
    return {'entries': entries, 'out_dir': out_dir, 'map_size': int(total * 1.5) + (64 << 20)}  # + B-tree, slack


def write_split_lmdb(plan):
    """Write the LMDBs of a :func:`plan_split_lmdb` plan, each under a temp name renamed when complete; returns the
    number of samples."""
    entries, out_dir = plan['entries'], plan['out_dir']
    os.makedirs(out_dir, exist_ok=True)
    for db_name in ('stacks.lmdb', 'gt.lmdb'):
        final = osp.join(out_dir, db_name)
        tmp = osp.join(out_dir, f'.{db_name}.tmp{os.getpid()}')
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            env = lmdb.open(tmp, map_size=plan['map_size'])
            lines, digests = [], []
            with env.begin(write=True) as txn:
                for key, _, stack_path, gt_path, line in entries:
                    path = stack_path if db_name == 'stacks.lmdb' else gt_path
                    with open(path, 'rb') as f:
                        value = f.read()
                    txn.put(key.encode('ascii'), value)
                    digests += digest_lines([(key, value)])
                    lines.append(line if db_name == 'stacks.lmdb' else f'{key} {osp.basename(gt_path)}\n')
            env.close()
            with open(osp.join(tmp, 'meta_info.txt'), 'w') as f:
                f.writelines(lines)
            with open(osp.join(tmp, DIGEST_FILE), 'w') as f:
                f.writelines(digests)
            os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return len(entries)


def create_split_lmdb(split_dir, out_dir):
    """Pack ``split_dir/stacks/*.tiff`` (as listed in ``split_dir/meta_info.txt``) and their GTs into
    ``out_dir/stacks.lmdb`` and ``out_dir/gt.lmdb``; returns the number of samples. Everything is read and checked
    before anything is written (:func:`plan_split_lmdb`)."""
    return write_split_lmdb(plan_split_lmdb(split_dir, out_dir))
