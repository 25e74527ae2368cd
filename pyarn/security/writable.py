"""Hadoop's Writable encodings: variable-length integers, Text, Token, delegation-token identifiers.

The formats follow ``org.apache.hadoop.io.WritableUtils`` (``writeVLong`` / ``readVLong``),
``io.Text``, ``security.token.Token`` (``write`` / ``readFields`` / ``encodeToUrlString``) and
``security.token.delegation.AbstractDelegationTokenIdentifier`` (PROTOCOL-FACTS §4).

A Hadoop vint is *not* a protobuf varint: a value in -112..127 is one signed byte; any other
value is a first byte giving sign and length (-113..-120: positive with 1..8 following bytes,
-121..-128: negative, stored as its one's complement) and then the bytes, big-endian.

Decoding never trusts a length from the input: every read is checked against the bytes that are
actually there, and malformed input raises :class:`WritableError`.
"""
from __future__ import annotations

import base64
import binascii
from typing import Optional, Tuple, Union

import attrs

from ..errors import PyarnError
from .tokens import Token

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

#: ``Text.DEFAULT_MAX_LEN``: the longest Text a delegation-token identifier may hold.
TEXT_DEFAULT_MAX_LEN = 1024 * 1024

Buffer = Union[bytes, bytearray, memoryview]


class WritableError(PyarnError, ValueError):
    """Bytes that are not a valid Writable encoding (truncated, out of range, bad UTF-8...)."""


# -- variable-length integers ------------------------------------------------------------------


def encode_vlong(value: int) -> bytes:
    """``WritableUtils.writeVLong``: the vlong encoding of a signed 64-bit ``value``."""
    if not INT64_MIN <= value <= INT64_MAX:
        raise OverflowError(f"{value} does not fit in a signed 64-bit vlong")
    if -112 <= value <= 127:
        return (value & 0xFF).to_bytes(1, "big")
    if value < 0:
        magnitude = ~value  # one's complement, >= 0
        base = -120
    else:
        magnitude = value
        base = -112
    length = (magnitude.bit_length() + 7) // 8
    return ((base - length) & 0xFF).to_bytes(1, "big") + magnitude.to_bytes(length, "big")


def encode_vint(value: int) -> bytes:
    """``WritableUtils.writeVInt``: like :func:`encode_vlong`, for a signed 32-bit ``value``."""
    if not INT32_MIN <= value <= INT32_MAX:
        raise OverflowError(f"{value} does not fit in a signed 32-bit vint")
    return encode_vlong(value)


def vint_size(first_byte: int) -> int:
    """``WritableUtils.decodeVIntSize``: total encoded length given the (signed) first byte."""
    if first_byte >= -112:
        return 1
    if first_byte < -120:
        return -119 - first_byte
    return -111 - first_byte


def decode_vlong(data: Buffer, offset: int = 0) -> Tuple[int, int]:
    """Decode one vlong at ``offset``; returns ``(value, offset after it)``."""
    reader = WritableReader(data, offset)
    return reader.read_vlong(), reader.offset


def decode_vint(data: Buffer, offset: int = 0) -> Tuple[int, int]:
    """Decode one vint at ``offset``; returns ``(value, offset after it)``."""
    reader = WritableReader(data, offset)
    return reader.read_vint(), reader.offset


# -- Text ---------------------------------------------------------------------------------------


def encode_text(text: str) -> bytes:
    """``Text.write``: vint byte length, then the UTF-8 bytes."""
    raw = text.encode("utf-8")
    return encode_vint(len(raw)) + raw


def encode_bytes(raw: bytes) -> bytes:
    """A vint length followed by ``raw`` (as Token writes its identifier and password)."""
    return encode_vint(len(raw)) + bytes(raw)


class WritableReader:
    """Reads Writable values from an in-memory buffer, checking every length against it."""

    def __init__(self, data: Buffer, offset: int = 0) -> None:
        view = memoryview(data)
        self._data = view if view.format == "B" and view.ndim == 1 else view.cast("B")
        if not 0 <= offset <= len(self._data):
            raise ValueError(f"offset {offset} outside a buffer of {len(self._data)} bytes")
        self.offset = offset

    @property
    def remaining(self) -> int:
        return len(self._data) - self.offset

    def at_end(self) -> bool:
        return self.offset == len(self._data)

    def read_bytes(self, n: int, what: str = "bytes") -> bytes:
        if n < 0:
            raise WritableError(f"negative length {n} for {what} at offset {self.offset}")
        if n > self.remaining:
            raise WritableError(f"truncated: {what} needs {n} bytes at offset {self.offset}, "
                                f"only {self.remaining} left")
        start = self.offset
        self.offset += n
        return bytes(self._data[start:self.offset])

    def read_byte(self, what: str = "byte") -> int:
        """One signed byte (Java ``readByte``)."""
        b = self.read_bytes(1, what)[0]
        return b - 256 if b > 127 else b

    def read_vlong(self, what: str = "vlong") -> int:
        start = self.offset
        first = self.read_byte(what)
        size = vint_size(first)
        if size == 1:
            return first
        if size - 1 > self.remaining:
            raise WritableError(f"truncated: {what} at offset {start} needs {size} bytes, "
                                f"only {self.remaining + 1} left")
        value = int.from_bytes(self.read_bytes(size - 1, what), "big")
        if value > INT64_MAX:  # only in non-canonical input; Java's long wraps
            value -= 2**64
        return ~value if first < -120 else value

    def read_vint(self, what: str = "vint") -> int:
        start = self.offset
        value = self.read_vlong(what)
        if not INT32_MIN <= value <= INT32_MAX:
            raise WritableError(f"{what} at offset {start} is {value}, too large for a 32-bit int")
        return value

    def read_length(self, what: str, max_len: Optional[int] = None) -> int:
        """A vint length that must be non-negative, below ``max_len`` and present in the buffer."""
        start = self.offset
        n = self.read_vint(f"length of {what}")
        if n < 0:
            raise WritableError(f"negative length {n} for {what} at offset {start}")
        if max_len is not None and n >= max_len:
            raise WritableError(f"{what} at offset {start} claims {n} bytes, limit is {max_len - 1}")
        if n > self.remaining:
            raise WritableError(f"truncated: {what} at offset {start} claims {n} bytes, "
                                f"only {self.remaining} left")
        return n

    def read_vbytes(self, what: str = "bytes") -> bytes:
        """A vint length followed by that many bytes."""
        return self.read_bytes(self.read_length(what), what)

    def read_text(self, what: str = "Text", max_len: Optional[int] = None) -> str:
        """``Text.readFields``: vint length, then UTF-8."""
        start = self.offset
        raw = self.read_bytes(self.read_length(what, max_len), what)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise WritableError(f"{what} at offset {start} is not valid UTF-8: {e.reason}") from None


# -- Token --------------------------------------------------------------------------------------


def write_token(token: Token) -> bytes:
    """``Token.write``: identifier and password (vint length + bytes), then kind and service Texts."""
    return (encode_bytes(token.identifier) + encode_bytes(token.password)
            + encode_text(token.kind) + encode_text(token.service))


def read_token(source: Union[Buffer, WritableReader]) -> Token:
    """``Token.readFields``. Given bytes, they must hold exactly one token; given a
    :class:`WritableReader`, one token is read from its current offset."""
    whole = not isinstance(source, WritableReader)
    reader = source if isinstance(source, WritableReader) else WritableReader(source)
    identifier = reader.read_vbytes("token identifier")
    password = reader.read_vbytes("token password")
    kind = reader.read_text("token kind")
    service = reader.read_text("token service")
    if whole and not reader.at_end():
        raise WritableError(f"{reader.remaining} unexpected bytes after the token")
    return Token(identifier, password, kind, service)


def token_to_url_string(token: Token) -> str:
    """``Token.encodeToUrlString``: URL-safe Base64 of the Writable form, without padding."""
    return base64.urlsafe_b64encode(write_token(token)).rstrip(b"=").decode("ascii")


def token_from_url_string(text: str) -> Token:
    """``Token.decodeFromUrlString``: URL-safe Base64 with or without ``=`` padding (the
    standard alphabet's ``+`` and ``/`` are accepted too, as commons-codec does)."""
    s = text.strip().rstrip("=").replace("+", "-").replace("/", "_")
    if len(s) % 4 == 1:
        raise WritableError("not a URL-safe Base64 token: impossible length")
    try:
        raw = base64.b64decode(s + "=" * (-len(s) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise WritableError("not a URL-safe Base64 token") from None
    return read_token(raw)


# -- delegation-token identifier -----------------------------------------------------------------


def _int32(_inst, attribute, value) -> None:
    if not INT32_MIN <= value <= INT32_MAX:
        raise ValueError(f"{attribute.name}={value} does not fit in a 32-bit int")


def _int64(_inst, attribute, value) -> None:
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"{attribute.name}={value} does not fit in a 64-bit int")


@attrs.frozen
class DelegationTokenIdentifier:
    """The Writable identifier of HDFS and RM delegation tokens
    (``AbstractDelegationTokenIdentifier``): who owns the token, who may renew it, the real
    user behind a proxy user, issue and maximum dates (ms since the epoch), and the issuer's
    sequence number and master-key id."""

    VERSION = 0

    owner: str = ""
    renewer: str = ""
    real_user: str = ""
    issue_date: int = attrs.field(default=0, validator=_int64)
    max_date: int = attrs.field(default=0, validator=_int64)
    sequence_number: int = attrs.field(default=0, validator=_int32)
    master_key_id: int = attrs.field(default=0, validator=_int32)

    def to_bytes(self) -> bytes:
        """``writeImpl``: version byte, three Texts, two vlongs, two vints."""
        for name in ("owner", "renewer", "real_user"):
            if len(getattr(self, name).encode("utf-8")) > TEXT_DEFAULT_MAX_LEN:
                raise ValueError(f"{name} is too long to be serialized")
        return (bytes([self.VERSION]) + encode_text(self.owner) + encode_text(self.renewer)
                + encode_text(self.real_user) + encode_vlong(self.issue_date)
                + encode_vlong(self.max_date) + encode_vint(self.sequence_number)
                + encode_vint(self.master_key_id))

    @classmethod
    def from_bytes(cls, data: Buffer) -> DelegationTokenIdentifier:
        """``readFields``. Trailing bytes are ignored, as Hadoop does (subclasses may append)."""
        reader = WritableReader(data)
        version = reader.read_byte("identifier version")
        if version != cls.VERSION:
            raise WritableError(f"unknown delegation-token identifier version {version}")
        return cls(
            owner=reader.read_text("owner", TEXT_DEFAULT_MAX_LEN),
            renewer=reader.read_text("renewer", TEXT_DEFAULT_MAX_LEN),
            real_user=reader.read_text("realUser", TEXT_DEFAULT_MAX_LEN),
            issue_date=reader.read_vlong("issueDate"),
            max_date=reader.read_vlong("maxDate"),
            sequence_number=reader.read_vint("sequenceNumber"),
            master_key_id=reader.read_vint("masterKeyId"),
        )

    @classmethod
    def from_token(cls, token: Token) -> DelegationTokenIdentifier:
        """Decode the identifier of a delegation token (HDFS_DELEGATION_TOKEN, RM_DELEGATION_TOKEN...)."""
        return cls.from_bytes(token.identifier)
