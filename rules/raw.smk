# Raw artifacts: video, 16 kHz mono audio (and its compressed copy for Deepgram), transcript and its tables,
# waveform, chat.
# The fetch rules have no `retries:`: their clients already retry what can succeed (429, 5xx, timeouts), and
# what cannot (no network, a missing or sub-only VOD) should fail once, at once; a rerun resumes a download.


rule video_fetch:
    input:
        get_video_source,
    output:
        video=target("video"),
        metadata=target("metadata"),
    log:
        "logs/video_fetch/{vod}.log",
    benchmark:
        "benchmarks/video_fetch/{vod}.tsv"
    conda:
        "../envs/klipstream.yaml"
    resources:
        mem_mb=300,
        runtime=240,
    params:
        url=get_vod_url,
        title=get_vod_title,
        download=get_download_settings,
        twitch=get_twitch_settings,
    script:
        "../scripts/video_fetch.py"


rule audio_extract:
    input:
        unpack(get_audio_source),
    output:
        wav=target("audio"),
    log:
        "logs/audio_extract/{vod}.log",
    benchmark:
        "benchmarks/audio_extract/{vod}.tsv"
    conda:
        "../envs/klipstream.yaml"
    resources:
        mem_mb=300,
        runtime=30,
    params:
        url=get_vod_url,
        download=get_download_settings,
        twitch=get_twitch_settings,
    script:
        "../scripts/audio_extract.py"


# The transcription chain is the longest one of a VOD (and Deepgram's answer takes the longest to come): its jobs
# go first when several jobs are ready.
rule audio_encode:
    input:
        wav=target("audio"),
    output:
        audio=target(UPLOAD_KEY),
    log:
        "logs/audio_encode/{vod}.log",
    benchmark:
        "benchmarks/audio_encode/{vod}.tsv"
    priority: 10
    conda:
        "../envs/klipstream.yaml"
    resources:
        mem_mb=200,
        runtime=30,
    params:
        settings=config["transcription"]["upload"],
    script:
        "../scripts/audio_encode.py"


# Offline transcription, scattered: the checkpoint cuts the audio into pause-cut chunks and groups them (and finds
# the Whisper model, detecting the VOD's language with a multilingual one); one job decodes each group; transcript_transcribe gathers the parts (or, with Deepgram, sends the encoded audio).
checkpoint transcript_plan:
    input:
        wav=target("audio"),
    output:
        plan=target("transcript_plan"),
    log:
        "logs/transcript_plan/{vod}.log",
    benchmark:
        "benchmarks/transcript_plan/{vod}.tsv"
    priority: 10
    conda:
        "../envs/klipstream.yaml"
    resources:
        mem_mb=300,
        runtime=10,
    params:
        settings=config["transcription"]["offline"],
    script:
        "../scripts/transcript_plan.py"


rule transcript_decode:
    input:
        wav=target("audio"),
        plan=target("transcript_plan"),
    output:
        part=temp(target("transcript_part")),
    log:
        "logs/transcript_decode/{vod}_{part}.log",
    benchmark:
        "benchmarks/transcript_decode/{vod}_{part}.tsv"
    priority: 10
    retries: 1
    conda:
        "../envs/klipstream.yaml"
    threads: 2
    resources:
        mem_mb=1000,
        runtime=30,
    script:
        "../scripts/transcript_decode.py"


rule transcript_transcribe:
    input:
        unpack(get_transcription_inputs),
    output:
        json=target("transcript_json"),
    log:
        "logs/transcript_transcribe/{vod}.log",
    benchmark:
        "benchmarks/transcript_transcribe/{vod}.tsv"
    priority: 10
    retries: 1
    conda:
        "../envs/klipstream.yaml"
    resources:
        mem_mb=500,
        runtime=120,
    params:
        settings=TRANSCRIPTION_SETTINGS,
    script:
        "../scripts/transcript_transcribe.py"


rule transcript_tables:
    input:
        json=target("transcript_json"),
    output:
        words=target("words_csv"),
        paragraphs=target("paragraphs_csv"),
    log:
        "logs/transcript_tables/{vod}.log",
    benchmark:
        "benchmarks/transcript_tables/{vod}.tsv"
    conda:
        "../envs/klipstream.yaml"
    resources:
        mem_mb=500,
        runtime=10,
    script:
        "../scripts/transcript_tables.py"


rule transcript_segments:
    input:
        json=target("transcript_json"),
    output:
        segments=target("segments_csv"),
    log:
        "logs/transcript_segments/{vod}.log",
    benchmark:
        "benchmarks/transcript_segments/{vod}.tsv"
    conda:
        "../envs/klipstream.yaml"
    resources:
        mem_mb=500,
        runtime=10,
    params:
        settings=config["segments"],
    script:
        "../scripts/transcript_segments.py"


rule waveform_render:
    input:
        wav=target("audio"),
    output:
        png=report(
            target("waveform_png"),
            caption="../report/waveform.rst",
            category="Audio",
        ),
        json=target("waveform_json"),
    log:
        "logs/waveform_render/{vod}.log",
    benchmark:
        "benchmarks/waveform_render/{vod}.tsv"
    conda:
        "../envs/klipstream.yaml"
    resources:
        mem_mb=300,
        runtime=10,
    params:
        settings=config["waveform"],
    script:
        "../scripts/waveform_render.py"


rule chat_fetch:
    input:
        get_chat_source,
    output:
        json=target("chat_json"),
    log:
        "logs/chat_fetch/{vod}.log",
    benchmark:
        "benchmarks/chat_fetch/{vod}.tsv"
    conda:
        "../envs/klipstream.yaml"
    resources:
        mem_mb=300,
        runtime=60,
    params:
        url=get_vod_url,
        title=get_vod_title,
        chat=get_chat_settings,
        twitch=get_twitch_settings,
    script:
        "../scripts/chat_fetch.py"


# A local video or chat file the VOD table names but that does not exist: the VOD's fetch job takes this
# placeholder as its input, and this job fails naming the file, so that VOD fails alone and the others build.
rule vod_input_missing:
    output:
        "output/raw/missing/{vod}.{side}",
    log:
        "logs/vod_input_missing/{vod}_{side}.log",
    wildcard_constraints:
        side="video|chat",
    conda:
        "../envs/klipstream.yaml"
    params:
        reason=get_missing_reason,
    script:
        "../scripts/vod_input_missing.py"
