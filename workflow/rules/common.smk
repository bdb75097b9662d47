# Helpers shared by the rules: look up config slices and artifact paths in PLAN.
PATHS = PLAN.paths
SWEEP_ID = PLAN.sweep.id
RESULTS = PATHS.results
COMPUTE = PLAN.sweep.points[0].config["compute"]
DATA = PLAN.sweep.points[0].config["data"]


wildcard_constraints:
    song=r"[A-Za-z0-9][A-Za-z0-9_.-]*",
    sep=r"[^/]+",
    masks=r"[^/]+",
    model=r"[^/]+",
    fit=r"[^/]+",
    point=r"[0-9a-f]{8}",
    sweep=r"[0-9a-f]{8}",


def song_info(wildcards):
    return PLAN.songs[wildcards.song].info()


def stage_slice(stage, key):
    return PLAN.slices[stage][key]


def point_report(point):
    return f"{RESULTS}/points/{point}/report.html"


def all_targets():
    targets = []
    for point in PLAN.points:
        targets += PLAN.explanations(point) + [point_report(point)]
        if PLAN.points[point].config["tracking"]["enabled"]:
            targets += [f"{RESULTS}/points/{point}/tracked/{song}.json" for song in PLAN.songs]
            targets.append(f"{RESULTS}/points/{point}/tracked/_point_report.json")
    targets.append(f"{RESULTS}/sweeps/{SWEEP_ID}/summary.tsv")
    return targets


def separation_inputs(wildcards):
    song = PLAN.songs[wildcards.song]
    inputs = {"audio": str(song.audio)}
    if DATA["demo"] is not None:
        inputs["sheet"] = DATA["sample_sheet"]  # written after every demo song and its stems
    elif stage_slice("separation", wildcards.sep)["backend"] == "stems":
        inputs["stems"] = str(song.stems)
    return inputs


def upstream_configs(wildcards):
    return {
        "separation": stage_slice("separation", wildcards.sep),
        "masks": stage_slice("masks", wildcards.masks),
        "model": stage_slice("model", wildcards.model),
        "keys": {"separation": wildcards.sep, "masks": wildcards.masks, "model": wildcards.model,
                 "fit": wildcards.fit},
    }


def tracking_config(point):
    return PLAN.points[point].config["tracking"]


def track_inputs(wildcards):
    explanation = PLAN.artifact(PATHS.explanation, wildcards.song, wildcards.point)
    return {
        "explanation": explanation,
        "plot": PLAN.artifact(PATHS.plot, wildcards.song, wildcards.point),
        "config": str(Path(explanation).parent / "config.yaml"),
        "parent": f"{RESULTS}/sweeps/{SWEEP_ID}/mlflow_parent.json",
    }


onsuccess:
    print("\nMusicLIME results:")
    for point in PLAN.points:
        print(f"  explanations: {RESULTS}/songs/<song>/.../explanation.json  (point {point})")
        print(f"  report:       {point_report(point)}")
    print(f"  sweep summary: {RESULTS}/sweeps/{SWEEP_ID}/summary.tsv")
    tracking = PLAN.sweep.points[0].config["tracking"]
    if tracking["enabled"]:
        print(f"  MLflow:       {tracking['uri']}  (mlflow ui --backend-store-uri {tracking['uri']})")
