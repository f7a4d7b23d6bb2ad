"""The scorer on synthetic input: which faint regions count as ink, by regime; where the paper level lies."""

from __future__ import annotations

import cv2
import numpy as np

from pipeline.ballot.template import Template
from pipeline.reading.model import ballot_model
from pipeline.reading.score.geometry import geometry_of
from pipeline.reading.score.ink import GRAIN_STRONG_SHARE, MIN_STRONG_SHARE, ink_regions
from pipeline.reading.score.patch import enlarged
from pipeline.reading.score.result import INK_LEVEL, PAPER_PX_PER_MM, PATCH_PX_PER_MM

SIZE = 120
NOTHING_PRINTED = np.zeros((SIZE, SIZE), dtype=bool)


def inked(darkness: np.ndarray, strong_share: float) -> int:
    regions, _ = ink_regions(darkness.astype(np.float32), INK_LEVEL, NOTHING_PRINTED, strong_share, dotted=False)
    return int(np.count_nonzero(regions))


def cloud() -> np.ndarray:
    """A photo's blotchy grain: a 2.5 mm patch just under the ink level, a few pixels of it above."""
    darkness = np.zeros((SIZE, SIZE))
    length = round(2.5 * PATCH_PX_PER_MM)
    darkness[40 : 40 + length // 2, 30 : 30 + length] = 0.075
    darkness[45, 35:40] = INK_LEVEL + 0.02
    return darkness


def pencil() -> np.ndarray:
    """A light pencil stroke 3 mm long: most of its core reaches the ink level, its edges do not."""
    darkness = np.zeros((SIZE, SIZE))
    length = round(3 * PATCH_PX_PER_MM)
    darkness[60:63, 30 : 30 + length] = 0.075
    darkness[61, 30 : 30 + length] = INK_LEVEL + 0.03
    return darkness


def test_a_faint_cloud_is_a_stroke_only_on_a_quiet_scan() -> None:
    assert inked(cloud(), 0.0) > 0  # quiet office scan: a long faint region is a faint pencil stroke
    assert inked(cloud(), GRAIN_STRONG_SHARE) == 0  # a photo's grain
    assert inked(cloud(), MIN_STRONG_SHARE) == 0


def test_a_light_pencil_stroke_counts_in_every_regime() -> None:
    assert inked(pencil(), 0.0) > 0
    assert inked(pencil(), GRAIN_STRONG_SHARE) > 0
    assert inked(pencil(), MIN_STRONG_SHARE) > 0


def test_the_paper_level_is_enlarged_onto_the_patch_pixel_centres(template: Template) -> None:
    """The coarse paper level is enlarged to the box's patch by a plain resize, which is right only where
    the paper patch's reach puts the patch's pixel centres: it must agree with the general warp that maps
    patch pixel i to coarse pixel (patch origin − paper origin) × PAPER_PX_PER_MM + i × PAPER / PATCH."""
    rng = np.random.default_rng(3)
    for geometry in geometry_of(ballot_model(template)).values():
        side = geometry.paper_size
        paper = cv2.GaussianBlur(rng.uniform(150, 250, (side, side)).astype(np.float32), (0, 0), 2.0)
        offset = np.subtract(geometry.origin, geometry.paper_origin) * PAPER_PX_PER_MM
        step = PAPER_PX_PER_MM / PATCH_PX_PER_MM
        to_coarse = np.array([[step, 0.0, offset[0]], [0.0, step, offset[1]]])
        expected = cv2.warpAffine(
            paper, to_coarse, (geometry.size, geometry.size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        )
        assert float(np.abs(enlarged(paper, geometry) - expected).max()) < 0.05  # of grey levels 150–250
