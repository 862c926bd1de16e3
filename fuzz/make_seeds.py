#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into fuzz/seeds/<target>/ (valid inputs only;
the hostile cases come from the crates' tests/corpus folders, which scripts/fuzz.sh passes to
libFuzzer as well). Deterministic: gzip with mtime 0. Run from anywhere."""
import gzip
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS = os.path.join(HERE, "seeds")


def gz(b):
    return gzip.compress(b, mtime=0)


def images(n, rows, cols):
    px = bytes((i * 37 + i // 7) % 256 for i in range(n * rows * cols))
    return struct.pack(">IIII", 2051, n, rows, cols) + px


def labels(ls):
    return struct.pack(">II", 2049, len(ls)) + bytes(ls)


def put(target, name, data):
    d = os.path.join(SEEDS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


put("idx_images", "2x3x3.idx3", images(2, 3, 3))
put("idx_images", "2x3x3.idx3.gz", gz(images(2, 3, 3)))
put("idx_images", "0x28x28.idx3", images(0, 28, 28))
put("idx_images", "1x28x28.idx3.gz", gz(images(1, 28, 28)))
put("idx_images", "two-members.idx3.gz", gz(images(1, 2, 2)[:10]) + gz(images(1, 2, 2)[10:]))

# idx_labels: the first byte is the number of classes minus one.
put("idx_labels", "10-classes.idx1", b"\x09" + labels([0, 9, 3, 3, 7]))
put("idx_labels", "10-classes.idx1.gz", b"\x09" + gz(labels([0, 9, 3, 3, 7])))
put("idx_labels", "2-classes.idx1", b"\x01" + labels([0, 1, 1]))
put("idx_labels", "256-classes.idx1", b"\xff" + labels([255, 0, 128]))
put("idx_labels", "empty.idx1", b"\x09" + labels([]))

SEP = b"#--#"
tr_i, tr_l = images(5, 2, 2), labels([0, 1, 2, 3, 4])
te_i, te_l = images(2, 2, 2), labels([5, 6])
put("load_dir", "both-pairs", SEP.join([tr_i, tr_l, te_i, te_l]))
put("load_dir", "both-pairs-gz", SEP.join([gz(tr_i), gz(tr_l), gz(te_i), gz(te_l)]))
put("load_dir", "t10k-only", SEP.join([b"", b"", tr_i, tr_l]))
put("load_dir", "train-only-gz", SEP.join([gz(tr_i), tr_l, b"", b""]))

specs = [
    "triesch", "triesch:mu=0.1", "triesch:mu=0.2,opt=adam,beta1=0.8,beta2=0.99,adam_eps=1e-7",
    "schrauwen:mu=0,sigma=0.5", "infomax-logistic:opt=adam", "infomax-tanh",
    "moment:rho=0.5,scale=2,offset=-1,eps=0", " Moment : rho = 0.5 , eps=0 ,",
]
for i, s in enumerate(specs):
    put("rule_spec", f"spec-{i}", s)

json_specs = [
    '"triesch:mu=0.1"',
    '{"rule":"triesch","mu":0.25,"opt":"adam","beta1":0.9,"beta2":0.999,"adam_eps":1e-8}',
    '{"rule":"schrauwen","mu":0,"sigma":0.5}',
    '{"rule":"moment"}',
    '{"rule":"infomax-tanh","opt":"sgd"}',
]
for i, s in enumerate(json_specs):
    put("rule_spec_json", f"spec-{i}.json", s)

configs = {
    "empty.json": {},
    "full.json": {
        "hidden": [4, 3], "activation": "tanh", "condition": "ip:infomax-tanh:opt=adam",
        "init": "glorot", "batch": 8, "steps": 10, "lr": 0.1, "momentum": 0.9, "ip_lr": 0.01,
        "eval_every": 5, "seed": 3, "probe_size": 16, "probe_units": [0, 2],
        "percentiles": [15, 50, 85],
        "data": {"synthetic": {"train": 64, "test": 32, "features": 5, "classes": 3,
                               "separation": 2.0, "seed": 7}},
    },
    "bn-dir.json": {"condition": "bn", "data": {"dir": "/nonexistent"}, "init": "gauss:0.05"},
    "ip-affine.json": {"condition": "ip+affine:triesch:mu=0.2", "activation": "sigmoid"},
    "sweep.json": {
        "name": "s", "seed": 1, "base": {"hidden": [8], "steps": 20, "batch": 4},
        "grid": {"conditions": ["plain", "bn", "ip:triesch"], "activations": ["sigmoid"],
                 "hidden": [[8], [4, 4]], "batches": [2, 4], "lrs": [0.1, 0.5],
                 "ip_lrs": [0.001], "seeds": [0, 1], "examples": 100},
    },
}
for name, cfg in configs.items():
    put("train_config", name, json.dumps(cfg, indent=1))
