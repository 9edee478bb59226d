"""Montage of one AOS sample: three views, integrals at up to three heights, and the GT with the person marked."""

from basicsr_ext.aos.position import PersonWindow
from basicsr_ext.utils.montage import draw_box, make_montage, to_bgr_uint8


def sample_montage(views, stack, heights, gt, person=None, mapping='geometric'):
    """BGR montage: views 0, centre, last | integrals (first, middle, last height) | GT with the person box."""
    size = gt.shape[-1]
    centre = len(views) // 2
    tiles = [views[0], views[centre], views[-1]]
    labels = ['view 0', f'view {centre} (centre)', f'view {len(views) - 1}']
    picks = sorted({0, len(heights) // 2, len(heights) - 1})
    tiles += [stack[i] for i in picks]
    labels += [f'integral {heights[i]:g} m' for i in picks]
    gt_img = to_bgr_uint8(gt)
    if person is not None:  # a PersonPosition
        draw_box(gt_img, person.pixels(size, mapping), PersonWindow().side(size), (0, 0, 255), 2)
        labels.append(f'GT, person at x={person.x:g} y={person.y:g} m')
    else:
        labels.append('GT, no person')
    tiles.append(gt_img)
    return make_montage(tiles, labels, cols=4)
