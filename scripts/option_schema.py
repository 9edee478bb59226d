"""Print the JSON Schema of basicsr-ext option files (YAML editors use it for completion and checks).

python scripts/option_schema.py > docs/options.schema.json
python scripts/option_schema.py --write    # the same, into docs/options.schema.json

Generated from the pydantic models of the fixed sections (basicsr_ext/utils/option_models.py) and the keys
basicsr-ext's models declare; tests/test_options.py checks that the committed file is current.
"""

import argparse
import json
import sys
from os import path as osp

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)
DOCS_FILE = osp.join(ROOT, 'docs', 'options.schema.json')


def schema_text():
    import basicsr_ext

    basicsr_ext.register()  # BasicSR adapted, every class registered
    from basicsr_ext.utils.option_check import options_schema

    return json.dumps(options_schema(), indent=2, sort_keys=True) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--write', action='store_true', help=f'write {osp.relpath(DOCS_FILE, ROOT)} instead of printing'
    )
    args = parser.parse_args(argv)
    text = schema_text()
    if args.write:
        with open(DOCS_FILE, 'w') as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == '__main__':
    main()
