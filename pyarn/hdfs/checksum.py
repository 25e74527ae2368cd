"""HDFS block checksums: NULL, CRC32 and CRC32C over fixed-size chunks.

A block is cut into chunks of ``bytes_per_checksum`` bytes (the last may be
short); each chunk has one 4-byte big-endian CRC. CRC32C comes from
``google_crc32c`` (C, hardware-accelerated), CRC32 from :mod:`zlib`. Both are
the standard algorithms Hadoop's ``DataChecksum`` uses.

The hot path makes one C call per chunk and no per-byte Python work: the
chunks are cut with precomputed ``slice`` objects and fed through ``map``, and
the CRCs are packed with one ``struct`` call. Verification computes the CRCs of
a whole packet and compares them as one byte string; only on a mismatch does it
look for the first bad chunk.
"""
from __future__ import annotations

import enum
import struct
import zlib
from functools import lru_cache
from itertools import islice
from typing import Callable, Dict, List, Optional, Union

import google_crc32c

from pyarn.errors import PyarnError

__all__ = ["ChecksumError", "ChecksumType", "DataChecksum", "CRC32C_512"]

Buffer = Union[bytes, bytearray, memoryview]

#: Larger chunk sizes are refused: Hadoop's DataNode treats > 10 MiB as a corrupt meta header.
MAX_BYTES_PER_CHECKSUM = 16 * 1024 * 1024


class ChecksumType(enum.IntEnum):
    """Checksum algorithms, numbered as ``ChecksumTypeProto`` (hdfs.proto)."""

    NULL = 0
    CRC32 = 1
    CRC32C = 2


class ChecksumError(PyarnError):
    """Data did not match its checksum.

    ``offset`` is the position of the first bad chunk, counted from the
    ``base_offset`` given to :meth:`DataChecksum.verify` (for block reads: the
    offset in the block). ``datanode`` and ``block`` are filled in by the block
    reader when it knows them.
    """

    def __init__(self, message: str, offset: int, expected: int = 0, computed: int = 0,
                 datanode: Optional[str] = None, block: Optional[str] = None) -> None:
        super().__init__(message)
        self.offset = offset
        self.expected = expected
        self.computed = computed
        self.datanode = datanode
        self.block = block


_ALGORITHMS: Dict[ChecksumType, Callable[[bytes], int]] = {
    ChecksumType.CRC32: zlib.crc32,
    ChecksumType.CRC32C: google_crc32c.value,
}


@lru_cache(maxsize=16)
def _slices(bytes_per_checksum: int, count: int) -> List[slice]:
    """``count`` consecutive chunk slices; the last one is clipped by Python's slicing."""
    return [slice(i, i + bytes_per_checksum)
            for i in range(0, count * bytes_per_checksum, bytes_per_checksum)]


@lru_cache(maxsize=64)
def _packer(count: int) -> Callable[..., bytes]:
    return struct.Struct(f">{count}I").pack


class DataChecksum:
    """A checksum type with its chunk size; computes and verifies chunked CRCs.

    Instances are immutable and hashable.
    """

    __slots__ = ("type", "bytes_per_checksum", "checksum_size", "_algorithm", "_slice_cache")
    type: ChecksumType
    bytes_per_checksum: int
    #: Bytes per checksum value: 4, or 0 for NULL.
    checksum_size: int
    _algorithm: Optional[Callable[[bytes], int]]
    _slice_cache: List[slice]

    def __init__(self, type: ChecksumType | int, bytes_per_checksum: int) -> None:
        try:
            ctype = ChecksumType(type)
        except ValueError:
            raise ValueError(f"unknown checksum type {type!r} (expected 0 NULL, 1 CRC32, 2 CRC32C)") from None
        if not 0 < bytes_per_checksum <= MAX_BYTES_PER_CHECKSUM:
            raise ValueError(f"bytes_per_checksum must be in 1..{MAX_BYTES_PER_CHECKSUM}, "
                             f"got {bytes_per_checksum}")
        object.__setattr__(self, "type", ctype)
        object.__setattr__(self, "bytes_per_checksum", int(bytes_per_checksum))
        object.__setattr__(self, "checksum_size", 0 if ctype is ChecksumType.NULL else 4)
        object.__setattr__(self, "_algorithm", _ALGORITHMS.get(ctype))
        object.__setattr__(self, "_slice_cache", _slices(self.bytes_per_checksum, 256))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("DataChecksum is immutable")

    def __repr__(self) -> str:
        return f"DataChecksum({self.type.name}, {self.bytes_per_checksum})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DataChecksum):
            return NotImplemented
        return (self.type, self.bytes_per_checksum) == (other.type, other.bytes_per_checksum)

    def __hash__(self) -> int:
        return hash((self.type, self.bytes_per_checksum))

    # -- sizes -------------------------------------------------------------

    def chunk_count(self, data_len: int) -> int:
        """Number of chunks (hence checksums) covering ``data_len`` bytes."""
        return -(-data_len // self.bytes_per_checksum)

    def checksums_length(self, data_len: int) -> int:
        """Bytes of checksums that accompany ``data_len`` bytes of data."""
        return self.chunk_count(data_len) * self.checksum_size

    # -- compute / verify -------------------------------------------------

    def compute(self, data: Buffer) -> bytes:
        """The packed big-endian checksums of every chunk of ``data``.

        ``data`` is best passed as :class:`bytes` (other buffers are copied once).
        """
        algorithm = self._algorithm
        if algorithm is None or not data:
            return b""
        if not isinstance(data, bytes):
            data = bytes(data)
        count = -(-len(data) // self.bytes_per_checksum)
        slices = self._slice_cache
        if count > len(slices):
            slices = _slices(self.bytes_per_checksum, count)
        return _packer(count)(*map(algorithm, map(data.__getitem__, islice(slices, count))))

    def verify(self, data: Buffer, checksums: Buffer, base_offset: int = 0) -> None:
        """Check ``data`` against its packed ``checksums``.

        Raises :class:`ChecksumError` naming the offset (``base_offset`` plus the
        position in ``data``) of the first chunk that does not match.
        """
        expected_len = self.checksums_length(len(data))
        if len(checksums) != expected_len:
            raise ChecksumError(
                f"{len(checksums)} bytes of checksums for {len(data)} bytes of data "
                f"(expected {expected_len} for {self!r})", base_offset)
        if self._algorithm is None:
            return
        computed = self.compute(data)
        if computed == checksums:
            return
        got = bytes(checksums)
        for index in range(0, len(computed), 4):
            if computed[index:index + 4] != got[index:index + 4]:
                offset = base_offset + (index // 4) * self.bytes_per_checksum
                want = int.from_bytes(got[index:index + 4], "big")
                have = int.from_bytes(computed[index:index + 4], "big")
                raise ChecksumError(
                    f"{self.type.name} checksum mismatch at offset {offset}: "
                    f"expected {want:08x}, computed {have:08x}", offset, want, have)
        raise AssertionError("unreachable: checksums differ but no chunk does")  # pragma: no cover

    # -- protobuf ---------------------------------------------------------

    def to_proto(self):
        """As a ``hadoop.hdfs.ChecksumProto``."""
        from hadoop_protos.datatransfer_pb2 import ChecksumProto

        return ChecksumProto(type=int(self.type), bytesPerChecksum=self.bytes_per_checksum)

    @classmethod
    def from_proto(cls, proto) -> DataChecksum:
        """From a ``hadoop.hdfs.ChecksumProto``; ``ValueError`` for unknown types or sizes."""
        return cls(proto.type, proto.bytesPerChecksum)


#: HDFS's default: CRC32C over 512-byte chunks (``dfs.checksum.type``, ``dfs.bytes-per-checksum``).
CRC32C_512 = DataChecksum(ChecksumType.CRC32C, 512)
