#!/usr/bin/env bash
# End-to-end Slurm check on this machine: starts a one-node Slurm (munge, slurmctld and slurmd on loopback,
# ports 16817/16818, run as root), writes the array + merge jobs with `tokenize-corpus slurm` for a 3-task
# array over the sample corpus with the tiny fixture model, submits them, waits for the merge and compares
# the merged store with an unsharded run. Needs root (it installs slurm-wlm and munge with apt-get).
#   bash scripts/slurm_test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
bin=$repo/.build/release/tokenize-corpus
[ -x "$bin" ] || swift build -c release
for p in slurm-wlm munge; do
  dpkg -s "$p" >/dev/null 2>&1 || {
    apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null; break
  }
done

work=$(mktemp -d /tmp/slurm-test.XXXXXX)
host=$(hostname -s)
cpus=$(nproc)
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 ))
mkdir -p "$work"/{spool,state,log} /run/munge /var/log/munge /etc/munge
cleanup() {
  pkill -f "slurmd -f $work/slurm.conf" 2>/dev/null || true
  pkill -f "slurmctld -f $work/slurm.conf" 2>/dev/null || true
  pkill -f "munged --force --pid-file=$work/munged.pid" 2>/dev/null || true
  for _ in $(seq 20); do pgrep -f "$work" >/dev/null || break; sleep 0.5; done
}
trap cleanup EXIT

# munge: use one that already answers (a package install may have started it), else start one with a fresh key.
if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  echo "munge already running"
else
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  chown -R munge:munge /etc/munge /run/munge /var/log/munge 2>/dev/null || true
  chmod 400 /etc/munge/munge.key
  chmod 777 "$work"
  if id munge >/dev/null 2>&1; then
    runuser -u munge -- munged --force --pid-file="$work/munged.pid"
  else
    munged --force --pid-file="$work/munged.pid"
  fi
  for _ in $(seq 20); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.5; done
fi

cat > "$work/slurm.conf" <<CONF
ClusterName=tokenizetest
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MpiDefault=none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/backfill
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$work/slurm.conf
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 30); do sinfo -h -o %T 2>/dev/null | grep -qE "idle|mix" && break; sleep 1; done
sinfo

start=$(date +%s)
model=$repo/Tests/CodecTests/Fixtures/models/tiny-a
"$bin" slurm --manifest manifests/sample/LibriSpeech --model "$model" --out "$work/my job" --tasks 3 --cpus-per-task 1 \
  --mem-per-cpu 500M --time 10:00
bash "$work/my job/submit.sh"
for _ in $(seq 300); do
  [ -z "$(squeue -h 2>/dev/null)" ] && break
  sleep 1
done
"$bin" run manifests/sample/LibriSpeech --model "$model" --store "$work/whole.db" 2>/dev/null
if diff <("$bin" dump --store "$work/whole.db" | sort) <("$bin" dump --store "$work/my job/merged.db" | sort) >/dev/null; then
  merged=$("$bin" status --store "$work/my job/merged.db" --json)
  echo "slurm test passed in $(( $(date +%s) - start )) s: 3-task array and merge equal the unsharded run ($merged)"
  cleanup
  rm -rf "$work"
else
  echo "slurm test FAILED; logs in $work/my job/logs and $work/log" >&2
  tail -n 20 "$work/my job"/logs/* "$work"/log/* >&2 || true
  trap - EXIT; cleanup
  exit 1
fi
