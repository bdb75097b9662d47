# Trust metrics of one explanation: stability over mask seeds, deletion/insertion faithfulness,
# model-randomization sanity, and the ground-truth check (the song's truth file is an input).
# Heavy (faithfulness calls the model): a warm model worker, and a GPU on SLURM.


rule evaluate:
    input:
        unpack(evaluation_inputs),
    output:
        evaluation=PATHS.evaluation,
        config=f"{PATHS.fit_dir}/{{evaluation}}/config.yaml",
    params:
        model=lambda wildcards: stage_slice("model", wildcards.model),
        evaluation=lambda wildcards: stage_slice("evaluation", wildcards.evaluation),
    log:
        "logs/evaluate/{song}/{sep}/{masks}/{model}/{fit}/{evaluation}.log",
    threads: COMPUTE["threads"]
    resources:
        mem_mb=COMPUTE["predict_mem_mb"],
        runtime=30,
        gpu=COMPUTE["gpu"],
    run:
        run_heavy_stage(log[0], stages.evaluate, *evaluate_arguments(input, params, output), threads=threads,
                        model=params.model, job=f"rule evaluate, song {wildcards.song}")
