"""Block reads and writes through DataTransfer SASL, over loopback, against a secure test DataNode.

The DataNode (:class:`~tests.hdfs.datanode_peer.DataNodePeer` with ``sasl`` set)
runs the server side of the handshake with a real DIGEST-MD5 server mechanism and
frames (or AES-encrypts) everything after it by its own hand-rolled code.
"""
from __future__ import annotations

import os
import time
from functools import partial

import pytest

from hadoop_protos import hdfs_pb2
from hadoop_protos.security_pb2 import TokenProto
from pyarn.conf import Configuration
from pyarn.hdfs import HDFS
from pyarn.hdfs.blocks import (
    BlockTokenError,
    BlockWriter,
    DataNodeError,
    PipelineError,
    connect_datanode,
    read_block,
)
from pyarn.hdfs.datatransfer_sasl import AES_CTR_NOPADDING, DataEncryptionKey, DataTransferProtectionError
from pyarn.hdfs.streams import HdfsReader
from pyarn.hdfs.transfer_security import DataTransferSecurity, InvalidEncryptionKeyError, ProtectedSocket
from pyarn.ipc.constants import Qop
from pyarn.ipc.sasl.digest_layer import available_ciphers
from pyarn.security.writable import encode_text, encode_vint, encode_vlong

from .datanode_peer import CHECKSUM_OK, DataNodePeer, SaslServer
from .fake_namenode import FakeNameNode

CLIENT = "DFSClient_NONMAPREDUCE_secure_1"
IDENTIFIER = (encode_vlong(1_900_000_000_000) + encode_vint(3) + encode_text("alice") + encode_text("BP-test")
              + encode_vlong(7) + encode_vint(2) + encode_text("READ") + encode_text("WRITE"))
TOKEN = TokenProto(identifier=IDENTIFIER, password=b"block-token-password", kind="HDFS_BLOCK_TOKEN",
                   service="")
KEY = DataEncryptionKey(12, "BP-test", b"nonce-bytes", os.urandom(16), 1 << 50)
KEYS = {(KEY.key_id, KEY.block_pool_id, KEY.nonce): KEY.encryption_key}
MARK = b"THE-APPLICATION-BYTES-" * 40
factory = partial(connect_datanode, timeout=10)


@pytest.fixture
def peer():
    p = DataNodePeer()
    p.block_token = TOKEN
    p.sasl = SaslServer(tokens={IDENTIFIER: TOKEN.password})
    yield p
    p.close()


def security(*qops: Qop, **kwargs) -> DataTransferSecurity:
    return DataTransferSecurity(security_enabled=True, qops=qops or (Qop.AUTH_CONF,), **kwargs)


def write(peer, data, sec, block_id=7, **kwargs):
    with BlockWriter(factory, peer.located_block(block_id), CLIENT, security=sec, **kwargs) as writer:
        for start in range(0, len(data), 100_000):
            writer.write(data[start:start + 100_000])
    peer.wait_idle()
    return writer


def read(peer, sec, block_id=7, offset=0, length=None):
    length = len(peer.blocks[block_id][0]) - offset if length is None else length
    try:
        located = peer.located_block(block_id)
        return b"".join(read_block(factory, located, offset, length, CLIENT, security=sec))
    finally:
        peer.wait_idle()


@pytest.mark.parametrize("qop", ["auth", "auth-int", "auth-conf"])
@pytest.mark.parametrize("size", [1, 513, 200_000])
def test_write_and_read_at_each_qop(peer, qop, size):
    peer.sasl.qops = (qop,)
    data = (MARK * (size // len(MARK) + 1))[:size]
    write(peer, data, security(Qop(qop)))
    assert peer.received.problems == []
    assert peer.blocks[7][0] == data
    assert read(peer, security(Qop(qop))) == data
    assert read(peer, security(Qop(qop)), offset=size // 2, length=size - size // 2) == data[size // 2:]
    assert peer.received.read_statuses == [CHECKSUM_OK] * 2
    assert peer.received.sasl_qops == [qop] * 3
    # what the client sent: in clear unless privacy
    assert (MARK[:200] in peer.received.wire) is (qop != "auth-conf" and size > 200)
    assert peer.received.wire[:4] == b"\xde\xad\xbe\xef"


def test_client_preference_order_decides(peer):
    peer.sasl.qops = ("auth-conf", "auth-int", "auth")
    write(peer, b"x" * 1000, security(Qop.AUTH_INT, Qop.AUTH_CONF))
    assert peer.received.sasl_qops == ["auth-int"]


@pytest.mark.parametrize("cipher", available_ciphers())
def test_every_privacy_cipher_end_to_end(peer, cipher):
    peer.sasl.ciphers = (cipher,)
    data = os.urandom(150_001)
    write(peer, data, security())
    assert peer.blocks[7][0] == data and read(peer, security()) == data


@pytest.mark.parametrize("bits", [128, 256])
def test_aes_ctr_cipher_option(peer, bits):
    peer.sasl.cipher_suites = True
    peer.sasl.key_bits = bits
    data = MARK * 300
    write(peer, data, security(cipher_suites=AES_CTR_NOPADDING))
    assert peer.blocks[7][0] == data
    assert read(peer, security(cipher_suites=AES_CTR_NOPADDING)) == data
    assert MARK[:100] not in peer.received.wire
    asked = peer.received.sasl_messages[1].cipherOption
    assert [o.suite for o in asked] == [hdfs_pb2.AES_CTR_NOPADDING]
    # a client that does not ask keeps the SASL layer
    assert read(peer, security()) == data
    assert len(peer.received.sasl_messages[-1].cipherOption) == 0


def test_encrypted_handshake_with_the_namenodes_key(peer):
    peer.block_token = TokenProto(identifier=b"", password=b"", kind="", service="")  # not used
    peer.sasl = SaslServer(encrypted=True, keys=KEYS)
    asked = []
    sec = DataTransferSecurity(security_enabled=False, encryption_key=lambda: asked.append(1) or KEY)
    data = MARK * 100
    write(peer, data, sec)
    assert read(peer, sec) == data
    assert peer.received.sasl_qops == ["auth-conf", "auth-conf"]
    assert MARK[:100] not in peer.received.wire
    assert asked == [1], "the key is fetched once and kept until it expires"


def test_an_expired_key_is_fetched_again(peer):
    old = DataEncryptionKey(11, "BP-test", b"old-nonce", os.urandom(16), 1 << 50)
    peer.sasl = SaslServer(encrypted=True, keys=KEYS)
    keys = [old, KEY]
    sec = DataTransferSecurity(encryption_key=lambda: keys.pop(0))
    write(peer, b"data" * 1000, sec)  # refused with ERROR_UNKNOWN_KEY, then again with a new key
    assert keys == [] and peer.blocks[7][0] == b"data" * 1000
    clock = [0.0]
    keys = [DataEncryptionKey(12, "BP-test", b"nonce-bytes", KEY.encryption_key, 5_000), KEY]
    sec = DataTransferSecurity(encryption_key=lambda: keys.pop(0), clock=lambda: clock[0])
    sec.encryption_key()
    clock[0] = 10.0  # past expiry (5 s): a new key is asked for
    assert sec.encryption_key() is KEY and keys == []


def test_an_unknown_key_twice_is_an_error(peer):
    peer.sasl = SaslServer(encrypted=True, keys={})
    sec = DataTransferSecurity(encryption_key=lambda: KEY)
    with pytest.raises(InvalidEncryptionKeyError, match="does not know this client's data encryption key"):
        read(peer_with_block(peer), sec)


def peer_with_block(peer, data=b"abc" * 1000, block_id=7):
    peer.blocks[block_id] = (data, 2, 512)
    return peer


def test_bad_block_token_on_read_and_write(peer):
    peer_with_block(peer)
    peer.block_token = TokenProto(identifier=IDENTIFIER, password=b"wrong", kind="", service="")
    with pytest.raises(BlockTokenError, match="refused the block token in the SASL handshake.*Mismatched"):
        read(peer, security())
    with pytest.raises(BlockTokenError, match="refused the block token"):
        write(peer, b"x", security(), block_id=8)
    peer.block_token = TokenProto(identifier=IDENTIFIER + b"\x00", password=b"p", kind="", service="")
    with pytest.raises(BlockTokenError, match="unknown identifier"):
        read(peer, security())


def test_token_refusal_flag_of_newer_datanodes(peer):
    peer_with_block(peer)
    peer.sasl.token_error_flag = True
    peer.block_token = TokenProto(identifier=b"\x01" + IDENTIFIER, password=b"p", kind="", service="")
    with pytest.raises(BlockTokenError, match="refused the block token"):
        read(peer, security())


def test_protection_mismatch_fails_at_once_and_tells_the_datanode(peer):
    peer_with_block(peer)
    peer.sasl.qops = ("auth-conf",)
    message = (r"DataNode 127\.0\.0\.1:\d+: No common protection layer between client and DataNode: "
               r"this client's dfs.data.transfer.protection is authentication, the DataNode's is privacy")
    with pytest.raises(DataTransferProtectionError, match=message):
        read(peer, security(Qop.AUTH))
    with pytest.raises(DataTransferProtectionError, match=message):
        write(peer, b"x", security(Qop.AUTH), block_id=9)
    peer.wait_idle()
    assert len(peer.received.sasl_client_errors) == 2
    assert "No common protection layer" in peer.received.sasl_client_errors[0]


def test_reader_does_not_retry_a_protection_mismatch(peer):
    peer_with_block(peer)
    peer.sasl.qops = ("auth-int",)
    namenode = FakeNameNode([peer])
    namenode.nodes["/f"] = namenode.nodes["/"].__class__(namenode.nodes["/"].type.FILE, 0o644, 5)
    namenode.nodes["/f"].blocks.append(hdfs_pb2.ExtendedBlockProto(poolId="BP-test", blockId=7,
                                                                    generationStamp=1000, numBytes=3000))
    namenode.block_token = TOKEN
    slept = []
    started = time.monotonic()
    reader = HdfsReader(namenode, "/f", factory, security=security(Qop.AUTH_CONF), sleep=slept.append)
    with pytest.raises(DataTransferProtectionError, match="integrity"):
        reader.read()
    assert slept == [] and time.monotonic() - started < 2
    reader = HdfsReader(namenode, "/f", factory, security=security(Qop.AUTH_INT), sleep=slept.append)
    assert reader.read() == b"abc" * 1000


def test_an_unprotected_client_gets_a_hint(peer):
    peer_with_block(peer)
    sec = DataTransferSecurity(security_enabled=True, qops=())
    with pytest.raises(DataNodeError, match="sets no dfs.data.transfer.protection"):
        read(peer, sec)
    with pytest.raises(PipelineError, match="sets no dfs.data.transfer.protection"):
        write(peer, b"x", sec, block_id=9)
    peer.wait_idle()
    assert peer.received.problems.count("no SASL magic number") == 2


def test_when_no_handshake_happens():
    datanode = hdfs_pb2.DatanodeInfoProto(id=hdfs_pb2.DatanodeIDProto(
        ipAddr="127.0.0.1", hostName="h", datanodeUuid="u", xferPort=1004, infoPort=0, ipcPort=0))
    assert security().handshake_for(datanode, TOKEN) is None  # privileged port: trusted
    datanode.id.xferPort = 9866
    assert security().handshake_for(datanode, TOKEN) is not None
    assert DataTransferSecurity(qops=(Qop.AUTH_CONF,)).handshake_for(datanode, TOKEN) is None  # simple auth
    assert DataTransferSecurity(security_enabled=True).handshake_for(datanode, TOKEN) is None
    assert DataTransferSecurity(encryption_key=lambda: KEY).handshake_for(datanode, None).encrypted
    assert security().unprotected_hint(datanode) == ""


def test_security_from_the_configuration():
    conf = Configuration({"hadoop.security.authentication": "Kerberos",
                          "dfs.data.transfer.protection": "integrity,privacy",
                          "dfs.encrypt.data.transfer.cipher.suites": AES_CTR_NOPADDING})
    sec = DataTransferSecurity.from_conf(conf)
    assert sec.security_enabled and sec.qops == (Qop.AUTH_INT, Qop.AUTH_CONF)
    assert sec.cipher_suites == AES_CTR_NOPADDING and sec.encryption_key() is None
    assert "integrity,privacy" in repr(sec)
    plain = DataTransferSecurity.from_conf(Configuration({}))
    assert not plain.security_enabled and plain.qops == ()
    with pytest.raises(ValueError, match="dfs.data.transfer.protection"):
        DataTransferSecurity.from_conf(Configuration({"dfs.data.transfer.protection": "secret"}))


def test_heartbeats_and_acks_through_a_protected_socket(peer):
    peer.sasl.qops = ("auth-int",)
    located = peer.located_block(7)
    sec = security(Qop.AUTH_INT)
    with BlockWriter(factory, located, CLIENT, security=sec, heartbeat_interval=0) as writer:
        assert isinstance(writer._sock, ProtectedSocket)
        writer.write(b"a" * 70_000)
        writer.heartbeat()
        writer.write(b"b" * 70_000)
    peer.wait_idle()
    assert -1 in [p.seqno for p in peer.received.packets]
    assert peer.blocks[7][0] == b"a" * 70_000 + b"b" * 70_000


# -- through the file-system API ------------------------------------------------------------


def secure_fs(peer, **conf) -> HDFS:
    values = {"fs.defaultFS": "hdfs://nn.example.com:8020", "dfs.blocksize": "64k", "dfs.replication": "1",
              "hadoop.security.authentication": "kerberos", **conf}
    namenode = FakeNameNode([peer])
    namenode.block_token = TOKEN
    namenode.mkdirs("/user/alice")
    return HDFS(conf=Configuration(values), user="alice", namenode=namenode)


@pytest.mark.parametrize("protection", ["authentication", "integrity", "privacy"])
def test_put_and_get_on_a_secure_datanode(peer, tmp_path, protection):
    peer.sasl.qops = (Qop.from_protection(protection).value,)
    fs = secure_fs(peer, **{"dfs.data.transfer.protection": protection})
    data = os.urandom(64 * 1024 * 3 + 1)  # three blocks and one byte
    (tmp_path / "in").write_bytes(data)
    fs.put(tmp_path / "in", "f")
    fs.get("f", tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == data
    assert set(peer.received.sasl_qops) == {Qop.from_protection(protection).value}
    fs.close()


def test_encrypted_cluster_through_the_file_system_api(peer, tmp_path):
    import attrs

    peer.sasl = SaslServer(encrypted=True, keys=KEYS)
    fs = secure_fs(peer)
    fs.namenode.defaults = attrs.evolve(fs.namenode.defaults, encrypt_data_transfer=True)
    fs.namenode.data_encryption_keys = [KEY]
    with fs.open("f", "wb") as out:
        out.write(MARK * 500)
    with fs.open("f") as back:
        assert back.read() == MARK * 500
    assert [c for c in fs.namenode.calls if c[0] == "getDataEncryptionKey"] == [("getDataEncryptionKey",)]
    assert MARK[:100] not in peer.received.wire
    fs.close()
