"""Compare simulated AOS samples with real integrals + GTs (person size, GT flatness, offsets, detail, PSNR).

python scripts/aos_domain_report.py --sim datasets/aos_sim/raw --sim-limit 24 \
    --real data/real/demo data/real/dharmik --real-plane-scale 0.01 0.1 --output results/domain --label before

Writes OUT/domain_report.md (summary table: real median (range), sim median (range), sim within the real range?;
then one row per sample), OUT/domain_report.json (everything) and OUT/domain_grid.png (0 m integral | GT, real
samples left, simulated right). Thresholds and definitions: basicsr_ext/aos/domain_stats.py.
"""

import argparse
import json
import sys
from os import path as osp

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from basicsr_ext.aos.domain_stats import (  # noqa: E402
    build_report,
    domain_grid,
    load_real_samples,
    load_sim_samples,
    markdown_report,
)
from basicsr_ext.utils.errors import UserError  # noqa: E402
from basicsr_ext.utils.file_io import check_output_folder, write_text_atomic  # noqa: E402
from basicsr_ext.utils.montage import write_png  # noqa: E402


def _plane_scales(scales, folders):
    """One plane scale per ``--real`` folder (a single value applies to all)."""
    if len(scales) == 1:
        scales = scales * len(folders)
    if len(scales) != len(folders):
        raise UserError(
            f'--real-plane-scale: expected 1 value or one per --real folder ({len(folders)}), got {len(scales)}'
        )
    for scale in scales:
        if not scale > 0:
            raise UserError(f'--real-plane-scale: expected values > 0, got {scale:g}')
    return scales


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--sim', required=True, help='raw simulated samples, or aos_prepare.py output (stacks + gt)')
    parser.add_argument('--sim-limit', type=int, default=None, help='use only the first N simulated samples')
    parser.add_argument('--real', nargs='+', required=True, help='real sample folders, or folders of them')
    parser.add_argument(
        '--real-plane-scale',
        type=float,
        nargs='+',
        default=[0.01],
        help='metres per unit of the plane number in the PNG names: 0.01 for 040.png (cm, default), 0.1 for '
        'NAME_04.png; one value for all --real folders or one per folder',
    )
    parser.add_argument('--output', required=True, help='output folder')
    parser.add_argument('--label', default='sim', help='name of the simulated set in the table (default: sim)')
    parser.add_argument('--grid', type=int, default=4, help='samples per domain in domain_grid.png (default: 4)')
    args = parser.parse_args(argv)
    try:
        if args.sim_limit is not None and args.sim_limit < 1:
            raise UserError(f'--sim-limit: expected >= 1, got {args.sim_limit}')
        if args.grid < 1:
            raise UserError(f'--grid: expected >= 1, got {args.grid}')
        scales = _plane_scales(args.real_plane_scale, args.real)
        check_output_folder(args.output, '--output', inputs=[args.sim, *args.real])
        real_sets = [(folder, load_real_samples(folder, scale)) for folder, scale in zip(args.real, scales)]
        sim = load_sim_samples(args.sim, args.sim_limit)
        report = build_report(real_sets, sim, args.sim, args.label)
        write_text_atomic(osp.join(args.output, 'domain_report.json'), json.dumps(report, indent=2))
        text = markdown_report(report)
        write_text_atomic(osp.join(args.output, 'domain_report.md'), text)
        real = [s for _, group in real_sets for s in group]
        write_png(osp.join(args.output, 'domain_grid.png'), domain_grid(real, sim, args.label, args.grid))
    except UserError as err:
        print(f'aos_domain_report: error: {err}', file=sys.stderr)
        sys.exit(2)
    print(text, end='')
    print(f'wrote {args.output}/domain_report.md, domain_report.json, domain_grid.png')


if __name__ == '__main__':
    main()
