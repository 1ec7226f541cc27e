#!/usr/bin/env bash
# Stop the one-node Slurm cluster started by .ci/slurm-up.sh: slurmd, slurmctld, then munged, each by its pid file.
# Safe to run when nothing is running. KLIP_SLURM_KEEP_MUNGE=1 leaves munged up (another user of it).
set -uo pipefail

STATE=${KLIP_SLURM_STATE:-/tmp/klipstream-slurm}

say() { echo "slurm-down: $*" >&2; }

stop() {  # stop NAME PIDFILE: TERM, wait up to 10 s, then KILL
    local name=$1 pidfile=$2 pid
    [ -s "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
        say "stopping $name (pid $pid)"
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -0 "$pid" 2>/dev/null && { say "$name did not stop, killing"; kill -KILL "$pid" 2>/dev/null; }
    fi
    rm -f "$pidfile"
}

# Jobs still queued would be lost with the daemons anyway; cancel them so slurmd's steps end cleanly.
command -v scancel >/dev/null && [ -s "$STATE/run/slurmctld.pid" ] && scancel --quiet --user="$(id -un)" 2>/dev/null
stop slurmd "$STATE/run/slurmd.pid"
stop slurmctld "$STATE/run/slurmctld.pid"
[ "${KLIP_SLURM_KEEP_MUNGE:-0}" = 1 ] || stop munged /run/munge/munged.pid
exit 0
