"""The Credentials token storage file, byte by byte, and what a hostile file gets."""
from __future__ import annotations

import base64
import os
import stat

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyarn.security import credentials as credmod
from pyarn.security.credentials import Credentials, CredentialsError, CredentialsFormat
from pyarn.security.tokens import Token
from pyarn.security.writable import token_from_url_string, token_to_url_string, write_token

TOKEN = Token(b"\x01\x02", b"pw", "K", "s:1")
AMRM = Token(b"\x0a\x04\x08\x01\x10\x02", b"\x99" * 20, "YARN_AM_RM_TOKEN", "")

# magic, format 0, one token: alias Text "a", Token(id=0102, pw="pw", kind "K", service "s:1"),
# one secret: alias Text "sec", vint length 3, "xyz"
WRITABLE_BYTES = (b"HDTS\x00" + b"\x01" + b"\x01a" + b"\x02\x01\x02" + b"\x02pw" + b"\x01K"
                  + b"\x03s:1" + b"\x01" + b"\x03sec" + b"\x03xyz")

# CredentialsProto{tokens: [{alias: "a", token: {identifier, password, kind, service}}],
#                  secrets: [{alias: "sec", secret: "xyz"}]}, protobuf tags written out by hand
_TOKEN_PROTO = b"\x0a\x02\x01\x02" + b"\x12\x02pw" + b"\x1a\x01K" + b"\x22\x03s:1"  # 16 bytes
_TOKEN_KV = b"\x0a\x01a" + b"\x12\x10" + _TOKEN_PROTO  # 21 bytes
_SECRET_KV = b"\x0a\x03sec" + b"\x1a\x03xyz"  # 10 bytes
_PROTO = b"\x0a\x15" + _TOKEN_KV + b"\x12\x0a" + _SECRET_KV  # 35 bytes
PROTOBUF_BYTES = b"HDTS\x01" + b"\x23" + _PROTO


def sample() -> Credentials:
    creds = Credentials()
    creds.add_token("a", TOKEN)
    creds.add_secret("sec", b"xyz")
    return creds


def test_writable_bytes():
    assert sample().to_bytes() == WRITABLE_BYTES
    assert Credentials.from_bytes(WRITABLE_BYTES) == sample()


def test_protobuf_bytes():
    assert len(_TOKEN_PROTO) == 0x10 and len(_PROTO) == 0x23
    assert sample().to_bytes(CredentialsFormat.PROTOBUF) == PROTOBUF_BYTES
    assert Credentials.from_bytes(PROTOBUF_BYTES) == sample()


def test_empty():
    assert Credentials().to_bytes() == b"HDTS\x00\x00\x00"
    assert Credentials.from_bytes(b"HDTS\x00\x00\x00") == Credentials()
    assert Credentials.from_bytes(b"HDTS\x01\x00") == Credentials()


def test_empty_alias_as_the_rm_writes_the_amrm_token():
    creds = Credentials({"": AMRM})
    data = creds.to_bytes()
    assert data.startswith(b"HDTS\x00\x01\x00\x06")
    back = Credentials.from_bytes(data)
    assert back.find_token("YARN_AM_RM_TOKEN") == AMRM
    assert back.get_token("") == AMRM


tokens_strategy = st.dictionaries(
    st.text(max_size=10),
    st.builds(Token, st.binary(max_size=40), st.binary(max_size=40), st.text(max_size=10),
              st.text(max_size=10)),
    max_size=4)
secrets_strategy = st.dictionaries(st.text(max_size=10), st.binary(max_size=40), max_size=4)


@given(tokens_strategy, secrets_strategy, st.sampled_from(list(CredentialsFormat)))
def test_round_trip(tokens, secrets, fmt):
    creds = Credentials(tokens, secrets)
    back = Credentials.from_bytes(creds.to_bytes(fmt))
    assert back == creds
    assert list(back.tokens) == list(tokens)  # order kept


def test_file_round_trip_and_mode(tmp_path):
    path = tmp_path / "creds"
    old_umask = os.umask(0)
    try:
        sample().write_file(path)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes() == WRITABLE_BYTES
    assert Credentials.read_file(path) == sample()
    sample().write_file(str(path), CredentialsFormat.PROTOBUF)
    assert path.read_bytes() == PROTOBUF_BYTES
    assert Credentials.read_file(path) == sample()


def test_write_file_replaces_a_readable_file_with_a_private_one(tmp_path):
    path = tmp_path / "creds"
    path.write_bytes(b"old")
    path.chmod(0o644)
    sample().write_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert os.listdir(tmp_path) == ["creds"]


def test_write_file_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "creds"
    path.write_bytes(b"old")

    def broken_replace(src, dst):
        raise OSError("disk on fire")

    monkeypatch.setattr(credmod.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk on fire"):
        sample().write_file(path)
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["creds"]


@pytest.mark.parametrize("data, message", [
    (b"", "truncated"),
    (b"HX", "bad magic"),
    (b"HD", "truncated"),
    (b"HDTS", "truncated"),
    (b"XXXX\x00\x00\x00", "not a Hadoop token storage file"),
    (b"HDTS\x02\x00\x00", "unknown token storage format 2"),
    (b"HDTS\xff", "unknown token storage format 255"),
    (b"HDTS\x00", "truncated"),
    # token count 2**31-1 with nothing after it: fails on the first missing byte
    (b"HDTS\x00" + bytes.fromhex("8c 7f ff ff ff"), "truncated"),
    # token count that does not fit in an int
    (b"HDTS\x00" + bytes.fromhex("88 7f ff ff ff ff ff ff ff"), "too large"),
    # an identifier claiming 2 GiB: refused before allocating anything
    (b"HDTS\x00\x01\x01a" + bytes.fromhex("8c 7f ff ff ff") + b"x", "claims 2147483647 bytes"),
    (b"HDTS\x00\x01\x01a" + b"\xff", "negative length"),
    (b"HDTS\x00\x01\x02\xff\xfe", "not valid UTF-8"),
    (b"HDTS\x00\x00\x01\x03sec" + bytes.fromhex("8c 7f ff ff ff"), "claims 2147483647 bytes"),
    (b"HDTS\x01" + bytes.fromhex("ff ff ff ff 07"), "claims"),
    (b"HDTS\x01" + bytes.fromhex("ff ff ff ff ff 01"), "longer than 32 bits"),
    (b"HDTS\x01" + bytes.fromhex("ff ff"), "truncated"),
    (b"HDTS\x01\x03\xff\xff\xff", "does not parse"),
])
def test_hostile_bytes(data, message):
    with pytest.raises(CredentialsError, match=message):
        Credentials.from_bytes(data, source="/x/creds")
    with pytest.raises(CredentialsError, match="^/x/creds: "):
        Credentials.from_bytes(data, source="/x/creds")


@pytest.mark.parametrize("good", [WRITABLE_BYTES, PROTOBUF_BYTES])
def test_every_truncation_is_an_error(good):
    for cut in range(len(good)):
        with pytest.raises(CredentialsError):
            Credentials.from_bytes(good[:cut])


@settings(max_examples=300)
@given(st.binary(max_size=80))
def test_garbage_only_raises_credentials_error(tail):
    for head in (b"HDTS\x00", b"HDTS\x01", b""):
        try:
            Credentials.from_bytes(head + tail)
        except CredentialsError:
            pass


def test_read_file_errors_name_the_file(tmp_path, monkeypatch):
    bad = tmp_path / "bad.tokens"
    bad.write_bytes(b"HDTS\x00\x01")
    with pytest.raises(CredentialsError, match=f"^{bad}: malformed WRITABLE"):
        Credentials.read_file(bad)
    missing = tmp_path / "missing"
    with pytest.raises(CredentialsError, match=f"^{missing}: cannot read"):
        Credentials.read_file(missing)
    with pytest.raises(CredentialsError, match="cannot read"):
        Credentials.read_file(tmp_path)  # a directory
    monkeypatch.setattr(credmod, "MAX_FILE_SIZE", 10)
    big = tmp_path / "big"
    big.write_bytes(WRITABLE_BYTES)
    with pytest.raises(CredentialsError, match="too large"):
        Credentials.read_file(big)


def test_secrets_and_passwords_stay_out_of_repr():
    text = repr(Credentials({"a": Token(b"id", b"hunter2", "K", "s")}, {"key": b"sup3rsecret"}))
    assert "hunter2" not in text and "sup3rsecret" not in text
    assert "'key'" in text and "kind='K'" in text


def test_update_and_lookups():
    creds = sample()
    other = Credentials({"a": AMRM, "b": TOKEN}, {"k2": b"2"})
    creds.update(other)
    assert creds.get_token("a") == AMRM
    assert creds.get_secret("sec") == b"xyz" and creds.get_secret("k2") == b"2"
    assert creds.find_token("K", "s:1") == TOKEN
    assert creds.find_token("K", "other") is None
    assert creds.get_token("zzz") is None


def _url(token: Token, padded: bool) -> str:
    text = base64.urlsafe_b64encode(write_token(token)).decode()
    return text if padded else text.rstrip("=")


def test_from_env(tmp_path):
    one = tmp_path / "one"
    Credentials({"a": TOKEN}, {"s1": b"1"}).write_file(one)
    two = tmp_path / "two"
    Credentials({"b": AMRM}).write_file(two)
    inline1 = Token(b"i1", b"p1", "RM_DELEGATION_TOKEN", "rm:8032")
    inline2 = Token(b"i2", b"p2", "HDFS_DELEGATION_TOKEN", "ha-hdfs:ns1x")  # needs padding
    assert len(write_token(inline2)) % 3
    env = {
        "HADOOP_TOKEN_FILE_LOCATION": f" {one} ,{tmp_path / 'absent'},{two},",
        "HADOOP_TOKEN": f"{_url(inline1, padded=False)}, {_url(inline2, padded=True)}",
    }
    creds = Credentials.from_env(env)
    assert creds.tokens == {"a": TOKEN, "b": AMRM, "rm:8032": inline1, "ha-hdfs:ns1x": inline2}
    assert creds.secrets == {"s1": b"1"}


def test_from_env_reads_config_keys_first(tmp_path):
    first = tmp_path / "first"
    Credentials({"a": TOKEN}).write_file(first)
    second = tmp_path / "second"
    Credentials({"a": AMRM}).write_file(second)
    conf = {"hadoop.token.files": str(first), "hadoop.tokens": _url(TOKEN, padded=False)}
    creds = Credentials.from_env({"HADOOP_TOKEN_FILE_LOCATION": str(second)}, conf=conf)
    assert creds.tokens == {"a": AMRM, "s:1": TOKEN}


def test_from_env_empty():
    assert Credentials.from_env({}) == Credentials()


def test_from_env_errors(tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(b"nope")
    with pytest.raises(CredentialsError, match=str(bad)):
        Credentials.from_env({"HADOOP_TOKEN_FILE_LOCATION": str(bad)})
    with pytest.raises(CredentialsError, match="token #2 cannot be decoded"):
        Credentials.from_env({"HADOOP_TOKEN": f"{_url(TOKEN, True)},!!notbase64!!"})


# Written by Hadoop 3.3.6's own Credentials.writeTokenStorageToStream (captured once with the
# realcluster jars; no JVM runs here): token "alias-1" = Token(b"ident\x01", b"pass",
# HDFS_DELEGATION_TOKEN, ha-hdfs:ns1), secret "sec" = 01 02 03.
HADOOP_WRITABLE = bytes.fromhex(
    "48445453000107616c6961732d31066964656e7401047061737315484446535f44454c45474154494f4e5f544f"
    "4b454e0b68612d686466733a6e7331010373656303010203")
HADOOP_PROTOBUF = bytes.fromhex(
    "48445453014b0a3d0a07616c6961732d3112320a066964656e74011204706173731a15484446535f44454c4547"
    "4154494f4e5f544f4b454e220b68612d686466733a6e7331120a0a037365631a03010203")
HADOOP_URL_STRING = "BmlkZW50AQRwYXNzFUhERlNfREVMRUdBVElPTl9UT0tFTgtoYS1oZGZzOm5zMQ"


def test_files_written_by_hadoop():
    token = Token(b"ident\x01", b"pass", "HDFS_DELEGATION_TOKEN", "ha-hdfs:ns1")
    expected = Credentials({"alias-1": token}, {"sec": b"\x01\x02\x03"})
    assert Credentials.from_bytes(HADOOP_WRITABLE) == expected
    assert Credentials.from_bytes(HADOOP_PROTOBUF) == expected
    assert expected.to_bytes() == HADOOP_WRITABLE
    assert expected.to_bytes(CredentialsFormat.PROTOBUF) == HADOOP_PROTOBUF
    assert token_to_url_string(token) == HADOOP_URL_STRING
    assert token_from_url_string(HADOOP_URL_STRING) == token


def test_errors_are_pyarn_errors():
    from pyarn.errors import PyarnError
    from pyarn.security.writable import WritableError

    assert issubclass(CredentialsError, PyarnError)
    assert issubclass(WritableError, PyarnError) and issubclass(WritableError, ValueError)
