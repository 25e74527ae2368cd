"""Chunked checksums, checked against independent CRC implementations.

CRC32C reference: the ``crc32c`` package (a different C implementation than
the ``google_crc32c`` pyarn uses); CRC32 reference: ``binascii.crc32``.
"""
from __future__ import annotations

import binascii
import os
import struct

import crc32c
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hadoop_protos import datatransfer_pb2
from pyarn.errors import PyarnError
from pyarn.hdfs.checksum import CRC32C_512, ChecksumError, ChecksumType, DataChecksum


def reference(kind: ChecksumType, data: bytes, bpc: int) -> bytes:
    crc = crc32c.crc32c if kind is ChecksumType.CRC32C else binascii.crc32
    return b"".join(struct.pack(">I", crc(data[i:i + bpc])) for i in range(0, len(data), bpc))


def test_standard_check_values():
    # The CRC catalogue's check values for "123456789".
    assert DataChecksum(ChecksumType.CRC32C, 512).compute(b"123456789") == bytes.fromhex("e3069283")
    assert DataChecksum(ChecksumType.CRC32, 512).compute(b"123456789") == bytes.fromhex("cbf43926")


def test_three_chunks_known_values():
    data = bytes(range(256)) * 4 + b"tail" * 44   # 1200 bytes: chunks of 512, 512, 176
    expected = b"".join(struct.pack(">I", crc32c.crc32c(part))
                        for part in (data[:512], data[512:1024], data[1024:]))
    sums = CRC32C_512.compute(data)
    assert sums == expected
    assert len(sums) == 12 == CRC32C_512.checksums_length(1200)
    assert CRC32C_512.chunk_count(1200) == 3
    CRC32C_512.verify(data, sums)


def test_sizes():
    c = DataChecksum(ChecksumType.CRC32, 100)
    assert [c.chunk_count(n) for n in (0, 1, 99, 100, 101, 200, 201)] == [0, 1, 1, 1, 2, 2, 3]
    assert c.checksums_length(201) == 12
    assert DataChecksum(ChecksumType.NULL, 512).checksums_length(10_000) == 0


def test_empty_data():
    assert CRC32C_512.compute(b"") == b""
    CRC32C_512.verify(b"", b"")


@pytest.mark.parametrize("kind", [ChecksumType.CRC32, ChecksumType.CRC32C])
@pytest.mark.parametrize("size", [1, 511, 512, 513, 64512, 64513, 300_000])
def test_matches_reference(kind, size):
    data = os.urandom(size)
    c = DataChecksum(kind, 512)
    assert c.compute(data) == reference(kind, data, 512)


@pytest.mark.parametrize("buffer_type", [bytearray, memoryview])
def test_accepts_any_buffer(buffer_type):
    data = os.urandom(2000)
    assert CRC32C_512.compute(buffer_type(data)) == CRC32C_512.compute(data)
    CRC32C_512.verify(buffer_type(data), buffer_type(CRC32C_512.compute(data)))


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=5000), bpc=st.integers(1, 1100),
       kind=st.sampled_from([ChecksumType.CRC32, ChecksumType.CRC32C]))
def test_matches_reference_for_any_chunking(data, bpc, kind):
    c = DataChecksum(kind, bpc)
    assert c.compute(data) == reference(kind, data, bpc)
    c.verify(data, reference(kind, data, bpc))


@settings(max_examples=200, deadline=None)
@given(data=st.binary(min_size=1, max_size=4000), pick=st.integers(0), base=st.integers(0, 2**40))
def test_verify_names_the_first_bad_chunk(data, pick, base):
    c = DataChecksum(ChecksumType.CRC32C, 512)
    corrupt = bytearray(data)
    where = pick % len(data)
    corrupt[where] ^= 0x5A
    with pytest.raises(ChecksumError) as info:
        c.verify(bytes(corrupt), c.compute(data), base_offset=base)
    assert info.value.offset == base + (where // 512) * 512
    assert f"offset {info.value.offset}" in str(info.value)
    assert isinstance(info.value, PyarnError)


def test_verify_reports_expected_and_computed():
    data = os.urandom(1500)
    sums = bytearray(CRC32C_512.compute(data))
    sums[4:8] = b"\0\0\0\1"
    with pytest.raises(ChecksumError) as info:
        CRC32C_512.verify(data, bytes(sums), base_offset=1024)
    assert info.value.offset == 1024 + 512
    assert info.value.expected == 1
    assert info.value.computed == crc32c.crc32c(data[512:1024])


def test_verify_rejects_wrong_checksum_length():
    data = os.urandom(1025)
    with pytest.raises(ChecksumError, match=r"8 bytes of checksums .*expected 12"):
        CRC32C_512.verify(data, CRC32C_512.compute(data)[:8])
    with pytest.raises(ChecksumError):
        DataChecksum(ChecksumType.NULL, 512).verify(data, b"\0\0\0\0")


def test_null_checksum():
    c = DataChecksum(ChecksumType.NULL, 512)
    assert c.checksum_size == 0
    assert c.compute(os.urandom(3000)) == b""
    c.verify(os.urandom(3000), b"")


def test_proto_round_trip():
    proto = CRC32C_512.to_proto()
    assert isinstance(proto, datatransfer_pb2.ChecksumProto)
    assert proto.SerializeToString() == bytes([0x08, 0x02, 0x10, 0x80, 0x04])
    assert DataChecksum.from_proto(proto) == CRC32C_512
    assert hash(DataChecksum.from_proto(proto)) == hash(CRC32C_512)


@pytest.mark.parametrize("kind,bpc", [(3, 512), (-1, 512), (2, 0), (2, -5), (2, 2**31)])
def test_rejects_bad_parameters(kind, bpc):
    with pytest.raises(ValueError):
        DataChecksum(kind, bpc)


def test_immutable():
    with pytest.raises(AttributeError):
        CRC32C_512.bytes_per_checksum = 5
    assert repr(CRC32C_512) == "DataChecksum(CRC32C, 512)"
