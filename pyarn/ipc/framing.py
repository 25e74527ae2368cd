"""Bytes on the wire: protobuf varints, delimited messages and length-prefixed frames.

Every IPC message after the preamble is one frame: a 4-byte big-endian length,
then that many bytes holding varint-delimited protobuf messages
(PROTOCOL-FACTS §1.2). These helpers are the hot path of the IPC layer: they
work on ``bytes``/``bytearray``/``memoryview`` without copying where they can.
"""
from __future__ import annotations

import struct
from typing import List, Optional, Tuple, Union

from .._varint import VarintError, encode_varint
from .._varint import decode_varint as _decode_varint
from ..errors import RemoteProtocolError

Buffer = Union[bytes, bytearray, memoryview]

_LENGTH = struct.Struct(">i")
_HTTP = b"HTTP"


def decode_varint(data: Buffer, pos: int = 0, end: Optional[int] = None) -> Tuple[int, int]:
    """Read a varint at ``pos``; returns ``(value, next position)``.

    Raises :class:`RemoteProtocolError` when the varint is truncated (runs past
    ``end``), longer than ten bytes or above 2**64 - 1.
    """
    try:
        decoded = _decode_varint(data, pos, end)
    except VarintError as exc:
        raise RemoteProtocolError("malformed varint: " + (
            "more than ten bytes" if exc.too_long else "above 2**64 - 1")) from None
    if decoded is None:
        raise RemoteProtocolError("truncated varint")
    return decoded


def zigzag32(value: int) -> int:
    """``sint32`` encoding of ``value``."""
    return ((value << 1) ^ (value >> 31)) & 0xFFFFFFFF


def unzigzag(value: int) -> int:
    return (value >> 1) ^ -(value & 1)


def delimited(payload: bytes) -> bytes:
    """``payload`` preceded by its varint length."""
    return encode_varint(len(payload)) + payload


def frame(*parts: bytes) -> bytes:
    """A frame: the 4-byte length of ``parts`` joined, then the parts."""
    body = b"".join(parts)
    return _LENGTH.pack(len(body)) + body


def split_delimited(data: memoryview) -> List[memoryview]:
    """Every varint-delimited message in ``data``, as views (no copies).

    Raises :class:`RemoteProtocolError` when a length runs past the end.
    """
    messages = []
    pos = 0
    end = len(data)
    while pos < end:
        size, pos = decode_varint(data, pos, end)
        if size > end - pos:
            raise RemoteProtocolError(
                f"delimited message of {size} bytes overruns its frame ({end - pos} bytes left)")
        messages.append(data[pos:pos + size])
        pos += size
    return messages


def read_delimited(data: memoryview, pos: int) -> Tuple[memoryview, int]:
    """The delimited message at ``pos`` and the position after it."""
    end = len(data)
    size, pos = decode_varint(data, pos, end)
    if size > end - pos:
        raise RemoteProtocolError(
            f"delimited message of {size} bytes overruns its frame ({end - pos} bytes left)")
    return data[pos:pos + size], pos + size


class FrameTooLargeError(RemoteProtocolError):
    """A frame announced a length above the configured maximum."""

    def __init__(self, length: int, maximum: int) -> None:
        self.length = length
        self.maximum = maximum
        super().__init__(f"frame of {length} bytes is longer than the maximum of {maximum} bytes")


class FrameReader:
    """Splits a byte stream into frames, never buffering more than one frame's worth.

    Feed it what the socket gives; take complete frames with
    :meth:`next_frame`. A length above ``max_length`` (or negative) raises
    :class:`RemoteProtocolError` as soon as the four length bytes are in.
    """

    __slots__ = ("_buf", "max_length")

    def __init__(self, max_length: int) -> None:
        self._buf = bytearray()
        self.max_length = max_length

    def feed(self, data: Buffer) -> None:
        self._buf += data

    @property
    def buffered(self) -> int:
        """Bytes held that do not make a whole frame yet."""
        return len(self._buf)

    def peek_length(self) -> Optional[int]:
        """The signed length word of the next frame, if its four bytes are in."""
        if len(self._buf) < 4:
            return None
        return _LENGTH.unpack_from(self._buf, 0)[0]

    def next_frame(self) -> Optional[bytes]:
        """The next complete frame's payload, or ``None`` when more bytes are needed."""
        buf = self._buf
        if len(buf) < 4:
            return None
        (length,) = _LENGTH.unpack_from(buf, 0)
        if length < 0 or length > self.max_length:
            if buf[:4] == _HTTP:
                raise RemoteProtocolError("the peer answered in HTTP: this is not a Hadoop IPC port")
            if length < 0:
                raise RemoteProtocolError(f"negative frame length {length}")
            raise FrameTooLargeError(length, self.max_length)
        end = 4 + length
        if len(buf) < end:
            return None
        view = memoryview(buf)
        try:
            payload = view[4:end].tobytes()
        finally:
            view.release()
        del buf[:end]
        return payload
