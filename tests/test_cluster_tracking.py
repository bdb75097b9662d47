"""Cluster runs refuse a SQLite tracking store unless forced."""

from pathlib import Path

import pytest

from musiclime.pipeline.hydra_configs import compose_config
from musiclime.tracking import TrackingError
from musiclime.tracking.settings import refuse_sqlite_on_cluster

CONF = Path(__file__).resolve().parents[1] / "conf"
SQLITE = {"enabled": True, "uri": "sqlite:///mlflow.db", "allow_sqlite_on_cluster": False}
SERVER = {"enabled": True, "uri": "http://127.0.0.1:5000", "allow_sqlite_on_cluster": False}


def test_sqlite_under_slurm_is_refused_naming_the_key():
    with pytest.raises(TrackingError, match=r"tracking\.uri=sqlite:///mlflow\.db.*'slurm'.*allow_sqlite_on_cluster"):
        refuse_sqlite_on_cluster([SERVER, SQLITE], executor="slurm", local=False)


@pytest.mark.parametrize("trackings, executor, local", [
    ([SQLITE], "local", True),                                        # local runs keep the default
    ([SERVER], "slurm", False),                                       # a server is what clusters need
    ([{**SQLITE, "enabled": False}], "slurm", False),                 # nothing tracked
    ([{**SQLITE, "allow_sqlite_on_cluster": True}], "slurm", False),  # forced
])
def test_allowed_combinations(trackings, executor, local):
    refuse_sqlite_on_cluster(trackings, executor=executor, local=local)


def test_config_default_refuses_and_override_forces():
    assert compose_config(CONF, []).tracking.allow_sqlite_on_cluster is False
    assert compose_config(CONF, ["tracking.allow_sqlite_on_cluster=true"]).tracking.allow_sqlite_on_cluster is True
