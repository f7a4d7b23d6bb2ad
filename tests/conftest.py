"""Shared fixtures: the shipped template, a fresh store per test, a CLI runner."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.ballot.template import Template, load_template
from pipeline.reading.model import BallotModel, ballot_model
from pipeline.reading.score.geometry import Geometry, geometry_of
from pipeline.store.database import Store, open_store

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


# -- the scorer's parts (tests/test_score_*.py): the shipped template's model and one box's masks ----------------

#: A box with nothing printed within its patch but its own border (above, below and left of it) and, at the
#: patch's right edge, the first stroke of its label: lines drawn through it meet no grid line.
LONE_BOX = ("测评人类别", "服务对象代表")


@pytest.fixture(scope="module")
def model(template: Template) -> BallotModel:
    """The reader's model of the shipped template (its blank renders once per process, in about a second)."""
    return ballot_model(template)


@pytest.fixture(scope="module")
def box(model: BallotModel) -> Geometry:
    """:data:`LONE_BOX`'s masks in its patch."""
    return geometry_of(model)[LONE_BOX]


# -- review page (tests/test_review*.py): one scanned batch with known flagged rows and rejected pages ------------

REVIEW_SESSION = "2026H1"


class ReviewBatch:
    """A scanned store: 7 hand-drawn sheets (files 01–07) plus 3 simulated ones if pipeline.simulation.simulate exists.

    01-faint: clear ticks on 局机关 and 文艺演出中心; on six other rows marks a reader should doubt (faint and
    very faint ticks, a small faint tick, a dot, a filled box beside a tick, a faint second tick). Which of them
    go to review depends on the reading settings of the day, so tests take the rows from the queue; the builder
    only insists that at least four do. 02-mixed: two clear ticks on 文化馆 (overvote) and two doubtful marks.
    03-upside-down: read. 04-corners-covered: cut off below its table's middle, unreadable with its serial
    (countable by hand). 05-not-a-ballot: unreadable, no QR code. 06-copy-of-02: duplicate. 07-signed: read, a name
    written on it.
    """

    def __init__(self, db: Path, scans: Path) -> None:
        self.db = db
        self.scans = scans

    def fresh_db(self, folder: Path) -> Path:
        """A private copy to write to (the scan's pages may still be in the WAL)."""
        from tests.helpers import backup_db

        return backup_db(self.db, folder / "review.db")


@pytest.fixture(scope="session")
def review_batch(tmp_path_factory: pytest.TempPathFactory, template: Template) -> ReviewBatch:
    return build_review_batch(tmp_path_factory.mktemp("review-batch"), template)


def build_review_batch(folder: Path, template: Template) -> ReviewBatch:
    import cv2
    import numpy as np

    from pipeline.ballot.layout import compute_layout
    from pipeline.cli import main
    from pipeline.printing.render import render_ballots
    from pipeline.reading.ingest import pdf_bytes_pages
    from tests.helpers import DPI, PX, box, fill, save_jpeg, tick

    db = folder / "review.db"
    store = open_store(db)
    hand_serials = store.issue_serials(REVIEW_SESSION, template, 7, "hand.pdf", draw=random.Random(1))
    simulated_serials = store.issue_serials(REVIEW_SESSION, template, 3, "simulated.pdf", draw=random.Random(2))
    store.close()
    render_ballots(template, REVIEW_SESSION, hand_serials, folder / "hand.pdf")
    render_ballots(template, REVIEW_SESSION, simulated_serials, folder / "simulated.pdf")
    layout = compute_layout(template)
    pages = pdf_bytes_pages((folder / "hand.pdf").read_bytes(), DPI)
    scans = folder / "scans"
    scans.mkdir()
    clear = {"局机关": "满意", "博物馆": "基本满意", "业余体育学校": "满意", "文艺演出中心": "不满意"}

    def ticked(index: int) -> np.ndarray:
        sheet = pages[index]
        for unit, option in clear.items():
            tick(sheet, box(layout, unit, option))
        return sheet

    def dot(sheet: np.ndarray, unit: str, option: str) -> None:
        target = box(layout, unit, option).rect
        centre = (int((target.x + target.w / 2) * PX), int((target.y + target.h / 2) * PX))
        cv2.circle(sheet, centre, int(0.6 * PX), 60, -1, cv2.LINE_AA)

    sheet = pages[0]
    tick(sheet, box(layout, "局机关", "满意"))
    tick(sheet, box(layout, "文艺演出中心", "不满意"))
    tick(sheet, box(layout, "测评人类别", "基层代表"))
    tick(sheet, box(layout, "文化馆", "满意"), grey=210)
    tick(sheet, box(layout, "图书馆", "基本满意"), grey=228)
    tick(sheet, box(layout, "博物馆", "不满意"), grey=215, big=False)
    dot(sheet, "文物管理所", "基本满意")
    fill(sheet, box(layout, "体育中心", "满意"))
    tick(sheet, box(layout, "体育中心", "基本满意"))
    tick(sheet, box(layout, "业余体育学校", "满意"))
    tick(sheet, box(layout, "业余体育学校", "不满意"), grey=215)
    save_jpeg(sheet, scans / "01-faint.jpg")

    sheet = ticked(1)
    tick(sheet, box(layout, "文化馆", "满意"))
    tick(sheet, box(layout, "文化馆", "不满意"))
    tick(sheet, box(layout, "文化市场综合执法大队", "满意"), grey=215, big=False)
    dot(sheet, "非物质文化遗产保护中心", "基本满意")
    save_jpeg(sheet, scans / "02-mixed.jpg")
    save_jpeg(cv2.GaussianBlur(sheet, (3, 3), 0), scans / "06-copy-of-02.jpg")

    save_jpeg(cv2.rotate(ticked(2), cv2.ROTATE_180), scans / "03-upside-down.jpg")

    sheet = ticked(3)  # fed crooked: its lower part, the last rows' boxes with it, is past the scanner's edge
    save_jpeg(sheet[: round(190 * PX)], scans / "04-corners-covered.jpg")

    notes = np.full((1400, 1000), 235, np.uint8)
    for line in range(12):
        cv2.line(notes, (80, 120 + line * 90), (900, 120 + line * 90), 40, 3)
    save_jpeg(notes, scans / "05-not-a-ballot.jpg")

    sheet = ticked(4)
    cv2.putText(sheet, "Zhang San", (900, 2150), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 2.0, 40, 3)
    save_jpeg(sheet, scans / "07-signed.jpg")

    try:
        from pipeline.simulation.simulate import simulate_batch
    except ImportError:  # written concurrently; the hand-drawn sheets carry every assertion
        pass
    else:
        simulate_batch(
            folder / "simulated.pdf",
            layout,
            scans / "simulated",
            profile="office",
            seed=11,
            difficulty="hard",
            file_format="jpeg",
        )

    result = CliRunner().invoke(main, ["scan", str(scans), "--session", REVIEW_SESSION, "--db", str(db), "--jobs", "1"])
    assert result.exit_code == 2, result.output  # 2: rejected pages, as intended
    store = open_store(db)
    flagged = [row for row in store.flagged_rows(REVIEW_SESSION) if row.source.endswith("01-faint.jpg")]
    outcomes = {Path(line["source"]).name: line["outcome"] for line in store.export_pages(REVIEW_SESSION)}
    store.close()
    assert len(flagged) >= 4, f"the reader now doubts only {len(flagged)} of the doubtful marks on 01-faint.jpg"
    expected = {"04-corners-covered.jpg": "unreadable", "05-not-a-ballot.jpg": "unreadable"}
    assert {**outcomes, **expected} == outcomes and outcomes["06-copy-of-02.jpg"] == "duplicate", outcomes
    return ReviewBatch(db, scans)
