# Reports: a summary table and an HTML page per sweep point, and one table for the whole sweep.
# Cheap stages: they run inside the Snakemake process (see common.smk).


rule report:
    input:
        explanations=lambda wildcards: PLAN.explanations(wildcards.point),
        plots=lambda wildcards: PLAN.plots(wildcards.point),
    output:
        summary=f"{RESULTS}/points/{{point}}/summary.tsv",
        html=f"{RESULTS}/points/{{point}}/report.html",
        config=f"{RESULTS}/points/{{point}}/config.yaml",
    params:
        config=lambda wildcards: PLAN.points[wildcards.point].config,
        overrides=lambda wildcards: PLAN.points[wildcards.point].overrides,
    log:
        "logs/report/{point}.log",
    resources:
        mem_mb=1000,
        runtime=5,
    run:
        run_stage(log[0], stages.report_point, input.explanations, input.plots, params.config, params.overrides,
                  output.summary, output.html, output.config)


rule sweep_summary:
    input:
        summaries=expand(f"{RESULTS}/points/{{point}}/summary.tsv", point=list(PLAN.points)),
    output:
        summary=f"{RESULTS}/sweeps/{{sweep}}/summary.tsv",
    params:
        overrides={point: p.overrides for point, p in PLAN.points.items()},
    log:
        "logs/sweep_summary/{sweep}.log",
    resources:
        mem_mb=1000,
        runtime=5,
    run:
        run_stage(log[0], stages.summarize_sweep, input.summaries, params.overrides, output.summary)
