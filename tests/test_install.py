"""The package as a user gets it: a wheel built from this checkout, installed into a fresh virtual environment,
runs the main job from an empty folder with the defaults it carries (template, reading settings, rules presets)
and serves the review page from its own files. Nothing of the checkout is on its path.

In a checkout the defaults are ``templates/`` itself (an editable install cannot import the folder mapped as
``pipeline.defaults``); that side is what every other test runs on, and is checked here too.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import shutil
import signal
import subprocess
import sys
import tomllib
import urllib.request
from pathlib import Path

import pytest

import pipeline
from pipeline.common.defaults import defaults_dir
from pipeline.counting.rules import describe, load_rules
from tests.conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]
#: The defaults shipped from templates/ (a clerk's own files there, such as a form's preview image, are not).
DEFAULTS_SUFFIXES = (".yaml", ".json")
STEP_TIMEOUT_S = 300


def files(folder: Path, suffixes: tuple[str, ...] | None = None) -> set[str]:
    """The files under ``folder`` (relative to it, compiled modules left out), or only those with ``suffixes``."""
    return {
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and (suffixes is None or path.suffix in suffixes)
    }


def test_the_packages_listed_are_every_folder_and_the_defaults() -> None:
    """pyproject lists the packages (the defaults folder lives outside pipeline/, so no search finds it): the
    list is every folder of pipeline/ plus templates/ and its folders, mapped to pipeline.defaults."""
    folders = {
        ".".join(path.relative_to(ROOT).parts)
        for path in [ROOT / "pipeline", *(ROOT / "pipeline").rglob("*")]
        if path.is_dir() and path.name != "__pycache__"
    }
    defaults = {
        ".".join(("pipeline", "defaults", *path.relative_to(ROOT / "templates").parts))
        for path in [ROOT / "templates", *(ROOT / "templates").rglob("*")]
        if path.is_dir()
    }
    assert sorted(SETUPTOOLS["packages"]) == sorted(folders | defaults)
    assert SETUPTOOLS["package-dir"] == {"pipeline.defaults": "templates"}


def test_the_version_is_written_once() -> None:
    """pyproject takes the version from ``pipeline.__version__``, the one place it is written."""
    assert "version" not in PYPROJECT["project"] and "version" in PYPROJECT["project"]["dynamic"]
    assert SETUPTOOLS["dynamic"]["version"] == {"attr": "pipeline.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", pipeline.__version__)


def test_a_checkout_finds_its_defaults_in_templates() -> None:
    assert defaults_dir() == ROOT / "templates"


def run(what: str, command: list[str | Path], cwd: Path, env: dict[str, str], ok: tuple[int, ...] = (0,)) -> str:
    """Run one step; a failure names the step and shows what it printed."""
    try:
        done = subprocess.run(
            [str(part) for part in command],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"install check: {what} took over {STEP_TIMEOUT_S} s: {' '.join(map(str, command))}")
    if done.returncode not in ok:
        pytest.fail(
            f"install check: {what} failed (exit {done.returncode}): {' '.join(map(str, command))}\n"
            f"--- stdout\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr[-4000:]}"
        )
    return done.stdout


def review_page(ballot: Path, cwd: Path, env: dict[str, str]) -> tuple[str, str, str]:
    """Start ``ballot review`` on the demo's store, fetch the page, its script and its style sheet, stop it."""
    server = subprocess.Popen(
        [str(ballot), "review", "--session", "2026H1", "--db", "output/demo/ballots.db", "--reviewer", "test"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        assert url.startswith("http://127."), f"install check: ballot review printed {url!r}"
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        base = url.split("/?", 1)[0]

        def fetch(address: str) -> str:
            with opener.open(address, timeout=30) as response:
                return str(response.read().decode())

        return fetch(url), fetch(f"{base}/static/review.js"), fetch(f"{base}/static/review.css")
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)


@pytest.mark.slow
def test_the_wheel_installs_and_runs_the_demo_from_an_empty_folder(tmp_path: Path) -> None:
    source = tmp_path / "source"  # a copy, so that the build leaves nothing in the checkout
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for name in ("pipeline", "templates"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    env = {key: value for key, value in os.environ.items() if key not in ("BALLOT_DB", "PYTHONPATH")}

    dist, venv, empty = tmp_path / "dist", tmp_path / "venv", tmp_path / "empty"
    run("building the wheel", [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", dist, source], tmp_path, env)
    [wheel] = dist.glob("*.whl")
    assert wheel.name.startswith(f"ballot_counter-{pipeline.__version__}-"), wheel.name
    run("creating a fresh virtual environment", [sys.executable, "-m", "venv", venv], tmp_path, env)
    python, ballot = venv / "bin" / "python", venv / "bin" / "ballot"
    run("installing the wheel", [python, "-m", "pip", "install", wheel], tmp_path, env)
    empty.mkdir()

    where = run("finding the package", [python, "-c", "import pipeline; print(pipeline.__file__)"], empty, env)
    installed = Path(where.strip()).parent
    assert venv in installed.parents, f"install check: pipeline imported from {installed}, not the fresh venv"
    package = {name for name in files(installed) if not name.startswith("defaults/")}
    assert package == files(ROOT / "pipeline"), "install check: the wheel's modules and data differ from pipeline/"
    shipped = {name.removeprefix("defaults/") for name in files(installed) if name.startswith("defaults/")}
    assert shipped == files(ROOT / "templates", DEFAULTS_SUFFIXES), "install check: the wheel's defaults differ"

    version = run("ballot --version", [ballot, "--version"], empty, env)
    assert pipeline.__version__ in version
    demo = run("ballot demo", [ballot, "demo", "--copies", "6"], empty, env)
    assert "5. 报表（草稿，待复核）" in demo and (empty / "output" / "demo" / "2026H1-测评结果-草稿.xlsx").is_file()
    tally = run(
        "ballot tally (default rules)",
        [ballot, "tally", "--session", "2026H1", "--db", "output/demo/ballots.db"],
        empty,
        env,
        ok=(0, 2),  # 2: a row awaits review
    )
    assert "综合满意率" in tally and "局机关" in tally
    checked = run("ballot rules check majority", [ballot, "rules", "check", "majority"], empty, env)
    majority = load_rules(ROOT / "templates" / "rules" / "majority.yaml")
    assert checked == f"{majority.name}\n{describe(majority)}\n{describe(majority, year=True)}\n"
    page, script, style = review_page(ballot, empty, env)
    assert "review.js" in page and script == (ROOT / "pipeline" / "review" / "static" / "review.js").read_text()
    assert style == (ROOT / "pipeline" / "review" / "static" / "review.css").read_text()
    assert sorted(path.name for path in empty.iterdir()) == ["output"]  # nothing else written beside it
