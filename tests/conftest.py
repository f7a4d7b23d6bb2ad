"""Shared fixtures: the shipped template, a fresh store per test, a CLI runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.store import Store, open_store
from pipeline.template import Template, load_template

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_FILE = ROOT / "templates" / "shuangping.yaml"


@pytest.fixture(scope="session")
def template() -> Template:
    return load_template(TEMPLATE_FILE)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "ballots.db"


@pytest.fixture
def store(db_path: Path) -> Store:
    opened = open_store(db_path)
    yield opened  # type: ignore[misc]
    opened.close()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()
