# Separation: depends only on the song and the separation settings (never on segments or samples).


def separation_inputs(wildcards):
    song = PLAN.songs[wildcards.song]
    inputs = {"audio": str(song.audio)}
    if DATA["demo"] is not None:
        inputs["sheet"] = DATA["sample_sheet"]  # written after every demo song and its stems
    elif stage_slice("separation", wildcards.sep)["backend"] == "stems":
        inputs["stems"] = str(song.stems)
    return inputs


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
    script:
        "../scripts/separate.py"
