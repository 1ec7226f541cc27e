# What a person looks at: the self-contained HTML report and the top highlights cut as clips.


rule report_render:
    input:
        unpack(get_report_inputs),
    output:
        html=report(
            target("report_html"),
            caption="../report/report.rst",
            category="Report",
        ),
    log:
        "logs/report_render/{vod}.log",
    benchmark:
        "benchmarks/report_render/{vod}.tsv"
    conda:
        "../envs/klipstream.yaml"
    resources:
        mem_mb=500,
        runtime=10,
    script:
        "../scripts/report_render.py"


rule clips_cut:
    input:
        unpack(get_clips_inputs),
        video=target("video"),
        integrated=target("integrated_json"),
    output:
        clips=directory(target("clips_dir")),
    log:
        "logs/clips_cut/{vod}.log",
    benchmark:
        "benchmarks/clips_cut/{vod}.tsv"
    conda:
        "../envs/klipstream.yaml"
    threads: 2
    resources:
        mem_mb=500,
        runtime=60,
    params:
        settings=config["clips"],
    script:
        "../scripts/clips_cut.py"
