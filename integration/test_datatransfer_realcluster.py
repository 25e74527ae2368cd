"""Block reads and writes against the DataNodes of ``hadoop_conf_dir``, checked with Hadoop's own FsShell.

The real DataNode when ``PYARN_TEST_HADOOP_CONF_DIR`` names a cluster's client
configuration, else the mini cluster's. Needs Java with the Hadoop client jars
(``PYARN_TEST_HADOOP_CLASSPATH``, else
``../shared/realcluster/realcluster.sh classpath yarn``, else ``hadoop
classpath``). The NameNode is reached with :mod:`pyarn.ipc`; only the block
I/O under test is :mod:`pyarn.hdfs.blocks`.

On a Kerberized cluster the NameNode is reached over Kerberos (the ticket of
``KRB5CCNAME``, at ``hadoop.rpc.protection``), every DataNode connection runs
DataTransfer SASL with the block token of its ``LocatedBlock`` at
``dfs.data.transfer.protection`` (:class:`~pyarn.hdfs.transfer_security.DataTransferSecurity`),
and FsShell logs in from the same ticket cache (``KRB5_CONFIG`` names the realm).

* Files put by FsShell are read with :func:`read_block` (whole and in ranges).
* Files written with :class:`BlockWriter` (several blocks each) are fetched by
  FsShell and compared byte for byte.
* A byte flipped in the DataNode's block file gives a :class:`ChecksumError`
  (when the DataNode's data directory, ``dfs.datanode.data.dir``, is on this machine).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Iterator, List, Optional

import pytest

from hadoop_protos import acl_pb2, hdfs_pb2
from hadoop_protos import client_namenode_pb2 as cn
from hadoop_protos.client_namenode_rpc import CLIENT_NAMENODE_PROTOCOL

from .conftest import block_file, fsshell_runner

REPO = Path(__file__).resolve().parent.parent
CLIENT = f"DFSClient_NONMAPREDUCE_pyarn_it_{os.getpid()}"
MIB = 1024 * 1024

pytestmark = [
    pytest.mark.realcluster,
    pytest.mark.skipif(shutil.which("java") is None, reason="no java on PATH (FsShell checks the results)"),
]



@pytest.fixture(scope="module")
def conf(hadoop_conf_dir):
    from pyarn.conf import Configuration

    configuration = Configuration.load(hadoop_conf_dir)
    default_fs = configuration.get_str("fs.defaultFS", "file:///")
    if not default_fs.lower().startswith("hdfs://"):
        pytest.skip(f"the cluster's fs.defaultFS is {default_fs!r}: it has no HDFS to test")
    return configuration


@pytest.fixture(scope="module")
def fsshell(conf, hadoop_conf_dir):
    """Hadoop's FsShell; on a Kerberized cluster as the user of the ticket cache (``KRB5CCNAME``)."""
    return fsshell_runner(hadoop_conf_dir)


@pytest.fixture(scope="module")
def rpc(conf):
    """One RpcClient with the cluster's IPC settings (Kerberos and its protection when it has them)."""
    from pyarn.ipc import IpcSettings, RpcClient

    with RpcClient(IpcSettings.from_conf(conf)) as client:
        yield client


@pytest.fixture(scope="module")
def namenode(conf, rpc):
    from pyarn.conf import namenode_addresses

    _, host, port = namenode_addresses(conf).namenodes[0]
    return rpc.proxy((host, port), CLIENT_NAMENODE_PROTOCOL)


@pytest.fixture(scope="module")
def workdir(namenode):
    path = f"/tmp/pyarn-it-datatransfer-{uuid.uuid4().hex[:12]}"
    namenode.call("mkdirs", cn.MkdirsRequestProto(src=path, masked=acl_pb2.FsPermissionProto(perm=0o755),
                                                  createParent=True))
    yield path
    namenode.call("delete", cn.DeleteRequestProto(src=path, recursive=True))


@pytest.fixture(scope="module")
def security(conf, rpc, is_kerberized):
    """How each DataNode connection is secured, as :class:`~pyarn.hdfs.HDFS` decides it: the encrypted
    handshake when the NameNode encrypts transfers (with its data encryption keys), SASL with the block
    token on a Kerberized cluster, nothing on an unsecured one."""
    from pyarn.hdfs.namenode import NameNodeClient
    from pyarn.hdfs.transfer_security import DataTransferSecurity

    with NameNodeClient.from_conf(conf, rpc=rpc) as keys:
        security = DataTransferSecurity.from_conf(conf, keys)
        assert security.security_enabled is is_kerberized
        yield security


@pytest.fixture(scope="module")
def factory(conf):
    from functools import partial

    from pyarn.hdfs.blocks import connect_datanode

    return partial(connect_datanode, timeout=60.0,
                   use_hostname=conf.get_bool("dfs.client.use.datanode.hostname", False))


# -- helpers: just enough NameNode to place and find blocks -------------------------


def locate(namenode, path: str) -> List[hdfs_pb2.LocatedBlockProto]:
    response = namenode.call("getBlockLocations",
                             cn.GetBlockLocationsRequestProto(src=path, offset=0, length=1 << 62))
    return list(response.locations.blocks)


def read_file(namenode, factory, security, path: str, verify: bool = True) -> bytes:
    from pyarn.hdfs.blocks import read_block

    out = bytearray()
    for block in locate(namenode, path):
        out += b"".join(read_block(factory, block, 0, block.b.numBytes, CLIENT, verify=verify,
                                   security=security))
    return bytes(out)


def write_file(namenode, factory, security, path: str, data: bytes, block_size: int) -> None:
    """create / addBlock / BlockWriter / complete, as DFSOutputStream does (without recovery)."""
    from pyarn.hdfs.blocks import BlockWriter
    from pyarn.hdfs.checksum import DataChecksum

    defaults = namenode.call("getServerDefaults", cn.GetServerDefaultsRequestProto()).serverDefaults
    checksum = DataChecksum(defaults.checksumType, defaults.bytesPerChecksum)
    created = namenode.call("create", cn.CreateRequestProto(
        src=path, masked=acl_pb2.FsPermissionProto(perm=0o644), clientName=CLIENT, createFlag=1 | 2,
        createParent=True, replication=1, blockSize=block_size,
        cryptoProtocolVersion=[hdfs_pb2.ENCRYPTION_ZONES]))
    file_id = created.fs.fileId
    previous: Optional[hdfs_pb2.ExtendedBlockProto] = None
    seqno = 0
    for start in range(0, len(data), block_size):
        request = cn.AddBlockRequestProto(src=path, clientName=CLIENT, fileId=file_id)
        if previous is not None:
            request.previous.CopyFrom(previous)
        located = namenode.call("addBlock", request).block
        with BlockWriter(factory, located, CLIENT, checksum=checksum, packet_size=defaults.writePacketSize,
                         block_size=block_size, first_seqno=seqno, security=security) as writer:
            piece = memoryview(data)[start:start + block_size]
            for offset in range(0, len(piece), 300_000):
                writer.write(piece[offset:offset + 300_000])
        previous, seqno = writer.block, writer.next_seqno
    complete = cn.CompleteRequestProto(src=path, clientName=CLIENT, fileId=file_id)
    if previous is not None:
        complete.last.CopyFrom(previous)
    for _ in range(20):
        if namenode.call("complete", complete).result:
            return
        time.sleep(0.4)
    raise AssertionError(f"complete({path}) stayed false")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


SIZES = {"one": 1, "chunk-1": 511, "chunk": 512, "chunk+1": 513, "packet+1": 64513,
         "mib+7": MIB + 7, "three-blocks": 2 * MIB + MIB // 2}


@pytest.fixture(scope="module")
def local_files(tmp_path_factory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("datatransfer")
    for name, size in SIZES.items():
        (root / name).write_bytes(os.urandom(size))
    yield root


# -- tests -------------------------------------------------------------------------------


def test_read_files_put_by_fsshell(namenode, factory, security, fsshell, workdir, local_files):
    fsshell("-D", f"dfs.blocksize={MIB}", "-put", str(local_files), f"{workdir}/java")
    remote = f"{workdir}/java"   # -put of a directory to a new path copies its contents there
    for name in SIZES:
        want = (local_files / name).read_bytes()
        blocks = locate(namenode, f"{remote}/{name}")
        assert len(blocks) == -(-len(want) // MIB)
        assert sha(read_file(namenode, factory, security, f"{remote}/{name}")) == sha(want), name
    want = (local_files / "three-blocks").read_bytes()
    assert read_file(namenode, factory, security, f"{remote}/three-blocks", verify=False) == want


@pytest.mark.parametrize("offset,length", [(0, 1), (1, 511), (511, 2), (1000, 70_000), (MIB - 1, 1),
                                           (12_345, MIB - 12_345)])
def test_read_ranges(namenode, factory, security, fsshell, workdir, local_files, offset, length):
    from pyarn.hdfs.blocks import read_block

    path = f"{workdir}/ranges"
    if not locate_or_none(namenode, path):
        fsshell("-put", str(local_files / "mib+7"), path)
    block = locate(namenode, path)[0]
    got = b"".join(read_block(factory, block, offset, length, CLIENT, security=security))
    assert got == (local_files / "mib+7").read_bytes()[offset:offset + length]


def locate_or_none(namenode, path: str):
    from pyarn.errors import RemoteError

    try:
        return locate(namenode, path)
    except (RemoteError, FileNotFoundError):
        return None


def test_fsshell_reads_files_written_by_block_writer(namenode, factory, security, fsshell, workdir,
                                                     tmp_path, local_files):
    for name in SIZES:
        write_file(namenode, factory, security, f"{workdir}/py/{name}", (local_files / name).read_bytes(),
                   block_size=MIB)
    fsshell("-get", f"{workdir}/py", str(tmp_path / "got"))
    for name in SIZES:
        assert sha((tmp_path / "got" / name).read_bytes()) == sha((local_files / name).read_bytes()), name
    assert len(locate(namenode, f"{workdir}/py/three-blocks")) == 3
    assert read_file(namenode, factory, security, f"{workdir}/py/three-blocks") == \
        (local_files / "three-blocks").read_bytes()


def test_unknown_block_is_a_datanode_error(namenode, factory, security, fsshell, workdir, local_files):
    """A block the DataNode does not have. With block tokens (a Kerberized cluster) the DataNode checks
    the token first, and the token names the real block: ``ERROR_ACCESS_TOKEN`` before any replica
    lookup. Without them it looks for the replica and finds none."""
    from pyarn.hdfs.blocks import BlockTokenError, DataNodeError, read_block

    path = f"{workdir}/ghost-source"
    fsshell("-put", str(local_files / "chunk"), path)
    block = locate(namenode, path)[0]
    block.b.blockId += 10**9
    with pytest.raises(DataNodeError) as info:
        list(read_block(factory, block, 0, 10, CLIENT, security=security))
    assert info.value.datanode == f"{block.locs[0].id.ipAddr}:{block.locs[0].id.xferPort}"
    if block.blockToken.identifier:
        assert isinstance(info.value, BlockTokenError) and "ERROR_ACCESS_TOKEN" in str(info.value)
    else:
        assert not isinstance(info.value, BlockTokenError), info.value


def test_corrupt_replica_gives_checksum_error(hadoop_conf_dir, namenode, factory, security, fsshell,
                                             workdir, local_files):
    from pyarn.hdfs.blocks import ChecksumError, read_block

    path = f"{workdir}/to-corrupt"
    write_file(namenode, factory, security, path, (local_files / "mib+7").read_bytes(), block_size=128 * MIB)
    block = locate(namenode, path)[0]
    found = block_file(hadoop_conf_dir, block.b.blockId)
    if found is None:
        pytest.skip("the DataNode's block files are not on this machine")
    original = found.read_bytes()[700]
    with found.open("r+b") as f:
        f.seek(700)
        f.write(bytes([original ^ 0xFF]))
    try:
        with pytest.raises(ChecksumError) as info:
            list(read_block(factory, block, 0, block.b.numBytes, CLIENT, security=security))
        assert info.value.offset == 512
        assert info.value.datanode == f"{block.locs[0].id.ipAddr}:{block.locs[0].id.xferPort}"
        # clean chunks still read
        tail = b"".join(read_block(factory, block, 1024, 5000, CLIENT, security=security))
        assert tail == (local_files / "mib+7").read_bytes()[1024:6024]
    finally:
        with found.open("r+b") as f:
            f.seek(700)
            f.write(bytes([original]))
