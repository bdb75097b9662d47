# Per-song pictures and listenable WAVs (keyed by the explanation and report.num_features /
# report.listenable_top_k), and the song's mix as a WAV for the pages. Cheap: run in the worker pool.


rule song_media:
    input:
        explanation=PATHS.explanation,
        stems=PATHS.stems,
    output:
        media=report(
            directory(PATHS.media),
            patterns=["{name}.png"],
            category="Songs",
            subcategory="{song}",
            labels={"song": "{song}", "figure": "{name}", "fit": "{fit}"},
        ),
    params:
        media=lambda wildcards: stage_slice("media", wildcards.media),
    log:
        "logs/song_media/{song}/{sep}/{masks}/{model}/{fit}/{media}.log",
    resources:
        mem_mb=1000,
        runtime=5,
    run:
        run_stage(log[0], stages.song_media, input.explanation, input.stems, params.media, output.media)


rule song_mix:
    input:
        stems=PATHS.stems,
    output:
        wav=PATHS.mix,
    log:
        "logs/song_mix/{song}/{sep}.log",
    resources:
        mem_mb=1000,
        runtime=5,
    run:
        run_stage(log[0], stages.song_mix, input.stems, output.wav)
