#!/usr/bin/env bash
# Runs `ipbn reproduce` on Slurm as a job array: one shard of the figures' network runs per
# array task, then a merge job that starts only when every shard has succeeded and draws
# every selected figure from the stored runs.
#
# Every task writes into the same output folder (it must be on a file system that every node
# sees). Runs are stored atomically as OUT/runs/<id>.json and a shard skips the runs already
# stored, so a failed or cancelled array can simply be submitted again with the same
# arguments: only the missing runs are trained.
#
# A figure whose later runs depend on earlier results (vanishing-gradient confirms its best
# grid cells on fresh seeds) declares them once the earlier runs are stored: the task that
# completes the earlier stage also trains the later stage's share of the tasks that had
# already finished, so one array still leaves every run stored.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/slurm-reproduce.sh [OPTIONS] [ID ...] OUT N [-- SBATCH_OPTIONS...]

Submits a Slurm job array of N tasks; task I runs
    ipbn reproduce [ID ...] --out OUT --shard I/N --jobs T [FIGURE OPTIONS]
(its share of the distinct network runs of the selected figures, drawing nothing), then a
merge job, dependent on the whole array (afterok), that runs
    ipbn reproduce [ID ...] --out OUT --merge-only --jobs T [FIGURE OPTIONS]
and draws every selected figure (default: all) from the stored runs; it fails, naming the
missing runs and the shards to rerun, if a run is not stored.

Arguments:
  ID ...   figure ids (default: every figure; see `ipbn reproduce --list`)
  OUT      output folder, on a file system shared by every node
  N        number of shards = array tasks (>= 1); runs are dealt round-robin

Figure options (passed to every task and to the merge, so all see the same runs):
  -q, --quick            the quick protocols
  --set KEY=VALUE        change a setting (repeatable), as `ipbn reproduce --set`
  --config FILE          a JSON file of settings, as `ipbn reproduce --config`
  --seeds N              shorthand for --set seeds=N
  --data NAME|DIR        the data of the network figures

Options:
  -t, --threads T        worker threads (and --cpus-per-task) per task (default: 1)
  -p, --max-parallel K   run at most K array tasks at once (--array=1-N%K)
  -l, --logs DIR         folder for the Slurm logs (default: OUT/slurm-logs)
  -j, --job-name NAME    job name (default: ipbn-reproduce)
  -w, --wait             wait for the merge job (exit 1 unless it completed)
  -n, --dry-run          print the two job scripts and submit nothing
  -h, --help             this text
Everything after `--` is passed to both sbatch calls (e.g. -- --partition=cpu --time=2:00:00).

Environment:
  IPBN   the ipbn binary (default: target/release/ipbn in this repository; build it with
         `cargo build --release`)

Prints the two job ids. Exit codes: 0 submitted (with --wait: merged), 1 a job or sbatch
failed, 2 bad arguments or settings.
EOF
}

die_usage() {
    echo "slurm-reproduce.sh: $*" >&2
    echo "Run 'scripts/slurm-reproduce.sh --help' for the usage." >&2
    exit 2
}

die() {
    echo "slurm-reproduce.sh: $*" >&2
    exit 1
}

threads=1
max_parallel=""
logs=""
job_name="ipbn-reproduce"
wait_for_merge=0
dry_run=0
positional=()
figure_opts=()
config=""
sbatch_extra=()

while [ $# -gt 0 ]; do
    case "$1" in
        -h | --help) usage; exit 0 ;;
        -q | --quick) figure_opts+=(--quick); shift ;;
        --set | --seeds | --data)
            [ $# -ge 2 ] || die_usage "$1 needs a value"; figure_opts+=("$1" "$2"); shift 2 ;;
        --set=* | --seeds=* | --data=*) figure_opts+=("$1"); shift ;;
        --config) [ $# -ge 2 ] || die_usage "$1 needs a value"; config=$2; shift 2 ;;
        --config=*) config=${1#*=}; shift ;;
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

[ ${#positional[@]} -ge 2 ] ||
    die_usage "expected [ID ...] OUT N, got ${#positional[@]} argument(s)"
shards=${positional[-1]}
out=${positional[-2]}
ids=("${positional[@]:0:${#positional[@]}-2}")

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

# Absolute paths: the jobs run in another working directory (and maybe on another node).
abspath() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "$PWD" "$1" ;; esac; }
repo=$(cd "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
ipbn=${IPBN:-$repo/target/release/ipbn}
[ -e "$ipbn" ] || die_usage "ipbn binary '$ipbn' not found: build it with 'cargo build --release' or set IPBN"
if [ ! -f "$ipbn" ] || [ ! -x "$ipbn" ]; then
    die_usage "ipbn binary '$ipbn' is not an executable file"
fi
ipbn=$(abspath "$ipbn")
out=$(abspath "$out")
logs=$(abspath "${logs:-$out/slurm-logs}")
if [ -n "$config" ]; then
    [ -f "$config" ] && [ -r "$config" ] || die_usage "config file '$config' is not a readable file"
    figure_opts+=(--config "$(abspath "$config")")
fi
# A --data folder must be absolute too.
for i in "${!figure_opts[@]}"; do
    if [ "${figure_opts[$i]}" = --data ] && [ -e "${figure_opts[$((i + 1))]}" ]; then
        figure_opts[$((i + 1))]=$(abspath "${figure_opts[$((i + 1))]}")
    fi
done

q() { printf '%q' "$1"; }
qall() { local a s=""; for a in "$@"; do s+=" $(q "$a")"; done; printf '%s' "$s"; }
common="$(qall "${ids[@]+"${ids[@]}"}") --out $(q "$out")$(qall "${figure_opts[@]+"${figure_opts[@]}"}")"

# Check the ids and settings now rather than in N queued jobs: a merge declares every run
# (training none) and exits with 1 while runs are missing, but with 2 at once on a bad id or
# setting.
if [ "$dry_run" -eq 0 ]; then
    rc=0
    check=$(eval "$(q "$ipbn") reproduce $common --merge-only --jobs 1" 2>&1 >/dev/null) || rc=$?
    if [ "$rc" -eq 2 ]; then
        echo "$check" >&2
        die_usage "the figure ids or settings were rejected (see above)"
    fi
    mkdir -p -- "$out" || die "cannot create the output folder '$out'"
    mkdir -p -- "$logs" || die "cannot create the log folder '$logs'"
fi

array_spec="1-$shards${max_parallel:+%$max_parallel}"
shard_opts=(--job-name="$job_name" --array="$array_spec" --ntasks=1
    --cpus-per-task="$threads" --output="$logs/shard-%A_%a.out")
shard_script="#!/usr/bin/env bash
set -euo pipefail
echo \"shard \${SLURM_ARRAY_TASK_ID}/$shards on \$(hostname), job \${SLURM_ARRAY_JOB_ID}_\${SLURM_ARRAY_TASK_ID}\"
exec $(q "$ipbn") reproduce$common \\
    --shard \"\${SLURM_ARRAY_TASK_ID}/$shards\" --jobs $threads
"
merge_opts=(--job-name="$job_name-merge" --ntasks=1 --cpus-per-task="$threads"
    --output="$logs/merge-%j.out" --kill-on-invalid-dep=yes)
merge_script="#!/usr/bin/env bash
set -euo pipefail
exec $(q "$ipbn") reproduce$common --merge-only --jobs $threads
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
    echo "slurm-reproduce.sh: sbatch refused the merge job; cancelling array $array_id" >&2
    scancel "$array_id" || true
    exit 1
}
merge_id=${merge_id%%;*}
echo "array job $array_id ($shards shards, logs in $logs)"
echo "merge job $merge_id (after every shard succeeds) -> $out/README.md"

[ "$wait_for_merge" -eq 1 ] || exit 0
# A merge cancelled for a failed dependency still makes `sbatch --wait` exit 0: poll the
# job's state instead (a job unknown to scontrol has ended and been purged).
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
echo "merged: $out/README.md (merge job ${state:-purged from the queue})"
