"""A digest per LMDB value, so a damaged value is named when it is read, not trained on.

LMDB checks its B-tree pages but not the bytes of a value: a flipped byte inside a TIFF or PNG that still decodes
reads back without a word. A database written by this project (``scripts/create_lmdb.py``) carries
``digests.xxh128`` beside ``meta_info.txt``, one ``<digest>  <key>`` line per value (``xxhsum -H2``'s format): the
128-bit XXH3 hash, a checksum against damage (not against tampering) that costs about a tenth of a sha256, so checking
every read stays a small share of it (``scripts/benchmark_aos.py --only dataset``).
:class:`DigestChecker` checks a value against it on read; :func:`verify_database` checks a whole database
(``create_lmdb.py --verify``). A database without the file (made by BasicSR's own scripts) is read unchecked.
"""

from os import path as osp

import xxhash

from basicsr_ext.utils.errors import UserError

DIGEST_FILE = 'digests.xxh128'
DIGEST_CHARS = 32  # hex digits of a 128-bit digest


def digest(value):
    """The hex XXH3-128 digest of ``value`` (bytes)."""
    return xxhash.xxh3_128_hexdigest(value)


def digest_lines(pairs):
    """The lines of a digest file for ``(key, value)`` pairs, in their order."""
    return [f'{digest(value)}  {key}\n' for key, value in pairs]


def load_digests(folder):
    """``{key: digest}`` of ``folder/digests.xxh128``, or None when the database has none; UserError naming the file
    for a line that is not ``<32 hex digits>  <key>``."""
    path = osp.join(folder, DIGEST_FILE)
    if not osp.isfile(path):
        return None
    digests = {}
    with open(path, encoding='utf-8', errors='replace') as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) != 2 or len(parts[0]) != DIGEST_CHARS or any(c not in '0123456789abcdef' for c in parts[0]):
                raise UserError(f'{path}: line {number}: expected "<digest>  <key>", got {line.strip()!r}')
            digests[parts[1]] = parts[0]
    return digests


class DigestChecker:
    """Checks values read from the LMDB at ``folder`` against its digest file (loaded once; nothing to check when the
    database has none)."""

    def __init__(self, folder):
        self.folder = str(folder)
        self.digests = load_digests(self.folder)

    def check(self, key, value):
        """``value`` unchanged, or a UserError naming the database and ``key`` when its digest is not the recorded one
        (or the key has no digest in a database that has them)."""
        if self.digests is None:
            return value
        expected = self.digests.get(key)
        if expected is None:
            raise UserError(f'{self.folder}: key {key!r} has no digest in {DIGEST_FILE} (a value added by hand?)')
        if digest(value) != expected:
            raise UserError(
                f'{self.folder}: key {key!r}: damaged value (its digest differs from {DIGEST_FILE}); rebuild the '
                'database with scripts/create_lmdb.py'
            )
        return value


def verify_database(folder):
    """Read every value of the LMDB at ``folder`` and check it against its digest file.

    Returns:
        tuple[int, list[str]]: values checked and one line per problem (a damaged value, a key without a digest, a
        digest without a value). UserError when ``folder`` has no database or no digest file.
    """
    import lmdb

    if not osp.isfile(osp.join(folder, 'data.mdb')):
        raise UserError(f'{folder}: not an LMDB database (no data.mdb)')
    checker = DigestChecker(folder)
    if checker.digests is None:
        raise UserError(f'{folder}: no {DIGEST_FILE} to verify against (not written by create_lmdb.py)')
    problems, seen = [], set()
    try:
        env = lmdb.open(folder, readonly=True, lock=False, readahead=False, meminit=False)
    except lmdb.Error as err:
        raise UserError(f'{folder}: damaged LMDB: {err}') from None
    try:
        with env.begin(write=False) as txn:
            for raw_key, value in txn.cursor():
                key = raw_key.decode('utf-8', errors='replace')
                seen.add(key)
                try:
                    checker.check(key, bytes(value))
                except UserError as err:
                    problems.append(str(err))
    except lmdb.Error as err:
        problems.append(f'{folder}: damaged LMDB: {err}')
    finally:
        env.close()
    problems += [f'{folder}: key {key!r} in {DIGEST_FILE} has no value' for key in sorted(set(checker.digests) - seen)]
    return len(seen), problems
