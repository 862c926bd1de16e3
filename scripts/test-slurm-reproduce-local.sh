#!/usr/bin/env bash
# End-to-end test of scripts/slurm-reproduce.sh on a throw-away single-node Slurm (slurmctld,
# slurmd and munged on this machine, everything in one temporary folder, clients pointed at
# it through SLURM_CONF; /etc and the packaged services are not touched), started as
# scripts/test-slurm-local.sh starts it.
#
# It reproduces five quick figures (bn-mnist and homogenisation, which share their runs,
# batch-size, vanishing-gradient, whose confirmation runs are a second stage chosen from its
# grid's results, and the single-unit equivalence) as a job array of shards plus the dependent
# merge job, reproduces them again in one process, and compares the two output folders byte
# for byte: every ID.json, ID.csv and stored run. Prints PASS or FAIL, stops Slurm and removes
# the folder (KEEP=1 keeps it for inspection).
#
# Needs root (the daemons run as root, as in a container) and, unless already installed,
# apt-get for slurm-wlm and munge. Not run by CI.
#
# Environment:
#   IPBN            ipbn binary (default: target/release/ipbn, built here with cargo)
#   SHARDS          number of array tasks (default: 3)
#   SLURMCTLD_PORT  controller port (default: 6817); SLURMD_PORT node port (default: 6818)
#   KEEP=1          keep the temporary folder
#
# Exit codes: 0 PASS, 1 FAIL (or Slurm could not start), 2 bad setup.
set -euo pipefail

repo=$(cd "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
shards=${SHARDS:-3}
[[ $shards =~ ^[1-9][0-9]*$ ]] || { echo "SHARDS must be a whole number >= 1" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "test-slurm-reproduce-local.sh: run as root (the local daemons run as root)" >&2; exit 2; }

say() { printf '[%s] %s\n' "$(date +%T)" "$*"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

# --- Install ------------------------------------------------------------------------------
missing=()
for c in slurmctld slurmd sbatch squeue scontrol sinfo munged mungekey munge unmunge; do
    command -v "$c" >/dev/null || missing+=("$c")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing slurm-wlm and munge (missing: ${missing[*]})"
    DEBIAN_FRONTEND=noninteractive apt-get install -y slurm-wlm munge >/dev/null ||
        { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y slurm-wlm munge >/dev/null; }
fi
say "slurm $(slurmctld -V | awk '{print $2}'), munge $(munged -V | awk '{print $1}' | sed 's/munge-//')"

# --- The binary -----------------------------------------------------------------------------
if [ -z "${IPBN:-}" ]; then
    say "building target/release/ipbn"
    (cd "$repo" && cargo build --release -q -p ipbn-reports --bin ipbn)
    IPBN=$repo/target/release/ipbn
fi
[ -x "$IPBN" ] || { echo "ipbn binary '$IPBN' is not executable" >&2; exit 2; }
IPBN=$(cd "$(dirname -- "$IPBN")" && pwd -P)/$(basename -- "$IPBN")
export IPBN

# --- Start Slurm (as in ../shared/guides/slurm-local.md) ------------------------------------
T=$(mktemp -d /tmp/slurm-local.XXXXXX)
H=$(hostname -s)
mkdir -p "$T"/{munge,etc,run,log,state,spool,jobs}
chmod 755 "$T" "$T/munge" # munged wants o+x on the socket's folder (mktemp makes it 700)
: >"$T/pids"

stop_slurm() {
    set +e
    if [ -n "${SLURM_CONF:-}" ] && [ -f "$SLURM_CONF" ]; then
        scancel --quiet --user=root 2>/dev/null
        # Running jobs survive slurmd: let them end before stopping it.
        for _ in $(seq 150); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.2; done
    fi
    # shellcheck disable=SC1091
    . "$T/pids"
    for p in ${SLURMD_PID:-} ${SLURMCTLD_PID:-} ${MUNGED_PID:-}; do
        kill -TERM "$p" 2>/dev/null || continue
        for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$p" 2>/dev/null && kill -KILL "$p"
    done
    if [ "${KEEP:-0}" = 1 ]; then
        echo "kept $T"
    else
        rm -rf "$T"
    fi
}
trap stop_slurm EXIT

fail_start() {
    echo "test-slurm-reproduce-local.sh: $*" >&2
    sinfo -R 2>/dev/null || true
    tail -n 20 "$T"/log/*.out "$T"/log/*.log 2>/dev/null || true
    exit 1
}

t0=$(now)
mungekey -c -k "$T/munge/munge.key"
munged --foreground --socket="$T/munge/munge.socket" --key-file="$T/munge/munge.key" \
    --pid-file="$T/munge/munged.pid" --seed-file="$T/munge/munged.seed" >"$T/log/munged.out" 2>&1 &
echo "MUNGED_PID=$!" >>"$T/pids"
for _ in $(seq 50); do [ -S "$T/munge/munge.socket" ] && break; sleep 0.1; done
munge -S "$T/munge/munge.socket" -n | unmunge -S "$T/munge/munge.socket" >/dev/null ||
    fail_start "munge does not work"
MEM=$(($(free -m | awk '/^Mem:/{print $2}') * 9 / 10)) # a little under the real memory
NODE=$(slurmd -C | head -1 | sed "s/RealMemory=[0-9]*/RealMemory=$MEM/")
cat >"$T/etc/slurm.conf" <<EOF
ClusterName=local
SlurmctldHost=$H
SlurmUser=root
SlurmdUser=root
SlurmctldPort=${SLURMCTLD_PORT:-6817}
SlurmdPort=${SLURMD_PORT:-6818}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$T/munge/munge.socket
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/run/slurmctld.pid
SlurmdPidFile=$T/run/slurmd.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
DependencyParameters=kill_invalid_depend
MailProg=/bin/true
$NODE State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$T/etc/slurm.conf
slurmctld -D -f "$SLURM_CONF" >"$T/log/slurmctld.out" 2>&1 &
pid=$!
echo "SLURMCTLD_PID=$pid" >>"$T/pids"
for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || fail_start "slurmctld exited (port in use? set SLURMCTLD_PORT)"
    scontrol ping >/dev/null 2>&1 && break
    sleep 0.2
done
slurmd -D -f "$SLURM_CONF" >"$T/log/slurmd.out" 2>&1 &
pid=$!
echo "SLURMD_PID=$pid" >>"$T/pids"
for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || fail_start "slurmd exited (port in use? set SLURMD_PORT)"
    [ "$(sinfo -h -n "$H" -o %t)" = idle ] && break
    sleep 0.2
done
[ "$(sinfo -h -n "$H" -o %t)" = idle ] || fail_start "node $H is not idle"
say "slurm up in $(since "$t0"): $(sinfo -h -o '%P %D nodes %C cpus(A/I/O/T) %t')"

# --- The figures ----------------------------------------------------------------------------
ids=(bn-mnist homogenisation batch-size vanishing-gradient equivalence)
say "job array: $shards shards of the runs of ${ids[*]} (--quick)"
t1=$(now)
submit_log=$T/jobs/submit.log
if ! (cd "$T/jobs" && "$repo/scripts/slurm-reproduce.sh" --wait --quick "${ids[@]}" "$T/slurm-out" "$shards") \
    >"$submit_log" 2>&1; then
    cat "$submit_log"
    for f in "$T"/slurm-out/slurm-logs/*; do echo "== $f"; cat "$f"; done
    echo "FAIL: the Slurm reproduce did not complete"
    exit 1
fi
slurm_time=$(since "$t1")
sed 's/^/  /' "$submit_log"
array_id=$(sed -n 's/^array job \([0-9]*\).*/\1/p' "$submit_log")
merge_id=$(sed -n 's/^merge job \([0-9]*\).*/\1/p' "$submit_log")
say "array job $array_id and merge job $merge_id done in $slurm_time"
for i in $(seq "$shards"); do
    log=$T/slurm-out/slurm-logs/shard-${array_id}_$i.out
    [ -f "$log" ] && sed "s/^/  task $i: /" "$log"
done
sed 's/^/  merge: /' "$T/slurm-out/slurm-logs/merge-$merge_id.out" | cut -c1-160

say "the same figures in one process"
t2=$(now)
"$IPBN" reproduce --quick "${ids[@]}" --out "$T/single" 2>&1 | sed 's/^/  /' | cut -c1-160
say "single process done in $(since "$t2")"

# --- Compare --------------------------------------------------------------------------------
status=PASS
for id in "${ids[@]}"; do
    for ext in json csv; do
        f=$id.$ext
        [ -f "$T/single/$f" ] || [ -f "$T/slurm-out/$f" ] || continue
        if cmp -s "$T/single/$f" "$T/slurm-out/$f"; then
            say "$f: byte-identical ($(wc -c <"$T/single/$f") bytes)"
        else
            say "$f differs"
            status=FAIL
        fi
    done
done
if diff -r "$T/single/runs" "$T/slurm-out/runs" >"$T/jobs/diff.txt"; then
    say "every stored run ($(find "$T/single/runs" -name '*.json' | wc -l) files): byte-identical"
else
    say "the stored runs differ:"
    head -20 "$T/jobs/diff.txt"
    status=FAIL
fi
leftovers=$(find "$T/slurm-out" "$T/single" -name '*.tmp' | wc -l)
if [ "$leftovers" -ne 0 ]; then
    say "$leftovers temporary files left behind"
    status=FAIL
fi

say "total $(since "$t0")"
echo "$status: Slurm job array ($shards shards, array job $array_id, merge job $merge_id, $slurm_time) vs single process"
[ "$status" = PASS ]
