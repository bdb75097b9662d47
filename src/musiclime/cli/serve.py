"""``musiclime open``: serve a results folder on this machine only (127.0.0.1) to read its pages.

A browser opening ``index.html`` from disk may refuse the pages' audio players and relative links;
over HTTP they work. The server binds the loopback address only, never every interface, and serves
files of the results folder alone (http.server's own path handling keeps requests inside it).
"""

from __future__ import annotations

import logging
import os
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

from ..common.errors import ConfigError

log = logging.getLogger(__name__)

#: The only address the server binds.
HOST = "127.0.0.1"


class QuietHandler(SimpleHTTPRequestHandler):
    """Serves files; requests are logged at debug level instead of printed to stderr."""

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (http.server's signature)
        log.debug("%s - %s", self.address_string(), format % args)


def newest_index(results: Path) -> Path | None:
    """The newest sweep index page (``sweeps/<id>/index.html``) under ``results``, or ``None``."""
    found = sorted(results.glob("sweeps/*/index.html"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def make_server(results: str | os.PathLike, port: int = 0) -> ThreadingHTTPServer:
    """A server of ``results`` on :data:`HOST` and ``port`` (0: a free one), not yet serving.

    Raises:
        ConfigError: the folder does not exist, or the port cannot be bound (the message names it).
    """
    results = Path(results)
    if not results.is_dir():
        raise ConfigError(f"results folder {results} does not exist: run `musiclime explain` first, or name the "
                          "folder that holds the results")
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port must be 0 to 65535, got {port}")
    try:
        return ThreadingHTTPServer((HOST, port), partial(QuietHandler, directory=str(results.resolve())))
    except OSError as exc:
        raise ConfigError(f"cannot serve on {HOST}:{port}: {exc.strerror}; pick another --port, or leave it out "
                          "for a free one") from exc


def page_url(server: ThreadingHTTPServer, results: Path) -> str:
    """The URL to open: the newest sweep index, else the folder's listing."""
    host, port = server.server_address[:2]
    index = newest_index(results)
    path = "" if index is None else index.relative_to(results).as_posix()
    return f"http://{host}:{port}/{path}"


def serve(results: str | os.PathLike, port: int = 0, echo: Callable[[str], None] = print) -> None:
    """Serve ``results`` until Ctrl-C (SIGINT), then close the socket and return."""
    results = Path(results)
    server = make_server(results, port)
    try:
        echo(page_url(server, results))
        echo(f"serving {results.resolve()} on {HOST} only; stop with Ctrl-C")
        server.serve_forever()
    except KeyboardInterrupt:
        echo("stopped")
    finally:
        server.server_close()
