"""Composing Hydra configs for the workflow, sweeps included.

A sweep is written in Hydra's own override grammar (``explain.kernel_width=5,25,50``,
``explain.num_samples=range(100,400,100)``), from an experiment's ``sweep:`` list and/or the
command line; it expands into the cartesian product of points, each one composed config.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from hydra import compose, initialize_config_dir
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ..common.errors import ConfigError
from .config_schema import register_configs


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
    with hydra_context(conf_dir):
        return _compose_validated(overrides, config_name)


@contextlib.contextmanager
def hydra_context(conf_dir: str | Path) -> Iterator[None]:
    """Hydra initialised on ``conf_dir`` for the block; compose as many configs inside as needed."""
    register_configs()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(Path(conf_dir).resolve()), version_base="1.3"):
            yield
    finally:
        GlobalHydra.instance().clear()


def _compose_validated(overrides: Sequence[str], config_name: str = "config") -> DictConfig:
    """Compose one config inside :func:`hydra_context` and run the dataclasses' range checks."""
    try:
        cfg = compose(config_name=config_name, overrides=list(overrides))
        OmegaConf.to_object(cfg)  # instantiates the dataclasses: __post_init__ range checks
    except (HydraException, OmegaConfBaseException, AssertionError) as exc:
        # Hydra asserts (no message of its own) when a value override reaches into a key that is null
        # in the chosen config: find and name it
        unknown = _unknown_key(overrides, config_name)
        if unknown is not None:
            raise unknown from exc
        raise ConfigError(f"invalid configuration (overrides {list(overrides)}): {exc}") from exc
    return cfg


def _unknown_key(overrides: Sequence[str], config_name: str = "config") -> ConfigError | None:
    """The error naming the first value override whose key the config chosen by the group overrides
    lacks (a parent that is null or has no such key), or ``None``."""
    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
        groups = [text for text, o in zip(overrides, parsed) if "." not in o.key_or_group]
        base = compose(config_name=config_name, overrides=groups, return_hydra_config=True)
        choices = dict(base.hydra.runtime.choices)
    except (HydraException, OmegaConfBaseException, AssertionError):
        return None
    for text, override in zip(overrides, parsed):
        key = override.key_or_group
        if "." not in key or override.is_add() or override.is_force_add():
            continue
        problem = missing_key(base, key)
        if problem is not None:
            group = key.split(".")[0]
            chosen = f"{group}={choices[group]}" if choices.get(group) else "the defaults"
            return ConfigError(f"config key {key} (override {text}): {problem} in the chosen {group} config "
                               f"({chosen}): check its spelling, choose another {group} config that has it, "
                               f"or drop the override")
    return None


def missing_key(cfg: DictConfig, key: str) -> str | None:
    """Why ``cfg`` has no ``key`` (dotted), in words (``data.demo is null``, ``data has no key foo``), or
    ``None`` when it has it."""
    node, walked = cfg, []
    for part in key.split("."):
        where = ".".join(walked) or "the config"
        if node is None:
            return f"{where} is null"
        if not isinstance(node, DictConfig) or part not in node:
            return f"{where} has no key {part}"
        node = node._get_node(part)
        node = None if node._is_none() else node
        walked.append(part)
    return None


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
    points = []
    with hydra_context(conf_dir):  # one initialisation for every point: planning a big sweep stays quick
        experiment_sweep = list(_compose_validated(head + first_values).get("sweep", []))
        # command-line overrides come last, so they win over the experiment's sweep of the same key
        composer = PointComposer(conf_dir)
        for combo in expand_overrides(_merge_sweeps(experiment_sweep, overrides)):
            cfg = composer.compose(head + combo)
            points.append(SweepPoint(overrides=head + combo, config=OmegaConf.to_container(cfg, resolve=True)))
    return Sweep(experiment=experiment, overrides=overrides, points=points)


class PointComposer:
    """Composes many sweep points quickly inside one :func:`hydra_context`.

    Hydra composes every distinct choice of config groups once (``model=demo``, ``experiment=...``);
    a point that differs from it only in values (``explain.kernel_width=5``) is that composition with
    the values set as Hydra itself sets them (``OmegaConf.update(..., merge=True)``), then validated.
    Overrides that add or delete keys (``+k``, ``++k``, ``~k``) take the full Hydra path. A 10-point
    kernel sweep costs one composition instead of ten.
    """

    def __init__(self, conf_dir: str | Path):
        self.groups = {p.name for p in Path(conf_dir).iterdir() if p.is_dir()}
        self._parser = OverridesParser.create()
        self._bases: dict[tuple[str, ...], DictConfig] = {}

    def compose(self, overrides: Sequence[str]) -> DictConfig:
        try:
            parsed = self._parser.parse_overrides(list(overrides))
        except HydraException as exc:
            raise ConfigError(f"cannot parse overrides {list(overrides)}: {exc}") from exc
        if any(o.is_add() or o.is_force_add() or o.is_delete() or o.is_sweep_override() for o in parsed):
            return _compose_validated(overrides)
        group_overrides = tuple(str(text) for text, o in zip(overrides, parsed) if self._is_group(o))
        values = [(o.key_or_group, o.value()) for o in parsed if not self._is_group(o)]
        if group_overrides not in self._bases:
            self._bases[group_overrides] = _compose_validated(group_overrides)
        cfg = copy.deepcopy(self._bases[group_overrides])
        for (key, _), text in zip(values, (t for t, o in zip(overrides, parsed) if not self._is_group(o))):
            problem = missing_key(cfg, key)
            if problem is not None:
                _compose_validated(overrides)  # Hydra's own path names the key as it does without sweeps
                raise ConfigError(f"config key {key} (override {text}): {problem}")
        try:
            for key, value in values:
                OmegaConf.update(cfg, key, value, merge=True)
            OmegaConf.to_object(cfg)  # the dataclasses' __post_init__ range checks
        except (HydraException, OmegaConfBaseException) as exc:
            raise ConfigError(f"invalid configuration (overrides {list(overrides)}): {exc}") from exc
        return cfg

    def _is_group(self, override) -> bool:
        key = override.key_or_group
        return key.split("/")[0] in self.groups and "." not in key


def _merge_sweeps(experiment_sweep: list[str], overrides: list[str]) -> list[str]:
    """Experiment sweep entries, minus keys the command line sets again, then the command line."""
    parser = OverridesParser.create()
    cli_keys = {o.get_key_element() for o in parser.parse_overrides(overrides)} if overrides else set()
    kept = [s for s in experiment_sweep if parser.parse_overrides([s])[0].get_key_element() not in cli_keys]
    return kept + overrides
