"""Pack converted AOS splits (aos_prepare.py output) into LMDB: <out>/<split>/{stacks,gt}.lmdb.

python scripts/create_lmdb.py --stacks datasets/aos_stacks --out datasets/aos_lmdb [--splits train val]
python scripts/create_lmdb.py --verify datasets/aos_lmdb

Without --splits, the splits of train/val/test that --stacks has are packed. Every stack and GT of every split is read
and checked before the first LMDB is written; a mistake ends with one ``create_lmdb: error:`` line and exit status 2.
Each database gets ``digests.xxh128`` (a digest per value, checked on every read in training); ``--verify`` reads
every value of the databases in the given folders against it, prints one line per database and one per damaged value
(naming the database and key), and exits with status 2 when any is damaged.
"""

import argparse
import os
import sys
from os import path as osp

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from basicsr_ext.aos.lmdb_store import plan_split_lmdb, write_split_lmdb  # noqa: E402
from basicsr_ext.utils.errors import UserError  # noqa: E402
from basicsr_ext.utils.file_io import check_output_folder  # noqa: E402
from basicsr_ext.utils.lmdb_digests import verify_database  # noqa: E402

DEFAULT_SPLITS = ('train', 'val', 'test')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--stacks', help='output folder of aos_prepare.py')
    parser.add_argument('--out', help='folder for the LMDBs')
    parser.add_argument(
        '--splits', nargs='+', help='splits to pack (default: those of train, val, test that --stacks has)'
    )
    parser.add_argument(
        '--verify', nargs='+', metavar='FOLDER', help='check every value of the LMDBs in these folders; packs nothing'
    )
    args = parser.parse_args(argv)
    if args.verify:
        if args.stacks or args.out or args.splits:
            parser.error('--verify checks databases; it takes no --stacks, --out or --splits')
        return verify(args.verify)
    if not (args.stacks and args.out):
        parser.error('--stacks and --out are required (or --verify FOLDER)')
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


def databases(folder):
    """The LMDB folders (with a data.mdb) at or below ``folder``, sorted."""
    if osp.isfile(osp.join(folder, 'data.mdb')):
        return [folder]
    found = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        if 'data.mdb' in files:
            found.append(root)
            dirs[:] = []
    return found


def verify(folders):
    damaged = False
    try:
        for folder in folders:
            if not osp.isdir(folder):
                raise UserError(f'--verify {folder}: not a folder')
            found = databases(folder)
            if not found:
                raise UserError(f'--verify {folder}: no LMDB database (data.mdb) in it')
            for db in found:
                count, problems = verify_database(db)
                for line in problems:
                    print(f'create_lmdb: damaged: {line}', file=sys.stderr)
                damaged = damaged or bool(problems)
                state = f'{len(problems)} damaged' if problems else 'all match their digests'
                print(f'{db}: {count} values, {state}')
    except UserError as err:
        print(f'create_lmdb: error: {err}', file=sys.stderr)
        return 2
    return 2 if damaged else 0


if __name__ == '__main__':
    sys.exit(main())
