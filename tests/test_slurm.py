"""The workflow on a real (single-node) SLURM cluster through snakemake-executor-plugin-slurm.

The cluster's daemons come from Debian's slurm-wlm and munge (``tests/slurm_cluster.py``); MLflow runs
as a real server on 127.0.0.1. The same tiny sweep runs once locally and once through the SLURM
executor with ``profiles/slurm`` filled in as a user would (partition, no account, threads
that fit the node); heavy jobs must be SLURM jobs, cheap ones local, and the explanations equal.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import yaml

from .mlflow_server import mlflow_server  # noqa: F401 (fixture)
from .slurm_cluster import PARTITION, slurm_cluster  # noqa: F401 (fixture)
from .workflow_helpers import REPO, explanation_weights, job_counts, make_songs, snakemake, tiny_overrides

pytestmark = [pytest.mark.slow, pytest.mark.slurm]

HEAVY = {"separate", "predict"}
SUBMITTED = re.compile(r"Job \S+ has been submitted with SLURM jobid (\d+) \(log: (\S+)\)")
# the test's only deviations from a site's filled-in profile: a quick first status check, short waits
TEST_OPTIONS = ("--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "2",
                "--latency-wait", "10", "--slurm-keep-successful-logs")


def filled_profile(target: Path) -> Path:
    """profiles/slurm with its placeholders filled for the test cluster: partition ``debug``,
    no account (no accounting database), threads and memory that fit the node."""
    profile = yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())
    profile["default-resources"].pop("slurm_account")
    profile["default-resources"].update(slurm_partition=PARTITION, mem_mb=1000)
    for resources in profile["set-resources"].values():
        resources.update(slurm_partition=PARTITION, mem_mb=1000)
    profile["resources"] = ["mem_mb=1000", "gpu=1"]  # a group job as wide as one job, as in the profile
    profile["set-threads"] = {rule: 1 for rule in profile["set-threads"]}
    target.mkdir(parents=True)
    (target / "config.yaml").write_text(yaml.safe_dump(profile))
    return target


@pytest.fixture(scope="module")
def sweep_runs(tmp_path_factory, slurm_cluster, mlflow_server):  # noqa: F811
    """The same 4-song, 2-kernel-width sweep locally and through SLURM; (local, slurm) results."""
    songs = make_songs(tmp_path_factory.mktemp("songs"), n_songs=4)
    overrides = tiny_overrides(songs, f"tracking.uri={mlflow_server}", "evaluation.enabled=false",
                               "report.html=false", "report.aggregate=false", "explain.kernel_width=10,50")
    runs = {}
    for mode in ("local", "slurm"):
        workdir = tmp_path_factory.mktemp(mode)
        args = () if mode == "local" else (
            "--workflow-profile", str(filled_profile(workdir / "profile")), *TEST_OPTIONS)
        jobs_before = set(slurm_cluster.job_ids())
        start = time.monotonic()
        result = snakemake(workdir, overrides, None, *args, env=slurm_cluster.env)
        seconds = time.monotonic() - start
        assert result.returncode == 0, result.stderr[-5000:]
        runs[mode] = {"workdir": workdir, "result": result, "seconds": seconds,
                      "slurm_jobs": set(slurm_cluster.job_ids()) - jobs_before}
    submitted = SUBMITTED.findall(runs["slurm"]["result"].stderr)
    print(f"\nsweep wall time: local {runs['local']['seconds']:.1f} s, SLURM {runs['slurm']['seconds']:.1f} s; "
          f"{len(submitted)} sbatch submissions")
    return runs


def test_heavy_jobs_ran_as_slurm_group_jobs_and_cheap_ones_locally(sweep_runs, slurm_cluster):  # noqa: F811
    """profiles/slurm groups the heavy jobs (up to 8 separations, 16 predictions per group job): 4 songs
    make one group job per heavy rule, and nothing else is submitted."""
    slurm = sweep_runs["slurm"]
    stderr = slurm["result"].stderr
    counts = job_counts(stderr)
    assert counts.get("separate") == 4 and counts.get("predict") == 4 and counts.get("fit") == 8, counts
    submitted = SUBMITTED.findall(stderr)
    assert len(submitted) == 2, stderr[-3000:]  # one sbatch per group job, none for cheap jobs
    ids = {int(job_id) for job_id, _ in submitted}
    assert ids == slurm["slurm_jobs"], (ids, slurm["slurm_jobs"])  # slurmctld saw exactly these jobs
    groups = {Path(log).relative_to(slurm["workdir"] / ".snakemake/slurm_logs").parts[0] for _, log in submitted}
    assert groups == {"group_separation_separate", "group_inference_attribute_predict"}  # a song's coalitions, then its
    # predictions: one group job
    for job_id in ids:
        info = slurm_cluster.run("scontrol", "show", "job", str(job_id)).stdout
        assert "JobState=COMPLETED" in info and f"Partition={PARTITION}" in info, info
        assert re.search(r"\bmem=1000M\b", info) and "NumCPUs=1 " in info, info  # one job wide, not 4
    for local_rule in ("perturb", "fit", "sweep_summary", "track_point"):
        assert re.search(rf"^localrule {local_rule}:", stderr, re.M), f"{local_rule} was not a local job"
    assert not re.search(r"^localrule (separate|predict):", stderr, re.M)
    assert not sweep_runs["local"]["slurm_jobs"]  # the local run submitted nothing


def test_a_group_job_loads_its_model_once(sweep_runs):
    """The job steps of a group job send their coalitions and predictions to the model worker of its batch step:
    as many model builds as group jobs of predict, one worker for all 4 songs."""
    logs = sorted((sweep_runs["slurm"]["workdir"] / "logs" / "predict").glob("**/*.log"))
    assert len(logs) == 4
    logs += sorted((sweep_runs["slurm"]["workdir"] / "logs" / "attribute").glob("**/*.log"))
    texts = [log.read_text() for log in logs]
    builds = [line for text in texts for line in text.splitlines() if "model 'loudness': built in" in line]
    group_jobs = [log for _, log in SUBMITTED.findall(sweep_runs["slurm"]["result"].stderr) if "group_inference" in log]
    assert len(builds) == len(group_jobs) == 1, builds
    workers = {re.search(r"in worker (\d+)", text).group(1) for text in texts}
    assert len(workers) == 1


def test_slurm_explanations_equal_a_local_run(sweep_runs):
    local = explanation_weights(sweep_runs["local"]["workdir"])
    slurm = explanation_weights(sweep_runs["slurm"]["workdir"])
    assert len(local) == 4 * 2  # 4 songs x 2 kernel widths
    assert local == slurm


def test_cluster_runs_were_tracked_on_the_server(sweep_runs):
    for mode in ("local", "slurm"):
        workdir = sweep_runs[mode]["workdir"]
        tracked = list((workdir / "results" / "points").glob("*/tracked.json"))
        assert len(tracked) == 2, mode  # one per kernel width


def test_sqlite_tracking_is_refused_under_slurm_before_any_job(tmp_path, slurm_cluster):  # noqa: F811
    songs = make_songs(tmp_path / "songs")
    overrides = tiny_overrides(songs, "tracking.uri=sqlite:///mlflow.db", "evaluation.enabled=false")
    jobs_before = set(slurm_cluster.job_ids())
    result = snakemake(tmp_path / "run", overrides, None, "--workflow-profile",
                       str(filled_profile(tmp_path / "profile")), *TEST_OPTIONS, env=slurm_cluster.env)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "tracking.uri=sqlite:///mlflow.db" in output and "tracking.allow_sqlite_on_cluster=true" in output, \
        output[-3000:]
    assert not SUBMITTED.search(output) and set(slurm_cluster.job_ids()) == jobs_before
