# LIME fit and its plot: depend on the predictions and the kernel / feature-selection settings.


rule fit:
    input:
        masks=PATHS.masks,
        predictions=PATHS.predictions,
    output:
        explanation=PATHS.explanation,
        config=f"{PATHS.song_dir}/{{sep}}/{{masks}}/{{model}}/{{fit}}/config.yaml",
    params:
        fit=lambda wildcards: stage_slice("fit", wildcards.fit),
        song=song_info,
        upstream=upstream_configs,
    log:
        "logs/fit/{song}/{sep}/{masks}/{model}/{fit}.log",
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../environment.yml"
    script:
        "../scripts/fit.py"


rule plot:
    input:
        explanation=PATHS.explanation,
    output:
        plot=PATHS.plot,
    params:
        num_features=lambda wildcards: 10,
    log:
        "logs/plot/{song}/{sep}/{masks}/{model}/{fit}.log",
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../environment.yml"
    script:
        "../scripts/plot.py"
