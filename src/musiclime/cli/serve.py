"""``musiclime open``: serve a results folder on this machine only (127.0.0.1) to read its pages.

A browser opening ``index.html`` from disk may refuse the pages' audio players and relative links;
over HTTP they work. The server shows results and nothing else:

* it binds the loopback address only, never every interface;
* it serves regular files whose real path (every symlink followed) lies inside the real results folder;
  anything else (a symlink or symlinked folder leading out, a ``..`` segment, plain or percent-encoded,
  a missing file, a device or pipe) is answered 404, saying nothing of what lies outside;
* it lists no directories: a directory URL is answered 403 (the printed URL names the index page file);
* it answers only requests whose ``Host`` header is the address and port it bound (``127.0.0.1:PORT``,
  or ``localhost:PORT``); any other ``Host``, none, or several get 421 Misdirected Request. Under DNS
  rebinding a page of another site reaches this port under its own name, which the browser puts in
  ``Host`` (a page cannot set ``Host`` itself), so such requests read nothing. ``localhost`` is accepted
  because no other site can send it: a page is only ever sent ``Host: localhost:PORT`` by a browser
  that loaded it from this very server.
"""

from __future__ import annotations

import logging
import os
import urllib.parse
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import BinaryIO, Callable

from ..common.errors import ConfigError

log = logging.getLogger(__name__)

#: The only address the server binds.
HOST = "127.0.0.1"

#: Host names a request may name besides :data:`HOST` (with the bound port).
LOOPBACK_NAMES = (HOST, "localhost")


class Refused(Exception):
    """A request the server does not answer with a file: its HTTP status and a short reason."""

    def __init__(self, status: HTTPStatus, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def allowed_hosts(port: int) -> frozenset[str]:
    """The ``Host`` header values (lower case) a server bound to ``port`` answers.

    Both loopback names with the port; without a port too when it is 80, HTTP's default, which
    browsers leave out of ``Host``.
    """
    hosts = {f"{name}:{port}" for name in LOOPBACK_NAMES}
    if port == 80:
        hosts.update(LOOPBACK_NAMES)
    return frozenset(hosts)


def check_host(values: list[str], port: int) -> None:
    """Accept the request's ``Host`` header ``values`` (all of them) for a server on ``port``.

    Raises:
        Refused: 421 when there is not exactly one ``Host`` or it names another host or port.
    """
    if len(values) == 1 and values[0].strip().lower() in allowed_hosts(port):
        return
    raise Refused(HTTPStatus.MISDIRECTED_REQUEST,
                  f"this server answers only http://{HOST}:{port}/ (or http://localhost:{port}/)")


def request_segments(target: str) -> list[str]:
    """The decoded path segments of an origin-form request ``target`` (``/a/b%20c?q`` gives ``a``, ``b c``).

    Raises:
        Refused: 400 for a target that is not a path (an absolute URL, ``*``); 404 for one with a ``..``
            segment (plain or percent-encoded) or a NUL byte.
    """
    if not target.startswith("/"):
        raise Refused(HTTPStatus.BAD_REQUEST, "the request target must be a path starting with /")
    path = urllib.parse.unquote(target.split("?", 1)[0].split("#", 1)[0])
    segments = [segment for segment in path.split("/") if segment not in ("", ".")]
    if ".." in segments or "\x00" in path:
        raise Refused(HTTPStatus.NOT_FOUND, "File not found")
    return segments


def results_file(root: Path, target: str) -> Path:
    """The real path of the regular file inside ``root`` (already resolved) that request ``target`` names.

    Every symlink is followed; a file whose real path leaves ``root`` is refused like a missing one.

    Raises:
        Refused: 404 for a missing file, one outside ``root`` or not a regular file; 403 for a directory;
            400 for a target that is not a path.
    """
    try:
        real = root.joinpath(*request_segments(target)).resolve(strict=True)
    except (OSError, RuntimeError, ValueError):  # missing, a symlink loop, an unencodable name
        raise Refused(HTTPStatus.NOT_FOUND, "File not found") from None
    if not real.is_relative_to(root):
        raise Refused(HTTPStatus.NOT_FOUND, "File not found")
    if real.is_dir():
        raise Refused(HTTPStatus.FORBIDDEN, "directories are not listed: open an index.html or another file")
    if not real.is_file():
        raise Refused(HTTPStatus.NOT_FOUND, "File not found")
    return real


class ResultsHandler(SimpleHTTPRequestHandler):
    """Serves the regular files of the results folder (``directory``) to loopback ``Host`` requests only.

    Requests are logged at debug level instead of printed to stderr.
    """

    def parse_request(self) -> bool:
        """http.server's parsing, then the ``Host`` check, for every method (GET, HEAD and the rest)."""
        if not super().parse_request():
            return False
        try:
            check_host(self.headers.get_all("Host") or [], self.server.server_address[1])
        except Refused as refused:
            self.send_error(refused.status, refused.status.phrase, refused.reason)
            return False
        return True

    def send_head(self) -> BinaryIO | None:
        """Send the status and headers of a GET or HEAD; return the open file, or ``None`` when refused."""
        try:
            path = results_file(Path(self.directory), self.path)
        except Refused as refused:
            self.send_error(refused.status, refused.status.phrase, refused.reason)
            return None
        return self.file_head(path)

    def file_head(self, path: Path) -> BinaryIO | None:
        """Open ``path`` and send a 200 with its type, length and modification time."""
        try:
            handle = open(path, "rb")
        except OSError:
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        try:
            stat = os.fstat(handle.fileno())
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", self.guess_type(str(path)))
            self.send_header("Content-Length", str(stat.st_size))
            self.send_header("Last-Modified", self.date_time_string(stat.st_mtime))
            self.end_headers()
        except BaseException:
            handle.close()
            raise
        return handle

    def list_directory(self, path: str | os.PathLike) -> None:
        """Never list a directory (``send_head`` refuses them before; this guards http.server's own path)."""
        self.send_error(HTTPStatus.FORBIDDEN, "Forbidden", "directories are not listed")
        return None

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (http.server's signature)
        log.debug("%s - %s", self.address_string(), format % args)


def newest_index(results: Path) -> Path | None:
    """The newest sweep index page (``sweeps/<id>/index.html``) under ``results`` the server would serve, or
    ``None``."""
    root = results.resolve()
    found = [page for page in results.glob("sweeps/*/index.html")
             if page.resolve().is_relative_to(root) and page.is_file()]
    found.sort(key=lambda p: p.stat().st_mtime)
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
        return ThreadingHTTPServer((HOST, port), partial(ResultsHandler, directory=str(results.resolve())))
    except OSError as exc:
        raise ConfigError(f"cannot serve on {HOST}:{port}: {exc.strerror}; pick another --port, or leave it out "
                          "for a free one") from exc


def page_url(server: ThreadingHTTPServer, results: Path) -> str | None:
    """The URL of the newest sweep index page, or ``None`` while there is none."""
    index = newest_index(results)
    if index is None:
        return None
    host, port = server.server_address[:2]
    return f"http://{host}:{port}/{index.relative_to(results).as_posix()}"


def opening_line(server: ThreadingHTTPServer, results: Path) -> str:
    """What ``musiclime open`` prints first: the index page's URL, or what to do while there is none."""
    url = page_url(server, results)
    if url is not None:
        return url
    host, port = server.server_address[:2]
    return (f"no index page in {results} yet (sweeps/<id>/index.html): run `musiclime explain` to write one, "
            f"then open http://{host}:{port}/sweeps/<id>/index.html")


def serve(results: str | os.PathLike, port: int = 0, echo: Callable[[str], None] = print) -> None:
    """Serve ``results`` until Ctrl-C (SIGINT), then close the socket and return."""
    results = Path(results)
    server = make_server(results, port)
    try:
        echo(opening_line(server, results))
        echo(f"serving {results.resolve()} on {HOST} only; stop with Ctrl-C")
        server.serve_forever()
    except KeyboardInterrupt:
        echo("stopped")
    finally:
        server.server_close()
