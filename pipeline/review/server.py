"""Serving the review page: a threaded WSGI server, a fresh random token, the URL to open.

Werkzeug's server is enough for one or two clerks on a LAN; its per-request log is silenced because the
first request's address carries the token. We bind the socket ourselves, so that a busy port or a wrong address
is a :class:`ListenError` the command words for the clerk (Werkzeug would print its own English and exit).

Left to the defaults, the server listens on a random address of the loopback network (127.x.y.z, all of which
are this machine): browsers send a cookie to every port of the host that set it, so on 127.0.0.1 the review
token's cookie would go to every other local service the clerk's browser visits; on an address of its own it
goes to this server only. Each connection gets a thread, which a connection that sends nothing gives up after
REQUEST_TIMEOUT_S; at most MAX_CONNECTIONS are served at once, further ones are closed at once.
"""

from __future__ import annotations

import errno
import secrets
import socket
import threading
from typing import Any

from flask import Flask
from werkzeug.serving import LISTEN_QUEUE, ThreadedWSGIServer, WSGIRequestHandler

LOOPBACK = "127.0.0.1"
REQUEST_TIMEOUT_S = 15.0  # a connection that sends nothing for this long is closed and its thread ends
MAX_CONNECTIONS = 256  # served at once; each holds a thread until it ends or times out
_LISTEN_ERRORS = {
    errno.EADDRINUSE: "port_in_use",
    errno.EADDRNOTAVAIL: "address_not_here",
    errno.EACCES: "port_forbidden",
}


class ListenError(Exception):
    """The server cannot listen where asked: ``key`` names the words (:mod:`pipeline.common.cli_words`)."""

    def __init__(self, key: str, **detail: Any) -> None:
        super().__init__(key, detail)
        self.key = key
        self.detail = detail


class _QuietHandler(WSGIRequestHandler):
    timeout = REQUEST_TIMEOUT_S  # applied to the connection before the request line is read

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Nothing: request lines would put the token into the terminal's scrollback."""

    def log_error(self, format: str, *args: Any) -> None:
        """Nothing: timed-out and malformed connections (anyone on the network can open them) are not news; a
        failure of the application itself is logged by the server with its traceback."""


class _BoundedServer(ThreadedWSGIServer):
    """Werkzeug's threaded server with at most MAX_CONNECTIONS connection threads alive."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


def new_token() -> str:
    """About 190 bits from the OS's random source, URL-safe."""
    return secrets.token_urlsafe(24)


def own_loopback() -> str:
    """A random address of the loopback network, other than 127.0.0.1 (see the module's docstring)."""
    return f"127.{secrets.randbelow(254) + 1}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


def start_server(app: Flask, host: str | None, port: int) -> ThreadedWSGIServer:
    """Bind (port 0: a free port chosen by the OS; host None: an address of its own on the loopback network,
    else 127.0.0.1 where the system has only that one) and return the server; call ``serve_forever`` to run it.
    Raises :class:`ListenError`."""
    if host is None:
        try:
            return start_server(app, own_loopback(), port)
        except ListenError as error:
            if error.key != "address_not_here":  # a busy port is the clerk's to choose again
                raise
            host = LOOPBACK
    listening = _listen(host, port)
    try:
        return _BoundedServer(host, port, app, _QuietHandler, fd=listening.fileno())
    finally:
        listening.close()  # the server holds a duplicate of it


def _listen(host: str, port: int) -> socket.socket:
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise ListenError("address_unknown", host=host) from None
    family, kind, protocol, _, address = found[0]
    listening = socket.socket(family, kind, protocol)
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind(address)
        listening.listen(LISTEN_QUEUE)
    except OSError as error:
        listening.close()
        key = _LISTEN_ERRORS.get(error.errno or 0, "listen_failed")
        raise ListenError(key, host=host, port=port, error=error.strerror or error) from None
    return listening


def review_url(server: ThreadedWSGIServer, token: str) -> str:
    """The address to open, with the token; a wildcard bind is shown as this machine's loopback address."""
    host, port = str(server.server_address[0]), int(server.server_address[1])
    if host in ("0.0.0.0", ""):
        host = LOOPBACK
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/?token={token}"
