# MLflow tracking: one parent run per invocation (sweep), one run per explanation (song x point).


rule track_parent:
    output:
        parent=f"{RESULTS}/sweeps/{{sweep}}/mlflow_parent.json",
    params:
        tracking=lambda wildcards: PLAN.sweep.points[0].config["tracking"],
        sweep_name=PLAN.sweep.name,
        overrides=PLAN.sweep.overrides,
        points={point: p.overrides for point, p in PLAN.points.items()},
    log:
        "logs/track_parent/{sweep}.log",
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../environment.yml"
    script:
        "../scripts/track_parent.py"


rule track:
    input:
        unpack(track_inputs),
    output:
        run=f"{RESULTS}/points/{{point}}/tracked/{{song}}.json",
    params:
        tracking=lambda wildcards: tracking_config(wildcards.point),
        point=lambda wildcards: wildcards.point,
        overrides=lambda wildcards: PLAN.points[wildcards.point].overrides,
        stage_keys=lambda wildcards: PLAN.keys(wildcards.point),
        config=lambda wildcards: PLAN.points[wildcards.point].config,
        sweep_name=PLAN.sweep.name,
    log:
        "logs/track/{point}/{song}.log",
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../../environment.yml"
    script:
        "../scripts/track.py"


rule track_report:
    input:
        parent=f"{RESULTS}/sweeps/{SWEEP_ID}/mlflow_parent.json",
        summary=f"{RESULTS}/points/{{point}}/summary.tsv",
        html=f"{RESULTS}/points/{{point}}/report.html",
        config=f"{RESULTS}/points/{{point}}/config.yaml",
    output:
        marker=f"{RESULTS}/points/{{point}}/tracked/_point_report.json",
    params:
        tracking=lambda wildcards: tracking_config(wildcards.point),
    log:
        "logs/track_report/{point}.log",
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../environment.yml"
    script:
        "../scripts/track_report.py"
