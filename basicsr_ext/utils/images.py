"""Image files: the extensions that folders of images are scanned for, and reading one image so that a damaged file
is refused with its name instead of half-decoded.

OpenCV decodes a truncated JPEG without complaint (the missing rows come out grey) and reports a damaged PNG only
through libpng's own line on the C stderr. :func:`image_damage` checks the structure of PNG and JPEG files first:
every PNG chunk present with a matching CRC up to ``IEND``, and a JPEG's end-of-image marker after its first scan.
"""

import os
import struct
import zlib

# lower case; compare with ``name.lower().endswith(IMG_EXTENSIONS)``
IMG_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')

PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
JPEG_SOI = b'\xff\xd8'
_JPEG_STANDALONE = {0x01, *range(0xD0, 0xD9)}  # TEM, RST0-7, SOI: markers without a length


def _png_damage(data):
    pos = len(PNG_SIGNATURE)
    while pos + 12 <= len(data):
        (length,) = struct.unpack('>I', data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            return f'truncated PNG: chunk {kind.decode("latin-1")!r} ends after the file'
        (crc,) = struct.unpack('>I', data[end - 4 : end])
        if zlib.crc32(data[pos + 4 : end - 4]) != crc:
            return f'damaged PNG: CRC error in chunk {kind.decode("latin-1")!r}'
        if kind == b'IEND':
            return None
        pos = end
    return 'truncated PNG: the file ends before its IEND chunk'


def _jpeg_damage(data):
    pos = len(JPEG_SOI)
    while pos < len(data):
        if data[pos] != 0xFF:
            return None  # not the layout this check knows: OpenCV decides
        while pos < len(data) and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= len(data):
            break
        marker = data[pos]
        pos += 1
        if marker in _JPEG_STANDALONE:
            continue
        if marker == 0xD9:
            return 'damaged JPEG: no image data before its end-of-image marker'
        if pos + 2 > len(data):
            break
        (length,) = struct.unpack('>H', data[pos : pos + 2])
        if marker == 0xDA:  # start of scan: entropy-coded data follows, then EOI (0xFF 0xD9 occurs only as a marker)
            if data.find(b'\xff\xd9', pos + length) < 0:
                return 'truncated JPEG: no end-of-image marker after the image data'
            return None
        pos += length
    return 'truncated JPEG: the file ends before its image data'


def image_damage(data):
    """Why the bytes of an image file cannot be trusted, or None: empty, or a PNG / JPEG cut short or damaged.
    Other formats (and PNG / JPEG layouts this check does not know) return None and are left to the decoder."""
    if len(data) == 0:
        return 'empty file, 0 bytes'
    data = bytes(data)
    if data.startswith(PNG_SIGNATURE):
        return _png_damage(data)
    if data.startswith(JPEG_SOI + b'\xff'):
        return _jpeg_damage(data)
    return None


# signatures of the other formats of IMG_EXTENSIONS (PNG and JPEG are checked by image_damage)
_OTHER_SIGNATURES = (b'BM', b'II*\x00', b'MM\x00*', b'II+\x00', b'MM\x00+')
_PNG_IEND = b'\x00\x00\x00\x00IEND\xaeB`\x82'


def _known_format(head):
    return head.startswith((PNG_SIGNATURE, JPEG_SOI + b'\xff', *_OTHER_SIGNATURES)) or (
        head[:4] == b'RIFF' and head[8:12] == b'WEBP'
    )


def check_image_file(path, what='image', quick=False):
    """Check an image file without decoding it: one of the formats of :data:`IMG_EXTENSIONS` by its first bytes, and
    for PNG / JPEG :func:`image_damage`. ``quick``: a PNG ending in its IEND chunk or a JPEG ending in its end-of-image
    marker is taken as complete without reading the rest (for listing large folders). Returns the bytes read (all of
    them unless quick). UserError ``'<path>: cannot read the <what> (<reason>)'`` otherwise."""
    from basicsr_ext.utils.errors import UserError

    if not os.path.isfile(path):
        raise UserError(f'{path}: {what} not found')
    try:
        with open(path, 'rb') as f:
            if quick:
                head = f.read(16)
                f.seek(max(0, os.fstat(f.fileno()).st_size - 16))
                tail = f.read()
                if (head.startswith(PNG_SIGNATURE) and tail.endswith(_PNG_IEND)) or (
                    head.startswith(JPEG_SOI) and tail.rstrip(b'\x00').endswith(b'\xff\xd9')
                ):
                    return head
                f.seek(0)
            data = f.read()
    except OSError as err:
        raise UserError(f'{path}: cannot read the {what} ({err.strerror or err})') from None
    reason = image_damage(data)
    if reason is None and not _known_format(data[:16]):
        reason = f'not an image file: it starts with {bytes(data[:8])!r}'
    if reason:
        raise UserError(f'{path}: cannot read the {what} ({reason})')
    return data


def read_image(path, flags=None, what='image'):
    """An image file as OpenCV reads it (``flags``: default ``cv2.IMREAD_UNCHANGED``), checked first with
    :func:`image_damage`; UserError ``'<path>: cannot read the <what> (<reason>)'`` when it is missing, empty,
    damaged or not an image."""
    import cv2
    import numpy as np

    from basicsr_ext.utils.errors import UserError

    if not os.path.isfile(path):
        raise UserError(f'{path}: {what} not found')
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as err:
        raise UserError(f'{path}: cannot read the {what} ({err.strerror or err})') from None
    reason = image_damage(data)
    img = None if reason else cv2.imdecode(data, cv2.IMREAD_UNCHANGED if flags is None else flags)
    if img is None:
        raise UserError(f'{path}: cannot read the {what} ({reason or "not an image, or damaged"})')
    if flags is None:  # IMREAD_UNCHANGED keeps depth and alpha but ignores the EXIF orientation: apply it here
        img = apply_orientation(img, exif_orientation(data))
    return img


EXIF_ORIENTATION = 0x0112


def exif_orientation(data):
    """The EXIF orientation (1-8) of an encoded image, 1 when it has none or it cannot be read."""
    import io

    try:
        from PIL import Image

        with Image.open(io.BytesIO(data.tobytes() if hasattr(data, 'tobytes') else data)) as im:
            value = int(im.getexif().get(EXIF_ORIENTATION, 1))
    except Exception:  # no EXIF reader for it: as OpenCV with IMREAD_UNCHANGED, no orientation
        return 1
    return value if 1 <= value <= 8 else 1


def apply_orientation(img, orientation):
    """``img`` (H, W[, C]) turned upright for an EXIF ``orientation`` (as PIL's ``ImageOps.exif_transpose``)."""
    import numpy as np

    turn = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.swapaxes(0, 1),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],
        8: lambda a: np.rot90(a, 1),
    }.get(orientation)
    return img if turn is None else np.ascontiguousarray(turn(img))
