"""Throughput of HDFS chunk checksums: pyarn's DataChecksum against the alternatives.

    python bench/bench_checksum.py [--mib 64] [--repeat 5]

Every chunked variant computes one 4-byte big-endian CRC per 512-byte chunk,
packet by packet (64,512 data bytes, as HDFS packs them), which is what block
reads and writes do. The "whole buffer" rows are one CRC over everything: the
ceiling set by the C code, not something HDFS can use. Numbers are printed,
never asserted.
"""
from __future__ import annotations

import argparse
import os
import struct
import sys
import time
import zlib
from typing import Callable, List, Tuple

import google_crc32c

from pyarn.hdfs.checksum import ChecksumType, DataChecksum

try:
    import crc32c as crc32c_pkg  # the ICRAR ``crc32c`` package: optional, LGPL, not a dependency
except ImportError:  # pragma: no cover
    crc32c_pkg = None

BPC = 512
PACKET = 126 * BPC


def packets(data: bytes) -> List[bytes]:
    return [data[i:i + PACKET] for i in range(0, len(data), PACKET)]


def naive_loop(fn: Callable[[bytes], int]) -> Callable[[bytes], bytes]:
    """One chunk at a time in a Python loop: the obvious way."""
    def compute(packet: bytes) -> bytes:
        out = bytearray()
        for i in range(0, len(packet), BPC):
            out += struct.pack(">I", fn(packet[i:i + BPC]))
        return bytes(out)
    return compute


def mapped_memoryview(fn: Callable) -> Callable[[bytes], bytes]:
    """``map`` over memoryview slices (zero-copy chunks; needs a CRC that takes buffers)."""
    slices = [slice(i, i + BPC) for i in range(0, PACKET, BPC)]

    def compute(packet: bytes) -> bytes:
        view = memoryview(packet)
        count = -(-len(packet) // BPC)
        return struct.pack(f">{count}I", *map(fn, map(view.__getitem__, slices[:count])))
    return compute


def google_extend_loop(packet: bytes) -> bytes:
    """google_crc32c.Checksum objects, one per chunk."""
    out = bytearray()
    for i in range(0, len(packet), BPC):
        out += google_crc32c.Checksum(packet[i:i + BPC]).digest()
    return bytes(out)


def measure(label: str, fn: Callable[[bytes], object], items: List[bytes], total: int,
            repeat: int) -> Tuple[str, float]:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for item in items:
            fn(item)
        best = min(best, time.perf_counter() - start)
    return label, total / best / 1e6


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mib", type=int, default=64, help="data size in MiB (default 64)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per variant, best kept (default 5)")
    args = parser.parse_args(argv)

    data = os.urandom(args.mib << 20)
    pkts = packets(data)
    total = len(data)
    crc32c_512 = DataChecksum(ChecksumType.CRC32C, BPC)
    crc32_512 = DataChecksum(ChecksumType.CRC32, BPC)
    sums = [crc32c_512.compute(p) for p in pkts]
    pairs = list(zip(pkts, sums))

    rows = [
        measure("pyarn CRC32C compute (google_crc32c, map over slices)", crc32c_512.compute, pkts, total,
                args.repeat),
        measure("pyarn CRC32C verify", lambda pair: crc32c_512.verify(pair[0], pair[1]), pairs, total,
                args.repeat),
        measure("pyarn CRC32 compute (zlib)", crc32_512.compute, pkts, total, args.repeat),
        measure("naive loop, google_crc32c.value", naive_loop(google_crc32c.value), pkts, total,
                args.repeat),
        measure("naive loop, google_crc32c.Checksum objects", google_extend_loop, pkts, total,
                args.repeat),
        measure("naive loop, zlib.crc32", naive_loop(zlib.crc32), pkts, total, args.repeat),
    ]
    if crc32c_pkg is not None:
        rows += [
            measure("crc32c package, map over memoryview slices", mapped_memoryview(crc32c_pkg.crc32c),
                    pkts, total, args.repeat),
            measure("crc32c package, naive loop", naive_loop(crc32c_pkg.crc32c), pkts, total, args.repeat),
            measure("crc32c package, whole buffer (ceiling)", crc32c_pkg.crc32c, [data], total, args.repeat),
        ]
    rows += [
        measure("google_crc32c, whole buffer (ceiling)", google_crc32c.value, [data], total, args.repeat),
        measure("zlib.crc32, whole buffer (ceiling)", zlib.crc32, [data], total, args.repeat),
    ]

    print(f"{args.mib} MiB, {BPC}-byte chunks, {PACKET}-byte packets, best of {args.repeat}; "
          f"Python {sys.version.split()[0]}, google_crc32c {google_crc32c.implementation}")
    width = max(len(label) for label, _ in rows)
    for label, rate in rows:
        print(f"  {label:<{width}}  {rate:9.0f} MB/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
