"""The package's rooms and the one direction imports run in (README, "Pipeline overview").

A room may import the rooms below it and its own modules, never a room above it or beside it: a change to
the review page cannot break reading, and a newcomer can tell from a module's room what it may depend on.
Imports inside functions count too (they are how heavy modules are deferred, not a way round the order).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "pipeline"

#: Rooms from the bottom up; rooms on one level do not import each other.
LEVELS: tuple[tuple[str, ...], ...] = (
    ("common",),
    ("ballot",),
    ("counting", "printing"),
    ("reading",),
    ("forms", "simulation"),
    ("store",),
    ("scanning", "review"),
    ("cli",),
)
LEVEL = {room: level for level, rooms in enumerate(LEVELS) for room in rooms}


def room_of(module: str) -> str | None:
    """The room of a dotted module name inside the package, or None for the package's own top."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "pipeline" and (PACKAGE / parts[1]).is_dir() else None


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of the package in ``path``, at any depth."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] if node.module != "pipeline" else [f"pipeline.{a.name}" for a in node.names]
            found += [(node.lineno, name) for name in names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return [(line, name) for line, name in found if name.startswith("pipeline.")]


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_room_has_a_level() -> None:
    rooms = {path.relative_to(PACKAGE).parts[0] for path in modules() if path.parent != PACKAGE}
    assert rooms == set(LEVEL), "a room was added or removed: give it its place in LEVELS and the README"
    assert not [path.name for path in PACKAGE.glob("*.py") if path.name != "__init__.py"], "modules live in rooms"


@pytest.mark.parametrize("path", modules(), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_imports_run_one_way(path: Path) -> None:
    here = path.relative_to(PACKAGE).parts[0] if path.parent != PACKAGE else None
    if here is None:
        return
    wrong = []
    for line, name in imports(path):
        there = room_of(name)
        if there is None or there == here:
            continue
        if LEVEL[there] >= LEVEL[here]:
            wrong.append(f"line {line}: {here} (level {LEVEL[here]}) imports {name} (level {LEVEL[there]})")
    assert not wrong, "\n".join(wrong)
