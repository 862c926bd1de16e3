#!/usr/bin/env bash
# Builds the cargo-fuzz targets in fuzz/ and runs each one in turn, then prints how many
# inputs each executed and whether it found a crash.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# SECONDS   time per target (default 600).
# TARGET    targets to run (default: all of them, see `cargo fuzz list` in fuzz/).
#
# Environment:
#   FUZZ_MAX_RUNS   also stop a target after this many executions (default: no bound), e.g.
#                   FUZZ_MAX_RUNS=1000000 for "10 minutes or a million inputs, whichever first".
#   FUZZ_SANITIZER  `none` (default; works on the stable toolchain) or `address` (AddressSanitizer;
#                   on stable this sets RUSTC_BOOTSTRAP=1, since -Zsanitizer is a nightly flag).
#   FUZZ_LOG_DIR    where each target's libFuzzer log goes (default: fuzz/logs, not committed).
#
# Targets run one at a time in a single process each (the machine is small and shared); the
# working corpus of each target grows in fuzz/corpus/TARGET (not committed) and starts from the
# seeds in fuzz/seeds/TARGET plus the hostile-input corpora under crates/*/tests/corpus, with
# the libFuzzer dictionary fuzz/dicts/TARGET.dict where there is one.
# A crash leaves its input in fuzz/artifacts/TARGET/; reproduce it with
#   (cd fuzz && cargo fuzz run --sanitizer none TARGET artifacts/TARGET/crash-...)
# and turn it into a regression test in the crate's tests/hostile_*.rs.
# Exit status: 0 if no target crashed, 1 if one did, 2 on a usage error.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fuzz="$root/fuzz"
seconds="${1:-600}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
    echo "fuzz.sh: SECONDS must be a positive whole number, got \`$seconds\`" >&2
    exit 2
fi
shift || true
max_runs="${FUZZ_MAX_RUNS:-0}"
if ! [[ "$max_runs" =~ ^[0-9]+$ ]]; then
    echo "fuzz.sh: FUZZ_MAX_RUNS must be a whole number, got \`$max_runs\`" >&2
    exit 2
fi
sanitizer="${FUZZ_SANITIZER:-none}"
case "$sanitizer" in
    none) ;;
    address) export RUSTC_BOOTSTRAP=1 ;;
    *) echo "fuzz.sh: FUZZ_SANITIZER must be none or address, got \`$sanitizer\`" >&2; exit 2 ;;
esac
logs="${FUZZ_LOG_DIR:-$fuzz/logs}"
mkdir -p "$logs"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz from crates.io" >&2
    cargo install cargo-fuzz --locked
fi

cd "$fuzz"
all_targets=(idx_images idx_labels load_dir rule_spec rule_spec_json train_config)
if [ "$#" -gt 0 ]; then
    targets=("$@")
    for t in "${targets[@]}"; do
        if ! printf '%s\n' "${all_targets[@]}" | grep -qx -- "$t"; then
            echo "fuzz.sh: unknown target \`$t\`; targets: ${all_targets[*]}" >&2
            exit 2
        fi
    done
else
    targets=("${all_targets[@]}")
fi

echo "fuzz.sh: building ${#targets[@]} target(s) (sanitizer: $sanitizer)" >&2
cargo fuzz build --sanitizer "$sanitizer" >&2

train_corpus="$root/crates/ipbn-train/tests/corpus"
neurons_corpus="$root/crates/ipbn-neurons/tests/corpus"

# Each line of a line-per-case corpus file becomes one input of the working corpus.
lines_into() {
    local file="$1" dir="$2" prefix="$3" n=0 line
    [ -f "$file" ] || return 0
    while IFS= read -r line || [ -n "$line" ]; do
        n=$((n + 1))
        printf '%s' "$line" >"$dir/$prefix-$n"
    done <"$file"
}

extra_dirs() {
    case "$1" in
        idx_images | idx_labels) echo "$train_corpus/idx" ;;
        train_config) echo "$train_corpus/configs $train_corpus/sweeps" ;;
        *) echo "" ;;
    esac
}

summary=()
crashed=0
for t in "${targets[@]}"; do
    corpus="corpus/$t"
    mkdir -p "$corpus" "artifacts/$t"
    case "$t" in
        rule_spec) lines_into "$neurons_corpus/specs.txt" "$corpus" hostile ;;
        rule_spec_json) lines_into "$neurons_corpus/specs-json.txt" "$corpus" hostile ;;
    esac
    dirs=("$corpus" "seeds/$t")
    for d in $(extra_dirs "$t"); do
        [ -d "$d" ] && dirs+=("$d")
    done
    args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
    [ "$max_runs" -gt 0 ] && args+=(-runs="$max_runs")
    [ "$t" = load_dir ] && args+=(-max_len=16384)
    [ -f "dicts/$t.dict" ] && args+=(-dict="dicts/$t.dict")
    log="$logs/$t.log"
    bound="${seconds}s"
    [ "$max_runs" -gt 0 ] && bound="$bound or $max_runs runs"
    echo "fuzz.sh: $t for up to $bound (log: $log)" >&2
    start=$(date +%s)
    status=0
    cargo fuzz run --sanitizer "$sanitizer" "$t" "${dirs[@]}" -- "${args[@]}" >"$log" 2>&1 || status=$?
    elapsed=$(($(date +%s) - start))
    runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1 || true)
    if [ -z "$runs" ]; then
        runs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#' || true)
    fi
    if [ "$status" -eq 0 ]; then
        result="ok"
    else
        crashed=1
        artifact=$(grep -oE 'Test unit written to [^ ]+' "$log" | tail -1 | sed 's/Test unit written to //' || true)
        result="CRASH (exit $status) ${artifact:-see $log}"
    fi
    summary+=("$(printf '%-16s %12s %8s %s' "$t" "${runs:-?}" "${elapsed}s" "$result")")
done

printf '%-16s %12s %8s %s\n' target executions time result
printf '%s\n' "${summary[@]}"
exit "$crashed"
