#!/usr/bin/env bash
# ipbn against numpy (OpenBLAS) and PyTorch eager, side by side, one thread each.
#
#   scripts/bench-side-by-side.sh [ROUNDS]        (default 3 rounds)
#
# The same workload everywhere: 784-100-100-100-10 sigmoid, batch 60, f32, SGD, on the shipped
# MNIST subset; `plain` and `bn`. Each round runs, in turn, `ipbn bench --json` (plain, bn,
# ip:triesch), numpy and PyTorch, so a change in the machine's load hits all of them; then it
# prints every round's samples/s and ratios, and the median of each ratio over the rounds.
#
# numpy and torch are installed into a virtual environment if missing:
# $IPBN_BENCH_VENV, default ~/.cache/ipbn/bench-venv (PyTorch from PyPI pulls its CUDA
# libraries, a few GB, although only the CPU is used). If torch cannot be installed, the script
# says so and compares with numpy only. numpy runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE
# unset (so OpenBLAS picks its kernels for this CPU) and one BLAS thread.
# IPBN_KERNELS is passed through to ipbn (e.g. IPBN_KERNELS=portable). IPBN_BIN=PATH uses
# that ipbn binary instead of building target/release/ipbn; BENCH_STEPS (default 300) and
# BENCH_REPS (default 5) set each measurement's steps and repetitions.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-3}
STEPS=${BENCH_STEPS:-300}
REPS=${BENCH_REPS:-5}
VENV=${IPBN_BENCH_VENV:-$HOME/.cache/ipbn/bench-venv}
PY_HELPER=scripts/bench_side_by_side.py
DATA=datasets/mnist-10k
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

IPBN=${IPBN_BIN:-}
if [ -z "$IPBN" ]; then
    echo "== building ipbn (release)"
    cargo build --release --quiet
    IPBN=./target/release/ipbn
fi

if [ ! -x "$VENV/bin/python" ]; then
    echo "== creating the virtual environment $VENV"
    python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"
if ! "$PY" -c 'import numpy' 2>/dev/null; then
    echo "== installing numpy"
    "$PY" -m pip install --quiet numpy
fi
HAVE_TORCH=1
if ! "$PY" -c 'import torch' 2>/dev/null; then
    echo "== installing torch (from PyPI; this pulls the CUDA libraries, several GB)"
    if ! "$PY" -m pip install --quiet torch >"$OUT/pip-torch.log" 2>&1 \
        || ! "$PY" -c 'import torch' 2>>"$OUT/pip-torch.log"; then
        HAVE_TORCH=0
        echo "PyTorch could NOT be installed, so this run compares ipbn with numpy only."
        echo "The installer said (last lines):"
        tail -n 5 "$OUT/pip-torch.log" | sed 's/^/    /'
    fi
fi

echo "== $ROUNDS rounds; CPU: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//')"
for r in $(seq 1 "$ROUNDS"); do
    echo "-- round $r: load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
    "$IPBN" bench --json --no-sweep --steps "$STEPS" --reps "$REPS" \
        --conditions plain bn ip:triesch >"$OUT/ipbn-$r.json"
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
        MKL_NUM_THREADS=1 "$PY" "$PY_HELPER" numpy "$DATA" "$STEPS" "$REPS" >"$OUT/numpy-$r.json"
    if [ "$HAVE_TORCH" = 1 ]; then
        OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 "$PY" "$PY_HELPER" torch "$DATA" "$STEPS" "$REPS" \
            >"$OUT/torch-$r.json"
    fi
done

"$PY" - "$OUT" "$ROUNDS" "$HAVE_TORCH" <<'EOF'
import json, os, statistics, sys
out, rounds, have_torch = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
def load(name, r):
    with open(os.path.join(out, "%s-%d.json" % (name, r))) as f:
        return json.load(f)
ratios = {}
first = load("ipbn", 1)
print("ipbn kernels: %s (%s mode); FMA peak %.1f GFLOP/s (bound %.0f samples/s)" % (
    first.get("kernels"), first.get("kernel_mode"), first.get("fma_peak_gflops", float("nan")),
    first.get("fma_bound_samples_per_sec", float("nan"))))
print("%s; %s" % (load("numpy", 1).get("library"), load("torch", 1).get("library") if have_torch else "no torch"))
print("%-6s %-34s %-22s %-22s" % ("round", "ipbn plain / bn / ip:triesch", "numpy plain / bn", "torch plain / bn"))
for r in range(1, rounds + 1):
    ip = {c["condition"].split(":")[0] if not c["condition"].startswith("ip:") else "ip": c["samples_per_sec"]
          for c in load("ipbn", r)["conditions"]}
    npy = load("numpy", r)
    th = load("torch", r) if have_torch else None
    row = {
        "plain / numpy plain": ip["plain"] / npy["plain"],
        "bn / numpy bn": ip["bn"] / npy["bn"],
        "ip:triesch / numpy plain": ip["ip"] / npy["plain"],
    }
    if th:
        row["plain / torch plain"] = ip["plain"] / th["plain"]
        row["bn / torch bn"] = ip["bn"] / th["bn"]
    for k, v in row.items():
        ratios.setdefault(k, []).append(v)
    print("%-6d %-34s %-22s %-22s" % (
        r, "%.0fk / %.0fk / %.0fk" % (ip["plain"] / 1e3, ip["bn"] / 1e3, ip["ip"] / 1e3),
        "%.0fk / %.0fk" % (npy["plain"] / 1e3, npy["bn"] / 1e3),
        "%.0fk / %.0fk" % (th["plain"] / 1e3, th["bn"] / 1e3) if th else "-"))
print()
print("%-26s %s   %s" % ("ratio", "per round", "median"))
for k, v in ratios.items():
    print("%-26s %s   %.2f" % (k, " ".join("%.2f" % x for x in v), statistics.median(v)))
EOF
