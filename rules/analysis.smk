# Analysis: chat emotions and timeline, audio features and speech emotions, highlights, integration.


rule chat_sentiment_score:
    input:
        chat=target("chat_json"),
    output:
        csv=target("chat_sentiment_csv"),
    log:
        "logs/chat_sentiment_score/{vod}.log",
    benchmark:
        "benchmarks/chat_sentiment_score/{vod}.tsv"
    conda:
        "../envs/klipstream.yaml"
    resources:
        mem_mb=500,
        runtime=10,
    script:
        "../scripts/chat_sentiment_score.py"


rule chat_timeline_build:
    input:
        sentiment=target("chat_sentiment_csv"),
    output:
        csv=target("chat_timeline_csv"),
    log:
        "logs/chat_timeline_build/{vod}.log",
    benchmark:
        "benchmarks/chat_timeline_build/{vod}.tsv"
    conda:
        "../envs/klipstream.yaml"
    resources:
        mem_mb=300,
        runtime=10,
    params:
        settings=config["chat_timeline"],
    script:
        "../scripts/chat_timeline_build.py"


rule chat_highlights_detect:
    input:
        timeline=target("chat_timeline_csv"),
        sentiment=target("chat_sentiment_csv"),
    output:
        csv=report(
            target("chat_highlights_csv"),
            caption="../report/chat_highlights.rst",
            category="Chat",
        ),
    log:
        "logs/chat_highlights_detect/{vod}.log",
    benchmark:
        "benchmarks/chat_highlights_detect/{vod}.tsv"
    conda:
        "../envs/klipstream.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        settings=config["chat_highlights"],
    script:
        "../scripts/chat_highlights_detect.py"


rule chat_plot:
    input:
        timeline=target("chat_timeline_csv"),
    output:
        png=report(
            target("chat_activity_png"),
            caption="../report/chat_activity.rst",
            category="Chat",
        ),
    log:
        "logs/chat_plot/{vod}.log",
    benchmark:
        "benchmarks/chat_plot/{vod}.tsv"
    conda:
        "../envs/klipstream.yaml"
    resources:
        mem_mb=500,
        runtime=10,
    script:
        "../scripts/chat_plot.py"


rule audio_features_compute:
    input:
        wav=target("audio"),
        words=target("words_csv"),
    output:
        csv=target("audio_features_csv"),
    log:
        "logs/audio_features_compute/{vod}.log",
    benchmark:
        "benchmarks/audio_features_compute/{vod}.tsv"
    conda:
        "../envs/klipstream.yaml"
    threads: 2
    resources:
        mem_mb=500,
        runtime=20,
    params:
        settings=config["audio_features"],
    script:
        "../scripts/audio_features_compute.py"


rule audio_sentiment_score:
    input:
        segments=target("segments_csv"),
        features=target("audio_features_csv"),
        words=target("words_csv"),
        transcript=target("transcript_json"),
    output:
        csv=target("audio_sentiment_csv"),
    log:
        "logs/audio_sentiment_score/{vod}.log",
    benchmark:
        "benchmarks/audio_sentiment_score/{vod}.tsv"
    retries: 1
    conda:
        "../envs/klipstream.yaml"
    resources:
        mem_mb=500,
        runtime=60,
    params:
        settings=config["speech_sentiment"],
    script:
        "../scripts/audio_sentiment_score.py"


rule audio_highlights_detect:
    input:
        features=target("audio_features_csv"),
        sentiment=target("audio_sentiment_csv"),
        words=target("words_csv"),
    output:
        csv=report(
            target("audio_highlights_csv"),
            caption="../report/audio_highlights.rst",
            category="Audio",
        ),
    log:
        "logs/audio_highlights_detect/{vod}.log",
    benchmark:
        "benchmarks/audio_highlights_detect/{vod}.tsv"
    conda:
        "../envs/klipstream.yaml"
    resources:
        mem_mb=500,
        runtime=10,
    params:
        settings=config["audio_highlights"],
    script:
        "../scripts/audio_highlights_detect.py"


rule audio_plot:
    input:
        features=target("audio_features_csv"),
    output:
        png=report(
            target("audio_loudness_png"),
            caption="../report/audio_loudness.rst",
            category="Audio",
        ),
    log:
        "logs/audio_plot/{vod}.log",
    benchmark:
        "benchmarks/audio_plot/{vod}.tsv"
    conda:
        "../envs/klipstream.yaml"
    resources:
        mem_mb=500,
        runtime=10,
    script:
        "../scripts/audio_plot.py"


rule analysis_integrate:
    input:
        unpack(get_integration_inputs),
    output:
        json=target("integrated_json"),
    log:
        "logs/analysis_integrate/{vod}.log",
    benchmark:
        "benchmarks/analysis_integrate/{vod}.tsv"
    conda:
        "../envs/klipstream.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        url=get_vod_url,
        title=get_vod_title,
        settings=config["fusion"],
    script:
        "../scripts/analysis_integrate.py"
