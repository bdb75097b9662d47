"""A real single-node SLURM cluster for tests: ``munged``, ``slurmctld`` and ``slurmd`` in a temporary folder.

``start_slurm_cluster(tmp_dir)`` writes a munge key and a ``slurm.conf`` (one node with this machine's
CPUs and memory, one ``debug`` partition, no accounting), starts the three daemons in the foreground
as child processes, waits until ``sinfo`` reports the node idle and returns a ``SlurmCluster`` whose
``env`` points SLURM clients (``sbatch``, ``squeue``, ``scontrol``) at it. ``stop()`` ends the daemons
by their PIDs. The ``slurm_cluster`` fixture does this once per test module.

Needs Debian's ``slurm-wlm`` and ``munge`` and root (slurmd starts jobs as their user). Without them
the fixture skips, except under CI (``CI`` set), where a missing cluster is a failure.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "sinfo", "scontrol")
START_TIMEOUT_S = 30.0
PARTITION = "debug"
# The executor's job step (snakemake-executor-plugin-slurm-jobstep) runs `srun` with every SLURM_*
# variable but the job's identity removed, SLURM_CONF included, so srun inside a job reads the
# default config path. The cluster links it to its own slurm.conf while it runs (only if absent).
DEFAULT_CONF = Path("/etc/slurm/slurm.conf")


@dataclasses.dataclass
class SlurmCluster:
    root: Path
    conf: Path
    env: dict[str, str]
    processes: dict[str, subprocess.Popen]
    linked_default_conf: bool = False

    def run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run a SLURM client (``squeue``, ``sbatch`` ...) against this cluster."""
        return subprocess.run(command, env=self.env, capture_output=True, text=True, check=check, timeout=60)

    def job_ids(self) -> list[int]:
        """Every job slurmctld knows of, finished ones included (kept ``MinJobAge`` seconds)."""
        out = self.run("squeue", "--noheader", "--states=all", "--format=%i").stdout
        return sorted(int(line) for line in out.split())

    def stop(self) -> None:
        """SIGTERM each daemon by its PID (slurmd first, munged last), SIGKILL one that lingers."""
        for name in reversed(DAEMONS):
            process = self.processes.get(name)
            if process is None or process.poll() is not None:
                continue
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self.linked_default_conf and DEFAULT_CONF.is_symlink() and DEFAULT_CONF.resolve() == self.conf:
            DEFAULT_CONF.unlink()
            self.linked_default_conf = False


def missing_requirements() -> str | None:
    """Why a cluster cannot start here, or None."""
    missing = [tool for tool in DAEMONS + CLIENTS if shutil.which(tool) is None]
    if missing:
        return f"SLURM/munge not installed (missing {', '.join(missing)}; apt-get install slurm-wlm munge)"
    if os.geteuid() != 0:
        return "the test SLURM cluster needs root (slurmd runs jobs as their user)"
    if DEFAULT_CONF.exists() or DEFAULT_CONF.is_symlink():
        return f"{DEFAULT_CONF} exists: a real SLURM installation here, the test cluster will not replace it"
    return None


def node_line(hostname: str) -> str:
    cpus = os.cpu_count() or 1
    mem_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    return f"NodeName={hostname} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={int(mem_mb * 0.9)} State=UNKNOWN"


def slurm_conf(root: Path, hostname: str, ctld_port: int, slurmd_port: int) -> str:
    return "\n".join([
        "ClusterName=musiclime-test",
        f"SlurmctldHost={hostname}(127.0.0.1)",
        f"SlurmctldPort={ctld_port}",
        f"SlurmdPort={slurmd_port}",
        "SlurmUser=root",
        "SlurmdUser=root",
        "AuthType=auth/munge",
        "CredType=cred/munge",
        f"AuthInfo=socket={root / 'munge' / 'munge.socket'}",
        f"StateSaveLocation={root / 'state'}",
        f"SlurmdSpoolDir={root / 'spool'}",
        f"SlurmctldPidFile={root / 'slurmctld.pid'}",
        f"SlurmdPidFile={root / 'slurmd.pid'}",
        f"SlurmctldLogFile={root / 'slurmctld.log'}",
        f"SlurmdLogFile={root / 'slurmd.log'}",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_CPU_Memory",
        "ReturnToService=2",
        "MpiDefault=none",
        "SchedulerType=sched/backfill",
        "SchedulerParameters=sched_interval=1",
        "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none",
        "MinJobAge=3600",
        "SlurmctldTimeout=30",
        "SlurmdTimeout=30",
        node_line(hostname),
        f"PartitionName={PARTITION} Nodes={hostname} Default=YES MaxTime=INFINITE State=UP",
        "",
    ])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(path: Path, chars: int = 2000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"


def start_slurm_cluster(tmp_dir: str | os.PathLike, timeout_s: float = START_TIMEOUT_S) -> SlurmCluster:
    """Start munged, slurmctld and slurmd in ``tmp_dir``; return once the node is idle."""
    root = Path(tmp_dir).resolve()
    for sub in ("munge", "state", "spool"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "munge").chmod(0o700)
    key = root / "munge" / "munge.key"
    key.write_bytes(secrets.token_bytes(1024))
    key.chmod(0o400)
    hostname = socket.gethostname().split(".")[0]
    conf = root / "slurm.conf"
    conf.write_text(slurm_conf(root, hostname, _free_port(), _free_port()))
    env = {**os.environ, "SLURM_CONF": str(conf)}
    for var in [v for v in env if v.startswith(("SLURM_", "SBATCH_", "SQUEUE_")) and v != "SLURM_CONF"]:
        env.pop(var)  # a test run inside an allocation must not leak its job into this cluster

    commands = {
        "munged": ["munged", "--foreground", "--force", f"--key-file={key}",
                   f"--socket={root / 'munge' / 'munge.socket'}", f"--pid-file={root / 'munge' / 'munged.pid'}",
                   f"--log-file={root / 'munge' / 'munged.log'}", f"--seed-file={root / 'munge' / 'munged.seed'}"],
        "slurmctld": ["slurmctld", "-D", "-i", "-f", str(conf)],
        "slurmd": ["slurmd", "-D", "-f", str(conf)],
    }
    cluster = SlurmCluster(root, conf, env, {})
    try:
        DEFAULT_CONF.parent.mkdir(parents=True, exist_ok=True)
        DEFAULT_CONF.symlink_to(conf)
        cluster.linked_default_conf = True
        for name in DAEMONS:
            with open(root / f"{name}.out", "wb") as out:
                cluster.processes[name] = subprocess.Popen(commands[name], env=env, stdin=subprocess.DEVNULL,
                                                            stdout=out, stderr=subprocess.STDOUT)
            if name == "munged":
                _wait_for(lambda: (root / "munge" / "munge.socket").exists(), cluster, timeout_s, "munged socket")
        _wait_for(lambda: _node_idle(cluster), cluster, timeout_s, f"node {hostname} idle in sinfo")
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _node_idle(cluster: SlurmCluster) -> bool:
    result = cluster.run("sinfo", "--noheader", "--format=%t", check=False)
    return result.returncode == 0 and result.stdout.strip() == "idle"


def _wait_for(condition, cluster: SlurmCluster, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        dead = [n for n, p in cluster.processes.items() if p.poll() is not None]
        if dead:
            raise RuntimeError(f"SLURM daemon(s) {dead} exited while waiting for {what}:\n"
                               + "\n".join(f"--- {n}:\n{_tail(cluster.root / f'{n}.out')}\n"
                                           f"{_tail(cluster.root / f'{n}.log')}" for n in dead))
        if condition():
            return
        time.sleep(0.5)
    raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}; logs:\n"
                       f"{_tail(cluster.root / 'slurmctld.log')}\n{_tail(cluster.root / 'slurmd.log')}")


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory) -> SlurmCluster:
    """A running single-node SLURM cluster; skipped without slurm-wlm/munge/root, failed so under CI."""
    reason = missing_requirements()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the SLURM test: {reason}")
        pytest.skip(reason)
    cluster = start_slurm_cluster(tmp_path_factory.mktemp("slurm"))
    try:
        yield cluster
    finally:
        cluster.stop()
