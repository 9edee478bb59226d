"""The ``Parameters.txt`` of a raw AOS sample: :class:`AOSParameters`, :func:`parse_parameters` and
:func:`format_parameters` (``parse_parameters(format_parameters(p)) == p``); the sample's other files are read and
written by :mod:`basicsr_ext.aos.raw`.

The file (course README, example for ``0_1372_Parameters.txt``; blank lines separate the groups)::

    img_GT (0, 0, 35, 0.0, 1.57, 0)

    img_1 (0, -5, 35, 0.0, 1.57, 0)
    ...
    img_11 (0, 5, 35, 0.0, 1.57, 0)

    numbers of tree per ha=  100

    person shape =  laying
    person pose (x,y,z,rot x, rot y, rot z) =  4 -6 0 0 0 -0.0174533
    person rotation (z) in radian =  6.265732014659643
    person rotation (z) in degree =  359.0

    ambient light =  0.6497614048239921

    azimuth angle of sun light in degrees =  23.0
    compass direction of sunlight in degrees =  224.0

    ground surface temperature in kelvin =  286
    tree top temperature in kelvin =  306

A sample without a person says ``no person`` as its person shape or its person pose and has no other person lines.
"""

import re
from dataclasses import dataclass, field
from typing import Optional, Tuple

import numpy as np

from basicsr_ext.utils.errors import UserError

PERSON_SHAPES = ('idle', 'sitting', 'laying')
NO_PERSON = 'no person'
NUM_VIEWS = 11


@dataclass
class AOSParameters:
    """The contents of one ``Parameters.txt``.

    Numbers keep the type they were written with (``286`` -> int, ``23.0`` -> float), so formatting parsed
    parameters reproduces the file's values exactly.

    Attributes:
        poses (dict[str, tuple]): ``img_GT``, ``img_1`` ... ``img_11`` -> (x, y, z, rot_x, rot_y, rot_z).
        trees_per_ha (int): Forest density.
        person_shape (str | None): 'idle' (standing), 'sitting', 'laying', or None when there is no person.
        person_pose (tuple | None): (x, y, z, rot_x, rot_y, rot_z), metres and radians; None without a person.
        person_rotation_rad (float | None), person_rotation_deg (float | None): rotation about z.
        ambient_light (float), sun_azimuth_deg (float), sun_compass_deg (float), ground_temperature_k (float),
        tree_top_temperature_k (float): scene settings.
        extra (dict[str, str]): lines the parser did not recognise, kept verbatim.
    """

    poses: dict
    trees_per_ha: int
    person_shape: Optional[str]
    person_pose: Optional[Tuple[float, ...]]
    person_rotation_rad: Optional[float]
    person_rotation_deg: Optional[float]
    ambient_light: float
    sun_azimuth_deg: float
    sun_compass_deg: float
    ground_temperature_k: float
    tree_top_temperature_k: float
    extra: dict = field(default_factory=dict)

    @property
    def has_person(self):
        return self.person_shape is not None


# Field -> key exactly as the simulator writes it, separator included ('numbers of tree per ha=' has no space).
_KEYS = {
    'trees_per_ha': 'numbers of tree per ha=',
    'person_shape': 'person shape =',
    'person_pose': 'person pose (x,y,z,rot x, rot y, rot z) =',
    'person_rotation_rad': 'person rotation (z) in radian =',
    'person_rotation_deg': 'person rotation (z) in degree =',
    'ambient_light': 'ambient light =',
    'sun_azimuth_deg': 'azimuth angle of sun light in degrees =',
    'sun_compass_deg': 'compass direction of sunlight in degrees =',
    'ground_temperature_k': 'ground surface temperature in kelvin =',
    'tree_top_temperature_k': 'tree top temperature in kelvin =',
}
_SCENE_FIELDS = (
    'ambient_light',
    'sun_azimuth_deg',
    'sun_compass_deg',
    'ground_temperature_k',
    'tree_top_temperature_k',
)
_PERSON_FIELDS = ('person_shape', 'person_pose', 'person_rotation_rad', 'person_rotation_deg')
# After the person block, written group by group with a blank line between, as in the course README's example file.
_SCENE_GROUPS = (
    ('ambient_light',),
    ('sun_azimuth_deg', 'sun_compass_deg'),
    ('ground_temperature_k', 'tree_top_temperature_k'),
)


def _norm_key(key):
    """Matching form of a key: no parenthesised part, no '=', lower case, single spaces."""
    return ' '.join(re.sub(r'\([^)]*\)', ' ', key).replace('=', ' ').lower().split())


_FIELD_BY_KEY = {_norm_key(key): name for name, key in _KEYS.items()}
_IMG_RE = re.compile(r'^img_(gt|\d+)\b\s*(.*)$', re.IGNORECASE)
# The course README annotates its example with '--> explanation'; accepting that lets the README text be parsed too.
_COMMENT_RE = re.compile(r'\s*-->.*$')
# Plain decimal numbers only: float() would also take 'nan', 'inf' and '1_000', none of which a simulator writes.
_NUMBER_RE = re.compile(r'^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$')
_INT_RE = re.compile(r'^[+-]?\d+$')


def _number(token):
    """``token`` as int if written as one, else float; None if it is not a plain number."""
    if _INT_RE.match(token):
        return int(token)
    if _NUMBER_RE.match(token):
        return float(token)
    return None


def _numbers(text, count):
    """``count`` numbers separated by spaces and/or commas, as a tuple; None if ``text`` is anything else."""
    tokens = [t for t in re.split(r'[\s,]+', text.strip()) if t]
    values = [_number(t) for t in tokens]
    if len(values) != count or any(v is None for v in values):
        return None
    return tuple(values)


def _is_no_person(value):
    return ' '.join(value.lower().split()) == NO_PERSON


def _error(source, line, what):
    return UserError(f'{source}, line {line}: {what}')


def _convert(name, value, source, line):
    """The value of field ``name`` read from ``value`` (the text after '='); UserError if it cannot be read."""
    label = _norm_key(_KEYS[name])
    if name == 'person_shape':
        shape = ' '.join(value.lower().split())
        if shape == NO_PERSON or shape in PERSON_SHAPES:
            return shape
        expected = ', '.join(PERSON_SHAPES) + f" or '{NO_PERSON}'"
        raise _error(source, line, f'{label}: expected one of {expected}, got {value!r}')
    if name == 'person_pose':
        if _is_no_person(value):
            return NO_PERSON
        pose = _numbers(value, 6)
        if pose is None:
            raise _error(source, line, f"{label}: expected 6 numbers or '{NO_PERSON}', got {value!r}")
        return pose
    number = _number(value)
    if name == 'trees_per_ha':
        # Written as an int; an integral float ('100.0') means the same density, anything else is not a count.
        if number is None or number != int(number) or number < 0:
            raise _error(source, line, f'{label}: expected a whole number >= 0, got {value!r}')
        return int(number)
    if number is None:
        raise _error(source, line, f'{label}: expected a number, got {value!r}')
    return number


def parse_parameters(text, source='Parameters.txt'):
    """Parse the text of a ``Parameters.txt``.

    Blank lines, extra spaces and tabs, CRLF line ends, ``=`` with or without spaces around it and the course
    README's ``--> comment`` annotations are accepted; lines that are not known keys are kept in ``extra``.

    Args:
        text (str): The file's contents.
        source (str): Name used in error messages (normally the file's path). Default: 'Parameters.txt'.

    Returns:
        AOSParameters: The parsed parameters.

    Raises:
        UserError: A value cannot be read, a line appears twice, a required line is missing, or the person lines
            contradict each other; the message names ``source``, the line and what was expected.
    """
    if text.startswith('\ufeff'):  # a byte-order mark from editors on Windows
        text = text[1:]
    values, where, poses, pose_where, extra, extra_where = {}, {}, {}, {}, {}, {}
    num_lines = 0
    for num, raw in enumerate(text.splitlines(), 1):
        num_lines = num
        line = _COMMENT_RE.sub('', raw).strip()
        if not line:
            continue
        img = _IMG_RE.match(line)
        if img:
            name = 'img_GT' if img.group(1).lower() == 'gt' else f'img_{int(img.group(1))}'
            if name in pose_where:
                raise _error(source, num, f'{name}: appears twice (first on line {pose_where[name]})')
            inner = img.group(2)
            pose = _numbers(inner[1:-1], 6) if inner.startswith('(') and inner.endswith(')') else None
            if pose is None:
                raise _error(source, num, f'{name}: expected 6 numbers in parentheses, got {inner!r}')
            poses[name], pose_where[name] = pose, num
            continue
        key, sep, value = line.partition('=')
        name = _FIELD_BY_KEY.get(_norm_key(key)) if sep else None
        if name is None:
            key, value = key.strip(), value.strip()
            if key in extra_where:
                raise _error(source, num, f'{key!r}: appears twice (first on line {extra_where[key]})')
            extra[key], extra_where[key] = value, num
            continue
        if name in where:
            raise _error(source, num, f'{_norm_key(key)}: appears twice (first on line {where[name]})')
        values[name], where[name] = _convert(name, value.strip(), source, num), num

    def missing(name, expected):
        return UserError(f"{source}: missing line '{_KEYS[name]}  <{expected}>' ({num_lines} lines in the file)")

    absent = [name for name in ['img_GT'] + [f'img_{i}' for i in range(1, NUM_VIEWS + 1)] if name not in poses]
    if absent:
        raise UserError(
            f"{source}: missing line(s) {', '.join(absent)} (expected e.g. 'img_1 (0, -5, 35, 0.0, 1.57, 0)'; "
            f'{num_lines} lines in the file)'
        )
    if 'trees_per_ha' not in values:
        raise missing('trees_per_ha', 'whole number')
    person = _parse_person(values, where, source, missing)
    for name in _SCENE_FIELDS:
        if name not in values:
            raise missing(name, 'number')
    scene = {name: values[name] for name in _SCENE_FIELDS}
    return AOSParameters(poses=poses, trees_per_ha=values['trees_per_ha'], **person, **scene, extra=extra)


def _parse_person(values, where, source, missing):
    """The four person fields from the parsed lines, checking that they agree with each other."""
    shape, pose = values.get('person_shape'), values.get('person_pose')
    if shape is None and pose is None:
        raise missing('person_shape', f'{" | ".join(PERSON_SHAPES)} | {NO_PERSON}')
    if NO_PERSON in (shape, pose):
        said = 'person_shape' if shape == NO_PERSON else 'person_pose'
        for name in _PERSON_FIELDS:
            if name in values and values[name] != NO_PERSON:
                raise _error(
                    source,
                    where[name],
                    f'{_norm_key(_KEYS[name])}: not expected in a sample without a person (line {where[said]} says '
                    f"'{NO_PERSON}')",
                )
        return dict(person_shape=None, person_pose=None, person_rotation_rad=None, person_rotation_deg=None)
    for name, expected in zip(_PERSON_FIELDS, ('idle | sitting | laying', '6 numbers', 'number', 'number')):
        if name not in values:
            raise missing(name, expected)
    return {name: values[name] for name in _PERSON_FIELDS}


def _format_number(value):
    """``value`` as the simulator writes it: ints plainly, floats at repr precision so that they parse back equal."""
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f'expected a number, got {value!r}')
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    number = float(value)  # plain float: repr of a numpy float reads 'np.float64(...)' on numpy >= 2
    if not np.isfinite(number):
        raise ValueError(f'expected a finite number, got {value!r}')
    return repr(number)


def _pose_sort_key(name):
    return (-1, name) if name == 'img_GT' else (int(name.split('_')[1]), name)


def format_parameters(params):
    """The text of the ``Parameters.txt`` for ``params``, in the simulator's layout.

    ``parse_parameters(format_parameters(p)) == p`` for every valid ``p``; lines in ``extra`` follow at the end.

    Args:
        params (AOSParameters): What to write.

    Returns:
        str: The file's contents, ending with a newline.

    Raises:
        ValueError: A pose does not have 6 values, a number is not finite, or the person fields are inconsistent.
    """

    def numbers(values, sep):
        values = tuple(values)
        if len(values) != 6:
            raise ValueError(f'expected 6 pose values, got {values!r}')
        return sep.join(_format_number(v) for v in values)

    poses = sorted(params.poses, key=_pose_sort_key)
    groups = [
        [f'img_GT ({numbers(params.poses["img_GT"], ", ")})'] if 'img_GT' in params.poses else [],
        [f'{name} ({numbers(params.poses[name], ", ")})' for name in poses if name != 'img_GT'],
        [f'{_KEYS["trees_per_ha"]}  {_format_number(params.trees_per_ha)}'],
    ]
    if params.person_shape is None:
        if params.person_pose is not None:
            raise ValueError('person_pose is set but person_shape is None (no person)')
        # the course README's layout (AOS_README.txt: the shape line says 'no person', the pose lines are absent);
        # the parser also reads AOS_FORMAT.md's inferred 'person pose =  no person'
        person = [f'person shape =  {NO_PERSON}']
    else:
        if params.person_shape not in PERSON_SHAPES:
            raise ValueError(f'person_shape must be one of {PERSON_SHAPES} or None, got {params.person_shape!r}')
        if params.person_pose is None or params.person_rotation_rad is None or params.person_rotation_deg is None:
            raise ValueError('a person needs person_pose, person_rotation_rad and person_rotation_deg')
        person = [
            f'{_KEYS["person_shape"]}  {params.person_shape}',
            f'{_KEYS["person_pose"]}  {numbers(params.person_pose, " ")}',
            f'{_KEYS["person_rotation_rad"]}  {_format_number(params.person_rotation_rad)}',
            f'{_KEYS["person_rotation_deg"]}  {_format_number(params.person_rotation_deg)}',
        ]
    groups.append(person)
    for group in _SCENE_GROUPS:
        groups.append([f'{_KEYS[name]}  {_format_number(getattr(params, name))}' for name in group])
    # An extra line read without '=' has the value ''; writing it back bare keeps it that way.
    groups.append([f'{key} =  {value}' if value != '' else str(key) for key, value in params.extra.items()])
    return '\n\n'.join('\n'.join(group) for group in groups if group) + '\n'
