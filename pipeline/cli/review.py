"""``ballot review``: the clerk's review page for a session (or its terminal fallback with ``--cli``)."""

from __future__ import annotations

import getpass
import signal
import sys
import threading
from pathlib import Path

import click

from pipeline.cli.common import current_lang, db_option, fail, open_db, say, session_option, zone

SHUTDOWN_WAIT_S = 5.0  # after Ctrl+C, how long a request still being answered may keep the store open
SIGNAL_POLL_S = 1.0  # how often the waiting main thread checks that the server thread is still serving


def _default_reviewer() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (containers, services)
        return "clerk"


@click.command("review")
@session_option
@db_option
@click.option(
    "--host",
    default=None,
    help="Address to listen on (0.0.0.0: the LAN). Default: this machine only, on a loopback address of its own "
    "(127.x.y.z), so that no other local service receives the page's cookie.",
)
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="0: any free port.")
@click.option("--reviewer", default=None, help="Name recorded with each decision (default: your login name).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None, help="Page language (default: ballot --lang).")
@click.option(
    "--cli",
    "in_terminal",
    is_flag=True,
    help="Review in this terminal instead: each row's crop is saved as a PNG whose path is printed.",
)
@click.option(
    "--crops",
    "crops_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("output/review-crops"),
    show_default=True,
    help="With --cli: folder for the row crops.",
)
def review_command(
    session: str,
    db_path: Path | None,
    host: str | None,
    port: int,
    reviewer: str | None,
    lang: str | None,
    in_terminal: bool,
    crops_dir: Path,
) -> None:
    """Settle flagged rows and rejected pages: serves the review page and prints its address with a token.

    Opens no browser: open the printed http://…/?token=… address yourself (any machine that can reach
    --host; the token is always required). Stop with Ctrl+C. Every decision is stored beside the machine's
    reading with the reviewer's name and time; `ballot export` and `ballot status` show the result.

    \b
    Example:
      ballot review --session 2026H1 --reviewer 张三
      ballot review --session 2026H1 --host 0.0.0.0 --port 8765 --lang en
    """
    from pipeline.review.i18n import pick_lang

    store = open_db(db_path)
    if not store.session_exists(session):
        fail("session_unknown", session=session, path=store.path)
    who = (reviewer or _default_reviewer()).strip()[:40] or "clerk"
    chosen = pick_lang(lang, current_lang())
    if in_terminal:
        from pipeline.review.terminal import run_terminal

        result = run_terminal(store, session, who, crops_dir, chosen)
        say("terminal_summary", decided=result.decided, undone=result.undone, left=result.left)
        return

    from pipeline.review.app import STORE_LOCK, create_app
    from pipeline.review.server import ListenError, new_token, review_url, start_server

    token = new_token()
    app = create_app(store, session, token, who, lang=chosen, zone=zone())
    try:
        server = start_server(app, host, port)
    except ListenError as error:
        fail(error.key, **error.detail)
    url = review_url(server, token)
    click.echo(url)
    sys.stdout.flush()  # whoever started us (a script, a test) waits for this line
    say("review_started", err=True, reviewer=who)
    if host in ("0.0.0.0", "::", ""):
        say("lan_warning", err=True, shown=url.split("//", 1)[1].rsplit(":", 1)[0])
    # Ctrl+C is not left to KeyboardInterrupt: Python raises it only when the main thread runs with the signal
    # still flagged, and a request thread may clear that flag, so the command once went on serving after
    # Ctrl+C (its main thread still waiting in select). The signals are blocked in every thread instead, and
    # the main thread waits for them itself while another one serves.
    stop = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop)
    serving = threading.Thread(target=server.serve_forever, name="review-server")
    serving.start()
    try:
        while serving.is_alive() and signal.sigtimedwait(stop, SIGNAL_POLL_S) is None:
            pass
    finally:
        server.shutdown()
        serving.join()
        server.server_close()
        # A request still being answered uses the store: close it only between requests. One that does not
        # finish in time is left to the process's exit (every decision is committed as it is made).
        if app.extensions[STORE_LOCK].acquire(timeout=SHUTDOWN_WAIT_S):
            store.close()


commands = [review_command]
