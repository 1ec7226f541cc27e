# Publishing: upload every artifact (GCS, or a local folder laid out like the buckets) and record a manifest.


rule publish_upload:
    input:
        unpack(get_publish_inputs),
        unpack(get_export_publish_inputs),
    output:
        manifest="output/publish/{vod}_manifest.json",
    log:
        "logs/publish_upload/{vod}.log",
    benchmark:
        "benchmarks/publish_upload/{vod}.tsv"
    retries: 2
    conda:
        "../envs/klipstream.yaml"
    resources:
        mem_mb=500,
        runtime=120,
    params:
        settings=config["publish"],
    script:
        "../scripts/publish_upload.py"
