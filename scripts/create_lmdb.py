"""Pack converted AOS splits (aos_prepare.py output) into LMDB: <out>/<split>/{stacks,gt}.lmdb.

python scripts/create_lmdb.py --stacks datasets/aos_stacks --out datasets/aos_lmdb
"""

import argparse
import sys
from os import path as osp

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from basicsr_ext.aos.lmdb_store import create_split_lmdb  # noqa: E402
from basicsr_ext.utils.errors import UserError  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--stacks', required=True, help='output folder of aos_prepare.py')
    parser.add_argument('--out', required=True, help='folder for the LMDBs')
    parser.add_argument('--splits', nargs='+', default=['train', 'val', 'test'])
    args = parser.parse_args(argv)
    try:
        for split in args.splits:
            split_dir = osp.join(args.stacks, split)
            if not osp.isdir(split_dir):
                print(f'{split}: no folder {split_dir}, skipped')
                continue
            n = create_split_lmdb(split_dir, osp.join(args.out, split))
            print(f'{split}: {n} samples -> {osp.join(args.out, split)}/{{stacks,gt}}.lmdb')
    except UserError as err:
        sys.exit(f'create_lmdb: error: {err}')


if __name__ == '__main__':
    main()
