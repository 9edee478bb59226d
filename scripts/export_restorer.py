"""Export a BasicSR checkpoint + its training option file as a restorer checkpoint that aos_restore.py loads alone.

    python scripts/export_restorer.py experiments/X/models/net_g_latest.pth options/train_aos.yml weights/aos.pth

Writes ``{'params': ..., 'meta': {network_g, heights, multipass_plane, sha256, source, command, ...}}`` atomically
(format: ``basicsr_ext.inference.export``) and prints the written file's sha256.
"""

import argparse
import shlex
import sys
from os import path as osp

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from basicsr_ext.inference.export import export_restorer  # noqa: E402
from basicsr_ext.utils.errors import UserError  # noqa: E402
from basicsr_ext.utils.file_io import check_output_file  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoint', help='BasicSR network checkpoint (params / params_ema; the EMA when present)')
    parser.add_argument('option_file', help='the training option YAML (network_g, datasets.train.heights)')
    parser.add_argument('output', help='restorer checkpoint to write')
    parser.add_argument('--task', default='aos_restoration', help='task recorded in the meta (default: %(default)s)')
    parser.add_argument('--param-key', help='parameter group to export (params, params_ema; default: the EMA if any)')
    args = parser.parse_args(argv)
    command = shlex.join(['python', 'scripts/export_restorer.py', *(sys.argv[1:] if argv is None else argv)])
    try:
        check_output_file(args.output, 'output', inputs=[args.checkpoint, args.option_file])
        result = export_restorer(
            args.checkpoint, args.option_file, args.output, {'task': args.task, 'command': command}, args.param_key
        )
    except UserError as err:
        print(f'export_restorer: error: {err}', file=sys.stderr)
        sys.exit(2)
    meta = result['meta']
    print(
        f'wrote {result["path"]} ({meta["network_g"]["type"]}, planes {meta["heights"]} m, {meta["param_key"]} of '
        f'{meta["source"]}); sha256 {result["sha256"]}'
    )


if __name__ == '__main__':
    main()
