#!/usr/bin/env bash
# Start a one-node Slurm cluster on this machine for tests/test_slurm.py (Debian's slurm-wlm + munge, no systemd).
#
# Idempotent: installs the packages if missing, writes slurm.conf (state, spool, logs and pid files under
# $KLIP_SLURM_STATE, default /tmp/klipstream-slurm), starts munged, slurmctld and slurmd only when their pid file does
# not name a live process, then waits until `sinfo` shows the node idle. Stop everything with .ci/slurm-down.sh.
# Needs root (the daemons run as root/munge, as in CI); without root it says so and exits 0 so the test just skips.
set -euo pipefail

STATE=${KLIP_SLURM_STATE:-/tmp/klipstream-slurm}
CONF=/etc/slurm/slurm.conf
MARK="# written by klipstream .ci/slurm-up.sh"
WAIT_SECONDS=${KLIP_SLURM_WAIT:-60}

say() { echo "slurm-up: $*" >&2; }

if [ "$(id -u)" != 0 ]; then
    say "not root: cannot install or start a local Slurm cluster; the slurm tests will skip"
    exit 0
fi

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
    say "installing slurm-wlm and munge (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null \
        || { apt-get update -qq && apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null; }
fi

alive() {  # alive PIDFILE: the pid file names a running process
    [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

mkdir -p "$STATE"/{ctld,spool,log,run}

# --- munge ------------------------------------------------------------------------------------------------------------
mkdir -p /run/munge /var/lib/munge /var/log/munge /etc/munge
if [ ! -s /etc/munge/munge.key ]; then
    if command -v mungekey >/dev/null; then mungekey --create --keyfile=/etc/munge/munge.key; else
        dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null; fi
fi
chown -R munge: /etc/munge /run/munge /var/lib/munge /var/log/munge
chmod 0700 /etc/munge && chmod 0400 /etc/munge/munge.key
if ! alive /run/munge/munged.pid; then
    say "starting munged"
    rm -f /run/munge/munge.socket.2*
    su -s /bin/sh munge -c /usr/sbin/munged
fi
for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.2; done
munge -n | unmunge >/dev/null || { say "munge does not answer (see /var/log/munge/munged.log)"; exit 1; }

# --- slurm.conf -------------------------------------------------------------------------------------------------------
HOST=$(hostname -s)
CPUS=$(nproc)
# A little under the free memory, so that jobs asking for mem_mb are scheduled but the node is never oversold.
MEM=$(free -m | awk '/^Mem:/ {print int($7 * 0.8)}')
mkdir -p /etc/slurm
cat >"$STATE/slurm.conf" <<EOF
$MARK
ClusterName=klipstream
SlurmctldHost=$HOST
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
MinJobAge=300
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
NodeName=$HOST CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=main Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
if [ -e "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then
    say "$CONF exists and was not written by this script: leaving it alone, clients must use SLURM_CONF=$STATE/slurm.conf"
else
    cp "$STATE/slurm.conf" "$CONF"
fi
export SLURM_CONF="$STATE/slurm.conf"

# --- daemons ----------------------------------------------------------------------------------------------------------
if ! alive "$STATE/run/slurmctld.pid"; then
    say "starting slurmctld (log: $STATE/log/slurmctld.log)"
    slurmctld -c -f "$SLURM_CONF"   # -c: clean start, no saved jobs from an earlier run
fi
if ! alive "$STATE/run/slurmd.pid"; then
    say "starting slurmd (log: $STATE/log/slurmd.log)"
    slurmd -f "$SLURM_CONF"
fi

for _ in $(seq $((WAIT_SECONDS * 2))); do
    state=$(sinfo -h -N -n "$HOST" -o %T 2>/dev/null || true)
    case "$state" in
        idle*|mixed*|allocated*) say "node $HOST is $state"; sinfo; exit 0 ;;
        down*|drain*) scontrol update NodeName="$HOST" State=RESUME 2>/dev/null || true ;;
    esac
    sleep 0.5
done
say "node $HOST not idle after ${WAIT_SECONDS}s (state: ${state:-no answer}); logs in $STATE/log"
tail -n 20 "$STATE/log/slurmctld.log" "$STATE/log/slurmd.log" >&2 || true
exit 1
