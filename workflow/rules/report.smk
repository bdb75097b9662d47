# Reports per sweep point: summary table, HTML pages (one per song and the point's index), global
# importance; per invocation: one table and one index page. Cheap: run in the worker pool.


rule report:
    input:
        explanations=lambda wildcards: per_song(wildcards.point, PLAN.explanations(wildcards.point)),
    output:
        summary=report(f"{RESULTS}/points/{{point}}/summary.tsv", category="Sweep points",
                       subcategory="{point}", labels={"point": "{point}", "table": "summary"}),
        attribution=report(f"{RESULTS}/points/{{point}}/attribution-by-class.tsv", category="Sweep points",
                           subcategory="{point}", labels={"point": "{point}", "table": "exact attribution by class"}),
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
        run_stage(log[0], stages.report_point, PLAN.explanations(wildcards.point), params.config, params.overrides,
                  output.summary, output.config, output.attribution)


rule point_table:
    input:
        songs=lambda wildcards: per_song(wildcards.point, PLAN.explanations(wildcards.point)
                                         + (PLAN.evaluations(wildcards.point) or [])),
    output:
        table=f"{RESULTS}/points/{{point}}/explanations.parquet",
    log:
        "logs/point_table/{point}.log",
    resources:
        mem_mb=1000,
        runtime=5,
    run:
        run_stage(log[0], stages.point_table, *song_file_lists(wildcards.point, "explanations", "evaluations"),
                  wildcards.point, output.table)


rule pages:
    input:
        unpack(page_inputs),
    output:
        pages=directory(f"{RESULTS}/points/{{point}}/songs"),
        index=f"{RESULTS}/points/{{point}}/report.html",
    params:
        point=lambda wildcards: point_info(wildcards.point),
    log:
        "logs/pages/{point}.log",
    resources:
        mem_mb=1000,
        runtime=10,
    run:
        run_stage(log[0], stages.point_pages, *song_file_lists(wildcards.point, "explanations", "media", "evaluations",
                                                              "mixes"), params.point, output.pages, output.index,
                  input.aggregation, input.findings)


rule aggregate:
    input:
        explanations=lambda wildcards: per_song(wildcards.point, PLAN.explanations(wildcards.point)
                                                + seed_explanation_files(wildcards.point)
                                                + (PLAN.evaluations(wildcards.point) or [])),
        sheet=lambda wildcards: cohort_sheet(wildcards.point),
        detector=lambda wildcards: detector_files(wildcards.point),
    output:
        table=report(f"{RESULTS}/points/{{point}}/importance-{{aggregation}}.csv", category="Global importance",
                     subcategory="{point}", labels={"point": "{point}", "kind": "table ({aggregation})"}),
        plot=report(f"{RESULTS}/points/{{point}}/importance-{{aggregation}}.png", category="Global importance",
                    subcategory="{point}", labels={"point": "{point}", "kind": "groups ({aggregation})"}),
        classes=report(f"{RESULTS}/points/{{point}}/importance-{{aggregation}}-classes.png",
                       category="Global importance", subcategory="{point}",
                       labels={"point": "{point}", "kind": "per class ({aggregation})"}),
        comparison=report(f"{RESULTS}/points/{{point}}/importance-{{aggregation}}-comparison.png",
                          category="Global importance", subcategory="{point}",
                          labels={"point": "{point}", "kind": "class versus class ({aggregation})"}),
        parquet=f"{RESULTS}/points/{{point}}/importance-{{aggregation}}.parquet",
        findings=report(f"{RESULTS}/points/{{point}}/findings-{{aggregation}}.csv", category="Global importance",
                        subcategory="{point}", labels={"point": "{point}", "kind": "findings across songs"}),
        findings_parquet=f"{RESULTS}/points/{{point}}/findings-{{aggregation}}.parquet",
    params:
        features=lambda wildcards: report_config(wildcards.point)["aggregation_features"],
        report=lambda wildcards: report_config(wildcards.point),
        data=DATA,
    log:
        "logs/aggregate/{point}-{aggregation}.log",
    resources:
        mem_mb=2000,
        runtime=10,
    run:
        run_stage(log[0], stages.aggregate_point, **aggregate_arguments(wildcards, output, params))


rule sweep_summary:
    input:
        summaries=expand(f"{RESULTS}/points/{{point}}/summary.tsv", point=list(PLAN.points)),
    output:
        summary=report(f"{RESULTS}/sweeps/{{sweep}}/summary.tsv", category="Sweep",
                       labels={"table": "summary of every point"}),
        skipped=f"{RESULTS}/sweeps/{{sweep}}/skipped_songs.tsv",
    params:
        overrides={point: p.overrides for point, p in PLAN.points.items()},
        skipped=[problem.as_row() for problem in PLAN.skipped],
    log:
        "logs/sweep_summary/{sweep}.log",
    resources:
        mem_mb=1000,
        runtime=5,
    run:
        run_stage(log[0], stages.summarize_sweep, input.summaries, params.overrides, output.summary,
                  params.skipped, output.skipped)


rule sweep_index:
    input:
        unpack(sweep_index_inputs),
    output:
        index=f"{RESULTS}/sweeps/{{sweep}}/index.html",
    params:
        points=sweep_index_points,
        title=PLAN.sweep.name,
        skipped=[problem.as_row() for problem in PLAN.skipped],
    log:
        "logs/sweep_index/{sweep}.log",
    resources:
        mem_mb=1000,
        runtime=5,
    run:
        run_stage(log[0], stages.sweep_index, params.points, output.index, params.title, params.skipped)
