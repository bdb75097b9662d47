"""Processes that end soon after the process they serve dies, even when it dies by ``SIGKILL``.

A hard kill (``kill -9``, the OOM killer, a lost login session) runs no cleanup in the killed
process, and its children live on, reparented to init. :func:`follow` starts a watchdog thread in a
child: twice a second it checks that the process it serves is still alive; once it is gone, the
watchdog interrupts the child's main thread (``KeyboardInterrupt``: ``finally`` blocks run, so
atomic writes delete their temporary files and MLflow sessions end) and, if work is still under way
``grace_s`` seconds later, ends the child with :func:`os._exit`. Work that must not be cut short,
such as a tracking store's transaction that is not atomic (MLflow creates a new SQLite store's
schema in several steps), runs inside :func:`uninterrupted`: the watchdog lets it finish (up to
``CRITICAL_CAP_S``) before interrupting, and no such block starts after the process is gone.

Why not ``prctl(PR_SET_PDEATHSIG)``: Linux sends that signal when the *thread* that started the
child exits, not the process, so a pool worker started from a short-lived thread would die early;
and a script's parent is the shell that Snakemake starts, which outlives Snakemake.

A process is named by :class:`ProcessIdentity` (host, PID and start time), so a PID reused by a
new process after the old one died is not mistaken for it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

log = logging.getLogger(__name__)

#: Seconds between two checks that the followed process is alive.
POLL_S = 0.5
#: Seconds the interrupted main thread gets to unwind before the process exits regardless.
GRACE_S = 3.0
#: Longest wait, seconds, for an :func:`uninterrupted` block before the interrupt comes regardless.
CRITICAL_CAP_S = 60.0
#: Exit status of a process ended by its watchdog (128 + SIGHUP, as for a hang-up).
ORPHAN_EXIT_STATUS = 129
PROC = Path("/proc")

_critical_lock = threading.Lock()
_critical_blocks = 0
_abandoning = False


@dataclass(frozen=True)
class ProcessIdentity:
    """One process: ``host``, ``pid`` and ``started`` (clock ticks after boot; ``None`` without ``/proc``)."""

    host: str
    pid: int
    started: int | None

    @classmethod
    def of(cls, pid: int) -> ProcessIdentity:
        """The identity of the running process ``pid`` on this host."""
        return cls(socket.gethostname(), pid, start_ticks(pid))

    @classmethod
    def current(cls) -> ProcessIdentity:
        """The identity of this process."""
        return cls.of(os.getpid())

    def encode(self) -> str:
        """``"<pid>:<started>:<host>"`` (``started`` empty when unknown), e.g. for an environment variable."""
        return f"{self.pid}:{'' if self.started is None else self.started}:{self.host}"

    @classmethod
    def decode(cls, text: str) -> ProcessIdentity:
        """Inverse of :meth:`encode`; ``ValueError`` for a malformed text."""
        pid, started, host = text.split(":", 2)
        return cls(host, int(pid), int(started) if started else None)

    def is_local(self) -> bool:
        """True when the process runs (or ran) on this host."""
        return self.host == socket.gethostname()

    def is_alive(self) -> bool:
        """True while the process runs on this host: not exited, not a zombie, not a reused PID."""
        if not pid_is_alive(self.pid):
            return False
        if self.started is None:
            return True
        try:
            return start_ticks(self.pid) == self.started
        except ProcessLookupError:
            return False


def start_ticks(pid: int) -> int | None:
    """Start time of process ``pid`` in clock ticks after boot (``/proc/<pid>/stat`` field 22).

    ``None`` where there is no ``/proc`` (not Linux). Raises ``ProcessLookupError`` when ``pid`` does
    not exist.
    """
    if not PROC.is_dir():
        return None
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        raise ProcessLookupError(pid) from None
    # field 2 (the command) may hold spaces and parentheses: the fields after it follow the last ")"
    return int(stat.rsplit(")", 1)[1].split()[19])


def pid_is_alive(pid: int) -> bool:
    """True when ``pid`` is a running process of this host (a zombie counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, belongs to another user
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except FileNotFoundError:
        return not PROC.is_dir()
    except ProcessLookupError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def follow(target: ProcessIdentity, *, busy: Callable[[], bool] = lambda: True, poll_s: float = POLL_S,
           grace_s: float = GRACE_S) -> threading.Thread:
    """Start a daemon thread that ends this process soon after ``target`` dies.

    Args:
        target: the process to outlive by at most about ``poll_s + grace_s`` seconds.
        busy: whether the main thread is doing work right now. An idle process exits at once; a
            busy one is interrupted first and exits when ``busy()`` turns false or ``grace_s`` passes.

    Called from the main thread, it also restores Python's ``SIGINT`` handler when the signal is
    ignored (as in every job of a Snakemake started in the background by a shell script), so that
    the interruption unwinds the work instead of being dropped.
    """
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    thread = threading.Thread(target=_watch, args=(target, busy, poll_s, grace_s), daemon=True,
                              name=f"lifeline-{target.pid}")
    thread.start()
    return thread


@contextlib.contextmanager
def uninterrupted(what: str) -> Iterator[None]:
    """Run the block to its end even when the followed process dies meanwhile (see the module docstring).

    Raises:
        KeyboardInterrupt: on entry, when the followed process is already gone (``what`` names the block).
    """
    global _critical_blocks
    with _critical_lock:
        if _abandoning:
            raise KeyboardInterrupt(f"the process that started this one is gone; not starting {what}")
        _critical_blocks += 1
    try:
        yield
    finally:
        with _critical_lock:
            _critical_blocks -= 1


def _watch(target: ProcessIdentity, busy: Callable[[], bool], poll_s: float, grace_s: float) -> None:
    global _abandoning
    while target.is_alive():
        time.sleep(poll_s)
    with _critical_lock:
        _abandoning = True  # no uninterrupted block starts from now on
        critical = _critical_blocks > 0
    if critical:
        log.warning("process %d (%s) that started this one is gone; finishing the uninterrupted step under way",
                    target.pid, target.host)
        deadline = time.monotonic() + CRITICAL_CAP_S
        while _critical_blocks > 0 and time.monotonic() < deadline:
            time.sleep(0.05)
    if busy():
        log.warning("process %d (%s) that started this one is gone; abandoning the work under way",
                    target.pid, target.host)
        _interrupt_main_thread()
        deadline = time.monotonic() + grace_s
        while busy() and time.monotonic() < deadline:
            time.sleep(0.05)
    os._exit(ORPHAN_EXIT_STATUS)


def _interrupt_main_thread() -> None:
    """Raise ``KeyboardInterrupt`` in the main thread (a real signal: a blocking system call returns)."""
    main = threading.main_thread()
    if main.ident is not None and main.is_alive():
        signal.pthread_kill(main.ident, signal.SIGINT)
