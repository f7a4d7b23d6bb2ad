"""Where the shipped defaults lie: the ballot template, the counting-rules presets and the reading settings.

In a checkout they are the repository's ``templates/`` folder, the one users see and edit. A wheel carries
that same folder as the package data ``pipeline/defaults`` (``pyproject.toml`` maps it there), so an installed
``ballot`` finds its defaults without a checkout. There is no second copy in the tree.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def defaults_dir() -> Path:
    """The folder of shipped defaults: ``pipeline/defaults`` when installed from a wheel, else the checkout's
    ``templates/``."""
    packaged = Path(str(resources.files("pipeline"))) / "defaults"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "templates"


def default_file(*parts: str) -> Path:
    """A shipped file, e.g. ``default_file("rules", "default.yaml")``."""
    return defaults_dir().joinpath(*parts)
