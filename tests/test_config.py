"""Every config in conf/ composes and validates; bad values name their key."""

from pathlib import Path

import pytest

from musiclime.pipeline.hydra_configs import compose_config, compose_sweep, expand_overrides
from musiclime.common.errors import ConfigError

CONF = Path(__file__).resolve().parents[1] / "conf"
GROUPS = sorted(p.name for p in CONF.iterdir() if p.is_dir() and p.name != "experiment")


def options(group):
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


@pytest.mark.parametrize("group, option", [(g, o) for g in GROUPS for o in options(g)])
def test_every_group_option_composes(group, option):
    overrides = [f"{group}={option}"]
    if group == "data" and option == "sheet":
        overrides.append("data.sample_sheet=songs.tsv")
    cfg = compose_config(CONF, overrides)
    assert cfg[group] is not None


@pytest.mark.parametrize("experiment", options("experiment"))
def test_every_experiment_composes_and_sweeps(experiment):
    sweep = compose_sweep(CONF, experiment)
    assert len(sweep.points) >= 2, "an experiment sweeps something"
    assert len({p.id for p in sweep.points}) == len(sweep.points)
    assert all(p.config["experiment_name"] == experiment for p in sweep.points)


def test_override_grammar_expands_to_the_cartesian_product():
    points = expand_overrides(["explain.kernel_width=5,25", "explain.num_samples=range(100,400,100)", "seed=1"])
    assert len(points) == 6
    assert ["explain.kernel_width=25", "explain.num_samples=300", "seed=1"] in points


def test_command_line_sweep_replaces_the_experiments_sweep_of_the_same_key():
    sweep = compose_sweep(CONF, "kernel_sweep", ["explain.kernel_width=7,8"])
    assert sorted(p.config["explain"]["kernel_width"] for p in sweep.points) == [7.0, 8.0]


def test_defaults_reproduce_the_seed():
    explain = compose_config(CONF, ["explain=seed"]).explain
    assert (explain.kernel_width, explain.distance_scale, explain.num_features, explain.sampler,
            explain.num_samples, list(explain.labels)) == (25.0, 1.0, 20, "random", 1000, [1])


@pytest.mark.parametrize("override, key", [
    ("explain.num_samples=1", "explain.num_samples"),
    ("explain.kernel_width=-1", "explain.kernel_width"),
    ("explain.distance_scale=0", "explain.distance_scale"),
    ("explain.temporal_segments=0", "explain.temporal_segments"),
    ("explain.lyrics_unit=syllable", "explain.lyrics_unit"),
    ("explain.labels=[-1]", "explain.labels"),
    ("explain.surrogate=shap", "explain.surrogate"),
    ("explain.certification.alpha=0", "explain.certification.alpha"),
    ("explain.grid_allocation=greedy", "explain.grid_allocation"),
    ("explain.certification.alpha=1.0", "explain.certification.alpha"),
    ("explain.certification.alpha=-0.05", "explain.certification.alpha"),
    ("explain.certification.method=hochberg", "explain.certification.method"),
    ("explain.stopping.method=hochberg", "explain.stopping.method"),
    ("model.batch_size=0", "model.batch_size"),
    ("separation.device=tpu", "separation.device"),
    ("compute.device=gpu", "compute.device"),
    ("separation.chunk_batch=0", "separation.chunk_batch"),
    ("separation.memory_budget_mb=0", "separation.memory_budget_mb"),
    ("model.memory_budget_mb=0", "model.memory_budget_mb"),
    ("tracking.uri=ftp://x", "tracking.uri"),
    ("explain.num_samples=many", "explain.num_samples"),
    ("report.listenable_top_k=0", "report.listenable_top_k"),
    ("report.aggregation=lime", "report.aggregation"),
    ("evaluation.stability_seeds=1", "evaluation.stability_seeds"),
    ("evaluation.randomization_seeds=0", "evaluation.randomization_seeds"),
    ("evaluation.faithfulness_steps=0", "evaluation.faithfulness_steps"),
    ("evaluation.faithfulness_random_draws=0", "evaluation.faithfulness_random_draws"),
    ("model.randomized_predict_fn=oops", "model.randomized_predict_fn"),
])
def test_bad_values_name_their_key(override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        compose_config(CONF, [override])


@pytest.mark.parametrize("overrides, message", [
    # Hydra itself only asserts "Unexpected type for root: NoneType" here
    (["data=sheet", "data.sample_sheet=x.tsv", "data.demo.n_songs=8"],
     "config key data.demo.n_songs (override data.demo.n_songs=8): data.demo is null in the chosen data config "
     "(data=sheet): check its spelling, choose another data config that has it, or drop the override"),
    (["data=sheet", "data.sample_sheet=x.tsv", "data.demo.n_songs=8,9"], "data.demo is null in the chosen data config"),
    (["explain.kernel_width=5,25", "explain.kernel_wdth=3"],
     "config key explain.kernel_wdth (override explain.kernel_wdth=3): explain has no key kernel_wdth in the chosen "
     "explain config (explain=default)"),
    (["data.nokey=1"], "data has no key nokey in the chosen data config (data=demo)"),
])
def test_an_override_of_a_key_the_chosen_config_lacks_names_the_key_and_group(overrides, message):
    with pytest.raises(ConfigError) as raised:
        compose_sweep(CONF, None, overrides)
    assert message in str(raised.value)


@pytest.mark.parametrize("device, gpus", [("cpu", 0), ("cuda", 1), ("cuda:1", 1), ("auto", 1)])
def test_compute_device_is_the_one_gpu_switch(device, gpus):
    point = compose_sweep(CONF, None, ["separation=openunmix", f"compute.device={device}"]).points[0].config
    assert point["separation"]["device"] == point["model"]["predict_fn"]["device"] == device
    assert point["compute"]["gpu"] == gpus  # what the separate and predict rules request
    explicit = compose_sweep(CONF, None, [f"compute.device={device}", "compute.gpu=2"]).points[0].config
    assert explicit["compute"]["gpu"] == 2


def test_the_surrogate_keys_only_the_fit():
    """Comparing LIME with Kernel SHAP costs a fit: masks and predictions keep their keys."""
    from musiclime.pipeline.plan import stage_keys, stage_slices

    lime, shap = (stage_keys(stage_slices(compose_sweep(CONF, None, [f"explain.surrogate={name}"]).points[0].config))
                  for name in ("lime", "kernel_shap"))
    assert {k: v for k, v in lime.items() if k != "fit" and k not in ("media", "evaluation")} == \
        {k: v for k, v in shap.items() if k != "fit" and k not in ("media", "evaluation")}
    assert lime["fit"] != shap["fit"] and shap["fit"].startswith("shap-")
    default = stage_slices(compose_sweep(CONF, None, []).points[0].config)
    assert "surrogate" not in default["fit"]  # lime leaves the fit keys of earlier runs as they were


def test_the_certification_level_keys_only_the_fit():
    """An alpha sweep re-runs fits only; the default level leaves the fit keys of earlier runs as they were."""
    from musiclime.pipeline.plan import stage_keys, stage_slices

    keys = [stage_keys(stage_slices(compose_sweep(CONF, None, [f"explain.certification.alpha={a}"]).points[0].config))
            for a in (0.1, 0.05)]
    assert {k: v for k, v in keys[0].items() if k != "fit"} == {k: v for k, v in keys[1].items() if k != "fit"}
    assert keys[0]["fit"] != keys[1]["fit"]
    default = stage_slices(compose_sweep(CONF, None, []).points[0].config)
    assert "certification" not in default["fit"] and "certification" not in default["masks"]
    assert keys[0] == stage_keys(default)
    assert stage_slices(compose_sweep(CONF, None, ["explain.certification.alpha=0.05"]).points[0].config)[
        "fit"]["certification"] == {"alpha": 0.05}


def test_the_certification_method_keys_only_the_fit_and_the_default_keeps_earlier_keys():
    """``method: holm`` (the default) leaves the fit keys of runs made before the key existed as they
    were; ``bonferroni`` re-runs fits only; the stopping rule's method keys the masks only when not default."""
    from musiclime.pipeline.plan import stage_keys, stage_slices

    def slices(*overrides):
        return stage_slices(compose_sweep(CONF, None, list(overrides)).points[0].config)

    default, holm, bonferroni = slices(), slices("explain.certification.method=holm"), \
        slices("explain.certification.method=bonferroni")
    assert stage_keys(default) == stage_keys(holm) and "certification" not in default["fit"]
    assert bonferroni["fit"]["certification"] == {"method": "bonferroni"}
    assert {k: v for k, v in stage_keys(bonferroni).items() if k != "fit"} == \
        {k: v for k, v in stage_keys(default).items() if k != "fit"} and stage_keys(bonferroni)["fit"] != \
        stage_keys(default)["fit"]
    both = slices("explain.certification.method=bonferroni", "explain.certification.alpha=0.05")
    assert both["fit"]["certification"] == {"alpha": 0.05, "method": "bonferroni"}
    on = slices("explain.stopping.enabled=true")
    assert "method" not in on["masks"]["stopping"]
    assert slices("explain.stopping.enabled=true", "explain.stopping.method=bonferroni")["masks"]["stopping"][
        "method"] == "bonferroni"


def test_the_grid_allocation_keys_the_masks_only_when_not_equal():
    from musiclime.pipeline.plan import stage_slices

    default = stage_slices(compose_sweep(CONF, None, []).points[0].config)["masks"]
    assert "grid_allocation" not in default  # masks drawn before the key existed keep their keys
    chosen = stage_slices(compose_sweep(CONF, None, ["explain.grid_allocation=by_features"]).points[0].config)
    assert chosen["masks"]["grid_allocation"] == "by_features" and "grid_allocation" not in chosen["fit"]
