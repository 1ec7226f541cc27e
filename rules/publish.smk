# Publishing: upload every artifact (GCS, or a local folder laid out like the buckets) and record a manifest.


rule publish_upload:
    input:
        unpack(get_publish_inputs),
    output:
        manifest="output/publish/{vod}_manifest.json",
    params:
        settings=config["publish"],
    log:
        "logs/publish_upload/{vod}.log",
    benchmark:
        "benchmarks/publish_upload/{vod}.tsv"
    retries: 2
    resources:
        mem_mb=500,
        runtime=120,
    script:
        "../scripts/publish_upload.py"
