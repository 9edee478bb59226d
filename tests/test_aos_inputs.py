"""One home for AOS inputs (basicsr_ext.aos.inputs, aos.gt_person, focal_stack.is_own_stack): a plane the restorer
takes is a plane the dataset and the domain report take, a raw sample integrates to the stack training stores, and
every caller finds the GT's person with the same functions."""

import cv2
import numpy as np
import pytest
import tifffile
import torch

from basicsr_ext.aos import domain_stats, gt_person
from basicsr_ext.aos.convert import convert
from basicsr_ext.aos.focal_stack import gt_name, is_own_stack, read_focal_stack, stack_name, write_focal_stack, write_gt
from basicsr_ext.aos.inputs import HEIGHT_TOL, check_distinct_heights, height_from_name, height_index, same_height
from basicsr_ext.aos.simulator import simulate
from basicsr_ext.cli import aos_restore_run
from basicsr_ext.data.aos_focal_stack_dataset import AOSFocalStackDataset
from basicsr_ext.demo import handlers
from basicsr_ext.inference import aos_inputs, load_input
from basicsr_ext.utils.errors import UserError

SIZE = 32


def plane_folder(folder, names, seed=0):
    """Plane PNGs (plane k filled with 40 (k + 1)) and a GT with a warm 4 x 4 person."""
    folder.mkdir(parents=True)
    for k, name in enumerate(names):
        cv2.imwrite(str(folder / name), np.full((SIZE, SIZE), 40 * (k + 1), np.uint8))
    gt = np.full((SIZE, SIZE), 60, np.uint8)
    gt[10:14, 20:24] = 250
    cv2.imwrite(str(folder / 'gt.png'), gt)
    return folder


def split_of(root, stack, heights):
    """A one-sample split for the dataset: ``stacks/`` + ``gt/`` + meta_info.txt."""
    name = stack_name(0, 1)
    write_focal_stack(str(root / 'stacks' / name), stack, heights)
    write_gt(str(root / 'gt' / gt_name(0, 1)), np.zeros(stack.shape[1:], np.uint8))
    (root / 'meta_info.txt').write_text(f'{name}\n')
    return root


def dataset(root, heights):
    opt = {'phase': 'val', 'dataroot_lq': str(root / 'stacks'), 'dataroot_gt': str(root / 'gt'), 'heights': heights}
    return AOSFocalStackDataset(opt)


def test_a_plane_the_restorer_takes_is_a_plane_the_dataset_and_the_domain_report_take(tmp_path):
    folder = plane_folder(tmp_path / 'sample', ['000.png', '040.png', '070.png'])  # 70 x 0.01 is not 0.7 in floats
    [sample] = load_input(str(folder))
    assert sample.heights == [0.0, 0.4, 0.7]  # rounded to micrometres by the one name rule
    wanted = [0.0, 0.7]
    planes, note = aos_inputs.select_planes(sample, wanted)
    assert note == ''  # every height is there
    item = dataset(split_of(tmp_path / 'split', sample.stack, sample.heights), wanted)[0]
    assert np.array_equal(np.rint(item['lq'].numpy() * 255).astype(np.uint8), planes)
    [real] = domain_stats.load_real_samples(str(folder))
    assert sorted(real['planes']) == sample.heights
    assert np.array_equal(real['planes'][0.7], sample.stack[2].astype(np.float32))


def test_a_plane_off_by_more_than_the_tolerance_is_not_the_same_plane_anywhere(tmp_path):
    off = 0.4 + 100 * HEIGHT_TOL  # 0.1 mm: taken as 0.4 m by the restorer's old 1 mm tolerance, refused in training
    stack = np.stack([np.full((SIZE, SIZE), v, np.uint8) for v in (10, 20)])
    sample = aos_inputs.AOSInput('s', stack, [0.0, off], source='s.tiff')
    _, note = aos_inputs.select_planes(sample, [0.0, 0.4])
    assert note == f'nearest planes: {off:g} m for 0.4 m'  # restored with the nearest plane, and said so
    with pytest.raises(UserError, match='focal height 0.4 m not in the stack'):
        dataset(split_of(tmp_path, stack, [0.0, off]), [0.0, 0.4])[0]
    assert same_height(0.4, 0.4 + HEIGHT_TOL / 2) and not same_height(0.4, off)
    assert height_index([0.0, off], 0.4) is None and height_index([0.0, 0.4 + HEIGHT_TOL / 2], 0.4) == 1


def test_plane_names_and_duplicates_have_one_rule(tmp_path):
    assert height_from_name('000009_07.png', 0.1) == 0.7 and height_from_name('x_fp-0.5.png') == 0.5
    assert height_from_name('gt.png') is None and height_from_name('plane.png') is None
    folder = plane_folder(tmp_path / 'dup', ['000.png', '040.png', '0040.png'])
    for load in (load_input, domain_stats.load_real_samples):
        with pytest.raises(UserError, match='0040.png and 040.png both have height 0.4 m'):
            load(str(folder))
    with pytest.raises(UserError, match='a.png and b.png both have height 1 m'):
        check_distinct_heights('f', ['a.png', 'b.png'], [1.0, 1.0 + HEIGHT_TOL / 2])


def test_a_raw_sample_integrates_to_the_stack_training_stores(tmp_path):
    raw, heights = tmp_path / 'raw', [0.0, 0.4, 0.8, 1.2, 1.6, 2.0]
    simulate(str(raw), 1, seed=4, size=SIZE, workers=1, progress=False)
    convert(str(raw), str(tmp_path / 'out'), heights, val=0, test=0, progress=False, montages=0)
    [path] = (tmp_path / 'out' / 'train' / 'stacks').iterdir()
    stored, meta = read_focal_stack(str(path))
    [sample] = load_input(str(raw), integrate_at=heights)
    [sim] = domain_stats.load_sim_samples(str(raw))
    assert np.array_equal(sample.stack, stored) and sample.heights == meta['heights'] == list(domain_stats.PLANES)
    assert all(np.array_equal(sim['planes'][h], page) for h, page in zip(heights, stored))
    assert is_own_stack(meta) and load_input(str(path))[0].camera is not None


def test_a_foreign_tiff_is_not_our_stack(tmp_path):
    path = str(tmp_path / 'other.tiff')
    tifffile.imwrite(path, np.zeros((2, SIZE, SIZE), np.uint8))
    _, meta = read_focal_stack(path)
    assert not is_own_stack(meta)
    sample = load_input(path, heights=[0.0, 0.4])[0]
    assert sample.person is None and sample.camera is None  # unknown, not "no person"


def test_every_caller_locates_the_gt_person_with_the_same_function(tmp_path):
    assert aos_restore_run.locate_person is handlers.locate_person is gt_person.locate_person
    assert aos_restore_run.person_mask is gt_person.person_mask is domain_stats.person_mask
    gt = np.full((64, 64), 60, np.uint8)
    gt[20:30, 40:46] = 240  # one person
    gt[5, 5] = 255  # and one hot pixel: the blob ignores it (3x3 box), the mask keeps it
    row, col = gt_person.locate_person(gt)
    assert (row, col) == pytest.approx((24.5, 42.5))
    mask = gt_person.person_mask(gt)
    assert mask.sum() == 61 and gt_person.centroid(mask) == pytest.approx((24.5 - 19.5 / 61, 42.5 - 37.5 / 61))
    [sample] = load_input(str(plane_folder(tmp_path / 'p', ['000.png'])))
    assert handlers.person_of(sample, gt) == (row, col)  # the demo places the window where the report does
    # the loss's torch mask is the same mask
    batch = torch.from_numpy(gt[None, None] / 255.0)
    assert np.array_equal(gt_person.person_mask_torch(batch)[0, 0].numpy().astype(bool), mask)
    flat = np.full((64, 64), 60, np.uint8)
    assert gt_person.locate_person(flat) is None and gt_person.person_mask(flat) is None
