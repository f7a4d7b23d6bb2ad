"""The review server: one Flask application per session, over the store, behind a random access token.

Security, because the page may be served on an office LAN: every request needs the token (``?token=`` once,
then an HttpOnly SameSite=Strict cookie); every POST also needs the ``X-Review-Token`` header the page's own
script sends (a value derived from the token, which another site can neither read nor set without a CORS
preflight we never answer) and, when the browser says where it comes from, the same origin. Images are
looked up by page id in the store only, never by a path from the request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections import OrderedDict
from datetime import tzinfo
from pathlib import Path

import numpy as np
from flask import Flask, Response, abort, jsonify, redirect, render_template, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from pipeline.ballot.layout import RowPlace
from pipeline.common.clock import office_zone
from pipeline.common.messages import refusal
from pipeline.common.reasons import Refusal, RowWhy
from pipeline.reading.keep import review_image
from pipeline.review.i18n import LANGS, Lang, pick_lang, strings
from pipeline.review.views import (
    Layouts,
    closeup,
    count_template,
    flagged_json,
    hand_rows,
    page_json,
    png,
    progress_json,
    row_crop,
    row_json,
    sheet_row_json,
    shown_page,
)
from pipeline.store.database import Store
from pipeline.store.records import (
    MAX_NOTE,
    MAX_REVIEWER,
    MAX_SERIAL_TEXT,
    PAGE_DECISION_KINDS,
    ROW_DECISION_KINDS,
    DecisionConflict,
    DecisionRefused,
    PageState,
    RowState,
    StoredImage,
)

TOKEN_PARAM = "token"
CSRF_HEADER = "X-Review-Token"
LANG_COOKIE = "ballot_review_lang"
MAX_BODY_BYTES = 64 * 1024
DECODED_PAGES_KEPT = 12  # upright pages (≈2 MB each) kept for cutting row crops and showing pages
POLL_MS = 20_000  # how often the page refreshes its lists, to show another clerk's decisions
STORE_LOCK = "ballot_store_lock"  # app.extensions: the lock a request holds while it uses the store
#: The largest id SQLite stores (a signed 64-bit integer): a larger number in a path or a body names nothing.
MAX_ID = 2**63 - 1

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def csrf_value(token: str) -> str:
    """What the page's script sends in X-Review-Token: derived, so the access token itself is not in the DOM."""
    return hmac.new(token.encode(), b"ballot-review-post", hashlib.sha256).hexdigest()[:32]


def cookie_name(token: str) -> str:
    """Per token, because cookies ignore ports: two review servers on one machine must not clobber each other."""
    return "ballot_review_" + hashlib.sha256(token.encode()).hexdigest()[:10]


class InvalidRequest(Exception):  # noqa: N818 - maps to HTTP 400
    """A request body that does not have the expected shape."""


def create_app(
    store: Store, session: str, token: str, reviewer: str, *, lang: Lang = "zh", zone: tzinfo | None = None
) -> Flask:
    """The review application for ``session``; decisions are recorded as ``reviewer`` unless the page names one.
    Times are shown in ``zone`` (default: the office's, :func:`pipeline.common.clock.office_zone`)."""
    zone = zone or office_zone()
    here = Path(__file__).resolve().parent
    app = Flask(__name__, template_folder=str(here / "pages"), static_folder=str(here / "static"))
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # DefaultJSONProvider has it
    # One connection, shared by the server's threads: the lock keeps each request's statements together.
    lock = threading.Lock()
    app.extensions[STORE_LOCK] = lock
    layouts = Layouts(store)
    decoded: OrderedDict[int, np.ndarray] = OrderedDict()
    csrf = csrf_value(token)
    cookie = cookie_name(token)

    def current_lang() -> Lang:
        return pick_lang(request.args.get("lang"), request.cookies.get(LANG_COOKIE), lang)

    def texts() -> dict[str, str]:
        return strings(current_lang())

    def refuse(key: str) -> Response:
        message = texts()[key]
        if request.path.startswith("/api/"):
            response = jsonify({"error": "forbidden", "message": message})
        else:
            response = Response(f"<!doctype html><meta charset=utf-8><p>{message}</p>", mimetype="text/html")
        response.status_code = 403
        return response

    def set_token_cookie(response: BaseResponse) -> None:
        response.set_cookie(cookie, token, httponly=True, samesite="Strict", path="/")

    @app.before_request
    def require_token() -> BaseResponse | None:
        query = request.args.get(TOKEN_PARAM)
        by_query = query is not None and hmac.compare_digest(query.encode(), token.encode())
        by_cookie = hmac.compare_digest(request.cookies.get(cookie, "").encode(), token.encode())
        if not (by_query or by_cookie):
            return refuse("no_token")
        if request.method not in ("GET", "HEAD"):
            sent = request.headers.get(CSRF_HEADER, "")
            origin = request.headers.get("Origin")
            site = request.headers.get("Sec-Fetch-Site")
            if (
                not hmac.compare_digest(sent.encode(), csrf.encode())
                or (origin is not None and origin != request.host_url.rstrip("/"))
                or site not in (None, "same-origin", "none")
            ):
                return refuse("forbidden_post")
        if by_query and request.method == "GET" and request.path == "/":
            # Move the token out of the address bar (history, screenshots) into the cookie.
            chosen = request.args.get("lang")
            response = redirect("/" + (f"?lang={chosen}" if chosen in LANGS else ""), 303)
            set_token_cookie(response)
            return response
        return None

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers.update(SECURITY_HEADERS)
        if request.path.startswith("/image/"):
            response.headers["Cache-Control"] = "private, max-age=3600"  # a page id's image never changes
        elif request.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-cache"
        else:
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(InvalidRequest)
    def invalid(error: InvalidRequest) -> tuple[Response, int]:
        return jsonify({"error": "invalid", "message": texts()["invalid_request"], "detail": str(error)}), 400

    @app.errorhandler(DecisionRefused)
    def refused(error: DecisionRefused) -> tuple[Response, int]:
        return jsonify({"error": "refused", "message": refusal(error.code, error.detail, current_lang())}), 422

    @app.errorhandler(DecisionConflict)
    def conflict(error: DecisionConflict) -> tuple[Response, int]:
        current = error.current
        if isinstance(current, RowState):
            return jsonify({"error": "conflict", "row": row_json(current, texts(), zone)}), 409
        with lock:
            body = {"error": "conflict", "page": page_dict(current)}
        return jsonify(body), 409

    @app.errorhandler(Exception)
    def server_error(error: Exception) -> tuple[Response, int]:
        """A bug: logged with its traceback for whoever runs the server; the clerk reads that nothing was recorded."""
        app.logger.exception("review server error", exc_info=error)
        if request.path.startswith("/api/"):
            return jsonify({"error": "server", "message": texts()["server_error"]}), 500
        page = f"<!doctype html><meta charset=utf-8><p>{texts()['server_error']}</p>"
        return Response(page, mimetype="text/html"), 500

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> BaseResponse:
        if not request.path.startswith("/api/"):
            return error.get_response()
        code = error.code or 500
        message = texts().get(f"http_{code}") or texts()["http_other"].format(code=code)
        response = jsonify({"error": error.name, "message": message})
        response.status_code = code
        return response

    # -- the page ---------------------------------------------------------------------------------------------

    @app.get("/")
    def index() -> Response:
        chosen = current_lang()
        table = strings(chosen)
        config = {
            "csrf": csrf,
            "session": session,
            "reviewer": reviewer,
            "lang": chosen,
            "strings": table,
            "reasons": [{"code": str(code), "text": table[f"reason_{code}"]} for code in RowWhy],
            "poll_ms": POLL_MS,
        }
        other = "en" if chosen == "zh" else "zh"
        page = render_template("index.html", t=table, config=config, session=session, lang=chosen, other=other)
        response = Response(page, mimetype="text/html")
        if request.args.get("lang") in LANGS:
            response.set_cookie(LANG_COOKIE, chosen, httponly=True, samesite="Strict", path="/")
        return response

    @app.get("/favicon.ico")
    def favicon() -> Response:
        return Response(status=204)  # browsers ask for one; an empty answer keeps the console clean

    # -- rows -------------------------------------------------------------------------------------------------

    @app.get("/api/queue")
    def queue() -> Response:
        """Every flagged row in sheet order (only those flagged for ``?reason=`` when given); progress is overall."""
        table, chosen = texts(), current_lang()
        reason = request.args.get("reason")
        with lock:
            rows = store.flagged_rows(session)
            settings = store.classification_settings(session)
            items = [
                flagged_json(row, layouts, table, chosen, settings, zone)
                for row in rows
                if reason in (None, "", row.state.reason)
            ]
        return jsonify({"rows": items, "progress": progress_json(rows)})

    @app.post("/api/rows/decide")
    def decide_row() -> Response:
        """A decision on a flagged row; on a row the machine read without doubt only with ``correction: true``
        (the whole-sheet view sends it), recorded as a correction."""
        body = json_body()
        kind = body.get("kind")
        choice = body.get("choice")
        correction = body.get("correction", False)
        if kind not in ROW_DECISION_KINDS or not (choice is None or isinstance(choice, str)):
            raise InvalidRequest("kind must be choice, blank or void; choice a string or null")
        if not isinstance(correction, bool):
            raise InvalidRequest("correction must be true or false")
        with lock:
            state = store.decide_row(
                session, int_field(body, "page_id"), str_field(body, "unit"), kind, choice, who(body),
                int_field(body, "version"), correction=correction,
            )  # fmt: skip
            progress = progress_json(store.flagged_rows(session))
        return jsonify({"row": row_json(state, texts(), zone), "progress": progress})

    @app.post("/api/rows/undo")
    def undo_row() -> Response:
        body = json_body()
        with lock:
            state = store.undo_row(
                session, int_field(body, "page_id"), str_field(body, "unit"), who(body), int_field(body, "version")
            )
            progress = progress_json(store.flagged_rows(session))
        return jsonify({"row": row_json(state, texts(), zone), "progress": progress})

    @app.get(f"/api/pages/<int(max={MAX_ID}):page_id>/rows")
    def sheet_rows(page_id: int) -> Response:
        """Every row of a read sheet, for the whole-sheet view (where a row the machine was sure of is corrected)."""
        table = texts()
        with lock:
            rows = store.sheet_rows(session, page_id)
        if not rows:
            abort(404)
        return jsonify({"rows": [sheet_row_json(row, table, zone) for row in rows]})

    # -- pages ------------------------------------------------------------------------------------------------

    def session_hashes() -> list[str]:
        return [template.content_hash() for template in store.session_templates(session)]

    def page_dict(state: PageState) -> dict[str, object]:
        """The page as the lists show it (the caller holds the lock)."""
        for rejected in (True, False):
            found = store.review_pages(session, rejected=rejected, page_id=state.page_id)
            if found:
                chosen = current_lang()
                return page_json(found[0], texts(), chosen, layouts if rejected else None, session_hashes(), zone)
        abort(404)

    @app.get("/api/pages")
    def pages() -> Response:
        table = texts()
        with lock:
            hashes = session_hashes()
            chosen = current_lang()
            rejected = [
                page_json(page, table, chosen, layouts, hashes, zone)
                for page in store.review_pages(session, rejected=True)
            ]
            sheets = [
                page_json(page, table, chosen, None, hashes, zone)
                for page in store.review_pages(session, rejected=False)
            ]
        return jsonify({"rejected": rejected, "sheets": sheets})

    @app.post("/api/pages/decide")
    def decide_page() -> Response:
        body = json_body()
        page_id, version, kind = int_field(body, "page_id"), int_field(body, "version"), body.get("kind")
        note, serial = body.get("note", ""), body.get("serial") or None
        illegible = body.get("serial_illegible", False)
        if kind not in PAGE_DECISION_KINDS or not isinstance(note, str) or len(note) > MAX_NOTE:
            raise InvalidRequest("kind must be not_ballot, not_counted, count or void; note a short string")
        if serial is not None and (not isinstance(serial, str) or len(serial) > MAX_SERIAL_TEXT):
            raise InvalidRequest("serial must be a short string")
        if not isinstance(illegible, bool):
            raise InvalidRequest("serial_illegible must be true or false")
        with lock:
            digest: str | None = None
            rows = []
            if kind == "count":
                found = store.review_pages(session, rejected=True, page_id=page_id)
                if not found:
                    raise DecisionRefused(Refusal.ONLY_UNREADABLE_COUNTED, outcome="read")
                template = count_template(found[0], session_hashes())
                if isinstance(template, DecisionRefused):
                    raise template
                digest = template
                rows = hand_rows(body.get("rows"), layouts.get(digest))
            state = store.decide_page(
                session,
                page_id,
                kind,
                who(body),
                version,
                note=note.strip(),
                template_hash=digest,
                rows=rows,
                serial=serial,
                serial_illegible=illegible,
            )
            result = {"page": page_dict(state), "progress": progress_json(store.flagged_rows(session))}
        return jsonify(result)

    @app.post("/api/pages/undo")
    def undo_page() -> Response:
        body = json_body()
        with lock:
            state = store.undo_page(session, int_field(body, "page_id"), who(body), int_field(body, "version"))
            result = {"page": page_dict(state), "progress": progress_json(store.flagged_rows(session))}
        return jsonify(result)

    # -- images: only by page id, only of this session ---------------------------------------------------------

    @app.get(f"/image/page/<int(max={MAX_ID}):page_id>")
    def page_image(page_id: int) -> Response:
        with lock:
            image = store.page_image(page_id)
            if image is None or image.session != session:
                abort(404)
            if image.transform is None:  # kept upright, or a rejected page's reduced scan: shown as it is
                return Response(image.data, mimetype=image.mime)
            upright = shown(page_id, image)
        return Response(review_image(upright).data, mimetype="image/jpeg")

    @app.get(f"/image/row/<int(max={MAX_ID}):page_id>/<int(max=999):row_index>")
    def row_image(page_id: int, row_index: int) -> Response:
        with lock:
            image, place = read_row(page_id, row_index)
            crop = row_crop(shown(page_id, image), place)
        return Response(png(crop), mimetype="image/png")

    @app.get(f"/image/closeup/<int(max={MAX_ID}):page_id>/<int(max=999):row_index>")
    def closeup_image(page_id: int, row_index: int) -> Response:
        """The row at the scan's own resolution, contrast stretched: for faint marks and erasures."""
        with lock:
            image, place = read_row(page_id, row_index)
            pixels = closeup(image, shown(page_id, image), place)
        return Response(png(pixels), mimetype="image/png")

    def read_row(page_id: int, row_index: int) -> tuple[StoredImage, RowPlace]:
        """A read sheet's image and row ``row_index``'s place; 404 for anything else (the caller holds the lock)."""
        image = store.page_image(page_id)
        if image is None or image.session != session or image.outcome != "read" or image.template_hash is None:
            abort(404)
        rows = layouts.get(image.template_hash).rows
        if not 0 <= row_index < len(rows):
            abort(404)
        return image, rows[row_index]

    def shown(page_id: int, image: StoredImage) -> np.ndarray:
        """The page's pixels as shown (:func:`shown_page`), from the last DECODED_PAGES_KEPT pages'."""
        pixels = decoded.pop(page_id, None)
        decoded[page_id] = pixels if pixels is not None else shown_page(image, layouts)
        while len(decoded) > DECODED_PAGES_KEPT:
            decoded.popitem(last=False)
        return decoded[page_id]

    def who(body: dict[str, object]) -> str:
        """The reviewer the page names (two clerks may share one server), else the server's --reviewer."""
        named = body.get("reviewer")
        if isinstance(named, str) and 0 < len(named.strip()) <= MAX_REVIEWER:
            return named.strip()
        return reviewer

    return app


def json_body() -> dict[str, object]:
    """The request's JSON object; InvalidRequest for anything else, also for JSON nested too deeply to parse."""
    if not request.is_json:
        raise InvalidRequest("a JSON object is expected (Content-Type: application/json)")
    try:
        body = json.loads(request.get_data(cache=True))
    except (ValueError, RecursionError):
        raise InvalidRequest("a JSON object is expected") from None
    if not isinstance(body, dict):
        raise InvalidRequest("a JSON object is expected")
    return body


def int_field(body: dict[str, object], name: str) -> int:
    value = body.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_ID:
        raise InvalidRequest(f"{name} must be a non-negative integer that the store can hold")
    return value


def str_field(body: dict[str, object], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidRequest(f"{name} must be a non-empty string")
    return value
