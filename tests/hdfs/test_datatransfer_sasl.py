"""The DataTransfer SASL handshake and protected stream, bytes in and bytes out (no sockets).

The DataNode's side is played here by hand: its messages are built with the
generated protobuf classes and ``struct``, its DIGEST-MD5 by pyarn's server
mechanism (``DigestMd5Server``, with ``realm="0"`` and digest-uri ``hdfs/0`` as the
JDK server of ``SaslParticipant`` has them).
"""
from __future__ import annotations

import base64
import os
import pickle
import struct

import pytest

from hadoop_protos import datatransfer_pb2 as dt
from hadoop_protos import hdfs_pb2
from pyarn.errors import AuthenticationError, LocalProtocolError
from pyarn.hdfs.datatransfer import DataTransferError
from pyarn.hdfs.datatransfer_sasl import (
    AES_CTR_NOPADDING,
    MAGIC,
    SASL_TRANSFER_MAGIC_NUMBER,
    BlockTokenIdentifier,
    CipherOption,
    CipherStreamCodec,
    DataEncryptionKey,
    DataTransferProtectionError,
    SaslDataTransferClient,
    SaslRefusedError,
    SaslStreamCodec,
    block_token_credentials,
    encode_sasl_message,
    encryption_key_credentials,
    parse_protection,
)
from pyarn.ipc.constants import Qop
from pyarn.ipc.sasl.digest_layer import available_ciphers
from pyarn.ipc.sasl.digest_md5 import DigestMd5Server
from pyarn.ipc.sasl.directives import parse_directives
from pyarn.ipc.sasl.mechanism import SecurityLayer
from pyarn.security.writable import encode_text, encode_vint, encode_vlong

from .datanode_peer import delimited, sasl_message

IDENTIFIER = (encode_vlong(1_700_000_000_000) + encode_vint(42) + encode_text("alice")
              + encode_text("BP-1-127.0.0.1-1") + encode_vlong(1073741825) + encode_vint(1)
              + encode_text("READ"))
PASSWORD = bytes(range(20))
ALL = (Qop.AUTH_CONF, Qop.AUTH_INT, Qop.AUTH)


def parse(data: bytes) -> dt.DataTransferEncryptorMessageProto:
    """One varint-delimited message that must be all of ``data``."""
    size, shift, pos = 0, 0, 0
    while True:
        byte = data[pos]
        pos += 1
        size |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    assert len(data) == pos + size, "exactly one message"
    return dt.DataTransferEncryptorMessageProto.FromString(data[pos:])


def server_for(qops=("auth-conf",), password=PASSWORD, ciphers=None) -> DigestMd5Server:
    def password_for(username: str) -> str:
        assert base64.b64decode(username) == IDENTIFIER
        return base64.b64encode(password).decode()
    return DigestMd5Server(password_for, realm="0", protocol="hdfs", server_id="0",
                           qops=[Qop(q) for q in qops], ciphers=ciphers)


def token_client(qops=ALL, **kwargs) -> SaslDataTransferClient:
    return SaslDataTransferClient.for_block_token(IDENTIFIER, PASSWORD, qops, **kwargs)


def run(client, server, *, option=None, one_byte_at_a_time=False):
    """Both sides to the end; returns the client's three messages (after the magic number)."""
    first = client.initiate()
    assert first[:4] == MAGIC
    sent = [parse(first[4:])]

    def deliver(data: bytes) -> bytes:
        if not one_byte_at_a_time:
            return client.receive_data(data)
        out = b""
        for i in range(len(data)):
            out += client.receive_data(data[i:i + 1])
        return out

    challenge = server.evaluate_response(bytes(sent[0].payload))
    second = deliver(sasl_message(payload=challenge))
    sent.append(parse(second))
    final = server.evaluate_response(bytes(sent[1].payload))
    fields = {}
    if option is not None:
        wrapped = hdfs_pb2.CipherOptionProto()
        wrapped.CopyFrom(option)
        wrapped.inKey, wrapped.outKey = server.wrap(option.inKey), server.wrap(option.outKey)
        fields["cipherOption"] = [wrapped]
    assert deliver(sasl_message(payload=final, **fields)) == b""
    assert client.done
    return sent


# -- bytes on the wire ------------------------------------------------------------------------


def test_magic_number_and_the_first_message_byte_by_byte():
    assert SASL_TRANSFER_MAGIC_NUMBER == 0xDEADBEEF
    assert struct.unpack(">i", MAGIC)[0] == -559038737  # Java's int
    # magic, length 4, status SUCCESS (field 1 = 0), payload "" (field 2, length 0)
    assert token_client().initiate() == bytes.fromhex("deadbeef" "04" "0800" "1200")


def test_messages_are_varint_delimited_protos():
    assert encode_sasl_message(b"xy") == bytes.fromhex("06" "0800" "1202") + b"xy"
    error = encode_sasl_message(status=2, message="no")
    assert error == bytes.fromhex("06" "0802" "1a02") + b"no"
    assert parse(error).status == dt.DataTransferEncryptorMessageProto.ERROR
    with_secret = encode_sasl_message(b"", handshake_secret=(b"\x01\x02", "BP-1"))
    message = parse(with_secret)
    assert message.handshakeSecret.secret == b"\x01\x02" and message.handshakeSecret.bpid == "BP-1"
    option = parse(encode_sasl_message(b"r", cipher_options=[CipherOption()])).cipherOption[0]
    assert option.suite == hdfs_pb2.AES_CTR_NOPADDING and not option.HasField("inKey")


def test_general_user_name_is_base64_of_the_token_identifier():
    username, password = block_token_credentials(IDENTIFIER, PASSWORD)
    assert username == base64.b64encode(IDENTIFIER).decode() and "=" in username + "="
    assert password == base64.b64encode(PASSWORD).decode()
    client = token_client()
    sent = run(client, server_for())
    response = parse_directives(bytes(sent[1].payload))
    assert response["username"] == username.encode()
    assert response["digest-uri"] == b"hdfs/0" and response["realm"] == b"0"
    assert PASSWORD not in b"".join(m.SerializeToString() for m in sent)
    assert password.encode() not in b"".join(m.SerializeToString() for m in sent)


def test_encrypted_handshake_user_name_and_password():
    key = DataEncryptionKey(7, "BP-9", b"\x00\xffnonce", b"K" * 16, 1 << 50, "rc4")
    assert encryption_key_credentials(key) == ("7 BP-9 AP9ub25jZQ==", base64.b64encode(b"K" * 16).decode())
    assert "KKKK" not in repr(key) and "rc4" in repr(key)
    proto = key.to_proto()
    assert DataEncryptionKey.from_proto(proto) == key
    assert not key.expired(1000) and key.expired((1 << 50) + 1)
    proto.ClearField("encryptionAlgorithm")
    assert DataEncryptionKey.from_proto(proto).encryption_algorithm is None


# -- block token identifiers --------------------------------------------------------------------


def test_block_token_identifier_of_hdfs_2_7():
    parsed = BlockTokenIdentifier.from_bytes(IDENTIFIER)
    assert parsed == BlockTokenIdentifier(1_700_000_000_000, 42, "alice", "BP-1-127.0.0.1-1", 1073741825,
                                          ("READ",))
    assert token_client().initiate() == MAGIC + encode_sasl_message(b"")


def test_block_token_identifier_of_hdfs_3_with_a_handshake_secret():
    identifier = (IDENTIFIER + encode_vint(1) + encode_text("DISK") + encode_vint(1) + encode_text("DS-1")
                  + encode_vint(9) + b"auth-conf")
    parsed = BlockTokenIdentifier.from_bytes(identifier)
    assert parsed.storage_types == ("DISK",) and parsed.storage_ids == ("DS-1",)
    assert parsed.handshake_secret == b"auth-conf"
    first = SaslDataTransferClient.for_block_token(identifier, PASSWORD, ALL).initiate()
    message = parse(first[4:])
    assert message.handshakeSecret.secret == b"auth-conf"
    assert message.handshakeSecret.bpid == "BP-1-127.0.0.1-1"


def test_protobuf_block_token_identifier():
    proto = hdfs_pb2.BlockTokenSecretProto(expiryDate=5, keyId=6, userId="bob", blockPoolId="BP-2", blockId=7,
                                           modes=[hdfs_pb2.WRITE], storageTypes=[hdfs_pb2.SSD],
                                           storageIds=["DS-2"], handshakeSecret=b"s")
    parsed = BlockTokenIdentifier.from_bytes(proto.SerializeToString())
    assert parsed == BlockTokenIdentifier(5, 6, "bob", "BP-2", 7, ("WRITE",), ("SSD",), ("DS-2",), b"s")


@pytest.mark.parametrize("junk", [b"", b"\x8e\x01", IDENTIFIER[:-2], b"\x0a\xff\xff"])
def test_malformed_identifiers(junk):
    with pytest.raises(ValueError, match="block token identifier"):
        BlockTokenIdentifier.from_bytes(junk)
    if junk:  # an identifier the client cannot read is still sent, as Java does
        assert SaslDataTransferClient.for_block_token(junk, PASSWORD, ALL).initiate()[:4] == MAGIC


# -- negotiation --------------------------------------------------------------------------------


@pytest.mark.parametrize("client_qops,server_qops,agreed", [
    ((Qop.AUTH_CONF,), ("auth-conf",), Qop.AUTH_CONF),
    ((Qop.AUTH_INT,), ("auth-int",), Qop.AUTH_INT),
    ((Qop.AUTH,), ("auth",), Qop.AUTH),
    (ALL, ("auth", "auth-int"), Qop.AUTH_INT),          # the client's preference wins
    ((Qop.AUTH, Qop.AUTH_CONF), ("auth-conf", "auth"), Qop.AUTH),
])
def test_qop_negotiation(client_qops, server_qops, agreed):
    client = token_client(client_qops)
    server = server_for(server_qops)
    run(client, server)
    assert client.qop is agreed is server.qop
    codec = client.codec()
    if agreed is Qop.AUTH:
        assert codec is None
    else:
        assert isinstance(codec, SaslStreamCodec)
        assert server.unwrap(codec.encode(b"ping")[4:]) == b"ping"


def test_server_messages_one_byte_at_a_time():
    client = token_client()
    run(client, server_for(), one_byte_at_a_time=True)
    assert client.qop is Qop.AUTH_CONF and client.unused_data == b""


def test_bytes_after_the_last_message_belong_to_the_stream():
    client = token_client((Qop.AUTH_INT,))
    server = server_for(("auth-int",))
    first = parse(client.initiate()[4:])
    second = parse(client.receive_data(sasl_message(payload=server.evaluate_response(bytes(first.payload)))))
    final = server.evaluate_response(bytes(second.payload))
    frame = server.wrap(b"early")
    assert client.receive_data(sasl_message(payload=final) + struct.pack(">I", len(frame)) + frame) == b""
    assert client.codec().decode(client.unused_data) == b"early"


@pytest.mark.parametrize("cipher", available_ciphers())
def test_every_digest_cipher(cipher):
    client = token_client((Qop.AUTH_CONF,))
    server = server_for(ciphers=(cipher,))
    run(client, server)
    assert client.mechanism.cipher == cipher
    codec = client.codec()
    for size in (0, 1, 7, 8, 9, 1000):
        data = os.urandom(size)
        frame = codec.encode(data)
        assert (server.unwrap(frame[4:]) if data else b"") == data
        reply = server.wrap(data) if data else b""
        assert codec.decode(struct.pack(">I", len(reply)) + reply) == data


def test_no_common_protection_names_both_settings():
    client = token_client((Qop.AUTH_INT, Qop.AUTH))
    first = parse(client.initiate()[4:])
    challenge = server_for(("auth-conf",)).evaluate_response(bytes(first.payload))
    with pytest.raises(DataTransferProtectionError,
                       match=r"dfs.data.transfer.protection is integrity,authentication, "
                             r"the DataNode's is privacy") as info:
        client.receive_data(sasl_message(payload=challenge))
    assert info.value.preferred == (Qop.AUTH_INT, Qop.AUTH) and info.value.offered == (Qop.AUTH_CONF,)
    told = parse(client.error_message(str(info.value)))
    assert told.status == dt.DataTransferEncryptorMessageProto.ERROR and "No common" in told.message
    with pytest.raises(LocalProtocolError):
        client.receive_data(b"")


def test_encrypted_handshake_needs_privacy():
    key = DataEncryptionKey(1, "BP-1", b"n", b"k" * 16, 1 << 50)
    client = SaslDataTransferClient.for_encryption_key(key)
    assert client.qops == (Qop.AUTH_CONF,) and client.encrypted
    first = parse(client.initiate()[4:])
    server = DigestMd5Server(lambda u: "x", realm="0", protocol="hdfs", server_id="0", qops=[Qop.AUTH_INT])
    with pytest.raises(DataTransferProtectionError, match="encrypted handshake.*needs privacy"):
        client.receive_data(sasl_message(payload=server.evaluate_response(bytes(first.payload))))


def test_encrypted_handshake_insists_on_the_keys_algorithm():
    key = DataEncryptionKey(1, "BP-1", b"n", b"k" * 16, 1 << 50, "rc4")
    username, password = encryption_key_credentials(key)
    server = DigestMd5Server(lambda u: password if u == username else "?", realm="0", protocol="hdfs",
                             server_id="0", qops=[Qop.AUTH_CONF])
    client = SaslDataTransferClient.for_encryption_key(key)
    run(client, server)
    assert client.mechanism.cipher == "rc4" == server.cipher
    only_3des = DigestMd5Server(lambda u: password, realm="0", protocol="hdfs", server_id="0",
                                qops=[Qop.AUTH_CONF], ciphers=("3des",))
    client = SaslDataTransferClient.for_encryption_key(key)
    first = parse(client.initiate()[4:])
    with pytest.raises(AuthenticationError, match="does not offer the cipher 'rc4'"):
        client.receive_data(sasl_message(payload=only_3des.evaluate_response(bytes(first.payload))))


@pytest.mark.parametrize("status,unknown_key", [(2, False), (1, True)])
def test_the_datanode_refuses(status, unknown_key):
    client = token_client()
    client.initiate()
    with pytest.raises(SaslRefusedError, match="DataNode: .*went wrong") as info:
        client.receive_data(sasl_message(status, message="it went wrong", accessTokenError=status == 2))
    assert info.value.unknown_key is unknown_key and info.value.peer_message == "it went wrong"
    assert info.value.access_token_error is (status == 2)
    copy = pickle.loads(pickle.dumps(info.value))
    assert (str(copy), copy.status, copy.access_token_error) == (str(info.value), status, status == 2)


def test_refusal_after_the_response():
    client = token_client()
    first = parse(client.initiate()[4:])
    client.receive_data(sasl_message(payload=server_for().evaluate_response(bytes(first.payload))))
    with pytest.raises(SaslRefusedError, match="Mismatched response"):
        client.receive_data(sasl_message(2, message="DIGEST-MD5: digest response format violation. "
                                                    "Mismatched response."))


def test_a_wrong_server_proof_is_refused():
    client = token_client()
    first = parse(client.initiate()[4:])
    client.receive_data(sasl_message(payload=server_for().evaluate_response(bytes(first.payload))))
    with pytest.raises(AuthenticationError, match="rspauth"):
        client.receive_data(sasl_message(payload=b"rspauth=00000000000000000000000000000000"))


def test_bad_bytes_from_the_datanode():
    client = token_client()
    client.initiate()
    with pytest.raises(DataTransferError, match="challenge is empty"):
        client.receive_data(sasl_message(payload=b""))
    client = token_client()
    client.initiate()
    with pytest.raises(DataTransferError, match="exceeds"):
        client.receive_data(b"\xff\xff\xff\x7f")
    client = token_client()
    client.initiate()
    with pytest.raises(DataTransferError, match="lacks required fields"):
        client.receive_data(b"\x02\x12\x00")  # no status


def test_misuse():
    client = token_client()
    with pytest.raises(LocalProtocolError):
        client.receive_data(b"x")
    with pytest.raises(LocalProtocolError):
        client.codec()
    client.initiate()
    with pytest.raises(LocalProtocolError):
        client.initiate()
    with pytest.raises(ValueError, match="at least one QOP"):
        SaslDataTransferClient.for_block_token(IDENTIFIER, PASSWORD, ())


# -- AES/CTR cipher option ----------------------------------------------------------------------


def aes_option(bits=128) -> hdfs_pb2.CipherOptionProto:
    size = bits // 8
    return hdfs_pb2.CipherOptionProto(suite=hdfs_pb2.AES_CTR_NOPADDING, inKey=os.urandom(size),
                                      inIv=os.urandom(16), outKey=os.urandom(size), outIv=os.urandom(16))


@pytest.mark.parametrize("bits", [128, 256])
def test_aes_cipher_option(bits):
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    client = token_client(cipher_suites=AES_CTR_NOPADDING)
    server = server_for()
    option = aes_option(bits)
    sent = run(client, server, option=option)
    assert [o.suite for o in sent[1].cipherOption] == [hdfs_pb2.AES_CTR_NOPADDING]
    assert not sent[1].cipherOption[0].HasField("inKey")
    assert client.cipher_option.in_key == option.inKey and client.cipher_option.out_key == option.outKey
    assert "bit keys" in repr(client.cipher_option) and option.inKey.hex() not in repr(client.cipher_option)
    codec = client.codec()
    assert isinstance(codec, CipherStreamCodec)
    plain = os.urandom(100_000)
    # the DataNode decrypts with the in key and IV, one counter stream across writes
    datanode_in = Cipher(algorithms.AES(option.inKey), modes.CTR(option.inIv)).decryptor()
    assert datanode_in.update(codec.encode(plain[:33]) + codec.encode(plain[33:])) == plain
    datanode_out = Cipher(algorithms.AES(option.outKey), modes.CTR(option.outIv)).encryptor()
    sealed = datanode_out.update(plain)
    assert codec.decode(sealed[:5]) + codec.decode(sealed[5:]) == plain
    peer = CipherStreamCodec(client.cipher_option, client=False)
    assert peer.decode(client.codec().encode(b"both ways")) == b"both ways"


def test_cipher_option_only_with_privacy_and_when_asked():
    sent = run(token_client((Qop.AUTH_INT,), cipher_suites=AES_CTR_NOPADDING), server_for(("auth-int",)))
    assert len(sent[1].cipherOption) == 0
    client = token_client()
    sent = run(client, server_for())
    assert len(sent[1].cipherOption) == 0 and client.cipher_option is None
    assert isinstance(client.codec(), SaslStreamCodec)
    # privacy requested but integrity agreed: no option is offered to unwrap
    client = token_client((Qop.AUTH_CONF, Qop.AUTH_INT), cipher_suites=AES_CTR_NOPADDING)
    sent = run(client, server_for(("auth-int",)))
    assert len(sent[1].cipherOption) == 1 and client.cipher_option is None


def test_a_cipher_option_the_client_did_not_offer_is_refused():
    client = token_client()  # no cipher suites configured
    with pytest.raises(DataTransferError, match="did not offer"):
        run(client, server_for(), option=aes_option())


def test_bad_cipher_suite_setting():
    with pytest.raises(ValueError, match="dfs.encrypt.data.transfer.cipher.suites=AES/GCM"):
        token_client(cipher_suites="AES/GCM")


# -- the protected stream ---------------------------------------------------------------------


class Marking(SecurityLayer):
    """A layer whose wrap is visible: ``[`` + bytes + ``]``."""

    qop = Qop.AUTH_INT

    def __init__(self, size=5) -> None:
        self.size = size

    @property
    def max_wrap_size(self) -> int:
        return self.size

    def wrap(self, data: bytes) -> bytes:
        return b"[" + data + b"]"

    def unwrap(self, data: bytes) -> bytes:
        if data[:1] != b"[" or data[-1:] != b"]":
            raise DataTransferError("not a marked frame")
        return data[1:-1]


def test_frames_are_a_length_and_the_wrapped_bytes_cut_at_the_peers_maxbuf():
    codec = SaslStreamCodec(Marking(5))
    assert codec.encode(b"") == b""
    assert codec.encode(b"abc") == b"\x00\x00\x00\x05[abc]"
    assert codec.encode(b"0123456789ab") == (b"\x00\x00\x00\x07[01234]" b"\x00\x00\x00\x07[56789]"
                                             b"\x00\x00\x00\x04[ab]")
    stream = codec.encode(b"0123456789ab") + b"\x00\x00\x00\x02[]"
    out = b"".join(codec.decode(stream[i:i + 3]) for i in range(0, len(stream), 3))
    assert out == b"0123456789ab" and codec.buffered == 0
    assert codec.decode(b"\x00\x00\x00\x07[01") == b"" and codec.buffered == 7


def test_bad_frames():
    with pytest.raises(DataTransferError, match="exceeds the 100-byte limit"):
        SaslStreamCodec(Marking(), max_frame=100).decode(b"\x00\x00\x00\x65")
    with pytest.raises(DataTransferError, match="failed its check"):
        SaslStreamCodec(Marking()).decode(b"\x00\x00\x00\x02xy")
    client = token_client((Qop.AUTH_INT,))
    server = server_for(("auth-int",))
    run(client, server)
    frame = bytearray(server.wrap(b"payload"))
    frame[0] ^= 1
    with pytest.raises(DataTransferError, match="MAC"):
        client.codec().decode(struct.pack(">I", len(frame)) + bytes(frame))


def test_parse_protection():
    assert parse_protection(None) == () == parse_protection(" ")
    assert parse_protection("privacy, integrity,authentication") == ALL
    assert parse_protection("integrity,integrity") == (Qop.AUTH_INT,)
    with pytest.raises(ValueError, match="dfs.data.transfer.protection: 'secret' is not one of"):
        parse_protection("privacy,secret")


def test_the_test_helpers_frame_like_the_library():
    assert delimited(dt.DataTransferEncryptorMessageProto(status=0, payload=b"")) == encode_sasl_message(b"")
