# What a person looks at: the self-contained HTML report and the top highlights cut as clips.


rule report_render:
    input:
        unpack(get_report_inputs),
        unpack(get_report_media),
    output:
        html=report(
            "output/report/{vod}.html",
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
        video="output/raw/videos/video_{vod}.mp4",
        integrated="output/analysis/{vod}_integrated_analysis.json",
    output:
        clips=directory("output/clips/{vod}"),
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
