#!/usr/bin/env python3
"""Regenerates the binary files of this hostile-input corpus (idx/ and dirs/); the JSON and
CSV cases are written by hand. Deterministic (gzip mtime 0). The expected errors are in each
folder's expected.txt, checked by tests/hostile_data.rs."""
import gzip
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def gz(b):
    return gzip.compress(b, mtime=0)


def images(n, rows, cols, declared=None):
    """n images of rows x cols; `declared` overrides the header's count."""
    px = bytes((i * 37 + i // 7) % 256 for i in range(n * rows * cols))
    return struct.pack(">IIII", 2051, n if declared is None else declared, rows, cols) + px


def labels(ls, declared=None):
    return struct.pack(">II", 2049, len(ls) if declared is None else declared) + bytes(ls)


def put(path, data):
    full = os.path.join(HERE, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as f:
        f.write(data)


# --- single files -----------------------------------------------------------------------
put("idx/empty", b"")
put("idx/empty.gz", gz(b""))
put("idx/truncated-images.idx3", images(2, 2, 3, declared=3)[:-2])
put("idx/truncated-images.idx3.gz", gz(images(2, 2, 3, declared=3)[:-2]))
full = gz(images(40, 4, 4))
put("idx/truncated-stream.idx3.gz", full[: len(full) // 2])
bad_crc = bytearray(gz(images(2, 2, 3)))
bad_crc[-8] ^= 0xFF  # first byte of the CRC-32 trailer
put("idx/corrupt-crc.idx3.gz", bytes(bad_crc))
stream = bytearray(gz(images(2, 2, 3)))
stream[10] = 0xFF  # first deflate block header: BTYPE = 11, reserved
put("idx/corrupt-stream.gz", bytes(stream))
put("idx/truncated-header.idx3", images(1, 2, 2)[:6])
put("idx/truncated-header.idx1.gz", gz(labels([1, 2])[:3]))
put("idx/wrong-magic.idx1", struct.pack(">II", 0x12345678, 2) + b"\x01\x02")
put("idx/wrong-magic.idx1.gz", gz(struct.pack(">II", 0x12345678, 2) + b"\x01\x02"))
put("idx/wrong-type.idx3", struct.pack(">IIII", 0x00000D03, 1, 1, 1) + b"\x00" * 4)
put("idx/not-idx.idx3", b"hello, world\n")
put("idx/wrong-dims.idx3", struct.pack(">III", 0x00000802, 2, 2) + b"\x00" * 4)
put("idx/wrong-dims.idx3.gz", gz(struct.pack(">III", 0x00000802, 2, 2) + b"\x00" * 4))
put("idx/images-as-labels.idx1", images(1, 2, 2))
put("idx/zero-rows.idx3", struct.pack(">IIII", 2051, 2, 0, 3))
put("idx/oversized-header.idx3", struct.pack(">IIII", 2051, 0xFFFFFFFF, 28, 28) + b"\x00" * 8)
put("idx/oversized-header.idx3.gz", gz(struct.pack(">IIII", 2051, 0xFFFFFFFF, 28, 28)))
put("idx/oversized-header.idx1", struct.pack(">II", 2049, 0xFFFFFFFF) + b"\x00" * 8)
put("idx/label-out-of-range.idx1", labels([1, 2, 10, 3]))
put("idx/label-out-of-range.idx1.gz", gz(labels([1, 2, 255])))
put("idx/trailing-bytes.idx1", labels([1, 2]) + b"\x00")
put("idx/trailing-bytes.idx3.gz", gz(images(1, 2, 2) + b"extra"))

# --- folders for load_dir -------------------------------------------------------------------
TR_I, TR_L, TE_I, TE_L = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
put("dirs/no-files/README", b"This folder holds no MNIST files.\n")
put(f"dirs/missing-partner/{TR_I}.gz", gz(images(5, 2, 2)))
put(f"dirs/count-mismatch/{TE_I}", images(3, 2, 2))
put(f"dirs/count-mismatch/{TE_L}", labels([1, 2]))
put(f"dirs/shape-mismatch/{TR_I}", images(5, 2, 2))
put(f"dirs/shape-mismatch/{TR_L}", labels([0, 1, 2, 3, 4]))
put(f"dirs/shape-mismatch/{TE_I}.gz", gz(images(2, 3, 3)))
put(f"dirs/shape-mismatch/{TE_L}.gz", gz(labels([5, 6])))
put(f"dirs/one-image/{TE_I}", images(1, 2, 2))
put(f"dirs/one-image/{TE_L}", labels([7]))
put(f"dirs/empty-test-set/{TR_I}", images(5, 2, 2))
put(f"dirs/empty-test-set/{TR_L}", labels([0, 1, 2, 3, 4]))
put(f"dirs/empty-test-set/{TE_I}", images(0, 2, 2))
put(f"dirs/empty-test-set/{TE_L}", labels([]))
put(f"dirs/bad-label-in-test/{TR_I}", images(5, 2, 2))
put(f"dirs/bad-label-in-test/{TR_L}", labels([0, 1, 2, 3, 4]))
put(f"dirs/bad-label-in-test/{TE_I}", images(2, 2, 2))
put(f"dirs/bad-label-in-test/{TE_L}", labels([5, 12]))
put(f"dirs/corrupt-gzip-member/{TR_I}.gz", bytes(bad_crc))
put(f"dirs/corrupt-gzip-member/{TR_L}", labels([0, 1]))
put(f"dirs/empty-member/{TE_I}", images(2, 2, 2))
put(f"dirs/empty-member/{TE_L}.gz", b"")
