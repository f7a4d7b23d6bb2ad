"""What a clerk does on the review page, in a real headless Chromium (Debian's, driven by Playwright).

The real server runs in a thread on a free port over a copy of the scanned batch (conftest). Screenshots go to
the test's tmp folder and to /tmp/review-shots/ for a person to look at.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pipeline.ballot.template import Template
from pipeline.cli import main
from pipeline.common.messages import row_reason
from pipeline.reading.settings import load_settings
from pipeline.review.app import create_app
from pipeline.review.server import new_token, review_url, start_server
from pipeline.scanning.batch import scan
from pipeline.store.database import Store, open_store
from tests.conftest import REVIEW_SESSION, ReviewBatch
from tests.helpers import box, print_batch, save_jpeg, tick
from tests.test_locate import TICKED, smudged

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SHOTS = Path("/tmp/review-shots")
SESSION = REVIEW_SESSION


@dataclass(frozen=True)
class Served:
    url: str  # with the token
    base: str
    db: Path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (./run.sh test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@contextmanager
def serving(store: Store) -> Iterator[str]:
    """The real review server over ``store``, in a thread on a free port: its address with the token."""
    token = new_token()
    server = start_server(create_app(store, SESSION, token, "王五"), None, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield review_url(server, token)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def served(tmp_path: Path, review_batch: ReviewBatch) -> Iterator[Served]:
    db = review_batch.fresh_db(tmp_path)
    store = open_store(db)
    try:
        with serving(store) as url:
            yield Served(url, url.split("/?token=")[0], db)
    finally:
        store.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    tab.on("console", lambda message: message.type == "error" and problems.append(message.text))
    yield tab
    context.close()
    provoked = ("status of 403 ", "status of 409 ")  # refusals and conflicts the tests cause on purpose
    assert not [problem for problem in problems if not any(status in problem for status in provoked)], problems


def shot(page: Any, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / name))
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(folder / name, SHOTS / name)


def checking(db: Path) -> Store:
    """A second connection for assertions (the server's own is busy in its thread)."""
    return open_store(db)


def test_clerk_decides_rows_with_keys_and_clicks_and_undoes_one(served: Served, page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page.goto(served.url)
    assert page.url == served.base + "/"  # the token moved into a cookie
    card = page.locator("#row-card")
    expect(card).to_be_visible()
    store = checking(served.db)
    total = store.pending_rows(SESSION)
    rows = store.flagged_rows(SESSION)[:4]  # the queue's first four, in sheet order
    expect(page.locator("#progress")).to_have_text(f"还剩 {total} / {total}")
    expect(page.locator("#unit")).to_have_text(rows[0].state.unit)
    expect(page.locator(".tile")).to_have_count(len(rows[0].boxes))
    shot(page, tmp_path, "01-queue.png")

    def decided_and_moved_on(index: int) -> None:
        expect(card).to_have_attribute("data-key", f"{rows[index + 1].state.page_id}/{rows[index + 1].state.unit}")

    page.keyboard.press("1")  # first option, by key
    decided_and_moved_on(0)
    page.locator(".tile").nth(1).click()  # second option, by mouse
    decided_and_moved_on(1)
    page.keyboard.press("0")  # 弃权
    decided_and_moved_on(2)
    page.locator("#btn-void").click()  # 无效
    expect(card).not_to_have_attribute("data-key", f"{rows[3].state.page_id}/{rows[3].state.unit}")
    expect(page.locator("#progress")).to_have_text(f"还剩 {total - 4} / {total}")

    page.keyboard.press("z")  # takes back the 无效 and shows that row again
    expect(card).to_have_attribute("data-key", f"{rows[3].state.page_id}/{rows[3].state.unit}")
    expect(page.locator("#decision")).to_have_text("尚未复核")
    expect(page.locator("#progress")).to_have_text(f"还剩 {total - 3} / {total}")

    for _ in range(3):
        page.keyboard.press("ArrowLeft")
    expect(page.locator("#unit")).to_have_text(rows[0].state.unit)
    chosen = page.locator(".tile.chosen")
    expect(chosen).to_have_count(1)
    expect(chosen).to_have_attribute("data-option", rows[0].boxes[0].option)
    expect(page.locator("#decision")).to_contain_text(f"{rows[0].boxes[0].option}（王五")
    shot(page, tmp_path, "02-decided.png")

    page.keyboard.press("s")
    expect(page.locator("#sheet-dialog")).to_be_visible()
    expect(page.locator("#sheet-highlight")).to_be_visible()
    shot(page, tmp_path, "03-sheet.png")
    page.keyboard.press("Escape")
    expect(page.locator("#sheet-dialog")).to_be_hidden()

    expected = [rows[0].boxes[0].option, rows[1].boxes[1].option, "blank", "pending"]
    states = [store.row_state(SESSION, row.state.page_id, row.state.unit) for row in rows]
    assert [state.effective for state in states if state] == expected
    assert all(state.decision.reviewer == "王五" for state in states[:3] if state and state.decision)
    undo = store.db.execute("SELECT count(*) FROM decisions WHERE undoes_id IS NOT NULL").fetchone()[0]
    assert undo == 1  # the undo is a record of its own
    store.close()
    result = CliRunner().invoke(main, ["export", "--session", SESSION, "--db", str(served.db)])
    lines = {Path(line["source"]).name: line for line in map(json.loads, result.output.splitlines())}
    exported = [lines[Path(row.source).name]["rows"][row.state.unit]["reading"] for row in rows]
    assert exported == expected


def test_a_row_decided_meanwhile_by_another_clerk_is_shown_not_overwritten(served: Served, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(served.url)
    expect(page.locator("#row-card")).to_be_visible()
    store = checking(served.db)
    first = store.flagged_rows(SESSION)[0]
    other_choice = first.boxes[-1].option
    store.decide_row(SESSION, first.state.page_id, first.state.unit, "choice", other_choice, "赵六", 0)
    page.keyboard.press("1")  # the page still shows version 0
    expect(page.locator("#message")).to_contain_text("另一位复核员")
    expect(page.locator("#row-card")).to_have_attribute("data-key", f"{first.state.page_id}/{first.state.unit}")
    expect(page.locator("#decision")).to_contain_text(f"{other_choice}（赵六")
    state = store.row_state(SESSION, first.state.page_id, first.state.unit)
    store.close()
    assert state is not None and state.decision is not None and state.decision.choice == other_choice


def test_rejected_pages_not_a_ballot_and_counted_by_hand(served: Served, page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page.goto(served.url)
    page.click("button[data-tab=rejected]")
    cards = page.locator(".page-card")
    expect(cards).to_have_count(3)
    expect(page.locator("#rejected-count")).to_have_text("(3)")
    shot(page, tmp_path, "04-rejected.png")

    notes = page.locator(".page-card", has_text="05-not-a-ballot.jpg")
    notes.locator(".not-ballot").click()
    expect(notes.locator(".state")).to_contain_text("不是测评票")

    covered = page.locator(".page-card", has_text="04-corners-covered.jpg")
    covered.locator(".hand-count").click()
    dialog = page.locator("#hand-dialog")
    expect(dialog).to_be_visible()
    rows = page.locator("#hand-rows tr")
    expect(rows).to_have_count(11)
    page.click("#hand-submit")
    expect(page.locator("#hand-message")).to_have_text("请为每一行选择一项（或弃权、无效）。")
    for index in range(11):
        rows.nth(index).locator("input").nth(0 if index else 4).check()  # category: 弃权 (after 4 options)
    shot(page, tmp_path, "05-hand-entry.png")
    page.click("#hand-submit")
    expect(dialog).to_be_hidden()
    expect(covered.locator(".state")).to_contain_text("已人工录入计入")
    expect(page.locator("#rejected-count")).to_have_text("(1)")

    store = checking(served.db)
    rejected = {Path(page.source).name: page for page in store.review_pages(SESSION, rejected=True)}
    counted = [b for b in store.effective_ballots(SESSION) if b.page_id == rejected["04-corners-covered.jpg"].page_id]
    store.close()
    assert len(counted) == 1 and counted[0].serial == rejected["04-corners-covered.jpg"].serial
    assert {row.unit: row.choice for row in counted[0].rows}["局机关"] == "满意" and counted[0].category is None
    assert rejected["05-not-a-ballot.jpg"].state.decision is not None


def test_a_signed_ballot_is_voided_from_the_sheet_list(served: Served, page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page.goto(served.url)
    page.click("button[data-tab=sheets]")
    page.locator("#sheet-rows tr", has_text="07-signed.jpg").locator("button").click()
    expect(page.locator("#sheet-dialog")).to_be_visible()
    page.fill("#void-note", "署名")
    page.click("#void-button")
    expect(page.locator("#void-state")).to_have_text("已作废：署名")
    shot(page, tmp_path, "06-void.png")
    store = checking(served.db)
    voided = [ballot for ballot in store.effective_ballots(SESSION) if ballot.void]
    store.close()
    assert len(voided) == 1


def test_the_page_in_english_and_without_token(served: Served, page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    refused = page.goto(served.base + "/")
    assert refused is not None and refused.status == 403
    assert "令牌" in page.content()
    store = checking(served.db)
    first = store.flagged_rows(SESSION)[0].state.reason  # the queue opens on the first flagged row
    store.close()
    assert row_reason(first, "en") != row_reason(first, "zh")
    page.goto(served.url + "&lang=en")
    expect(page.locator("h1")).to_contain_text("Ballot review")
    expect(page.locator("#reason")).to_have_text(row_reason(first, "en"))
    expect(page.locator("#progress")).to_contain_text(" left")
    shot(page, tmp_path, "07-english.png")


# -- holes a new clerk found (issue 22) ---------------------------------------------------------------------------


def decide_every_flagged_row(db: Path) -> None:
    store = checking(db)
    for row in store.flagged_rows(SESSION):
        store.decide_row(SESSION, row.state.page_id, row.state.unit, "blank", None, "赵六", row.state.version)
    store.close()


def test_rejected_pages_are_settled_with_keys(served: Served, page: Any, tmp_path: Path) -> None:
    """With every row decided the queue does not say all is done while pages are open; R goes to them, and a key
    settles each (the keys move on to the next open page): 6 keystrokes for the 3 pages, where 11 were needed
    for one. A duplicate is settled as confirmed, not counted."""
    from playwright.sync_api import expect

    decide_every_flagged_row(served.db)
    page.goto(served.url)
    done = page.locator("#queue-done")
    expect(done).to_have_text("待复核行已全部处理完毕；还有 3 个未计入的页待处理（按 R 查看）。")
    page.keyboard.press("r")
    expect(page.locator("#view-rejected")).to_be_visible()
    selected = page.locator(".page-card.selected")
    expect(selected).to_contain_text("04-corners-covered.jpg")
    page.keyboard.press("ArrowDown")
    expect(selected).to_contain_text("05-not-a-ballot.jpg")
    page.keyboard.press("b")
    expect(selected).to_contain_text("06-copy-of-02.jpg")  # moved on to the next open page
    expect(selected.locator(".not-counted")).to_contain_text("确认重复，不计入")
    shot(page, tmp_path, "08-rejected-keys.png")
    page.keyboard.press("d")
    expect(selected).to_contain_text("04-corners-covered.jpg")
    page.keyboard.press("d")
    expect(page.locator("#rejected-count")).to_have_text("")
    page.keyboard.press("q")
    expect(done).to_have_text("待复核行和未计入的页都已处理完毕。")

    store = checking(served.db)
    decided = {Path(p.source).name: p.state.decision for p in store.review_pages(SESSION, rejected=True)}
    facts = store.session_facts(SESSION)
    store.close()
    assert {name: decision.kind for name, decision in decided.items() if decision} == {
        "04-corners-covered.jpg": "not_counted",
        "05-not-a-ballot.jpg": "not_ballot",
        "06-copy-of-02.jpg": "not_counted",
    }
    assert facts.unsettled_pages == 0


def test_a_sure_row_is_corrected_from_the_whole_sheet_and_shown_so(served: Served, page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page.goto(served.url)
    page.click("button[data-tab=sheets]")
    page.locator("#sheet-rows tr", has_text="01-faint.jpg").locator("button").click()
    rows = page.locator("#sheet-row-list tr[data-unit]")
    expect(rows).to_have_count(11)
    office = page.locator("#sheet-row-list tr[data-unit=局机关]")
    expect(office).to_contain_text("满意")
    office.locator(".correct").click()
    page.locator(".correct-choices button", has_text="不满意").click()
    expect(office).to_contain_text("更正为 不满意（王五，")
    expect(office).to_have_class("corrected")
    expect(page.locator("#sheet-message")).to_contain_text("已记录：局机关 → 不满意")
    shot(page, tmp_path, "09-correction.png")
    page.keyboard.press("Escape")
    expect(page.locator("#sheet-rows tr", has_text="01-faint.jpg").locator(".corrected")).to_have_text("已更正 1 行")

    store = checking(served.db)
    state = store.row_state(SESSION, _page_id(store, "01-faint.jpg"), "局机关")
    log = store.review_log(SESSION)
    store.close()
    assert state is not None and state.decision is not None and state.decision.correction
    assert [(entry.unit, entry.machine_reading, entry.decision) for entry in log] == [
        ("局机关", "满意", "更正为 不满意")
    ]


def _page_id(store: Store, name: str) -> int:
    return next(p.page_id for p in store.review_pages(SESSION, rejected=False) if Path(p.source).name == name)


def test_times_are_the_offices_and_faint_marks_send_the_clerk_to_the_paper(
    served: Served, browser: Any, tmp_path: Path
) -> None:
    """A browser in another time zone still shows the office's time (as the workbook does); a row with a faint
    mark says plainly that only the paper ballot can tell, and its tiles show the scan's own pixels, contrast
    stretched."""
    from playwright.sync_api import expect

    from pipeline.common.clock import local_time, office_zone

    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN", timezone_id="America/Lima")
    tab = context.new_page()
    try:
        tab.goto(served.url)
        store = checking(served.db)
        rows = store.flagged_rows(SESSION)
        first = rows[0].state
        store.decide_row(SESSION, first.page_id, first.unit, "blank", None, "赵六", first.version)
        decided = store.row_state(SESSION, first.page_id, first.unit)
        store.close()
        assert decided is not None and decided.decision is not None
        tab.reload()
        expect(tab.locator("#unit")).to_have_text(rows[1].state.unit)  # the first row still pending
        tab.keyboard.press("ArrowLeft")  # back to the first row, now decided
        expect(tab.locator("#unit")).to_have_text(first.unit)
        office_time = local_time(decided.decision.decided_at, office_zone())
        expect(tab.locator("#decision")).to_have_text(f"弃权（赵六，{office_time}）")

        faint = tab.locator("#paper")
        for _ in range(len(rows)):
            if faint.is_visible():
                break
            tab.keyboard.press("ArrowRight")
        expect(faint).to_have_text("屏幕上分不清轻轻打的勾和擦掉的痕迹：请核对纸质测评票。")
        expect(tab.locator(".tile .seen").first).not_to_be_empty()
        assert "很淡的笔迹" in " ".join(tab.locator(".tile .seen").all_inner_texts())
        shot(tab, tmp_path, "10-faint.png")
        tile = tab.locator(".tile img").first
        expect(tile).to_have_attribute("src", re.compile(r"^/image/closeup/"))
        loaded = "async image => { await image.decode(); return image.naturalWidth; }"  # waits for the file
        natural = tile.evaluate(loaded)
        crop = tab.locator("#strip img").evaluate(loaded)
        assert natural and crop and natural > 1.2 * crop  # 200 dpi: 7.9 px/mm against the crop's 6
    finally:
        context.close()


def test_the_token_cookie_goes_to_no_other_local_service(
    review_batch: ReviewBatch, browser: Any, tmp_path: Path
) -> None:
    """Browsers send a cookie to every port of the host that set it: served on 127.0.0.1, the review token went
    to any other service on 127.0.0.1 the clerk's browser visited. Served (by default) on a loopback address of
    its own, it does not."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    heard: list[str] = []

    class Other(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            heard.append(self.headers.get("Cookie", ""))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"another local service")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    other = ThreadingHTTPServer(("127.0.0.1", 0), Other)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    store = open_store(review_batch.fresh_db(tmp_path))
    token = new_token()
    server = start_server(create_app(store, SESSION, token, "王五"), None, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    context = browser.new_context()
    try:
        tab = context.new_page()
        tab.goto(review_url(server, token))
        assert any(cookie["name"].startswith("ballot_review_") for cookie in context.cookies())
        tab.goto(f"http://127.0.0.1:{other.server_address[1]}/")
        assert heard and not any("ballot_review_" in header for header in heard), heard
    finally:
        context.close()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        other.shutdown()
        other.server_close()
        store.close()


# -- a sheet read but for its serial (issue 19, item 3) ---------------------------------------------------------


def test_a_sheet_read_but_for_its_serial_is_checked_and_counted_from_the_machines_rows(
    tmp_path: Path, template: Template, page: Any
) -> None:
    """A sheet whose code and printed serial are smeared is read all the same: on the rejected list it is to be
    checked, not counted by hand. The form comes filled with the machine's rows, a row it doubted left for the clerk
    with why; the clerk chooses that row, types the serial off the paper, and the sheet is counted under it."""
    from playwright.sync_api import expect

    batch = print_batch(tmp_path / "printed", template, 1, SESSION)
    sheet = batch.pages()[0]
    for unit, option in TICKED.items():
        tick(sheet, box(batch.layout, unit, option))
    tick(sheet, box(batch.layout, "体育中心", "满意"), grey=215)  # a faint tick: a row for the clerk
    scans = tmp_path / "scans"
    scans.mkdir()
    save_jpeg(smudged(sheet, batch, serial=True), scans / "smeared.jpg", quality=90)
    db = batch.fresh_db(tmp_path)
    store = open_store(db)
    scan([scans], store, SESSION, load_settings(), jobs=1)
    [rejected] = store.review_pages(SESSION, rejected=True)
    doubted = [unit for unit, reading, _, _ in rejected.machine_rows if reading == "pending"]
    assert doubted == ["体育中心"], rejected.machine_rows
    try:
        with serving(store) as url:
            page.goto(url)
            page.click("button[data-tab=rejected]")
            card = page.locator(".page-card", has_text="smeared.jpg")
            expect(card).to_contain_text("读出了各行")
            expect(card.locator(".hand-count")).to_contain_text("核对读数并计入")
            card.locator(".hand-count").click()
            expect(page.locator("#hand-heading")).to_contain_text("核对机器读数")
            rows = page.locator("#hand-rows tr")
            expect(rows).to_have_count(11)
            for unit, option in TICKED.items():  # each clear row comes checked as the machine read it
                expect(rows.filter(has_text=unit).get_by_label(option, exact=True)).to_be_checked()
            expect(rows.filter(has_text="文物管理所").get_by_label("弃权", exact=True)).to_be_checked()
            doubt = rows.filter(has_text="体育中心")
            expect(doubt.locator(".doubt")).to_contain_text("机器存疑")
            expect(doubt.locator("input:checked")).to_have_count(0)
            page.click("#hand-submit")  # the doubted row is not chosen yet
            expect(page.locator("#hand-message")).to_have_text("请为每一行选择一项（或弃权、无效）。")
            doubt.get_by_label("满意", exact=True).check()
            page.fill("#hand-serial", batch.serials[0])
            shot(page, tmp_path, "12-serial-to-type.png")
            page.click("#hand-submit")
            expect(page.locator("#hand-dialog")).to_be_hidden()
            expect(card.locator(".state")).to_contain_text("已人工录入计入")
    finally:
        store.close()
    store = checking(db)
    [ballot] = store.effective_ballots(SESSION)
    store.close()
    assert ballot.serial == batch.serials[0]
    assert {row.unit: row.choice for row in ballot.rows if row.choice} == {**TICKED, "体育中心": "满意"}
