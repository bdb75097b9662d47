"""Open a page in real headless Chromium over the DevTools protocol (``--remote-debugging-pipe``).

Collects console errors, uncaught exceptions and failed resource loads, checks that every image
and audio element loads, and takes a full-page screenshot. No extra Python dependency: the pipe
speaks NUL-terminated JSON on file descriptors 3 (commands) and 4 (replies and events).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-pipe", "--allow-file-access-from-files", "--autoplay-policy=no-user-gesture-required"]

#: JavaScript run in the page: broken images, and audio elements that fail to load metadata.
CHECK_MEDIA = """
(async () => {
  const broken = Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src);
  const audio = await Promise.all(Array.from(document.querySelectorAll('audio')).map(a => new Promise(ok => {
    const probe = new Audio();
    probe.preload = 'metadata';
    probe.onloadedmetadata = () => ok(null);
    probe.onerror = () => ok(a.src);
    probe.src = a.src;
  })));
  return JSON.stringify({broken_images: broken, broken_audio: audio.filter(x => x),
                         n_images: document.images.length, n_audio: document.querySelectorAll('audio').length,
                         text: document.body.innerText});
})()
"""


def chromium_binary() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def require_chromium() -> None:
    """Skip without Chromium on a developer's machine; under CI (``CI`` set, ``.ci/run`` installs it) fail."""
    import os

    import pytest

    if chromium_binary() is None:
        reason = "chromium not installed (.ci/run installs Debian's chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the Chromium page test: {reason}")
        pytest.skip(reason)


@dataclass
class PageVisit:
    """What Chromium saw on one page."""

    errors: list[str] = field(default_factory=list)
    broken_images: list[str] = field(default_factory=list)
    broken_audio: list[str] = field(default_factory=list)
    n_images: int = 0
    n_audio: int = 0
    text: str = ""
    screenshot: bytes = b""


class Chromium:
    """One headless Chromium process driven over the DevTools pipe."""

    def __init__(self, user_data_dir: Path, width: int = 1200, height: int = 900, timeout_s: float = 60.0):
        binary = chromium_binary()
        if binary is None:
            raise RuntimeError("chromium is not installed (apt-get install chromium; .ci/run does it)")
        self.timeout_s, self.width, self.height = timeout_s, width, height
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        # the child needs exactly fds 3 and 4; move ours above them first so dup2 cannot clobber one
        high_r = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
        high_w = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
        os.close(to_child_r)
        os.close(from_child_w)

        def wire():
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self.process = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={user_data_dir}",
                                         f"--window-size={width},{height}", "about:blank"],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        preexec_fn=wire, pass_fds=(3, 4))
        os.close(high_r)
        os.close(high_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []

    # --- protocol --------------------------------------------------------------------------------
    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"DevTools {method} failed: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str) -> dict:
        for i, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(i)
        while True:
            event = self._read()
            if event.get("method") == method:
                return event
            self.events.append(event)

    def _read(self) -> dict:
        deadline = time.monotonic() + self.timeout_s
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("no reply from chromium over the DevTools pipe")
            chunk = os.read(self._from_child, 1 << 16)
            if not chunk:
                raise RuntimeError(f"chromium closed the DevTools pipe (exit code {self.process.poll()})")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    # --- a page visit ----------------------------------------------------------------------------
    def open(self, page: Path, on_new_document: str | None = None) -> "Tab":
        """Load ``page`` (a file) in a fresh tab and wait for its load event; close the tab when done.
        ``on_new_document``: JavaScript run in the page before its own scripts."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.send(f"{domain}.enable", session=session)
        self.send("Emulation.setDeviceMetricsOverride", {"width": self.width, "height": self.height,
                                                         "deviceScaleFactor": 1, "mobile": False}, session=session)
        if on_new_document:
            self.send("Page.addScriptToEvaluateOnNewDocument", {"source": on_new_document}, session=session)
        self.events.clear()
        self.send("Page.navigate", {"url": page.resolve().as_uri()}, session=session)
        self.wait_for("Page.loadEventFired")
        return Tab(self, target, session)

    def visit(self, page: Path) -> PageVisit:
        """Load ``page`` (a file) in a fresh tab, collect problems and a full-page screenshot."""
        tab = self.open(page)
        media = json.loads(tab.evaluate(CHECK_MEDIA))
        visit = PageVisit(broken_images=media["broken_images"], broken_audio=media["broken_audio"],
                          n_images=media["n_images"], n_audio=media["n_audio"], text=media["text"],
                          screenshot=tab.screenshot())
        visit.errors = tab.errors()
        tab.close()
        return visit

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (RuntimeError, OSError, TimeoutError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_child)
        os.close(self._from_child)


class Tab:
    """One open page: evaluate JavaScript in it (promises awaited, values returned as JSON values)."""

    def __init__(self, browser: Chromium, target: str, session: str):
        self.browser, self.target, self.session = browser, target, session

    def evaluate(self, expression: str):
        """The value of ``expression`` (awaited); an exception in the page raises ``RuntimeError``."""
        result = self.browser.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                        "returnByValue": True}, session=self.session)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page exception: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self) -> bytes:
        shot = self.browser.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True},
                                 session=self.session)
        return base64.b64decode(shot["data"])

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and failed loads seen so far."""
        return [_describe(e) for e in self.browser.events if _is_error(e)]

    def close(self) -> None:
        self.browser.send("Target.closeTarget", {"targetId": self.target})


def _is_error(event: dict) -> bool:
    method, params = event.get("method"), event.get("params", {})
    if method == "Runtime.exceptionThrown":
        return True
    if method == "Runtime.consoleAPICalled":
        return params.get("type") in ("error", "assert")
    if method == "Log.entryAdded":
        return params.get("entry", {}).get("level") == "error"
    return False


def _describe(event: dict) -> str:
    params = event.get("params", {})
    if event["method"] == "Log.entryAdded":
        entry = params["entry"]
        return f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}"
    if event["method"] == "Runtime.exceptionThrown":
        return f"exception: {params.get('exceptionDetails', {}).get('text')}"
    return "console: " + " ".join(str(a.get("value", a.get("description"))) for a in params.get("args", []))
