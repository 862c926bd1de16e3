#!/usr/bin/env bash
# Runs an `ipbn sweep` on Slurm as a job array: one shard per array task, then a merge job
# that starts only when every shard has succeeded and builds OUT/summary.json.
#
# Every task writes into the same output folder (it must be on a file system that every node
# sees). Result files are written atomically and a shard skips the runs already on disk, so a
# failed or cancelled array can simply be submitted again with the same arguments: only the
# missing runs are trained.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/slurm-sweep.sh [OPTIONS] CONFIG OUT N [-- SBATCH_OPTIONS...]

Submits a Slurm job array of N tasks; task I runs
    ipbn sweep --config CONFIG --out OUT --shard I/N --threads T
then a merge job, dependent on the whole array (afterok), that runs
    ipbn sweep --config CONFIG --out OUT --merge-only
and fails unless OUT/summary.json reports no missing run.

Arguments:
  CONFIG   JSON sweep config (see crates/ipbn-train/examples/sweep-example.json)
  OUT      output folder, on a file system shared by every node
  N        number of shards = array tasks (>= 1); runs are dealt round-robin

Options:
  -t, --threads T        worker threads (and --cpus-per-task) per shard (default: 1)
  -p, --max-parallel K   run at most K array tasks at once (--array=1-N%K)
  -l, --logs DIR         folder for the Slurm logs (default: OUT/slurm-logs)
  -j, --job-name NAME    job name (default: ipbn-sweep)
  -w, --wait             wait for the merge job, then check the summary (exit 1 if the
                         merge did not complete or a run is missing)
  -n, --dry-run          print the two job scripts and submit nothing
  -h, --help             this text
Everything after `--` is passed to both sbatch calls (e.g. -- --partition=cpu --time=2:00:00).

Environment:
  IPBN   the ipbn binary (default: target/release/ipbn in this repository; build it with
         `cargo build --release`)

Prints the two job ids. Exit codes: 0 submitted (with --wait: merged, nothing missing),
1 a job or sbatch failed, 2 bad arguments or config.
EOF
}

die_usage() {
    echo "slurm-sweep.sh: $*" >&2
    echo "Run 'scripts/slurm-sweep.sh --help' for the usage." >&2
    exit 2
}

die() {
    echo "slurm-sweep.sh: $*" >&2
    exit 1
}

threads=1
max_parallel=""
logs=""
job_name="ipbn-sweep"
wait_for_merge=0
dry_run=0
positional=()
sbatch_extra=()

while [ $# -gt 0 ]; do
    case "$1" in
        -h | --help) usage; exit 0 ;;
        -t | --threads) [ $# -ge 2 ] || die_usage "$1 needs a value"; threads=$2; shift 2 ;;
        --threads=*) threads=${1#*=}; shift ;;
        -p | --max-parallel) [ $# -ge 2 ] || die_usage "$1 needs a value"; max_parallel=$2; shift 2 ;;
        --max-parallel=*) max_parallel=${1#*=}; shift ;;
        -l | --logs) [ $# -ge 2 ] || die_usage "$1 needs a value"; logs=$2; shift 2 ;;
        --logs=*) logs=${1#*=}; shift ;;
        -j | --job-name) [ $# -ge 2 ] || die_usage "$1 needs a value"; job_name=$2; shift 2 ;;
        --job-name=*) job_name=${1#*=}; shift ;;
        -w | --wait) wait_for_merge=1; shift ;;
        -n | --dry-run) dry_run=1; shift ;;
        --) shift; sbatch_extra=("$@"); break ;;
        -*) die_usage "unknown option '$1'" ;;
        *) positional+=("$1"); shift ;;
    esac
done

[ ${#positional[@]} -eq 3 ] ||
    die_usage "expected CONFIG OUT N, got ${#positional[@]} argument(s)"
config=${positional[0]}
out=${positional[1]}
shards=${positional[2]}

is_count() { [[ $1 =~ ^[0-9]+$ ]] && [ "$((10#$1))" -ge 1 ]; }
is_count "$shards" || die_usage "N must be a whole number >= 1, got '$shards'"
shards=$((10#$shards))
is_count "$threads" || die_usage "--threads must be a whole number >= 1, got '$threads'"
threads=$((10#$threads))
if [ -n "$max_parallel" ]; then
    is_count "$max_parallel" ||
        die_usage "--max-parallel must be a whole number >= 1, got '$max_parallel'"
    max_parallel=$((10#$max_parallel))
fi
[[ $job_name =~ ^[A-Za-z0-9._+-]+$ ]] ||
    die_usage "--job-name may hold only letters, digits and . _ + -, got '$job_name'"
[ -f "$config" ] || die_usage "config file '$config' does not exist"
[ -r "$config" ] || die_usage "config file '$config' is not readable"

# Absolute paths: the jobs run in another working directory (and maybe on another node).
abspath() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "$PWD" "$1" ;; esac; }
repo=$(cd "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
ipbn=${IPBN:-$repo/target/release/ipbn}
[ -e "$ipbn" ] || die_usage "ipbn binary '$ipbn' not found: build it with 'cargo build --release' or set IPBN"
if [ ! -f "$ipbn" ] || [ ! -x "$ipbn" ]; then
    die_usage "ipbn binary '$ipbn' is not an executable file"
fi
ipbn=$(abspath "$ipbn")
config=$(abspath "$config")
out=$(abspath "$out")
logs=$(abspath "${logs:-$out/slurm-logs}")
# Check the config now rather than in N queued jobs: a merge of nothing parses and validates
# it and writes a summary of the runs already present.
if [ "$dry_run" -eq 0 ]; then
    rc=0
    check=$("$ipbn" sweep --config "$config" --out "$out" --merge-only 2>&1) || rc=$?
    if [ "$rc" -eq 2 ]; then
        echo "$check" >&2
        die_usage "the sweep config was rejected (see above)"
    elif [ "$rc" -ne 0 ]; then
        echo "$check" >&2
        die "ipbn failed to read '$config' or to write '$out' (see above)"
    fi
    echo "before submitting: $check"
fi

if [ "$dry_run" -eq 0 ]; then
    mkdir -p -- "$out" || die "cannot create the output folder '$out'"
    mkdir -p -- "$logs" || die "cannot create the log folder '$logs'"
fi

q() { printf '%q' "$1"; }
array_spec="1-$shards${max_parallel:+%$max_parallel}"

shard_opts=(--job-name="$job_name" --array="$array_spec" --ntasks=1
    --cpus-per-task="$threads" --output="$logs/shard-%A_%a.out")
shard_script="#!/usr/bin/env bash
set -euo pipefail
echo \"shard \${SLURM_ARRAY_TASK_ID}/$shards on \$(hostname), job \${SLURM_ARRAY_JOB_ID}_\${SLURM_ARRAY_TASK_ID}\"
exec $(q "$ipbn") sweep --config $(q "$config") --out $(q "$out") \\
    --shard \"\${SLURM_ARRAY_TASK_ID}/$shards\" --threads $threads
"

merge_opts=(--job-name="$job_name-merge" --ntasks=1 --cpus-per-task=1
    --output="$logs/merge-%j.out" --kill-on-invalid-dep=yes)
merge_script="#!/usr/bin/env bash
set -euo pipefail
$(q "$ipbn") sweep --config $(q "$config") --out $(q "$out") --merge-only
# The merge itself succeeds with runs missing; this job does not.
if ! grep -Eq '^  \"missing\": 0,\$' $(q "$out/summary.json"); then
    echo \"runs are missing from $(q "$out/summary.json")\" >&2
    exit 1
fi
"

if [ "$dry_run" -eq 1 ]; then
    echo "# array job: sbatch ${shard_opts[*]} ${sbatch_extra[*]:-}"
    printf '%s\n' "$shard_script"
    echo "# merge job: sbatch --dependency=afterok:ARRAYID ${merge_opts[*]} ${sbatch_extra[*]:-}"
    printf '%s\n' "$merge_script"
    exit 0
fi

command -v sbatch >/dev/null || die "sbatch not found: is this a Slurm login node?"
array_id=$(printf '%s' "$shard_script" |
    sbatch --parsable "${shard_opts[@]}" ${sbatch_extra[@]+"${sbatch_extra[@]}"}) ||
    die "sbatch refused the array job"
array_id=${array_id%%;*} # --parsable prints "id" or "id;cluster"
# --kill-on-invalid-dep: if a shard fails, the merge is cancelled instead of pending forever.
merge_id=$(printf '%s' "$merge_script" |
    sbatch --parsable --dependency="afterok:$array_id" "${merge_opts[@]}" \
        ${sbatch_extra[@]+"${sbatch_extra[@]}"}) || {
    echo "slurm-sweep.sh: sbatch refused the merge job; cancelling array $array_id" >&2
    scancel "$array_id" || true
    exit 1
}
merge_id=${merge_id%%;*}
echo "array job $array_id ($shards shards, logs in $logs)"
echo "merge job $merge_id (after every shard succeeds) -> $out/summary.json"

[ "$wait_for_merge" -eq 1 ] || exit 0
# `sbatch --wait` cannot be trusted here: a merge cancelled for a failed dependency still
# exits 0. Poll the job's state (a job unknown to scontrol has ended and been purged), then
# check the summary itself.
job_state() {
    scontrol show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | head -1 | cut -d= -f2
}
while :; do
    state=$(job_state "$merge_id" || true)
    case $state in
        PENDING | RUNNING | CONFIGURING | COMPLETING | SUSPENDED | REQUEUED | RESIZING) sleep 2 ;;
        *) break ;;
    esac
done
if [ -n "$state" ] && [ "$state" != COMPLETED ]; then
    die "merge job $merge_id ended as $state (see $logs)"
fi
grep -Eq '^  "missing": 0,$' "$out/summary.json" ||
    die "the merged summary $out/summary.json reports missing runs (see $logs)"
echo "merged: $out/summary.json (merge job ${state:-purged from the queue}, no run missing)"
