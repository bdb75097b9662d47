"""Processes that follow another one exit soon after it dies; killed writers' temporary files go."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from musiclime.common.atomic_io import atomic_path, remove_orphaned_temporaries, write_text
from musiclime.common.lifeline import ProcessIdentity, pid_is_alive


def test_identity_round_trips_and_tells_a_reused_pid_from_the_process():
    me = ProcessIdentity.current()
    assert ProcessIdentity.decode(me.encode()) == me and me.is_local() and me.is_alive()
    assert not ProcessIdentity(me.host, me.pid, me.started + 1).is_alive()  # same PID, another start: reused
    with pytest.raises(ValueError):
        ProcessIdentity.decode("not an identity")


def test_exited_and_zombie_processes_are_dead():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    identity = ProcessIdentity.of(child.pid)
    deadline = time.monotonic() + 30
    while pid_is_alive(child.pid) and time.monotonic() < deadline:  # exited, not yet reaped: a zombie
        time.sleep(0.05)
    assert not identity.is_alive()
    child.wait()
    assert not identity.is_alive()


# A parent that starts a follower and then blocks; the follower writes what happened to it.
PARENT = textwrap.dedent("""
    import subprocess, sys, time
    subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2], sys.argv[3]])
    time.sleep(600)
""")
FOLLOWER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from musiclime.common.lifeline import ProcessIdentity, follow
    report, busy = Path(sys.argv[1]), sys.argv[2] == "busy"
    follow(ProcessIdentity.of(os.getppid()), busy=lambda: busy, poll_s=0.1, grace_s=5)
    report.with_suffix(".started").write_text(str(os.getpid()))
    try:
        time.sleep(600)
    except KeyboardInterrupt:
        report.write_text("interrupted")  # what a finally block or a with-block gets to do
        busy = False
        time.sleep(600)
""")


def ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a shell script's background job inherits it


def kill_the_parent_of(follower_code: str, report: Path, state: str, sigint_ignored: bool = False) -> float:
    """Start PARENT with ``follower_code``, SIGKILL the parent once the follower runs; seconds until it exits."""
    parent = subprocess.Popen([sys.executable, "-c", PARENT, follower_code, str(report), state],
                              preexec_fn=ignore_sigint if sigint_ignored else None)
    started = report.with_suffix(".started")
    deadline = time.monotonic() + 60
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    follower = int(started.read_text())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    killed = time.monotonic()
    while pid_is_alive(follower) and time.monotonic() < killed + 10:
        time.sleep(0.05)
    assert not pid_is_alive(follower), "the follower outlived its process by 10 s"
    return time.monotonic() - killed


@pytest.mark.parametrize("state, sigint_ignored", [("busy", False), ("idle", False), ("busy", True)])
def test_a_follower_exits_when_its_process_is_killed(tmp_path, state, sigint_ignored):
    """Also when the follower inherited SIGINT ignored (Snakemake started with ``&`` from a script)."""
    report = tmp_path / "report.txt"
    # poll 0.1 s; the busy one unwinds at once, far within its grace
    assert kill_the_parent_of(FOLLOWER, report, state, sigint_ignored) < 3
    # busy: interrupted, so its cleanup ran; idle: nothing to interrupt, it just exits
    assert report.exists() == (state == "busy")


def test_a_killed_writers_temporary_file_is_removed_by_the_next_write(tmp_path):
    target = tmp_path / "table.csv"
    writer = textwrap.dedent(f"""
        import os, signal
        from musiclime.common.atomic_io import atomic_path
        with atomic_path({str(target)!r}) as tmp:
            tmp.write_text("half")
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    result = subprocess.run([sys.executable, "-c", writer])
    assert result.returncode == -signal.SIGKILL
    [orphan] = list(tmp_path.glob(".table.csv.*"))
    with atomic_path(target) as live:
        assert not orphan.exists()  # the dead writer's file went as this write began
        live.write_text("whole")
        assert remove_orphaned_temporaries(target) == [] and live.exists()  # a live writer's file stays
    assert not orphan.exists() and target.read_text() == "whole"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.csv"]


def test_temporary_files_of_other_hosts_and_names_are_left_alone(tmp_path):
    target = tmp_path / "a.json"
    others = [tmp_path / ".a.json.1@elsewhere.x1.json", tmp_path / ".a.json.1.2@host.x.json", tmp_path / "a.json.tmp"]
    for path in others:
        path.write_text("")
    write_text(target, "{}")
    assert all(path.exists() for path in others)


def test_script_jobs_follow_the_snakemake_process_named_in_the_environment(tmp_path):
    """start_script_job follows a local Snakemake; a name from another host (a SLURM job's copy) is ignored."""
    script = textwrap.dedent("""
        import os, sys, time
        from musiclime.common.lifeline import ProcessIdentity
        from musiclime.pipeline.snakemake_setup import SNAKEMAKE_PROCESS_ENV, start_script_job
        if sys.argv[1] == "elsewhere":
            os.environ[SNAKEMAKE_PROCESS_ENV] = ProcessIdentity("elsewhere", os.getppid(), None).encode()
        else:
            os.environ[SNAKEMAKE_PROCESS_ENV] = ProcessIdentity.of(os.getppid()).encode()
        start_script_job(sys.argv[2])
        print(os.getpid(), flush=True)
        time.sleep(600)
    """)
    parent = textwrap.dedent("""
        import subprocess, sys, time
        subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2], sys.argv[3]], stdout=open(sys.argv[4], "w"))
        time.sleep(600)
    """)
    survivors = {}
    for where in ("here", "elsewhere"):
        pid_file = tmp_path / f"{where}.pid"
        process = subprocess.Popen([sys.executable, "-c", parent, script, where, str(tmp_path / f"{where}.log"),
                                    str(pid_file)])
        deadline = time.monotonic() + 60
        while not (pid_file.exists() and pid_file.read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.05)
        script_pid = int(pid_file.read_text())
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        time.sleep(2.5)  # poll 0.5 s, then the interrupted script unwinds
        survivors[where] = pid_is_alive(script_pid)
        if survivors[where]:
            os.kill(script_pid, signal.SIGKILL)
    assert survivors == {"here": False, "elsewhere": True}
    assert "abandoning the work under way" in (tmp_path / "here.log").read_text()


# A follower inside an uninterrupted block when its process dies: the block ends, then nothing new starts.
UNINTERRUPTED = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from musiclime.common.lifeline import ProcessIdentity, follow, uninterrupted
    report = Path(sys.argv[1])
    follow(ProcessIdentity.of(os.getppid()), poll_s=0.1, grace_s=5)
    with uninterrupted("a store's schema"):
        report.with_suffix(".started").write_text(str(os.getpid()))
        time.sleep(1.5)  # the process dies meanwhile
        report.write_text("block finished\\n")
    try:
        with uninterrupted("the next step"):
            report.write_text(report.read_text() + "next step ran\\n")
    except KeyboardInterrupt as interrupt:
        report.write_text(report.read_text() + f"refused: {interrupt}\\n")
    time.sleep(600)
""")


def test_an_uninterrupted_block_finishes_after_its_process_dies_and_no_new_one_starts(tmp_path):
    report = tmp_path / "report.txt"
    kill_the_parent_of(UNINTERRUPTED, report, "busy")
    said = report.read_text().splitlines()
    assert said[0] == "block finished" and "next step ran" not in said  # refused, or interrupted before it
    assert said[1:] in ([], ["refused: the process that started this one is gone; not starting the next step"])
