"""Loose screenshot comparison: the layout stays put between runs, live numbers may change.

A screenshot is reduced to a small greyscale thumbnail and compared with the committed
reference (``reference/<name>.png``, kept 256 px wide so the repository stays small): the
aspect ratios must agree within 10 % and the thumbnails' mean difference stay under
:data:`TOLERANCE`. Text and values that change from run to run
move a few pixels of a 64-pixel-wide thumbnail; a moved card, a missing graph or another
theme moves many. ``HEATBALANCE_UPDATE_SCREENSHOTS=1`` writes new references.
"""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image, ImageChops, ImageStat

REFERENCE = Path(__file__).parent / "reference"
THUMB = (64, 40)
REFERENCE_WIDTH = 256
TOLERANCE = 8.0  # mean absolute difference of the thumbnails, out of 255 (same view, two runs: <1)


def difference(a: Path, b: Path) -> tuple[float, float]:
    """(relative aspect-ratio difference, mean thumbnail difference) of two screenshots."""
    with Image.open(a) as one, Image.open(b) as two:
        ratios = [im.height / im.width for im in (one, two)]
        height = abs(ratios[0] - ratios[1]) / max(ratios)
        small = [im.convert("L").resize(THUMB, Image.Resampling.BOX) for im in (one, two)]
    return height, float(ImageStat.Stat(ImageChops.difference(*small)).mean[0])


def compare_loosely(shot: Path, name: str) -> None:
    """Assert ``shot`` looks like the reference ``name`` (see the module docstring)."""
    reference = REFERENCE / f"{name}.png"
    if os.environ.get("HEATBALANCE_UPDATE_SCREENSHOTS") == "1":
        REFERENCE.mkdir(exist_ok=True)
        with Image.open(shot) as image:
            size = (REFERENCE_WIDTH, round(image.height * REFERENCE_WIDTH / image.width))
            image.convert("RGB").resize(size, Image.Resampling.BOX).save(reference, optimize=True)
        return
    assert reference.exists(), f"no reference screenshot {reference}; see {__name__}"
    height, mean = difference(shot, reference)
    assert height <= 0.10, f"{shot.name}: height differs by {height:.0%} from {reference.name}"
    assert mean <= TOLERANCE, f"{shot.name}: differs from {reference.name} by {mean:.1f}/255"
