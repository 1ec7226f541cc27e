# Editor hand-offs under output/exports/{vod}/ (docs/exports.md): timelines, chapters, a CSV of the moments,
# captions and vertical clips; and the moments' titles (output/analysis/) they, the clips and the report use.
# Each is made from the integrated analysis, the clips and/or the transcript only;
# `exports.*` in the config says which ones the publish step (and so `all`) asks for.


rule timeline_export:
    input:
        unpack(get_timeline_inputs),
    output:
        moments_otio=target("moments_otio"),
        moments_edl=target("moments_edl"),
        moments_xml=target("moments_xml"),
        selects_otio=target("selects_otio"),
        selects_edl=target("selects_edl"),
        selects_xml=target("selects_xml"),
    log:
        "logs/timeline_export/{vod}.log",
    conda:
        "../envs/klipstream.yaml"
    resources:
        mem_mb=300,
        runtime=10,
    params:
        settings=config["timeline"],
        top_k=config["clips"]["top_k"],
    script:
        "../scripts/timeline_export.py"


rule titles_write:
    input:
        integrated=target("integrated_json"),
    output:
        json=target("titles_json"),
    log:
        "logs/titles_write/{vod}.log",
    conda:
        "../envs/klipstream.yaml"
    resources:
        mem_mb=300,
        runtime=30,
    params:
        settings=config["titles"],
        llm=TITLES_LLM,
    script:
        "../scripts/titles_write.py"


rule chapters_write:
    input:
        integrated=target("integrated_json"),
        titles=target("titles_json"),
    output:
        txt=target("chapters_txt"),
    log:
        "logs/chapters_write/{vod}.log",
    conda:
        "../envs/klipstream.yaml"
    resources:
        mem_mb=200,
        runtime=5,
    params:
        settings=config["chapters"],
    script:
        "../scripts/chapters_write.py"


rule moments_tabulate:
    input:
        integrated=target("integrated_json"),
    output:
        csv=target("moments_csv"),
    log:
        "logs/moments_tabulate/{vod}.log",
    conda:
        "../envs/klipstream.yaml"
    resources:
        mem_mb=200,
        runtime=5,
    script:
        "../scripts/moments_tabulate.py"


rule captions_write:
    input:
        unpack(get_captions_inputs),
    output:
        srt=target("captions_srt"),
        vtt=target("captions_vtt"),
        clip_captions=directory(target("clip_captions_dir")),
    log:
        "logs/captions_write/{vod}.log",
    benchmark:
        "benchmarks/captions_write/{vod}.tsv"
    conda:
        "../envs/klipstream.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        settings=config["captions"],
    script:
        "../scripts/captions_write.py"


rule vertical_render:
    input:
        unpack(get_vertical_inputs),
    output:
        vertical=directory(target("vertical_dir")),
    log:
        "logs/vertical_render/{vod}.log",
    benchmark:
        "benchmarks/vertical_render/{vod}.tsv"
    conda:
        "../envs/klipstream.yaml"
    threads: 2
    resources:
        mem_mb=1000,
        runtime=60,
    params:
        settings=config["vertical"],
    script:
        "../scripts/vertical_render.py"
