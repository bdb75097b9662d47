# MLflow tracking: one parent run per invocation (sweep); per sweep point one job that logs a run per
# explanation (song x point) and the point's report, in one MLflow session. Cheap stages: they run
# inside the Snakemake process (see common.smk).


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
    threads: 0  # waits on the tracking worker: holds no core
    resources:
        mem_mb=1000,
        runtime=5,
    run:
        run_stage(log[0], stages.track_parent, params.tracking, wildcards.sweep, params.sweep_name,
                  list(params.overrides), dict(params.points), output.parent)


rule track_point:
    input:
        unpack(track_point_inputs),
    output:
        tracked=f"{RESULTS}/points/{{point}}/tracked.json",
    params:
        point=lambda wildcards: point_info(wildcards.point),
    log:
        "logs/track_point/{point}.log",
    threads: 0  # waits on the tracking worker: holds no core
    resources:
        mem_mb=1000,
        runtime=30,
    run:
        run_stage(log[0], stages.track_point, *song_file_lists(wildcards.point, "explanations", "configs", "media",
                                                              "evaluations"), input.report, input.parent,
                  params.point, output.tracked)
