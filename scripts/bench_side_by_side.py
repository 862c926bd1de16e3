"""One thread's training throughput of the Ioffe & Szegedy network in numpy or PyTorch eager.

Called by scripts/bench-side-by-side.sh; prints one JSON line {"plain": S, "bn": S, ...}
with samples per second (median of REPS repetitions of STEPS steps each).

The workload is the one `ipbn bench` times: 784-100-100-100-10 sigmoid, batch 60, float32,
plain SGD (lr 0.5 for a numerically ordinary run), softmax cross-entropy; `plain` is
sigmoid(x W + b), `bn` is sigmoid(gamma * BN(x W) + beta) with batch statistics (eps 1e-5)
and the running averages updated every step, as BatchNorm1d in training mode. The inputs are
the shipped MNIST subset's images (first 8,000, scaled to [0, 1]) and labels, drawn in order
in batches of 60.
"""

import gzip
import json
import os
import statistics
import sys
import time

WIDTHS = [784, 100, 100, 100, 10]
BATCH = 60
LR = 0.5
EPS = 1e-5


def load_mnist(root):
    import numpy as np

    with gzip.open(os.path.join(root, "train-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read(), dtype=np.uint8, offset=16)
    with gzip.open(os.path.join(root, "train-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), dtype=np.uint8, offset=8)
    x = (images.reshape(-1, 784)[:8000].astype(np.float32) / 255.0).copy()
    return x, labels[:8000].astype(np.int64).copy()


def numpy_bench(x, y, condition, steps, reps):
    import numpy as np

    rng = np.random.default_rng(1)
    layers = len(WIDTHS) - 1
    w = [(rng.standard_normal((WIDTHS[l], WIDTHS[l + 1])) * 0.1).astype(np.float32) for l in range(layers)]
    b = [np.zeros(WIDTHS[l + 1], np.float32) for l in range(layers)]
    gamma = [np.ones(WIDTHS[l + 1], np.float32) for l in range(layers - 1)]
    beta = [np.zeros(WIDTHS[l + 1], np.float32) for l in range(layers - 1)]
    run_mean = [np.zeros(WIDTHS[l + 1], np.float32) for l in range(layers - 1)]
    run_var = [np.ones(WIDTHS[l + 1], np.float32) for l in range(layers - 1)]
    eye = np.eye(10, dtype=np.float32)
    bn = condition == "bn"
    lr = np.float32(LR)
    n = x.shape[0] // BATCH

    def step(i):
        xb = x[(i % n) * BATCH:(i % n + 1) * BATCH]
        yb = eye[y[(i % n) * BATCH:(i % n + 1) * BATCH]]
        acts, caches = [xb], []
        h = xb
        for l in range(layers - 1):
            z = h @ w[l]
            if bn:
                mu = z.mean(0)
                var = z.var(0)
                inv = 1.0 / np.sqrt(var + EPS)
                xhat = (z - mu) * inv
                u = gamma[l] * xhat + beta[l]
                run_mean[l] *= 0.9
                run_mean[l] += 0.1 * mu
                run_var[l] *= 0.9
                run_var[l] += 0.1 * var * (BATCH / (BATCH - 1))
                caches.append((xhat, inv))
            else:
                u = z + b[l]
            h = 1.0 / (1.0 + np.exp(-u))
            acts.append(h)
        logits = h @ w[-1] + b[-1]
        logits -= logits.max(1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(1, keepdims=True)
        g = (p - yb) / np.float32(BATCH)
        gw = acts[-1].T @ g
        gh = g @ w[-1].T
        w[-1] -= lr * gw
        b[-1] -= lr * g.sum(0)
        for l in range(layers - 2, -1, -1):
            h = acts[l + 1]
            gu = gh * h * (1.0 - h)
            if bn:
                xhat, inv = caches[l]
                ggamma = (gu * xhat).sum(0)
                gbeta = gu.sum(0)
                gx = gu * gamma[l]
                gz = inv * (gx - gx.mean(0) - xhat * (gx * xhat).mean(0))
                gamma[l] -= lr * ggamma
                beta[l] -= lr * gbeta
            else:
                gz = gu
                b[l] -= lr * gz.sum(0)
            gw = acts[l].T @ gz
            if l > 0:
                gh = gz @ w[l].T
            w[l] -= lr * gw

    for i in range(60):
        step(i)
    rates = []
    for r in range(reps):
        t = time.perf_counter()
        for i in range(steps):
            step(i)
        rates.append(steps * BATCH / (time.perf_counter() - t))
    return statistics.median(rates)


def torch_bench(x, y, condition, steps, reps):
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(1)
    layers = []
    for l in range(len(WIDTHS) - 2):
        lin = torch.nn.Linear(WIDTHS[l], WIDTHS[l + 1], bias=condition != "bn")
        torch.nn.init.normal_(lin.weight, std=0.1)
        layers.append(lin)
        if condition == "bn":
            layers.append(torch.nn.BatchNorm1d(WIDTHS[l + 1], eps=EPS, momentum=0.1))
        layers.append(torch.nn.Sigmoid())
    out = torch.nn.Linear(WIDTHS[-2], WIDTHS[-1])
    torch.nn.init.normal_(out.weight, std=0.1)
    layers.append(out)
    net = torch.nn.Sequential(*layers)
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    n = x.shape[0] // BATCH

    def step(i):
        j = i % n
        xb, yb = xt[j * BATCH:(j + 1) * BATCH], yt[j * BATCH:(j + 1) * BATCH]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(xb), yb)
        loss.backward()
        opt.step()

    for i in range(60):
        step(i)
    rates = []
    for r in range(reps):
        t = time.perf_counter()
        for i in range(steps):
            step(i)
        rates.append(steps * BATCH / (time.perf_counter() - t))
    return statistics.median(rates)


def main():
    lib, data, steps, reps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    x, y = load_mnist(data)
    bench = {"numpy": numpy_bench, "torch": torch_bench}[lib]
    out = {c: bench(x, y, c, steps, reps) for c in ("plain", "bn")}
    if lib == "numpy":
        import numpy as np

        cfg = np.show_config(mode="dicts") if hasattr(np, "show_config") else {}
        try:
            blas = cfg["Build Dependencies"]["blas"]
            out["library"] = "numpy %s + %s %s" % (np.__version__, blas.get("name"), blas.get("version"))
        except (KeyError, TypeError):
            out["library"] = "numpy %s" % np.__version__
        try:
            from threadpoolctl import threadpool_info

            out["blas_core"] = ",".join(i.get("architecture", "?") for i in threadpool_info())
        except ImportError:
            pass
    else:
        import torch

        out["library"] = "torch %s (%s)" % (torch.__version__, torch.backends.cpu.get_cpu_capability())
    print(json.dumps(out))


if __name__ == "__main__":
    main()
