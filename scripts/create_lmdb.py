"""Pack converted AOS splits (aos_prepare.py output) into LMDB: <out>/<split>/{stacks,gt}.lmdb.

python scripts/create_lmdb.py --stacks datasets/aos_stacks --out datasets/aos_lmdb [--splits train val]

Without --splits, the splits of train/val/test that --stacks has are packed. Every stack and GT of every split is read
and checked before the first LMDB is written; a mistake ends with one ``create_lmdb: error:`` line and exit status 2.
"""

import argparse
import sys
from os import path as osp

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from basicsr_ext.aos.lmdb_store import plan_split_lmdb, write_split_lmdb  # noqa: E402
from basicsr_ext.utils.errors import UserError  # noqa: E402
from basicsr_ext.utils.file_io import check_output_folder  # noqa: E402

DEFAULT_SPLITS = ('train', 'val', 'test')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--stacks', required=True, help='output folder of aos_prepare.py')
    parser.add_argument('--out', required=True, help='folder for the LMDBs')
    parser.add_argument(
        '--splits', nargs='+', help='splits to pack (default: those of train, val, test that --stacks has)'
    )
    args = parser.parse_args(argv)
    try:
        if not osp.isdir(args.stacks):
            raise UserError(f'--stacks {args.stacks}: not a folder (expected the output folder of aos_prepare.py)')
        check_output_folder(args.out, '--out')
        splits = args.splits or [s for s in DEFAULT_SPLITS if osp.isdir(osp.join(args.stacks, s))]
        if not splits:
            raise UserError(
                f'--stacks {args.stacks}: no split folder ({", ".join(DEFAULT_SPLITS)}); expected the output folder '
                'of aos_prepare.py'
            )
        for split in splits:
            if not osp.isdir(osp.join(args.stacks, split)):
                raise UserError(f'--splits {split}: no folder {osp.join(args.stacks, split)}')
        # every split is read and checked before the first LMDB is written
        plans = {split: plan_split_lmdb(osp.join(args.stacks, split), osp.join(args.out, split)) for split in splits}
        for split, plan in plans.items():
            n = write_split_lmdb(plan)
            print(f'{split}: {n} samples -> {osp.join(args.out, split)}/{{stacks,gt}}.lmdb')
    except UserError as err:
        print(f'create_lmdb: error: {err}', file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
