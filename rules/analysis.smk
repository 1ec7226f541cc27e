# Analysis: chat emotions and timeline, audio features and speech emotions, highlights, integration.


rule chat_sentiment_score:
    input:
        chat="output/raw/chat/{vod}_chat.json",
        models=CHAT_MODELS,
    output:
        csv="output/analysis/chat/{vod}_chat_sentiment.csv",
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
        sentiment="output/analysis/chat/{vod}_chat_sentiment.csv",
    output:
        csv="output/analysis/chat/{vod}_chat_timeline.csv",
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
        timeline="output/analysis/chat/{vod}_chat_timeline.csv",
        sentiment="output/analysis/chat/{vod}_chat_sentiment.csv",
    output:
        csv=report(
            "output/analysis/chat/{vod}_highlight_analysis.csv",
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
        timeline="output/analysis/chat/{vod}_chat_timeline.csv",
    output:
        png=report(
            "output/analysis/chat/{vod}_chat_activity.png",
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
        wav="output/raw/audio/audio_{vod}.wav",
        words="output/raw/transcripts/audio_{vod}_words.csv",
    output:
        csv="output/analysis/audio/{vod}_features.csv",
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
        segments="output/raw/transcripts/audio_{vod}_segments.csv",
        features="output/analysis/audio/{vod}_features.csv",
        words="output/raw/transcripts/audio_{vod}_words.csv",
    output:
        csv="output/analysis/audio/{vod}_sentiment.csv",
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
        features="output/analysis/audio/{vod}_features.csv",
        sentiment="output/analysis/audio/{vod}_sentiment.csv",
        words="output/raw/transcripts/audio_{vod}_words.csv",
    output:
        csv=report(
            "output/analysis/audio/{vod}_highlights.csv",
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
        features="output/analysis/audio/{vod}_features.csv",
    output:
        png=report(
            "output/analysis/audio/{vod}_loudness.png",
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
        json="output/analysis/{vod}_integrated_analysis.json",
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
