"""The review server's logic, in-process with Flask's test client, on a really scanned batch (conftest)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from pipeline.ballot.template import Template
from pipeline.cli import main
from pipeline.cli.review import review_command
from pipeline.common.messages import refusal
from pipeline.common.messages import row_reason as reason_text
from pipeline.common.reasons import Refusal
from pipeline.reading.settings import ReadingSettings
from pipeline.review.app import CSRF_HEADER, cookie_name, create_app, csrf_value
from pipeline.store.database import Store, open_store
from pipeline.store.reading import PageRecord
from pipeline.store.records import DecisionConflict, DecisionRefused, HandRow
from tests.conftest import REVIEW_SESSION, ReviewBatch

TOKEN = "test-token-0123456789abcdefghij"
SESSION = REVIEW_SESSION


@pytest.fixture
def review_db(tmp_path: Path, review_batch: ReviewBatch) -> Path:
    return review_batch.fresh_db(tmp_path)


@pytest.fixture
def review_store(review_db: Path) -> Iterator[Store]:
    store = open_store(review_db)
    yield store
    store.close()


@pytest.fixture
def app(review_store: Store) -> Flask:
    return create_app(review_store, SESSION, TOKEN, "测试员")


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    client = app.test_client()
    client.set_cookie(cookie_name(TOKEN), TOKEN)
    return client


def post(client: FlaskClient, url: str, body: dict[str, Any], **headers: str) -> tuple[int, Any]:
    response = client.post(url, json=body, headers={CSRF_HEADER: csrf_value(TOKEN), **headers})
    return response.status_code, response.get_json()


def queue(client: FlaskClient, reason: str = "") -> dict[str, Any]:
    response = client.get(f"/api/queue?reason={reason}")
    assert response.status_code == 200
    return response.get_json()


def row_of(client: FlaskClient, source: str, unit: str) -> dict[str, Any]:
    rows = queue(client)["rows"]
    return next(row for row in rows if row["source"] == source and row["unit"] == unit)


def faint_row(client: FlaskClient, index: int) -> dict[str, Any]:
    """The ``index``-th row the machine flagged on 01-faint.jpg (which ones depends on the reading settings)."""
    return [row for row in queue(client)["rows"] if row["source"] == "01-faint.jpg"][index]


def page_of(client: FlaskClient, source: str) -> dict[str, Any]:
    pages = client.get("/api/pages").get_json()
    return next(page for page in pages["rejected"] + pages["sheets"] if page["source"] == source)


def decide(client: FlaskClient, row: dict[str, Any], kind: str, choice: str | None = None) -> tuple[int, Any]:
    body = {"page_id": row["page_id"], "unit": row["unit"], "kind": kind, "choice": choice, "version": row["version"]}
    return post(client, "/api/rows/decide", body)


def exported(db: Path) -> dict[str, dict[str, Any]]:
    result = CliRunner().invoke(main, ["export", "--session", SESSION, "--db", str(db)])
    assert result.exit_code == 0, result.output
    return {Path(line["source"]).name: line for line in map(json.loads, result.output.splitlines())}


# -- access ---------------------------------------------------------------------------------------------------


def test_every_request_needs_the_token(app: Flask) -> None:
    anonymous = app.test_client()
    for path in ["/", "/api/queue", "/api/pages", "/image/page/1", "/static/review.js", "/?token=wrong"]:
        response = anonymous.get(path)
        assert response.status_code == 403, path
        assert response.headers["X-Frame-Options"] == "DENY"
    assert "令牌" in anonymous.get("/").get_data(as_text=True)
    assert anonymous.post("/api/rows/decide", json={}).status_code == 403


def test_the_token_in_the_address_becomes_a_strict_httponly_cookie(app: Flask) -> None:
    browser = app.test_client()
    response = browser.get(f"/?token={TOKEN}&lang=en")
    assert response.status_code == 303
    assert response.headers["Location"] == "/?lang=en"  # the token leaves the address bar
    cookie = response.headers["Set-Cookie"]
    assert f"{cookie_name(TOKEN)}={TOKEN}" in cookie
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    page = browser.get("/?lang=en")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Ballot review" in html and csrf_value(TOKEN) in html and TOKEN not in html


def test_security_headers(client: FlaskClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "测评票复核" in page.get_data(as_text=True)
    headers = page.headers
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert client.get("/api/queue").headers["Cache-Control"] == "no-store"
    with client.get("/static/review.js") as script:  # a file response: close it
        assert script.status_code == 200 and script.headers["X-Content-Type-Options"] == "nosniff"


def test_posts_need_the_csrf_header_and_the_same_origin(client: FlaskClient) -> None:
    row = queue(client)["rows"][0]
    body = {"page_id": row["page_id"], "unit": row["unit"], "kind": "blank", "choice": None, "version": 0}
    assert client.post("/api/rows/decide", json=body).status_code == 403  # cookie alone is not enough
    assert post(client, "/api/rows/decide", body, **{CSRF_HEADER: "guess"})[0] == 403
    assert post(client, "/api/rows/decide", body, Origin="http://evil.example")[0] == 403
    assert post(client, "/api/rows/decide", body, **{"Sec-Fetch-Site": "cross-site"})[0] == 403
    assert queue(client)["progress"]["remaining"] == queue(client)["progress"]["total"]
    status, answer = post(client, "/api/rows/decide", body, Origin="http://localhost")
    assert status == 200, answer


# -- the queue ------------------------------------------------------------------------------------------------


def test_queue_holds_every_flagged_row_with_its_boxes(client: FlaskClient, review_store: Store) -> None:
    data = queue(client)
    rows = data["rows"]
    assert len(rows) == review_store.pending_rows(SESSION) == data["progress"]["total"]
    flagged = review_store.flagged_rows(SESSION)
    assert [(row["page_id"], row["unit"]) for row in rows] == [(row.state.page_id, row.state.unit) for row in flagged]
    for row, machine in zip(rows, flagged, strict=True):
        assert row["machine"] == "待定" and row["pending"] and row["decision"] is None
        assert row["reason"] == machine.state.reason and row["reason_text"] == reason_text(row["reason"], "zh")
        assert [box["option"] for box in row["boxes"]] == row["options"] == [box.option for box in machine.boxes]
        assert [box["fill"] for box in row["boxes"]] == [box.fill for box in machine.boxes]
    faint = {row["unit"] for row in rows if row["source"] == "01-faint.jpg"}
    assert len(faint) >= 4 and not faint & {"局机关", "文艺演出中心"}  # clear ticks are never asked about
    assert not any(row["unit"] == "文化馆" and row["source"] == "02-mixed.jpg" for row in rows)  # a plain overvote


def test_row_crop_is_native_and_boxes_sit_on_the_printed_boxes(client: FlaskClient) -> None:
    for row in queue(client)["rows"][:6]:
        crop = client.get(row["crop"]["url"])
        assert crop.status_code == 200 and crop.mimetype == "image/png"
        pixels = cv2.imdecode(np.frombuffer(crop.data, np.uint8), cv2.IMREAD_GRAYSCALE)
        assert pixels.shape == (row["crop"]["height"], row["crop"]["width"])
        assert pixels.shape[1] > 1000  # 6 px/mm over a 174 mm band: not thumbnailed
        for box in row["boxes"]:
            x, y, w, h = box["x"], box["y"], box["w"], box["h"]
            edges = [pixels[y : y + 2, x : x + w], pixels[y + h - 2 : y + h, x : x + w]]
            assert np.concatenate([edge.ravel() for edge in edges]).mean() < 170, box  # printed border under it
            if box["fill"] < 0.005 and box["outside"] < 0.005:
                assert pixels[y + 8 : y + h - 8, x + 8 : x + w - 8].mean() > 220  # an empty box is white inside


def test_filter_by_reason(client: FlaskClient) -> None:
    everything = queue(client)
    for reason, counts in everything["progress"]["by_reason"].items():
        rows = queue(client, reason)["rows"]
        assert len(rows) == counts["total"] and {row["reason"] for row in rows} == {reason}
    assert len(everything["progress"]["by_reason"]) >= 2


def test_decide_and_undo_are_recorded_and_counted(client: FlaskClient, review_store: Store, review_db: Path) -> None:
    before = review_store.pending_rows(SESSION)
    row = faint_row(client, 0)
    unit, option = row["unit"], row["options"][0]
    status, answer = decide(client, row, "choice", option)
    assert status == 200, answer
    assert answer["row"]["effective"] == option and not answer["row"]["pending"]
    assert answer["row"]["decision"]["reviewer"] == "测试员"
    assert answer["progress"]["remaining"] == before - 1
    assert review_store.pending_rows(SESSION) == before - 1
    assert exported(review_db)["01-faint.jpg"]["rows"][unit]["reading"] == option

    row = faint_row(client, 0)
    status, answer = post(
        client, "/api/rows/undo", {"page_id": row["page_id"], "unit": unit, "version": row["version"]}
    )
    assert status == 200, answer
    assert answer["row"]["pending"] and answer["row"]["decision"] is None
    assert exported(review_db)["01-faint.jpg"]["rows"][unit]["reading"] == "pending"
    records = review_store.db.execute("SELECT reading, choice, undoes_id, previous_id FROM decisions ORDER BY id")
    first, undo = records.fetchall()
    assert first == ("choice", option, None, None)
    assert undo[0] is None and undo[2] is not None and undo[3] == undo[2]  # the undo is a record of its own

    row = faint_row(client, 0)
    assert decide(client, row, "void")[0] == 200
    assert exported(review_db)["01-faint.jpg"]["rows"][unit]["reading"] == "void"
    ballot = next(b for b in review_store.effective_ballots(SESSION) if b.page_id == row["page_id"])
    assert ballot.row(unit).kind == "void"


def test_undo_goes_back_one_decision_at_a_time(review_store: Store) -> None:
    row = review_store.flagged_rows(SESSION)[0].state
    first = review_store.decide_row(SESSION, row.page_id, row.unit, "blank", None, "甲", row.version)
    second = review_store.decide_row(SESSION, row.page_id, row.unit, "void", None, "乙", first.version)
    back = review_store.undo_row(SESSION, row.page_id, row.unit, "乙", second.version)
    assert back.decision is not None and back.decision.kind == "blank" and back.decision.reviewer == "甲"
    machine = review_store.undo_row(SESSION, row.page_id, row.unit, "乙", back.version)
    assert machine.decision is None and machine.effective == "pending"
    with pytest.raises(DecisionRefused):
        review_store.undo_row(SESSION, row.page_id, row.unit, "乙", machine.version)
    assert review_store.db.execute("SELECT count(*) FROM decisions").fetchone()[0] == 4


def test_two_clerks_never_decide_a_row_blind(app: Flask, client: FlaskClient) -> None:
    other = app.test_client()
    other.set_cookie(cookie_name(TOKEN), TOKEN)
    seen_by_both = faint_row(client, 1)
    unit, first, second = seen_by_both["unit"], *seen_by_both["options"][:2]
    assert decide(client, seen_by_both, "choice", second)[0] == 200
    status, answer = decide(other, seen_by_both, "choice", first)  # stale version
    assert status == 409
    assert answer["row"]["decision"]["choice"] == second  # the page shows what is there now
    assert answer["row"]["version"] > seen_by_both["version"]
    status, _ = post(other, "/api/rows/undo", {"page_id": seen_by_both["page_id"], "unit": unit, "version": 0})
    assert status == 409
    now = row_of(other, "01-faint.jpg", unit)
    assert decide(other, now, "choice", first)[0] == 200  # having seen it, the second clerk may change it


def test_the_database_refuses_a_second_record_from_the_same_version(review_store: Store) -> None:
    row = review_store.flagged_rows(SESSION)[0].state
    review_store.decide_row(SESSION, row.page_id, row.unit, "blank", None, "甲", 0)
    with pytest.raises(DecisionConflict):
        review_store.decide_row(SESSION, row.page_id, row.unit, "void", None, "乙", 0)
    with pytest.raises(sqlite3.IntegrityError):  # even a writer that skips the check cannot
        review_store.db.execute(
            "INSERT INTO decisions (page_id, unit, reading, reviewer, decided_at) VALUES (?, ?, 'void', 'x', 'now')",
            (row.page_id, row.unit),
        )


def test_bad_decisions_are_refused(client: FlaskClient) -> None:
    row = faint_row(client, 2)
    assert decide(client, row, "choice", "很满意")[0] == 422
    assert decide(client, row, "maybe")[0] == 400
    assert decide(client, row, "choice", None)[0] == 422
    body = {"page_id": row["page_id"], "unit": "没有这个单位", "kind": "blank", "choice": None, "version": 0}
    assert post(client, "/api/rows/decide", body)[0] == 422
    body = {"page_id": "1; DROP TABLE pages", "unit": row["unit"], "kind": "blank", "version": 0}
    assert post(client, "/api/rows/decide", body)[0] == 400
    assert client.post("/api/rows/decide", data="{", headers={CSRF_HEADER: csrf_value(TOKEN)}).status_code == 400


def test_another_session_is_out_of_reach(review_store: Store) -> None:
    foreign = create_app(review_store, "2025H2", TOKEN, "测试员").test_client()
    foreign.set_cookie(cookie_name(TOKEN), TOKEN)
    assert foreign.get("/api/queue").get_json()["rows"] == []
    row = review_store.flagged_rows(SESSION)[0].state
    body = {"page_id": row.page_id, "unit": row.unit, "kind": "blank", "choice": None, "version": 0}
    assert foreign.post("/api/rows/decide", json=body, headers={CSRF_HEADER: csrf_value(TOKEN)}).status_code == 422
    assert foreign.get(f"/image/page/{row.page_id}").status_code == 404


# -- images ---------------------------------------------------------------------------------------------------


def test_images_only_by_page_id(client: FlaskClient) -> None:
    row = faint_row(client, 0)
    sheet = client.get(row["sheet"]["url"])
    assert sheet.status_code == 200 and sheet.mimetype == "image/jpeg"
    assert sheet.headers["X-Content-Type-Options"] == "nosniff"
    rejected = page_of(client, "05-not-a-ballot.jpg")
    assert client.get(str(rejected["image"])).status_code == 200
    page_id = row["page_id"]
    for path in [
        "/image/page/999999",
        "/image/page/../../etc/passwd",
        "/image/page/%2e%2e%2fschema.sql",
        "/image/page/-1",
        f"/image/row/{page_id}/99",
        f"/image/row/{rejected['page_id']}/0",  # a rejected page was never aligned: no row crops
        "/static/../store.py",
        "/static/%2e%2e/app.py",
    ]:
        assert client.get(path).status_code == 404, path


# -- rejected pages, hand counts, voided ballots -----------------------------------------------------------------


def test_rejected_pages_are_listed_with_what_can_be_done(client: FlaskClient) -> None:
    rejected = {page["source"]: page for page in client.get("/api/pages").get_json()["rejected"]}
    assert set(rejected) == {"04-corners-covered.jpg", "05-not-a-ballot.jpg", "06-copy-of-02.jpg"}
    covered = rejected["04-corners-covered.jpg"]
    assert covered["outcome"] == "unreadable" and covered["serial"] and covered["countable"]
    assert [row["unit"] for row in covered["rows"]][:2] == ["测评人类别", "局机关"]
    assert not rejected["06-copy-of-02.jpg"]["countable"]
    assert rejected["06-copy-of-02.jpg"]["why_not"] == "只有无法读取的页可以人工录入（此页：重复（复印或重扫））"
    assert all(page["decision"] is None and page["image"] for page in rejected.values())


def test_not_a_ballot_is_recorded_and_can_be_undone(client: FlaskClient, review_db: Path) -> None:
    page = page_of(client, "05-not-a-ballot.jpg")
    status, answer = post(client, "/api/pages/decide", {"page_id": page["page_id"], "kind": "not_ballot", "version": 0})
    assert status == 200, answer
    assert answer["page"]["decision"]["kind"] == "not_ballot"
    assert "不是测评票" in exported(review_db)["05-not-a-ballot.jpg"]["reason"]
    stale = {"page_id": page["page_id"], "kind": "not_ballot", "version": 0}
    assert post(client, "/api/pages/decide", stale)[0] == 409
    status, answer = post(client, "/api/pages/undo", {"page_id": page["page_id"], "version": answer["page"]["version"]})
    assert status == 200 and answer["page"]["decision"] is None


def hand_entry(page: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for row in page["rows"]:
        if row["unit"] == "测评人类别":
            rows.append({"unit": row["unit"], "kind": "blank", "choice": None})
        else:
            rows.append({"unit": row["unit"], "kind": "choice", "choice": row["options"][0]})
    return rows


def test_a_page_counted_by_hand_joins_the_effective_ballots(
    client: FlaskClient, review_store: Store, review_db: Path
) -> None:
    page = page_of(client, "04-corners-covered.jpg")
    counted_before = len(review_store.effective_ballots(SESSION))
    incomplete = {"page_id": page["page_id"], "kind": "count", "version": 0, "rows": hand_entry(page)[:-1]}
    status, answer = post(client, "/api/pages/decide", incomplete)
    assert status == 422 and "文艺演出中心" in answer["message"]
    body = {"page_id": page["page_id"], "kind": "count", "version": 0, "rows": hand_entry(page)}
    status, answer = post(client, "/api/pages/decide", body)
    assert status == 200, answer
    assert answer["page"]["decision"]["kind"] == "count"
    ballots = review_store.effective_ballots(SESSION)
    assert len(ballots) == counted_before + 1
    ballot = next(b for b in ballots if b.page_id == page["page_id"])
    assert ballot.serial == page["serial"] and not ballot.void and ballot.category is None
    assert {row.unit: row.choice for row in ballot.rows}["局机关"] == "满意"
    assert len(ballot.rows) == 10 and all(row.kind == "choice" for row in ballot.rows)
    line = exported(review_db)["04-corners-covered.jpg"]
    assert line["outcome"] == "unreadable" and line["rows"]["局机关"] == {"reading": "满意", "reason": "", "scores": {}}
    assert "人工录入" in line["reason"]

    status, answer = post(client, "/api/pages/undo", {"page_id": page["page_id"], "version": answer["page"]["version"]})
    assert status == 200
    assert len(review_store.effective_ballots(SESSION)) == counted_before
    assert exported(review_db)["04-corners-covered.jpg"]["rows"] == {}


def test_copies_and_counted_serials_cannot_be_counted_by_hand(client: FlaskClient, review_store: Store) -> None:
    copy = page_of(client, "06-copy-of-02.jpg")
    body = {
        "page_id": copy["page_id"],
        "kind": "count",
        "version": 0,
        "rows": hand_entry(page_of(client, "04-corners-covered.jpg")),
    }
    status, answer = post(client, "/api/pages/decide", body)
    assert status == 422, answer
    read = page_of(client, "02-mixed.jpg")
    with pytest.raises(DecisionRefused):  # a read ballot is voided, never 'counted'
        review_store.decide_page(SESSION, int(read["page_id"]), "count", "x", 0, template_hash="0" * 64)
    covered = page_of(client, "04-corners-covered.jpg")
    review_store.db.execute("UPDATE pages SET serial = ? WHERE id = ?", (read["serial"], covered["page_id"]))
    with pytest.raises(DecisionRefused) as refused:
        digest = review_store.session_templates(SESSION)[0].content_hash()
        rows = [HandRow(str(row["unit"]), "blank") for row in covered["rows"]]
        review_store.decide_page(SESSION, int(covered["page_id"]), "count", "x", 0, template_hash=digest, rows=rows)
    assert refused.value.code == Refusal.SERIAL_COUNTED
    assert "已计入" in refusal(refused.value.code, refused.value.detail)


def test_a_serial_read_off_the_sheet_keeps_a_hand_counted_page_from_being_counted_twice(
    client: FlaskClient, review_store: Store
) -> None:
    """A page whose QR code the machine could not read carries no serial; the clerk types the one printed
    under the code. The same sheet then cannot be counted again, by hand or by a later scan."""
    covered = page_of(client, "04-corners-covered.jpg")
    review_store.db.execute("UPDATE pages SET serial = NULL WHERE id = ?", (covered["page_id"],))
    counted = {str(row[0]) for row in review_store.db.execute("SELECT serial FROM pages WHERE serial IS NOT NULL")}
    serial = next(s for s in review_store.issued_serials(SESSION) if s not in counted)
    typed = f"{serial[:4].lower()}-{serial[4:8]} {serial[8:]}"  # as a clerk types it
    body = {"page_id": covered["page_id"], "kind": "count", "version": 0, "rows": hand_entry(covered)}
    status, answer = post(client, "/api/pages/decide", {**body, "serial": "K7QX-M2PD"})
    assert status == 422 and "格式不对" in answer["message"]
    status, answer = post(client, "/api/pages/decide", {**body, "serial": typed})
    assert status == 200, answer
    ballot = next(b for b in review_store.effective_ballots(SESSION) if b.page_id == covered["page_id"])
    assert ballot.serial == serial

    other = page_of(client, "05-not-a-ballot.jpg")
    again = {"page_id": other["page_id"], "kind": "count", "version": 0, "rows": hand_entry(covered), "serial": serial}
    status, answer = post(client, "/api/pages/decide", again)
    assert status == 422 and "已计入" in answer["message"]

    file_id = review_store.add_file(SESSION, "f" * 64, "rescanned.jpg", 1)
    settings = review_store.register_settings(ReadingSettings())
    stamp = (settings, review_store.classification_for(SESSION, settings))
    rescanned = PageRecord(file_id, SESSION, 1, "read", None, *stamp, serial=serial, fingerprint="x")
    assert review_store.save_page(rescanned)[0] == "duplicate"


def test_a_voided_ballot_is_returned_but_not_counted(client: FlaskClient, review_store: Store) -> None:
    signed = page_of(client, "07-signed.jpg")
    body = {"page_id": signed["page_id"], "kind": "void", "version": 0, "note": "署名"}
    status, answer = post(client, "/api/pages/decide", body)
    assert status == 200, answer
    assert answer["page"]["decision"] == {**answer["page"]["decision"], "kind": "void", "note": "署名"}
    ballot = next(b for b in review_store.effective_ballots(SESSION) if b.page_id == signed["page_id"])
    assert ballot.void
    rejected = page_of(client, "05-not-a-ballot.jpg")
    assert post(client, "/api/pages/decide", {"page_id": rejected["page_id"], "kind": "void", "version": 0})[0] == 422


def test_voiding_a_sheet_takes_its_rows_out_of_the_queue(client: FlaskClient, review_store: Store) -> None:
    before = queue(client)["progress"]["total"]
    on_sheet = len([row for row in queue(client)["rows"] if row["source"] == "01-faint.jpg"])
    faint = page_of(client, "01-faint.jpg")
    status, answer = post(client, "/api/pages/decide", {"page_id": faint["page_id"], "kind": "void", "version": 0})
    assert status == 200
    assert answer["progress"]["total"] == before - on_sheet
    assert review_store.pending_rows(SESSION) == before - on_sheet
    assert "01-faint.jpg" not in {row["source"] for row in queue(client)["rows"]}
    post(client, "/api/pages/undo", {"page_id": faint["page_id"], "version": answer["page"]["version"]})
    assert queue(client)["progress"]["total"] == before


# -- commands -------------------------------------------------------------------------------------------------


def test_status_and_export_show_effective_readings(client: FlaskClient, review_db: Path) -> None:
    pending = queue(client)["progress"]["total"]
    decided = queue(client)["rows"][:3]
    for row in decided:
        assert decide(client, row, "blank")[0] == 200
    status = CliRunner().invoke(main, ["status", "--session", SESSION, "--db", str(review_db)])
    assert f"待复核行：{pending - 3}" in status.output
    store = open_store(review_db)
    units, category = store.pending_rows(SESSION, category=False), store.pending_rows(SESSION, category=True)
    assert units + category == pending - 3 == store.pending_rows(SESSION)
    assert (f"（其中测评人类别 {category} 行）" in status.output) == (category > 0)
    store.close()
    lines = exported(review_db)
    for row in decided:
        line = lines[row["source"]]
        assert set(line) == {"source", "page", "outcome", "reason_code", "reason", "serial", "rows"}
        assert line["rows"][row["unit"]] == {
            "reading": "blank",
            "reason": row["reason"],  # the machine's reason for asking, beside the clerk's reading
            "scores": {box["option"]: box["fill"] for box in row["boxes"]},
        }
    assert lines["01-faint.jpg"]["rows"]["局机关"]["reading"] == "满意"  # no decision: the machine's reading


def test_terminal_fallback_saves_crops_and_reads_keys(review_db: Path, tmp_path: Path) -> None:
    crops = tmp_path / "crops"
    args = ["--session", SESSION, "--db", str(review_db), "--cli", "--crops", str(crops), "--reviewer", "李四"]
    result = CliRunner().invoke(review_command, args, input="1x0zq")
    assert result.exit_code == 0, result.output
    assert "标记原因" in result.output and "已决定 3 行，撤销 1 次" in result.output
    saved = sorted(crops.glob("*.png"))
    assert saved and str(saved[0]) in result.output
    assert cv2.imread(str(saved[0])).shape[2] == 3  # outlines drawn in colour
    store = open_store(review_db)
    decided = store.db.execute("SELECT reviewer, reading FROM current_decisions ORDER BY id").fetchall()
    store.close()
    assert decided == [("李四", "choice"), ("李四", "void")]


def test_review_command_prints_the_address_as_soon_as_it_listens(review_db: Path) -> None:
    code = "from pipeline.cli.review import review_command; review_command()"
    command = [sys.executable, "-c", code, "--session", SESSION, "--db", str(review_db), "--port", "0"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as server:
        try:
            assert server.stdout is not None
            url = server.stdout.readline().strip()
            # A loopback address of its own (127.x.y.z), so that the cookie goes to no other local service.
            assert url.startswith("http://127.") and not url.startswith("http://127.0.0.1:") and "/?token=" in url
            base = url.split("/?token=")[0]
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(base + "/api/queue", timeout=10)
            assert refused.value.code == 403
            refused.value.close()
            browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
            with browser.open(url, timeout=10) as page:  # 303 to "/", the token now in a cookie
                assert page.status == 200 and page.url == base + "/"
            with browser.open(base + "/api/queue", timeout=10) as answer:
                assert json.load(answer)["progress"]["total"] > 0
        finally:
            server.terminate()


def test_review_command_says_in_chinese_why_it_cannot_listen(review_db: Path) -> None:
    """A busy port or an address that is not this machine's is our own message, not the web server's English."""
    import socket

    args = ["--session", SESSION, "--db", str(review_db)]
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = CliRunner().invoke(review_command, [*args, "--host", "127.0.0.1", "--port", str(port)])
    assert result.exit_code == 1 and result.output == (
        f"错误：端口 {port} 已被另一个程序占用：换一个端口（--port），或不写 --port，让系统挑一个空闲的\n"
    )
    for host, said in [("999.1.1.1", "“999.1.1.1”不是地址"), ("192.0.2.1", "192.0.2.1 不是本机的地址")]:
        result = CliRunner().invoke(review_command, [*args, "--host", host])
        assert result.exit_code == 1 and result.output.startswith(f"错误：{said}"), result.output
        assert "in use" not in result.output and "Traceback" not in result.output


def test_connections_that_send_nothing_are_dropped_and_bounded(review_store: Store, monkeypatch: Any) -> None:
    """100 connections opened and left silent: the server answers a clerk meanwhile and closes each silent one
    after its timeout (each held a thread for ever before). Beyond MAX_CONNECTIONS at once, a connection is
    closed at once rather than given a thread."""
    import contextlib
    import socket
    import threading
    import time

    from pipeline.review import server as serving

    monkeypatch.setattr(serving._QuietHandler, "timeout", 1.0)
    baseline = threading.active_count()

    def served() -> tuple[Any, threading.Thread, tuple[str, int]]:
        server = serving.start_server(create_app(review_store, SESSION, TOKEN, "测试员"), None, 0)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        return server, thread, (str(server.server_address[0]), int(server.server_address[1]))

    def stop(server: Any, thread: threading.Thread) -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)

    server, thread, address = served()
    try:
        silent = [socket.create_connection(address, timeout=5) for _ in range(100)]
        with pytest.raises(urllib.error.HTTPError) as answered:  # answered (403: no token), not left waiting
            urllib.request.urlopen("http://{}:{}/".format(*address), timeout=5)
        answered.value.close()
        started = time.monotonic()
        for connection in silent:
            assert connection.recv(1) == b""  # closed by the server; a socket.timeout here would fail
            connection.close()
        assert time.monotonic() - started < 4
        time.sleep(0.3)
        assert threading.active_count() <= baseline + 2
    finally:
        stop(server, thread)

    monkeypatch.setattr(serving, "MAX_CONNECTIONS", 10)
    monkeypatch.setattr(serving._QuietHandler, "timeout", 3.0)
    server, thread, address = served()
    try:
        silent = [socket.create_connection(address, timeout=0.05) for _ in range(20)]
        time.sleep(0.3)
        assert threading.active_count() <= baseline + 2 + 10
        closed_at_once = 0
        for connection in silent:
            with contextlib.suppress(TimeoutError):  # given a thread: still waiting for a request
                closed_at_once += connection.recv(1) == b""
            connection.close()
        assert closed_at_once == 10
    finally:
        stop(server, thread)


def test_serving_the_lan_warns_that_it_is_plain_http(review_db: Path) -> None:
    code = "from pipeline.cli.review import review_command; review_command()"
    command = [sys.executable, "-c", code, "--session", SESSION, "--db", str(review_db), "--host", "0.0.0.0"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as server:
        try:
            assert server.stdout is not None and server.stderr is not None
            assert server.stdout.readline().startswith("http://127.0.0.1:")
            server.stderr.readline()  # 复核人：…
            warning = server.stderr.readline()
        finally:
            server.terminate()
    assert warning.startswith("注意：复核页走的是明文 HTTP") and "局域网地址" in warning, warning


def test_a_jpeg_scan_is_kept_as_scanned_and_shown_like_an_upright_copy(tmp_path: Path, template: Template) -> None:
    """A read sheet keeps its JPEG scan as the file holds it and is shown upright through its page's transform
    (a phone photo's EXIF orientation applied alike when it was read and when it is shown); a PNG scan, and a
    JPEG too big to keep, are kept as upright copies. The clerk sees them all alike."""
    from PIL import Image

    from pipeline.reading.keep import REVIEW_PX_PER_MM, SCAN_KEPT_MAX_BYTES
    from tests.helpers import box, print_batch, save_jpeg, tick

    batch = print_batch(tmp_path, template, 4)
    sheets = batch.pages()
    for sheet in sheets:
        tick(sheet, box(batch.layout, "局机关", "满意"))
    scans = tmp_path / "scans"
    scans.mkdir()
    save_jpeg(cv2.rotate(sheets[0], cv2.ROTATE_180), scans / "kept.jpg")  # fed upside down
    cv2.imwrite(str(scans / "copied.png"), sheets[1])
    grain = np.random.default_rng(3).normal(0.0, 8.0, sheets[2].shape)
    save_jpeg(np.clip(sheets[2] + grain, 0, 255).astype(np.uint8), scans / "big.jpg", quality=100)
    assert (scans / "big.jpg").stat().st_size > SCAN_KEPT_MAX_BYTES
    exif = Image.Exif()
    exif[0x0112] = 8  # stored turned 90° clockwise: to be shown turned back
    Image.fromarray(np.rot90(sheets[3], -1)).save(scans / "sideways.jpg", exif=exif, quality=85)
    db = batch.db
    result = CliRunner().invoke(main, ["scan", str(scans), "--session", "2026H1", "--db", str(db), "--jobs", "1"])
    assert result.exit_code == 0, result.output

    store = open_store(db)
    kept = {
        Path(path).name: (page_id, as_scanned, data)
        for path, page_id, as_scanned, data in store.db.execute(
            "SELECT f.path, p.id, i.as_scanned, i.data FROM page_images i "
            "JOIN pages p ON p.id = i.page_id JOIN files f ON f.id = p.file_id WHERE p.outcome = 'read'"
        )
    }
    assert kept["kept.jpg"][1:] == (1, (scans / "kept.jpg").read_bytes())
    assert kept["sideways.jpg"][1:] == (1, (scans / "sideways.jpg").read_bytes())
    # The image kept is the file whose hash was recorded when it was scanned: evidence that can be checked.
    recorded = dict(store.db.execute("SELECT path, sha256 FROM files"))
    assert hashlib.sha256(kept["kept.jpg"][2]).hexdigest() == recorded[str(scans / "kept.jpg")]
    assert kept["copied.png"][1] == 0 and kept["big.jpg"][1] == 0
    client = create_app(store, "2026H1", TOKEN, "测试员").test_client()
    client.set_cookie(cookie_name(TOKEN), TOKEN)
    size = (round(297 * REVIEW_PX_PER_MM), round(210 * REVIEW_PX_PER_MM))
    # Each sheet as printed, upright at the review's resolution (the renderer rounds the page's pixels up).
    printed = [page[: size[0], : size[1]] for page in batch.pages(REVIEW_PX_PER_MM * 25.4)]

    def shown(url: str) -> np.ndarray:
        response = client.get(url)
        assert response.status_code == 200, url
        return np.asarray(cv2.imdecode(np.frombuffer(response.data, np.uint8), cv2.IMREAD_GRAYSCALE), dtype=float)

    for index, name in enumerate(["kept.jpg", "copied.png", "big.jpg", "sideways.jpg"]):
        page = shown(f"/image/page/{kept[name][0]}")
        assert page.shape == printed[index].shape == size
        misfit = np.abs(page - printed[index]).mean()
        assert misfit < 8 and misfit < 0.5 * np.abs(page - printed[index][::-1, ::-1]).mean(), (name, misfit)
    names = ("kept.jpg", "copied.png", "big.jpg", "sideways.jpg")
    crops = [shown(f"/image/row/{kept[name][0]}/2") for name in names]
    assert crops[0].shape == crops[1].shape == crops[2].shape == crops[3].shape
    assert (
        max(np.abs(crops[index] - crops[1]).mean() for index in (0, 3)) < 4 and np.abs(crops[2] - crops[1]).mean() < 8
    )
    store.close()


# -- holes a new clerk found (issue 22) ---------------------------------------------------------------------------


def settle_everything_but(client: FlaskClient, store: Store, keep: set[str]) -> None:
    """Decide every flagged row (blank) and settle every rejected page but those named in ``keep``."""
    for row in store.flagged_rows(SESSION):
        store.decide_row(SESSION, row.state.page_id, row.state.unit, "blank", None, "甲", row.state.version)
    for page in client.get("/api/pages").get_json()["rejected"]:
        if page["source"] not in keep:
            body = {"page_id": page["page_id"], "kind": "not_ballot", "version": page["version"]}
            assert post(client, "/api/pages/decide", body)[0] == 200


def test_a_duplicate_is_settled_as_not_counted(client: FlaskClient, review_store: Store, review_db: Path) -> None:
    """A duplicate is a ballot counted once already: 不是测评票 would be wrong and it cannot be counted by hand,
    but it can be settled: confirmed, not counted."""
    copy = page_of(client, "06-copy-of-02.jpg")
    assert review_store.session_facts(SESSION).unsettled_pages == 3
    status, answer = post(
        client, "/api/pages/decide", {"page_id": copy["page_id"], "kind": "not_counted", "version": 0}
    )
    assert status == 200, answer
    assert answer["page"]["decision"]["kind"] == "not_counted"
    assert review_store.session_facts(SESSION).unsettled_pages == 2
    assert "确认不计入" in exported(review_db)["06-copy-of-02.jpg"]["reason"]
    listed = {page.source: page for page in review_store.uncounted_pages(SESSION)}
    assert listed["06-copy-of-02.jpg"].settled and listed["06-copy-of-02.jpg"].decision == "确认不计入"
    assert not listed["05-not-a-ballot.jpg"].settled and listed["05-not-a-ballot.jpg"].outcome == "无法读取"
    assert "04-corners-covered.jpg" in listed and "02-mixed.jpg" not in listed  # read sheets are counted


def test_a_page_without_a_serial_is_counted_only_with_one_or_the_clerks_statement(
    client: FlaskClient, review_store: Store
) -> None:
    """A sign-in sheet (no QR code, no serial) was once counted as a ballot: counting by hand needs the serial read
    off the sheet, or the clerk's explicit statement that it cannot be read and the page is this round's ballot."""
    sheet = page_of(client, "05-not-a-ballot.jpg")
    body = {"page_id": sheet["page_id"], "kind": "count", "version": 0, "rows": hand_entry(sheet)}
    status, answer = post(client, "/api/pages/decide", body)
    assert status == 422 and "票号" in answer["message"], answer
    assert review_store.db.execute("SELECT count(*) FROM page_decisions").fetchone()[0] == 0
    assert review_store.db.execute("SELECT count(*) FROM decisions").fetchone()[0] == 0
    status, answer = post(client, "/api/pages/decide", {**body, "serial_illegible": True})
    assert status == 200, answer
    stored = review_store.db.execute("SELECT decision, serial, serial_illegible FROM page_decisions").fetchall()
    assert stored == [("count", None, 1)]


def test_rows_the_machine_read_are_changed_only_as_corrections(
    client: FlaskClient, review_store: Store, review_db: Path
) -> None:
    """A decision on a row the machine read without doubt is refused unless it is asked for as a correction (the
    whole-sheet view does); it is then recorded, listed and logged as a correction."""
    faint = page_of(client, "01-faint.jpg")
    rows = client.get(f"/api/pages/{faint['page_id']}/rows").get_json()["rows"]
    office = next(row for row in rows if row["unit"] == "局机关")  # a clear tick: 满意
    assert len(rows) == 11 and not office["flagged"] and office["machine"] == "满意"
    assert {row["unit"] for row in rows if row["flagged"]} == {
        row["unit"] for row in queue(client)["rows"] if row["source"] == "01-faint.jpg"
    }
    status, answer = decide(client, office, "choice", "不满意")
    assert status == 422 and "整页视图" in answer["message"], answer
    assert review_store.db.execute("SELECT count(*) FROM decisions").fetchone()[0] == 0
    body = {"page_id": office["page_id"], "unit": "局机关", "kind": "choice", "choice": "不满意", "version": 0}
    status, answer = post(client, "/api/rows/decide", {**body, "correction": True})
    assert status == 200, answer
    assert answer["row"]["decision"]["correction"] and answer["row"]["effective"] == "不满意"
    assert exported(review_db)["01-faint.jpg"]["rows"]["局机关"]["reading"] == "不满意"
    assert page_of(client, "01-faint.jpg")["corrected"] == 1
    [logged] = review_store.review_log(SESSION)
    assert (logged.machine_reading, logged.decision) == ("满意", "更正为 不满意")
    flagged = review_store.flagged_rows(SESSION)[0].state  # a decision on a flagged row is no correction
    review_store.decide_row(SESSION, flagged.page_id, flagged.unit, "blank", None, "甲", flagged.version)
    assert review_store.review_log(SESSION)[1].machine_reading.startswith("存疑：")
    assert review_store.review_log(SESSION)[1].decision == "弃权"


def test_refusals_are_worded_in_the_pages_language(app: Flask, client: FlaskClient) -> None:
    row = faint_row(client, 0)
    status, answer = decide(client, row, "choice", "很满意")
    assert status == 422 and answer["message"] == f"“{row['unit']}”没有“很满意”这个选项"
    english = app.test_client()
    english.set_cookie(cookie_name(TOKEN), TOKEN)
    english.get("/?lang=en")  # the page's language is remembered in a cookie
    status, answer = decide(english, row, "choice", "很满意")
    assert status == 422 and answer["message"] == f"{row['unit']} has no option 很满意"


def test_a_faint_rows_closeup_is_the_scans_own_pixels_contrast_stretched(
    client: FlaskClient, review_store: Store
) -> None:
    """The close-up covers the crop's area at the scan's own resolution (200 dpi here: 7.9 px/mm against the
    crop's 6) with its greys stretched: a faint tick stands further from the paper than in the plain crop."""
    row = next(row for row in queue(client)["rows"] if any(box["seen"] == "faint" for box in row["boxes"]))
    assert row["paper"] == "屏幕上分不清轻轻打的勾和擦掉的痕迹：请核对纸质测评票。"
    box = next(box for box in row["boxes"] if box["seen"] == "faint")
    assert box["seen_text"] == "很淡的笔迹：轻轻打的勾，或擦掉后的痕迹"

    def pixels(url: str) -> np.ndarray:
        response = client.get(url)
        assert response.status_code == 200 and response.mimetype == "image/png"
        return cv2.imdecode(np.frombuffer(response.data, np.uint8), cv2.IMREAD_GRAYSCALE).astype(float)

    crop, closeup = pixels(row["crop"]["url"]), pixels(row["closeup"])
    scale = review_store.page_image(row["page_id"]).px_per_mm / 6  # type: ignore[union-attr]
    assert scale > 1.25 and closeup.shape == pytest.approx((crop.shape[0] * scale, crop.shape[1] * scale), abs=2)

    def contrast(image: np.ndarray, factor: float) -> float:
        """How far the box's darkest ink lies below the paper around the row, on a 0–255 scale."""
        x, y, w, h = (round(box[key] * factor) for key in ("x", "y", "w", "h"))
        inside = image[
            y + round(4 * factor) : y + h - round(4 * factor), x + round(4 * factor) : x + w - round(4 * factor)
        ]
        return float(np.percentile(image, 90) - np.percentile(inside, 2))

    assert contrast(closeup, scale) > 1.5 * contrast(crop, 1.0)


def test_hostile_numbers_and_bodies_are_refused_not_crashed(client: FlaskClient) -> None:
    """Numbers beyond what SQLite holds and JSON nested beyond what Python parses are refusals (400, 404), not
    server errors."""
    assert client.get(f"/image/page/{10**30}").status_code == 404
    assert client.get(f"/image/row/{10**30}/0").status_code == 404
    assert client.get(f"/api/pages/{10**30}/rows").status_code == 404
    row = faint_row(client, 0)
    body = {"page_id": 10**30, "unit": row["unit"], "kind": "blank", "choice": None, "version": 0}
    assert post(client, "/api/rows/decide", body)[0] == 400
    assert post(client, "/api/pages/decide", {"page_id": 10**30, "kind": "not_ballot", "version": 0})[0] == 400
    nested = "[" * 30_000 + "]" * 30_000
    headers = {CSRF_HEADER: csrf_value(TOKEN), "Content-Type": "application/json"}
    response = client.post("/api/rows/decide", data=nested, headers=headers)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid"


def test_no_final_report_while_a_rejected_page_is_unsettled(
    client: FlaskClient, review_store: Store, review_db: Path, tmp_path: Path
) -> None:
    """With every row decided, one rejected page left open still blocks the final report; `ballot status` says
    so; once it is settled the workbook is written and lists every page not counted with its reason."""
    import openpyxl

    settle_everything_but(client, review_store, {"06-copy-of-02.jpg"})
    db = ["--session", SESSION, "--db", str(review_db)]
    status = CliRunner().invoke(main, ["status", *db])
    assert "未计入的页：3（待处理：1）" in status.output, status.output
    assert "06-copy-of-02.jpg" in status.output
    out = tmp_path / "report.xlsx"
    refused = CliRunner().invoke(main, ["report", *db, "-o", str(out)])
    assert refused.exit_code == 2 and "1 页未计入的扫描页待处理" in refused.output, refused.output
    assert not out.exists()
    copy = page_of(client, "06-copy-of-02.jpg")
    assert (
        post(client, "/api/pages/decide", {"page_id": copy["page_id"], "kind": "not_counted", "version": 0})[0] == 200
    )
    written = CliRunner().invoke(main, ["report", *db, "-o", str(out)])
    assert written.exit_code == 0, written.output
    sheet = openpyxl.load_workbook(out)["未计入的页"]
    listed = {row[2]: row for row in sheet.iter_rows(min_row=3, values_only=True)}
    assert set(listed) == {"04-corners-covered.jpg", "05-not-a-ballot.jpg", "06-copy-of-02.jpg"}
    assert listed["06-copy-of-02.jpg"][5] == "重复（复印或重扫）" and listed["06-copy-of-02.jpg"][7] == "确认不计入"
    assert str(listed["06-copy-of-02.jpg"][6]).startswith("票号 ")  # the reason, in Chinese
    assert listed["05-not-a-ballot.jpg"][7] == "不是测评票"


def test_the_csv_export_writes_no_formula(tmp_path: Path) -> None:
    """Unit names, file names and reasons starting like a formula (=, +, -, @) are written as text."""
    import csv
    import io

    from pipeline.cli.reading import _write_csv

    page = {
        "source": "=cmd|' /C calc'!A0.jpg",
        "page": 1,
        "outcome": "read",
        "reason_code": "",
        "reason": "",
        "serial": "K3J9Q0ZP2M",
        "rows": {'=HYPERLINK("http://x","局机关")': {"reading": "满意", "reason": "", "scores": {"满意": 0.3}}},
    }
    rejected = {**page, "outcome": "unreadable", "reason": "+1 页", "rows": {}}
    handle = io.StringIO()
    _write_csv(handle, [page, rejected])  # type: ignore[list-item]
    table = list(csv.reader(io.StringIO(handle.getvalue())))
    assert table[1][:5] == ["'=cmd|' /C calc'!A0.jpg", "1", "K3J9Q0ZP2M", "read", '\'=HYPERLINK("http://x","局机关")']
    assert table[1][7] == "0.3" and table[2][6] == "'+1 页"
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in table for cell in row)


def test_marks_under_correction_tape_are_read_or_asked_about_with_the_paper_named(
    tmp_path: Path, template: Template
) -> None:
    """Issue 19 (item 8): correction tape is a mark taken back. On a real scan: a tick taped over beside the voter's
    clear tick reads as the clear tick; a tick under tape alone in its row, nothing in or beside the box but the
    tape's edges, reads 弃权; a tick drawn over the tape beside another tick goes to a clerk as a correction, the box
    described as taped and the clerk sent to the paper (what lies under tape does not show on screen)."""
    from tests.helpers import PX, box, print_batch, save_jpeg, tick

    batch = print_batch(tmp_path, template, 1, SESSION)
    db, layout, [sheet] = batch.fresh_db(tmp_path), batch.layout, batch.pages()

    def tape(unit: str, option: str) -> None:
        rect = box(layout, unit, option).rect
        cx, cy = (rect.x + rect.w / 2) * PX, (rect.y + rect.h / 2) * PX
        x0, x1, y0, y1 = round(cx - 5.5 * PX), round(cx + 5.5 * PX), round(cy - 2.3 * PX), round(cy + 2.3 * PX)
        under = sheet[y0:y1, x0:x1].astype(np.float32)
        sheet[y0:y1, x0:x1] = np.clip(252 - (255 - under) * 0.05, 0, 255).astype(np.uint8)
        sheet[[y0, y1 - 1], x0:x1] = np.clip(sheet[[y0, y1 - 1], x0:x1].astype(int) - 25, 0, 255).astype(np.uint8)

    tick(sheet, box(layout, "测评人类别", "基层代表"))
    tick(sheet, box(layout, "文化馆", "满意"), big=False)
    tape("文化馆", "满意")
    tick(sheet, box(layout, "文化馆", "不满意"))
    tick(sheet, box(layout, "图书馆", "基本满意"), big=False)
    tape("图书馆", "基本满意")
    tape("博物馆", "满意")
    tick(sheet, box(layout, "博物馆", "满意"), big=False)
    tick(sheet, box(layout, "博物馆", "不满意"), big=False)
    scans = tmp_path / "scans"
    scans.mkdir()
    save_jpeg(sheet, scans / "taped.jpg", quality=90)
    result = CliRunner().invoke(main, ["scan", str(scans), "--session", SESSION, "--db", str(db), "--jobs", "1"])
    assert result.exit_code in (0, 1), result.output  # read; 1: rows to review

    store = open_store(db)
    rows = exported(db)["taped.jpg"]["rows"]
    assert rows["文化馆"]["reading"] == "不满意"
    assert rows["图书馆"]["reading"] == "blank"
    assert rows["博物馆"]["reading"] == "pending"
    client = create_app(store, SESSION, TOKEN, "测试员").test_client()
    client.set_cookie(cookie_name(TOKEN), TOKEN)
    row = row_of(client, "taped.jpg", "博物馆")
    assert row["reason"] == "correction"
    assert [b["seen"] for b in row["boxes"]] == ["taped", "empty", "clear"]
    assert row["paper"].startswith("方框上贴了修正带")
    store.close()


def test_an_empty_row_of_a_fax_whose_marks_came_through_broken_sends_the_clerk_to_the_paper(
    tmp_path: Path, template: Template
) -> None:
    """Issue 19: a fax's threshold wipes a light ink out, leaving nothing. On a black-and-white scan whose voter's
    marks are too few to tell how their ink came through (two ticks here), an empty row is asked about, the clerk
    sent to the paper; the ticks are read."""
    import cv2

    from tests.helpers import box, print_batch, tick

    batch = print_batch(tmp_path, template, 1, SESSION)
    db, layout, [sheet] = batch.fresh_db(tmp_path), batch.layout, batch.pages()
    tick(sheet, box(layout, "局机关", "满意"))
    tick(sheet, box(layout, "文化馆", "基本满意"))
    scans = tmp_path / "scans"
    scans.mkdir()
    cv2.imwrite(str(scans / "fax.png"), np.where(sheet < 160, 0, 255).astype(np.uint8))
    result = CliRunner().invoke(main, ["scan", str(scans), "--session", SESSION, "--db", str(db), "--jobs", "1"])
    assert result.exit_code in (0, 1), result.output

    rows = exported(db)["fax.png"]["rows"]
    assert (rows["局机关"]["reading"], rows["文化馆"]["reading"]) == ("满意", "基本满意")
    assert (rows["图书馆"]["reading"], rows["图书馆"]["reason"]) == ("pending", "dropped")
    store = open_store(db)
    client = create_app(store, SESSION, TOKEN, "测试员").test_client()
    client.set_cookie(cookie_name(TOKEN), TOKEN)
    row = row_of(client, "fax.png", "图书馆")
    assert row["paper"].startswith("黑白扫描（传真）会丢掉浅色笔迹")
    assert [b["seen"] for b in row["boxes"]] == ["empty", "empty", "empty"]
    store.close()
