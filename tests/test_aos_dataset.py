"""AOSFocalStackDataset on stacks written by the focal-stack writer: positions, augmentation, LMDB, errors."""

import gc
import shutil

import lmdb
import numpy as np
import pytest
import torch

from basicsr_ext.aos.focal_stack import gt_name, stack_name, write_focal_stack, write_gt
from basicsr_ext.aos.geometry import CameraModel
from basicsr_ext.aos.lmdb_store import create_split_lmdb
from basicsr_ext.data.aos_focal_stack_dataset import AOSFocalStackDataset
from basicsr_ext.utils.dihedral import apply, apply_numpy, transform_point
from basicsr_ext.utils.errors import UserError

SIZE = 64
HEIGHTS = [0.0, 0.5, 1.0]


def make_split(root, persons):
    """A split folder with one stack per entry of ``persons`` ((x, y) metres or None); the GT has a single bright
    pixel at the person's geometric position and plane p of the stack is filled with p."""
    cam = CameraModel(size=SIZE)
    names = []
    for sim, person in enumerate(persons):
        gt = np.full((SIZE, SIZE), 10, np.uint8)
        if person is not None:
            r, c = (int(round(float(v))) for v in cam.metres_to_pixels(*person))
            gt[r, c] = 255
        stack = np.stack([np.full((SIZE, SIZE), 50 * (p + 1), np.uint8) for p in range(len(HEIGHTS))])
        stack[:, :, :3] = sim  # make stacks distinguishable
        meta_person = None if person is None else {'x': person[0], 'y': person[1], 'shape': 'laying'}
        name = stack_name(0, sim, person)
        write_focal_stack(str(root / 'stacks' / name), stack, HEIGHTS, person=meta_person, source='test')
        write_gt(str(root / 'gt' / gt_name(0, sim)), gt)
        names.append(name)
    (root / 'meta_info.txt').write_text(''.join(f'{n}\n' for n in names))
    return root


def dataset(root, backend='disk', **opt):
    base = {'phase': 'val', 'io_backend': {'type': backend}}
    if backend == 'disk':
        base.update(dataroot_lq=str(root / 'stacks'), dataroot_gt=str(root / 'gt'))
    else:
        base.update(dataroot_lq=str(root / 'stacks.lmdb'), dataroot_gt=str(root / 'gt.lmdb'))
    base.update(opt)
    return AOSFocalStackDataset(base)


@pytest.mark.parametrize('k', range(4))
@pytest.mark.parametrize('flip', [False, True])
def test_dihedral_point_follows_the_content(k, flip):
    img = np.zeros((1, 9, 9), np.uint8)
    img[0, 2, 7] = 1
    out = apply_numpy(img, k, flip)
    assert np.unravel_index(out.argmax(), out.shape)[1:] == transform_point(2, 7, 9, k, flip)
    assert np.array_equal(apply(torch.from_numpy(img), k, flip).numpy(), out)  # one convention for both


def test_position_and_planes_from_the_stack(tmp_path):
    ds = dataset(make_split(tmp_path, [(3, -2), None]), heights=[1.0, 0.0])
    item = ds[0]
    assert item['lq'].shape == (2, SIZE, SIZE) and item['gt'].shape == (1, SIZE, SIZE)
    assert item['lq'][0, 10, 10] == pytest.approx(150 / 255) and item['lq'][1, 10, 10] == pytest.approx(50 / 255)
    r, c = item['pos'].round().long().tolist()
    assert item['has_person'] and item['gt'][0, r, c] == 1.0
    assert item['pos'].tolist() == pytest.approx([float(v) for v in CameraModel(size=SIZE).metres_to_pixels(3, -2)])
    empty = ds[1]
    assert not empty['has_person'] and empty['pos'].tolist() == [SIZE / 2, SIZE / 2]
    report = dataset(tmp_path, position_mapping='course_report')[0]
    assert report['pos'].tolist() == [np.floor(32 * (1 - 3 / 16)), np.floor(32 * (1 + 2 / 16))]
    old_name = dataset(tmp_path, position_mapping='seed')  # the old name still works (with a warning)
    assert old_name.mapping == 'course_report' and old_name[0]['pos'].tolist() == report['pos'].tolist()


def test_augmentation_and_person_crops_keep_the_position_on_the_person(tmp_path):
    ds = dataset(
        make_split(tmp_path, [(4, 5), (-6, -3)]),
        phase='train',
        use_hflip=True,
        use_rot=True,
        gt_size=32,
        person_crop_prob=1.0,
    )
    seen = set()
    for i in range(40):
        item = ds[i % 2]
        r, c = item['pos'].round().long().tolist()
        assert item['gt'].shape == (1, 32, 32) and item['has_person']
        assert item['gt'][0, r, c] == 1.0, 'the bright GT pixel moves with the position'
        seen.add((i % 2, r, c))
    assert len(seen) > 4  # crops and transforms actually vary


def test_lmdb_round_trip_matches_disk(tmp_path):
    split = make_split(tmp_path / 'train', [(1, 1), None, (-2, 7)])
    assert create_split_lmdb(str(split), str(split)) == 3
    disk, db = dataset(split), dataset(split, backend='lmdb')
    assert len(disk) == len(db) == 3
    for i in range(3):
        a, b = disk[i], db[i]
        for key in ('lq', 'gt', 'pos', 'has_person'):
            assert np.array_equal(a[key].numpy(), b[key].numpy()), key
    meta = (split / 'stacks.lmdb' / 'meta_info.txt').read_text().splitlines()
    assert meta[0] == '0_0 0_0_1_1_integral.tiff (3,64,64) uint8 pos=1,1 shape=laying heights=0,0.5,1'
    with pytest.raises(UserError, match='already exists'):
        create_split_lmdb(str(split), str(split))


def test_errors_name_the_sample(tmp_path):
    from basicsr_ext.utils.option_check import validate_options

    split = make_split(tmp_path / 's', [(1, 1)])
    with pytest.raises(
        UserError, match=r'0_0_1_1_integral\.tiff: focal height 2 m not in the stack \(it has 0, 0\.5, 1'
    ):
        dataset(split, heights=[2.0])[0]
    write_gt(str(split / 'gt' / gt_name(0, 0)), np.zeros((32, 32), np.uint8))
    with pytest.raises(UserError, match=r'0_0: stack is \(64, 64\) but GT is \(32, 32\)'):
        dataset(split)[0]
    (split / 'stacks' / '0_0_1_1_integral.tiff').write_bytes(b'II*\x00garbage')
    with pytest.raises(UserError, match='cannot read focal stack'):
        dataset(split)[0]
    with pytest.raises(UserError, match='not a focal-stack file name'):
        (split / 'meta_info.txt').write_text('weird.tiff\n')
        dataset(split)
    entry = {'type': 'AOSFocalStackDataset', 'name': 'v', 'person_crop_prob': 'high'}  # checked with the options
    opt = {'name': 'x', 'model_type': 'AOSRestorationModel', 'network_g': {'type': 'SRCNN'}, 'datasets': {'val': entry}}
    with pytest.raises(
        UserError, match=r"^x.yml: datasets\.val\.person_crop_prob: expected a number in \[0, 1\], got 'high'"
    ):
        validate_options(opt, 'x.yml', is_train=False)
    with pytest.raises(UserError, match='io_backend.type: expected disk or lmdb'):
        dataset(split, io_backend={'type': 'memcached'})


def test_missing_lmdb_key(tmp_path):
    split = make_split(tmp_path / 's', [(1, 1), (2, 2)])
    create_split_lmdb(str(split), str(split))
    env = lmdb.open(str(split / 'gt.lmdb'))
    with env.begin(write=True) as txn:
        txn.delete(b'0_1')
    env.close()
    ds = dataset(split, backend='lmdb')
    ds[0]
    with pytest.raises(UserError, match=r"gt\.lmdb: LMDB key '0_1' missing"):
        ds[1]


def test_lmdb_build_is_atomic(tmp_path):
    split = make_split(tmp_path / 's', [(1, 1), (2, 2)])
    (split / 'gt' / gt_name(0, 1)).unlink()
    with pytest.raises(UserError, match=r'meta_info\.txt lists 0_1_2_2_integral\.tiff, but .*0_1_GT\.png is missing'):
        create_split_lmdb(str(split), str(tmp_path / 'out'))
    assert not (tmp_path / 'out').exists() or list((tmp_path / 'out').iterdir()) == []
    shutil.rmtree(split)


def test_heights_must_match_the_input_channels_when_options_are_resolved(tmp_path):
    from basicsr_ext.utils.option_check import validate_options
    from basicsr_ext.utils.yaml_io import load_yaml

    for opt_file, key, channels in (
        ('options/train_aos.yml', 'num_in_ch', 3),
        ('options/train_aos_groundfill.yml', 'num_in_ch', 1),
        ('options/train_aos_swin2sr128.yml', 'in_chans', 1),
    ):
        opt = load_yaml(opt_file)
        validate_options(opt, opt_file)  # the shipped files agree
        opt['datasets']['val']['heights'] = [0.0, 0.5]
        with pytest.raises(UserError) as info:
            validate_options(opt, opt_file)
        assert str(info.value) == (
            f'{opt_file}: datasets.val.heights: 2 focal planes (0, 0.5 m), but network_g.{key} is {channels}: '
            'one input channel per plane'
        )
    opt = load_yaml('options/train_aos_swin2sr128.yml')
    del opt['network_g']['in_chans']  # the arch's default (3) counts too
    opt['datasets']['train']['heights'] = [0.0]
    with pytest.raises(
        UserError, match=r'datasets\.train\.heights: 1 focal planes \(0 m\), but network_g\.in_chans is 3'
    ):
        validate_options(opt, 'x.yml')


def test_unit_float_conversion_is_numpys_to_the_bit():
    import numpy as np

    from basicsr_ext.data.aos_focal_stack_dataset import to_unit_float

    values = np.arange(256, dtype=np.uint8).reshape(1, 16, 16)
    flipped = values[:, ::-1]  # a strided view, as the dihedral transforms give
    for array in (values, flipped):
        assert torch.equal(to_unit_float(array), torch.from_numpy(array.astype(np.float32) / 255.0))


def flip_one_byte_inside(db_folder, key):
    """Damage the value of ``key`` in place on disk, as a bad sector would: one byte in the middle of its bytes in
    data.mdb flipped (the value, not LMDB's pages, so the database still opens and the value still decodes)."""
    env = lmdb.open(str(db_folder), readonly=True, lock=False)
    with env.begin() as txn:
        value = bytes(txn.get(key.encode()))
    env.close()
    data = bytearray((db_folder / 'data.mdb').read_bytes())
    at = data.find(value)
    assert at >= 0 and data.find(value, at + 1) < 0
    data[at + len(value) // 2] ^= 0x40  # in the pixel data: the file still decodes
    (db_folder / 'data.mdb').write_bytes(bytes(data))


def read_closed(split, index):
    """Item ``index``'s stack from the split's LMDBs, which are closed again (one process opens a database once)."""
    ds = dataset(split, backend='lmdb')
    lq = ds[index]['lq']
    del ds
    gc.collect()
    return lq


def test_a_flipped_byte_inside_one_lmdb_value_is_named_on_its_first_read(tmp_path, capsys):
    from conftest import load_script

    split = make_split(tmp_path / 's', [(1, 1), (2, 2), None])
    create_split_lmdb(str(split), str(split))
    assert (split / 'stacks.lmdb' / 'digests.xxh128').read_text().splitlines()[0].endswith('  0_0')
    clean = read_closed(split, 1)
    flip_one_byte_inside(split / 'stacks.lmdb', '0_1')
    ds = dataset(split, backend='lmdb')
    ds[0], ds[2]  # the other values read as before
    with pytest.raises(UserError) as info:
        ds[1]
    assert str(info.value) == (
        f"{split}/stacks.lmdb: key '0_1': damaged value (its digest differs from digests.xxh128); rebuild the "
        'database with scripts/create_lmdb.py'
    )
    del ds, info
    gc.collect()  # closes its LMDBs: one process opens a database once
    # without its digests the damaged value decodes, and would be trained on: what the digest is for
    (split / 'stacks.lmdb' / 'digests.xxh128').rename(tmp_path / 'kept.xxh128')
    damaged = read_closed(split, 1)
    assert damaged.shape == clean.shape and not torch.equal(damaged, clean)
    (tmp_path / 'kept.xxh128').rename(split / 'stacks.lmdb' / 'digests.xxh128')
    # the whole database at once
    assert load_script('create_lmdb').main(['--verify', str(split)]) == 2
    out, err = capsys.readouterr()
    assert err == (
        f"create_lmdb: damaged: {split}/stacks.lmdb: key '0_1': damaged value (its digest differs from "
        'digests.xxh128); rebuild the database with scripts/create_lmdb.py\n'
    )
    assert out == f'{split}/gt.lmdb: 3 values, all match their digests\n{split}/stacks.lmdb: 3 values, 1 damaged\n'
    assert load_script('create_lmdb').main(['--verify', str(split / 'gt.lmdb')]) == 0
    assert load_script('create_lmdb').main(['--verify', str(tmp_path / 'nope')]) == 2
    assert capsys.readouterr().err.endswith(f'create_lmdb: error: --verify {tmp_path}/nope: not a folder\n')


def test_a_bad_digest_file_and_a_database_without_digests_are_one_line(tmp_path, capsys):
    from conftest import load_script

    split = make_split(tmp_path / 's', [(1, 1)])
    create_split_lmdb(str(split), str(split))
    digests = split / 'gt.lmdb' / 'digests.xxh128'
    digests.write_text('not-a-digest  0_0\n')
    with pytest.raises(
        UserError, match=r'digests\.xxh128: line 1: expected "<digest>  <key>", got \'not-a-digest  0_0\''
    ):
        dataset(split, backend='lmdb')[0]
    gc.collect()
    digests.unlink()
    assert load_script('create_lmdb').main(['--verify', str(split / 'gt.lmdb')]) == 2
    assert capsys.readouterr().err == (
        f'create_lmdb: error: {split}/gt.lmdb: no digests.xxh128 to verify against (not written by create_lmdb.py)\n'
    )
    assert dataset(split, backend='lmdb')[0]['lq'].shape[0] == 3  # read unchecked, as a database BasicSR made
