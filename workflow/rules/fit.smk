# LIME fit: depends on the predictions and the kernel / feature-selection settings.
# A cheap stage: it runs inside the Snakemake process (see common.smk).


rule fit:
    input:
        masks=PATHS.masks,
        predictions=PATHS.predictions,
    output:
        explanation=PATHS.explanation,
        config=f"{PATHS.fit_dir}/config.yaml",
    params:
        fit=lambda wildcards: stage_slice("fit", wildcards.fit),
        song=song_info,
        upstream=upstream_configs,
    log:
        "logs/fit/{song}/{sep}/{masks}/{model}/{fit}.log",
    resources:
        mem_mb=2000,
        runtime=10,
    run:
        run_stage(log[0], stages.fit, input.masks, input.predictions, params.fit, params.song, params.upstream,
                  output.explanation, output.config)
