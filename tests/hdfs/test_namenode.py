"""NameNode records and the typed client, over a scripted proxy (no sockets)."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Callable, Dict, List

import pytest

from hadoop_protos import acl_pb2, hdfs_pb2, security_pb2
from hadoop_protos import client_namenode_pb2 as cn
from pyarn.conf import Configuration
from pyarn.errors import (
    AccessControlError,
    FileAlreadyExistsError,
    ParentNotDirectoryError,
    PyarnError,
    RemoteFileNotFoundError,
    remote_error,
)
from pyarn.hdfs.checksum import ChecksumType, DataChecksum
from pyarn.hdfs.namenode import (
    AlreadyBeingCreatedError,
    CompleteFileError,
    ContentSummary,
    DirectoryNotEmptyError,
    FileStatus,
    FileType,
    NameNodeClient,
    NotReplicatedYetError,
    QuotaExceededError,
    ServerDefaults,
    new_client_name,
    permission_string,
)

UTC = timezone.utc  # noqa: UP017


def status_proto(name: bytes = b"", **fields) -> hdfs_pb2.HdfsFileStatusProto:
    values = dict(fileType=hdfs_pb2.HdfsFileStatusProto.IS_FILE, path=name, length=5,
                  permission=acl_pb2.FsPermissionProto(perm=0o644), owner="alice", group="staff",
                  modification_time=1_700_000_000_123, access_time=0, block_replication=3,
                  blocksize=128 << 20, fileId=16390)
    values.update(fields)
    return hdfs_pb2.HdfsFileStatusProto(**values)


# -- records ------------------------------------------------------------------------


@pytest.mark.parametrize("bits,text", [
    (0o644, "rw-r--r--"), (0o755, "rwxr-xr-x"), (0o000, "---------"), (0o777, "rwxrwxrwx"),
    (0o1777, "rwxrwxrwt"), (0o1770, "rwxrwx--T"), (0o4755, "rwxr-xr-x"), (0o421, "r---w---x"),
])
def test_permission_string(bits, text):
    assert permission_string(bits) == text


def test_file_status_from_proto():
    status = FileStatus.from_proto(status_proto(b"f.txt"), "/data")
    assert status.path == "/data/f.txt" and status.name == "f.txt"
    assert status.type is FileType.FILE and status.is_file and not status.is_dir
    assert (status.length, status.permission, status.owner, status.group) == (5, 0o644, "alice", "staff")
    assert status.mode == "-rw-r--r--" and status.permission_string == "rw-r--r--"
    assert status.modification_time == datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC)
    assert status.access_time is None
    assert (status.replication, status.block_size, status.file_id) == (3, 128 << 20, 16390)
    assert status.children is None and not status.acl


def test_file_status_of_the_path_itself_and_of_the_root():
    assert FileStatus.from_proto(status_proto(), "/data/f").path == "/data/f"
    root_child = FileStatus.from_proto(status_proto(b"tmp"), "/")
    assert root_child.path == "/tmp"
    assert FileStatus.from_proto(status_proto(), "/").name == ""


def test_directory_and_extension_bits():
    proto = status_proto(b"d", fileType=hdfs_pb2.HdfsFileStatusProto.IS_DIR, childrenNum=4,
                         permission=acl_pb2.FsPermissionProto(perm=0o1777 | 1 << 12 | 1 << 13),
                         access_time=1000)
    status = FileStatus.from_proto(proto, "/")
    assert status.is_dir and status.mode == "drwxrwxrwt" and status.children == 4
    assert status.permission == 0o1777 and status.acl and status.encrypted and not status.erasure_coded
    assert status.access_time == datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)
    flagged = FileStatus.from_proto(status_proto(b"x", flags=hdfs_pb2.HdfsFileStatusProto.HAS_ACL), "/")
    assert flagged.acl and flagged.permission == 0o644


def test_symlink_and_non_utf8_names():
    proto = status_proto(b"caf\xe9", fileType=hdfs_pb2.HdfsFileStatusProto.IS_SYMLINK, symlink=b"/target")
    status = FileStatus.from_proto(proto, "/d")
    assert status.is_symlink and status.symlink == "/target" and status.mode.startswith("l")
    assert status.name.encode("utf-8", "surrogateescape") == b"caf\xe9"


def test_content_summary_and_server_defaults():
    summary = ContentSummary.from_proto(hdfs_pb2.ContentSummaryProto(
        length=10, fileCount=2, directoryCount=1, quota=(1 << 64) - 1, spaceConsumed=30,
        spaceQuota=(1 << 64) - 1))
    assert summary == ContentSummary(10, 2, 1, -1, 30, -1)
    defaults = ServerDefaults.from_proto(hdfs_pb2.FsServerDefaultsProto(
        blockSize=1 << 27, bytesPerChecksum=512, writePacketSize=65536, replication=3, fileBufferSize=4096,
        checksumType=hdfs_pb2.CHECKSUM_CRC32C))
    assert defaults.checksum == DataChecksum(ChecksumType.CRC32C, 512)
    assert not defaults.encrypt_data_transfer


def test_client_name_is_javas_form():
    assert re.fullmatch(r"DFSClient_NONMAPREDUCE_-?\d+_\d+", new_client_name())
    assert new_client_name() != new_client_name()


# -- error mapping ---------------------------------------------------------------------


@pytest.mark.parametrize("java,cls,builtin", [
    ("java.io.FileNotFoundException", RemoteFileNotFoundError, FileNotFoundError),
    ("org.apache.hadoop.fs.FileAlreadyExistsException", FileAlreadyExistsError, FileExistsError),
    ("org.apache.hadoop.security.AccessControlException", AccessControlError, PermissionError),
    ("org.apache.hadoop.fs.ParentNotDirectoryException", ParentNotDirectoryError, NotADirectoryError),
    ("org.apache.hadoop.fs.PathIsNotEmptyDirectoryException", DirectoryNotEmptyError, OSError),
    ("org.apache.hadoop.hdfs.protocol.DSQuotaExceededException", QuotaExceededError, OSError),
    ("org.apache.hadoop.hdfs.protocol.NSQuotaExceededException", QuotaExceededError, OSError),
    ("org.apache.hadoop.hdfs.server.namenode.NotReplicatedYetException", NotReplicatedYetError, PyarnError),
    ("org.apache.hadoop.hdfs.protocol.AlreadyBeingCreatedException", AlreadyBeingCreatedError, PyarnError),
])
def test_java_exceptions_become_python_ones(java, cls, builtin):
    error = remote_error(java, "the message\n\tat org.apache.hadoop.Some.frame(Some.java:1)")
    assert type(error) is cls and isinstance(error, builtin) and isinstance(error, PyarnError)
    assert str(error) == "the message" and error.java_class == java


# -- the client over a scripted proxy ------------------------------------------------------


class ScriptedProxy:
    """Answers calls from ``handlers[method](request)``; records every call."""

    def __init__(self, handlers: Dict[str, Callable]) -> None:
        self.handlers = handlers
        self.calls: List[tuple] = []
        self.addresses = (("127.0.0.1", 8020),)
        self.user = None

    def call(self, method, request):
        self.calls.append((method, request))
        return self.handlers[method](request)


@pytest.fixture
def make_client():
    clients = []

    def make(handlers, **kwargs):
        sleeps: List[float] = []
        client = NameNodeClient(["127.0.0.1:8020"], sleep=sleeps.append, **kwargs)
        client.proxy = ScriptedProxy(handlers)  # type: ignore[assignment]
        client.sleeps = sleeps  # type: ignore[attr-defined]
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def test_get_file_info_missing_is_none(make_client):
    client = make_client({"getFileInfo": lambda r: cn.GetFileInfoResponseProto()})
    assert client.get_file_info("/nope") is None
    client.proxy.handlers["getFileInfo"] = lambda r: cn.GetFileInfoResponseProto(fs=status_proto())
    assert client.get_file_info("/yes").path == "/yes"


def test_listing_pages_with_start_after(make_client):
    names = [f"f{i:03d}".encode() for i in range(7)]

    def listing(request):
        after = [n for n in names if n > request.startAfter]
        page = after[:3]
        return cn.GetListingResponseProto(dirList=hdfs_pb2.DirectoryListingProto(
            partialListing=[status_proto(n) for n in page], remainingEntries=len(after) - len(page)))

    client = make_client({"getListing": listing})
    entries = list(client.list_directory("/d"))
    assert [e.path for e in entries] == [f"/d/{n.decode()}" for n in names]
    assert [c[1].startAfter for c in client.proxy.calls] == [b"", b"f002", b"f005"]


def test_listing_of_missing_directory(make_client):
    client = make_client({"getListing": lambda r: cn.GetListingResponseProto()})
    with pytest.raises(FileNotFoundError, match="/gone"):
        list(client.list_directory("/gone"))


def test_complete_asks_again_quickly_then_with_javas_backoff(make_client):
    answers = iter([False] * 9 + [True])
    client = make_client({"complete": lambda r: cn.CompleteResponseProto(result=next(answers))})
    last = hdfs_pb2.ExtendedBlockProto(poolId="BP", blockId=1, generationStamp=1, numBytes=7)
    client.complete("/f", 42, last)
    quick = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32]  # below write_retry_delay (0.4)
    assert client.sleeps == pytest.approx(quick + [0.4, 0.8, 1.6])
    request = client.proxy.calls[0][1]
    assert (request.src, request.fileId, request.last.numBytes, request.clientName) == \
        ("/f", 42, 7, client.client_name)


def test_complete_gives_up(make_client):
    client = make_client({"complete": lambda r: cn.CompleteResponseProto(result=False)},
                         write_retries=2, write_retry_delay=0.1)
    with pytest.raises(CompleteFileError, match="enough replicas") as info:
        client.complete("/f", 1)
    assert isinstance(info.value, OSError)
    # Never sooner than Java: its two retries (0.1, 0.2) come after the quick ones.
    assert client.sleeps == pytest.approx([0.01, 0.02, 0.04, 0.08, 0.1, 0.2])
    assert len(client.proxy.calls) == 7


def test_add_block_waits_for_the_previous_block(make_client):
    failures = iter([True, True, False])

    def add_block(request):
        if next(failures):
            raise NotReplicatedYetError("Not replicated yet: /f")
        return cn.AddBlockResponseProto(block=hdfs_pb2.LocatedBlockProto(
            b=hdfs_pb2.ExtendedBlockProto(poolId="BP", blockId=9, generationStamp=1), offset=0, corrupt=False,
            blockToken=security_pb2.TokenProto(identifier=b"", password=b"", kind="", service="")))

    client = make_client({"addBlock": add_block})
    exclude = [hdfs_pb2.DatanodeInfoProto(id=hdfs_pb2.DatanodeIDProto(
        ipAddr="10.0.0.1", hostName="h", datanodeUuid="u", xferPort=9866, infoPort=0, ipcPort=0))]
    assert client.add_block("/f", 5, None, exclude).b.blockId == 9
    assert client.sleeps == [0.4, 0.8]
    assert list(client.proxy.calls[0][1].excludeNodes) == exclude
    assert not client.proxy.calls[0][1].HasField("previous")


def test_add_block_gives_up_on_not_replicated(make_client):
    def add_block(request):
        raise NotReplicatedYetError("Not replicated yet")

    client = make_client({"addBlock": add_block}, write_retries=1)
    with pytest.raises(NotReplicatedYetError):
        client.add_block("/f", 5)
    assert len(client.proxy.calls) == 2


def test_create_sends_flags_and_masked_permission(make_client):
    client = make_client({"create": lambda r: cn.CreateResponseProto(fs=status_proto(fileId=77))})
    status = client.create("/f", 0o600, overwrite=True, replication=2, block_size=1 << 20)
    request = client.proxy.calls[0][1]
    assert status.file_id == 77
    assert request.createFlag == cn.CREATE | cn.OVERWRITE and request.masked.perm == 0o600
    assert (request.replication, request.blockSize, request.createParent) == (2, 1 << 20, True)
    assert list(request.cryptoProtocolVersion) == [hdfs_pb2.ENCRYPTION_ZONES]
    client.create("/g", replication=1, block_size=1)
    assert client.proxy.calls[1][1].createFlag == cn.CREATE
    with pytest.raises(ValueError):
        client.create("/h", 0o10000, replication=1, block_size=1)


def test_server_defaults_are_asked_once(make_client):
    proto = hdfs_pb2.FsServerDefaultsProto(blockSize=1, bytesPerChecksum=512, writePacketSize=65536,
                                           replication=1, fileBufferSize=4096)
    response = cn.GetServerDefaultsResponseProto(serverDefaults=proto)
    client = make_client({"getServerDefaults": lambda r: response})
    assert client.get_server_defaults() is client.get_server_defaults()
    assert len(client.proxy.calls) == 1


def test_delegation_token_service(make_client):
    token = security_pb2.TokenProto(identifier=b"id", password=b"pw", kind="HDFS_DELEGATION_TOKEN",
                                    service="")
    handlers = {"getDelegationToken": lambda r: security_pb2.GetDelegationTokenResponseProto(token=token)}
    plain = make_client(handlers)
    got = plain.get_delegation_token("yarn")
    assert (got.kind, got.service, got.password) == ("HDFS_DELEGATION_TOKEN", "127.0.0.1:8020", b"pw")
    assert plain.proxy.calls[0][1].renewer == "yarn"
    ha = make_client(handlers, nameservice="mycluster")
    assert ha.get_delegation_token("yarn").service == "ha-hdfs:mycluster"
    empty = make_client({"getDelegationToken": lambda r: security_pb2.GetDelegationTokenResponseProto()})
    with pytest.raises(PyarnError, match="no delegation token"):
        empty.get_delegation_token("yarn")


def test_from_conf_reads_ha_and_retry_keys():
    conf = Configuration({
        "fs.defaultFS": "hdfs://mycluster",
        "dfs.nameservices": "mycluster",
        "dfs.ha.namenodes.mycluster": "nn1,nn2",
        "dfs.namenode.rpc-address.mycluster.nn1": "nn1.example.com:8020",
        "dfs.namenode.rpc-address.mycluster.nn2": "nn2.example.com:8021",
        "dfs.client.failover.max.attempts": "4",
        "dfs.client.block.write.locateFollowingBlock.retries": "7",
        "dfs.client.block.write.locateFollowingBlock.initial.delay.ms": "100",
    })
    with NameNodeClient.from_conf(conf) as client:
        assert client.addresses == ("nn1.example.com:8020", "nn2.example.com:8021")
        assert client.nameservice == "mycluster" and client.token_service == "ha-hdfs:mycluster"
        assert client.proxy.policy.max_attempts == 5
        assert (client.write_retries, client.write_retry_delay) == (7, 0.1)


def test_data_encryption_key(make_client):
    key = hdfs_pb2.DataEncryptionKeyProto(keyId=3, blockPoolId="BP-1", nonce=b"n", encryptionKey=b"k" * 16,
                                          expiryDate=99, encryptionAlgorithm="rc4")
    client = make_client({"getDataEncryptionKey":
                          lambda r: cn.GetDataEncryptionKeyResponseProto(dataEncryptionKey=key)})
    got = client.get_data_encryption_key()
    assert (got.key_id, got.block_pool_id, got.nonce, got.expiry_date, got.encryption_algorithm) == (
        3, "BP-1", b"n", 99, "rc4")
    assert got.encryption_key == b"k" * 16 and "kkkk" not in repr(got)
    unencrypted = make_client({"getDataEncryptionKey": lambda r: cn.GetDataEncryptionKeyResponseProto()})
    assert unencrypted.get_data_encryption_key() is None
