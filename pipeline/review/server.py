"""Serving the review page: a threaded WSGI server, a fresh random token, the URL to open.

Werkzeug's server is enough for one or two clerks on a LAN; its per-request log is silenced because the
first request's address carries the token.
"""

from __future__ import annotations

import secrets

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Nothing: request lines would put the token into the terminal's scrollback."""


def new_token() -> str:
    """About 190 bits from the OS's random source, URL-safe."""
    return secrets.token_urlsafe(24)


def start_server(app: Flask, host: str, port: int) -> BaseWSGIServer:
    """Bind (port 0: a free port chosen by the OS) and return the server; call ``serve_forever`` to run it."""
    return make_server(host, port, app, threaded=True, request_handler=_QuietHandler)


def review_url(server: BaseWSGIServer, token: str) -> str:
    """The address to open, with the token; a wildcard bind is shown as this machine's loopback address."""
    host, port = str(server.server_address[0]), int(server.server_address[1])
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/?token={token}"
