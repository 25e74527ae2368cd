"""Varints, delimited messages and the frame splitter, byte by byte."""
from __future__ import annotations

import pytest
from google.protobuf.internal import encoder
from hypothesis import given
from hypothesis import strategies as st

from pyarn.errors import RemoteProtocolError
from pyarn.ipc.framing import (
    FrameReader,
    FrameTooLargeError,
    decode_varint,
    encode_varint,
    frame,
    read_delimited,
    split_delimited,
    unzigzag,
    zigzag32,
)


@pytest.mark.parametrize("value, encoded", [
    (0, "00"), (1, "01"), (127, "7f"), (128, "8001"), (300, "ac02"), (16384, "808001"),
    (0xFFFFFFFF, "ffffffff0f"),
    (-1, "ffffffffffffffffff01"),  # int64 form: ten bytes
])
def test_varint_known_encodings(value, encoded):
    assert encode_varint(value).hex() == encoded
    if value >= 0:
        assert decode_varint(bytes.fromhex(encoded)) == (value, len(encoded) // 2)


@given(st.integers(min_value=0, max_value=2**64 - 1))
def test_varint_matches_protobuf_and_round_trips(value):
    pieces = []
    encoder._VarintEncoder()(pieces.append, value, True)
    assert encode_varint(value) == b"".join(pieces)
    assert decode_varint(encode_varint(value) + b"\x99") == (value, len(b"".join(pieces)))


@pytest.mark.parametrize("value, zz", [(0, 0), (-1, 1), (1, 2), (-33, 65), (-4, 7), (2**31 - 1, 2**32 - 2),
                                       (-(2**31), 2**32 - 1)])
def test_zigzag32(value, zz):
    assert zigzag32(value) == zz
    assert unzigzag(zz) == value


def test_truncated_varint_is_a_remote_protocol_error():
    with pytest.raises(RemoteProtocolError, match="truncated varint"):
        decode_varint(b"\x80\x80")


def test_overlong_varint_is_rejected():
    with pytest.raises(RemoteProtocolError, match="more than ten bytes"):
        decode_varint(b"\xff" * 11 + b"\x01")


def test_frame_prefixes_big_endian_length():
    assert frame(b"\x01\x02", b"\x03").hex() == "00000003" + "010203"


def test_split_delimited_returns_views_without_copying():
    data = memoryview(bytearray(b"\x02ab\x00\x01c"))
    parts = split_delimited(data)
    assert [bytes(p) for p in parts] == [b"ab", b"", b"c"]
    assert all(p.obj is data.obj for p in parts)


def test_delimited_length_past_the_end_is_rejected():
    with pytest.raises(RemoteProtocolError, match="overruns its frame"):
        read_delimited(memoryview(b"\x05abc"), 0)


def test_frame_reader_assembles_frames_fed_one_byte_at_a_time():
    stream = frame(b"hello") + frame(b"") + frame(b"world!")
    reader = FrameReader(1024)
    frames = []
    for i in range(len(stream)):
        reader.feed(stream[i:i + 1])
        while (payload := reader.next_frame()) is not None:
            frames.append(payload)
    assert frames == [b"hello", b"", b"world!"]
    assert reader.buffered == 0


def test_frame_reader_rejects_length_above_cap_before_the_body_arrives():
    reader = FrameReader(100)
    reader.feed(b"\x00\x00\x00\x65")  # 101, and no body at all
    with pytest.raises(FrameTooLargeError) as info:
        reader.next_frame()
    assert (info.value.length, info.value.maximum) == (101, 100)


def test_frame_reader_accepts_length_at_cap():
    reader = FrameReader(3)
    reader.feed(frame(b"abc"))
    assert reader.next_frame() == b"abc"


def test_frame_reader_rejects_negative_length():
    reader = FrameReader(100)
    reader.feed(b"\xff\xff\xff\xfe")
    with pytest.raises(RemoteProtocolError, match="negative frame length -2"):
        reader.next_frame()


def test_frame_reader_names_an_http_peer():
    reader = FrameReader(1000)
    reader.feed(b"HTTP/1.1 404 Not Found\r\n")
    with pytest.raises(RemoteProtocolError, match="HTTP"):
        reader.next_frame()


@given(st.lists(st.binary(max_size=300), max_size=8), st.data())
def test_frame_reader_reassembles_any_chunking(payloads, data):
    stream = b"".join(frame(p) for p in payloads)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    reader = FrameReader(1000)
    out = []
    last = 0
    for cut in [*cuts, len(stream)]:
        reader.feed(stream[last:cut])
        last = cut
        while (payload := reader.next_frame()) is not None:
            out.append(payload)
    assert out == payloads
