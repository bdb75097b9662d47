"""Composing Hydra configs for the workflow, sweeps included.

A sweep is written in Hydra's own override grammar (``explain.kernel_width=5,25,50``,
``explain.num_samples=range(100,400,100)``), from an experiment's ``sweep:`` list and/or the
command line; it expands into the cartesian product of points, each one composed config.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from hydra import compose, initialize_config_dir
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from .config import register_configs
from .errors import ConfigError


def short_hash(data, length: int = 8) -> str:
    """Stable hex digest of JSON-serialisable ``data`` (sorted keys)."""
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:length]


@dataclass
class SweepPoint:
    """One composed config of a sweep.

    Attributes:
        overrides: the plain overrides that made it (experiment first).
        config: the resolved config as plain containers.
        id: short hash of ``config``.
    """

    overrides: list[str]
    config: dict

    @property
    def id(self) -> str:
        return short_hash(self.config)


@dataclass
class Sweep:
    """Every point of one workflow invocation; ``id`` names the invocation (MLflow parent run)."""

    experiment: str | None
    overrides: list[str]
    points: list[SweepPoint]

    @property
    def id(self) -> str:
        return short_hash({"experiment": self.experiment, "points": sorted(p.id for p in self.points)})

    @property
    def name(self) -> str:
        return self.points[0].config["experiment_name"] if self.points else (self.experiment or "default")


def expand_overrides(overrides: Sequence[str]) -> list[list[str]]:
    """Cartesian product of Hydra (sweep) overrides: ``["a=1,2", "b=3"]`` -> ``[["a=1","b=3"], ["a=2","b=3"]]``."""
    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
        return BasicSweeper.split_arguments(parsed, None)[0]
    except HydraException as exc:
        raise ConfigError(f"cannot parse overrides {list(overrides)}: {exc}") from exc


def compose_config(conf_dir: str | Path, overrides: Sequence[str], config_name: str = "config") -> DictConfig:
    """Compose and validate one config (no sweeps) from ``conf_dir`` (absolute or relative path)."""
    register_configs()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(Path(conf_dir).resolve()), version_base="1.3"):
            cfg = compose(config_name=config_name, overrides=list(overrides))
        OmegaConf.to_object(cfg)  # instantiates the dataclasses: __post_init__ range checks
    except (HydraException, OmegaConfBaseException) as exc:
        raise ConfigError(f"invalid configuration (overrides {list(overrides)}): {exc}") from exc
    finally:
        GlobalHydra.instance().clear()
    return cfg


def compose_sweep(conf_dir: str | Path, experiment: str | None = None, overrides: Sequence[str] = ()) -> Sweep:
    """Compose every point of an invocation.

    Args:
        conf_dir: the ``conf/`` folder.
        experiment: name in ``conf/experiment/`` (its ``sweep:`` list is expanded too), or None.
        overrides: Hydra overrides, sweeps allowed (``explain.kernel_width=5,25,50``).
    """
    overrides = [str(o) for o in overrides]
    head = [f"experiment={experiment}"] if experiment else []
    first_values = expand_overrides(overrides)[0] if overrides else []
    experiment_sweep = list(compose_config(conf_dir, head + first_values).get("sweep", []))
    # command-line overrides come last, so they win over the experiment's sweep of the same key
    points = []
    for combo in expand_overrides(_merge_sweeps(experiment_sweep, overrides)):
        cfg = compose_config(conf_dir, head + combo)
        points.append(SweepPoint(overrides=head + combo, config=OmegaConf.to_container(cfg, resolve=True)))
    return Sweep(experiment=experiment, overrides=overrides, points=points)


def _merge_sweeps(experiment_sweep: list[str], overrides: list[str]) -> list[str]:
    """Experiment sweep entries, minus keys the command line sets again, then the command line."""
    parser = OverridesParser.create()
    cli_keys = {o.get_key_element() for o in parser.parse_overrides(overrides)} if overrides else set()
    kept = [s for s in experiment_sweep if parser.parse_overrides([s])[0].get_key_element() not in cli_keys]
    return kept + overrides
