"""Protobuf base-128 varints: the one codec of IPC frames, DataTransferProtocol and token files.

It sits below every layer (it imports nothing of pyarn), so :mod:`pyarn.ipc.framing`,
:mod:`pyarn.hdfs.datatransfer` and :mod:`pyarn.security.credentials` share it; each turns
:class:`VarintError` into its own error type for bad bytes from a peer. Hadoop's Writable
``vint`` is another encoding (:mod:`pyarn.security.writable`).
"""
from __future__ import annotations

from typing import Optional, Tuple, Union

Buffer = Union[bytes, bytearray, memoryview]

_ONE_BYTE = tuple(bytes((i,)) for i in range(128))
_UINT64 = (1 << 64) - 1


class VarintError(ValueError):
    """A malformed varint: longer than ten bytes (``too_long``), or above 2**64 - 1."""

    def __init__(self, too_long: bool) -> None:
        self.too_long = too_long
        super().__init__("varint longer than 10 bytes" if too_long else "varint overflows 64 bits")


def encode_varint(value: int) -> bytes:
    """Protobuf base-128 varint; negative values take ten bytes, as an int64 does."""
    if 0 <= value < 0x80:
        return _ONE_BYTE[value]
    value &= _UINT64
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def decode_varint(data: Buffer, pos: int = 0, end: Optional[int] = None) -> Optional[Tuple[int, int]]:
    """``(value, next position)`` of the varint at ``pos``, or ``None`` when the bytes (up to
    ``end``) stop inside it. A varint longer than ten bytes, or one above 2**64 - 1, raises
    :class:`VarintError`."""
    if end is None:
        end = len(data)
    if pos < end:
        byte = data[pos]
        if byte < 0x80:  # the common case: lengths and tags below 128
            return byte, pos + 1
    result = 0
    shift = 0
    while pos < end:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            if result > _UINT64:
                raise VarintError(too_long=False)
            return result, pos
        shift += 7
        if shift >= 70:
            raise VarintError(too_long=True)
    return None
