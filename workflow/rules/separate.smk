# Separation: depends only on the song and the separation settings (never on segments or samples).
# A heavy stage: a warm model worker runs it and keeps the Open-Unmix separator for the next song, and
# starts building the models of the jobs after it meanwhile (musiclime.pipeline.model_prefetch).


rule separate:
    input:
        unpack(separation_inputs),
    output:
        stems=PATHS.stems,
        config=f"{PATHS.song_dir}/{{sep}}/config.yaml",
    params:
        song=song_info,
        separation=lambda wildcards: stage_slice("separation", wildcards.sep),
    log:
        "logs/separate/{song}/{sep}.log",
    threads: COMPUTE["threads"]
    resources:
        mem_mb=COMPUTE["separate_mem_mb"],
        runtime=60,
        gpu=COMPUTE["gpu"],
    run:
        run_heavy_stage(log[0], stages.separate, params.song, params.separation, output.stems, output.config,
                        threads=threads, job=f"rule separate, song {wildcards.song}",
                        build_ahead=PLAN.models_after(wildcards.sep))
