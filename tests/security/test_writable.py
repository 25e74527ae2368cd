"""Writable encodings against bytes derived by hand from WritableUtils' rules."""
from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyarn.security.tokens import Token
from pyarn.security.writable import (
    DelegationTokenIdentifier,
    WritableError,
    WritableReader,
    decode_vint,
    decode_vlong,
    encode_text,
    encode_vint,
    encode_vlong,
    read_token,
    token_from_url_string,
    token_to_url_string,
    write_token,
)

# value -> encoding, worked out from writeVLong: -112..127 is one byte; otherwise a first byte
# of -112-n (positive) or -120-n (negative, one's complement stored) then n big-endian bytes.
VLONG_CASES = [
    (0, "00"),
    (1, "01"),
    (-1, "ff"),
    (127, "7f"),
    (-112, "90"),
    (-113, "87 70"),  # ~-113 = 112 = 0x70, one byte -> first byte -121 = 0x87
    (-256, "87 ff"),  # ~-256 = 255
    (-257, "86 01 00"),  # ~-257 = 256, two bytes -> -122
    (128, "8f 80"),  # one byte -> -113 = 0x8f
    (255, "8f ff"),
    (256, "8e 01 00"),  # two bytes -> -114
    (65535, "8e ff ff"),
    (65536, "8d 01 00 00"),
    (2**31 - 1, "8c 7f ff ff ff"),  # four bytes -> -116
    (-(2**31), "84 7f ff ff ff"),  # ~x = 2**31-1, four bytes -> -124
    (2**32, "8b 01 00 00 00 00"),
    (2**63 - 1, "88 7f ff ff ff ff ff ff ff"),  # eight bytes -> -120
    (-(2**63), "80 7f ff ff ff ff ff ff ff"),  # ~x = 2**63-1, eight bytes -> -128
]


@pytest.mark.parametrize("value, hexbytes", VLONG_CASES)
def test_vlong_bytes(value, hexbytes):
    expected = bytes.fromhex(hexbytes)
    assert encode_vlong(value) == expected
    assert decode_vlong(expected) == (value, len(expected))


@pytest.mark.parametrize("value, hexbytes", [c for c in VLONG_CASES if -(2**31) <= c[0] < 2**31])
def test_vint_bytes(value, hexbytes):
    expected = bytes.fromhex(hexbytes)
    assert encode_vint(value) == expected
    assert decode_vint(expected) == (value, len(expected))


@pytest.mark.parametrize("value", [2**31, -(2**31) - 1, 2**63 - 1])
def test_vint_rejects_values_beyond_32_bits(value):
    with pytest.raises(OverflowError):
        encode_vint(value)
    with pytest.raises(WritableError, match="too large for a 32-bit int"):
        decode_vint(encode_vlong(value))


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1])
def test_vlong_rejects_values_beyond_64_bits(value):
    with pytest.raises(OverflowError):
        encode_vlong(value)


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_vlong_round_trip(value):
    encoded = encode_vlong(value)
    assert decode_vlong(encoded + b"tail") == (value, len(encoded))
    magnitude = value if value >= 0 else ~value
    expected_len = 1 if -112 <= value <= 127 else 1 + (magnitude.bit_length() + 7) // 8
    assert len(encoded) == expected_len


def test_decode_at_offset():
    data = b"xx" + encode_vlong(300) + encode_vlong(-5)
    value, offset = decode_vlong(data, 2)
    assert value == 300
    assert decode_vlong(data, offset) == (-5, len(data))


@pytest.mark.parametrize("hexbytes", ["", "8f", "8e 01", "88 7f ff ff ff ff ff ff", "80"])
def test_truncated_vlong(hexbytes):
    with pytest.raises(WritableError, match="truncated"):
        decode_vlong(bytes.fromhex(hexbytes))


def test_non_canonical_vlong_wraps_like_java():
    # eight 0xff bytes after a "positive, 8 bytes" prefix: Java's long arithmetic gives -1
    assert decode_vlong(bytes.fromhex("88 ff ff ff ff ff ff ff ff"))[0] == -1
    # a small value spelled long-hand is accepted, as readVLong does
    assert decode_vlong(bytes.fromhex("8e 00 05"))[0] == 5


def test_text():
    assert encode_text("") == b"\x00"
    assert encode_text("abc") == b"\x03abc"
    assert encode_text("é") == b"\x02\xc3\xa9"  # length counts UTF-8 bytes
    long = "x" * 200
    assert encode_text(long) == b"\x8f\xc8" + long.encode()
    reader = WritableReader(encode_text("héllo") + encode_text(""))
    assert reader.read_text() == "héllo"
    assert reader.read_text() == ""
    assert reader.at_end()


@pytest.mark.parametrize("data, message", [
    (b"\x05ab", "truncated"),
    (b"\xff", "negative length"),  # vint -1
    (b"\x02\xff\xfe", "not valid UTF-8"),
    (bytes.fromhex("8c 7f ff ff ff"), "truncated"),  # claims 2 GiB: refused before any allocation
])
def test_bad_text(data, message):
    with pytest.raises(WritableError, match=message):
        WritableReader(data).read_text()


def test_text_max_len():
    with pytest.raises(WritableError, match="limit"):
        WritableReader(encode_text("abcd")).read_text(max_len=4)
    assert WritableReader(encode_text("abc")).read_text(max_len=4) == "abc"


TOKEN = Token(identifier=b"\x00\x01id", password=b"secret", kind="HDFS_DELEGATION_TOKEN",
              service="127.0.0.1:8020")
TOKEN_BYTES = (b"\x04\x00\x01id" + b"\x06secret" + b"\x15HDFS_DELEGATION_TOKEN"
               + b"\x0e127.0.0.1:8020")


def test_token_bytes():
    assert write_token(TOKEN) == TOKEN_BYTES
    assert read_token(TOKEN_BYTES) == TOKEN


def test_token_empty_fields():
    empty = Token(b"", b"", "YARN_AM_RM_TOKEN", "")
    assert write_token(empty) == b"\x00\x00\x10YARN_AM_RM_TOKEN\x00"
    assert read_token(write_token(empty)) == empty


def test_read_token_from_reader_leaves_the_rest():
    reader = WritableReader(TOKEN_BYTES + b"rest")
    assert read_token(reader) == TOKEN
    assert reader.read_bytes(4) == b"rest"


def test_read_token_rejects_trailing_bytes_and_truncation():
    with pytest.raises(WritableError, match="unexpected bytes"):
        read_token(TOKEN_BYTES + b"\x00")
    for cut in range(len(TOKEN_BYTES)):
        with pytest.raises(WritableError, match="truncated"):
            read_token(TOKEN_BYTES[:cut])


@given(st.binary(max_size=300), st.binary(max_size=300), st.text(max_size=50), st.text(max_size=50))
def test_token_round_trip(identifier, password, kind, service):
    token = Token(identifier, password, kind, service)
    assert read_token(write_token(token)) == token
    assert token_from_url_string(token_to_url_string(token)) == token


def test_url_string_is_unpadded_url_safe_base64():
    text = token_to_url_string(TOKEN)
    assert "=" not in text and "+" not in text and "/" not in text
    assert base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)) == TOKEN_BYTES


@pytest.mark.parametrize("encode", [
    lambda b: base64.urlsafe_b64encode(b).decode(),  # padded
    lambda b: base64.urlsafe_b64encode(b).decode().rstrip("="),  # unpadded, as Hadoop writes
    lambda b: base64.b64encode(b).decode(),  # standard alphabet, which commons-codec also reads
])
def test_url_string_decodes_with_and_without_padding(encode):
    # b"\xfb\xff" makes the encodings differ between the two alphabets
    token = Token(b"\xfb\xff\xfe", b"\xff", "K", "s")
    assert token_from_url_string(encode(write_token(token))) == token


@pytest.mark.parametrize("text", ["", "a", "!!!!", "AAAA"])
def test_bad_url_string(text):
    with pytest.raises(WritableError):
        token_from_url_string(text)


def test_delegation_token_identifier_bytes():
    ident = DelegationTokenIdentifier(owner="alice", renewer="yarn", real_user="",
                                      issue_date=0x018BCFE56800, max_date=0x7FFF_FFFF_FFFF,
                                      sequence_number=7, master_key_id=-3)
    # six-byte magnitudes -> first byte -112-6 = -118 = 0x8a; -3 fits in one byte
    expected = (b"\x00" + b"\x05alice" + b"\x04yarn" + b"\x00"
                + bytes.fromhex("8a 01 8b cf e5 68 00") + bytes.fromhex("8a 7f ff ff ff ff ff")
                + b"\x07" + b"\xfd")
    assert ident.to_bytes() == expected
    assert DelegationTokenIdentifier.from_bytes(expected) == ident
    token = Token(expected, b"pw", "HDFS_DELEGATION_TOKEN", "ha-hdfs:ns1")
    assert DelegationTokenIdentifier.from_token(token) == ident


def test_delegation_token_identifier_errors():
    good = DelegationTokenIdentifier(owner="a").to_bytes()
    with pytest.raises(WritableError, match="version 1"):
        DelegationTokenIdentifier.from_bytes(b"\x01" + good[1:])
    for cut in range(len(good)):
        with pytest.raises(WritableError):
            DelegationTokenIdentifier.from_bytes(good[:cut])
    huge_owner = b"\x00" + encode_vint(1024 * 1024) + b"x" * (1024 * 1024)
    with pytest.raises(WritableError, match="limit"):
        DelegationTokenIdentifier.from_bytes(huge_owner)
    with pytest.raises(ValueError):
        DelegationTokenIdentifier(sequence_number=2**31)


@given(st.builds(
    DelegationTokenIdentifier,
    owner=st.text(max_size=20), renewer=st.text(max_size=20), real_user=st.text(max_size=20),
    issue_date=st.integers(-(2**63), 2**63 - 1), max_date=st.integers(-(2**63), 2**63 - 1),
    sequence_number=st.integers(-(2**31), 2**31 - 1), master_key_id=st.integers(-(2**31), 2**31 - 1),
))
def test_delegation_token_identifier_round_trip(ident):
    assert DelegationTokenIdentifier.from_bytes(ident.to_bytes()) == ident


@given(st.binary(max_size=64))
def test_decoders_only_raise_writable_error(data):
    for decode in (read_token, DelegationTokenIdentifier.from_bytes, decode_vlong):
        try:
            decode(data)
        except WritableError:
            pass
