"""pyarn's own file-system API (``pyarn.hdfs.HDFS``) against the MiniHDFS."""
from __future__ import annotations

import hashlib
import os

import pytest

from pyarn.conf import Configuration

from .conftest import SUPERUSER
from .support import MIB

filesystem = pytest.importorskip("pyarn.hdfs.filesystem")


@pytest.fixture(scope="module")
def conf(cluster) -> Configuration:
    return Configuration({**cluster.core_site(), **cluster.hdfs_site()})


@pytest.fixture(scope="module")
def fs(conf):
    with filesystem.HDFS(conf=conf, user=SUPERUSER) as client:
        yield client


@pytest.fixture(scope="module")
def alice_fs(conf):
    with filesystem.HDFS(conf=conf, user="alice") as client:
        yield client


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("size", [0, 1, 511, 512, 513, MIB + 1, 2 * MIB + MIB // 2])
def test_put_get_round_trip(fs, top, tmp_path, size):
    data = os.urandom(size)
    (tmp_path / "in").write_bytes(data)
    fs.put(tmp_path / "in", f"{top}/file")
    fs.get(f"{top}/file", tmp_path / "out")
    assert sha((tmp_path / "out").read_bytes()) == sha(data)
    assert fs.stat(f"{top}/file").length == size


def test_namespace_operations(fs, top):
    fs.mkdir(f"{top}/a/b")
    with fs.open(f"{top}/a/b/f", "wb") as out:
        out.write(b"hello")
    assert fs.ls(f"{top}/a") == [f"{top}/a/b"]
    fs.mv(f"{top}/a/b/f", f"{top}/a/g")
    fs.chmod(f"{top}/a/g", 0o600)
    status = fs.stat(f"{top}/a/g")
    assert (status.permission, status.owner, status.length) == (0o600, SUPERUSER, 5)
    with fs.open(f"{top}/a/g", "ab") as out:
        out.write(b", world")
    with fs.open(f"{top}/a/g") as source:
        source.seek(7)
        assert source.read() == b"world"
    summary = fs.du(f"{top}/a")
    assert (summary.file_count, summary.directory_count, summary.length) == (1, 2, 12)
    fs.rm(f"{top}/a", recursive=True)
    assert not fs.exists(f"{top}/a")
    with pytest.raises(FileNotFoundError):
        fs.stat(f"{top}/a")


def test_permission_denied_for_another_user(fs, alice_fs, top):
    fs.mkdir(f"{top}/locked", permission=0o700)
    with pytest.raises(PermissionError, match='user=alice, access=EXECUTE, inode="'):
        alice_fs.ls(f"{top}/locked/x")
    fs.mkdir(f"{top}/readonly", permission=0o755)
    with pytest.raises(PermissionError, match=f'user=alice, access=WRITE, inode="{top}/readonly/x"'):
        alice_fs.mkdir(f"{top}/readonly/x")


def test_corrupted_replica_is_an_error_on_read(fs, cluster, top):
    data = os.urandom(3000)
    with fs.open(f"{top}/f", "wb", replication=1) as out:
        out.write(data)
    from .support import locate

    block = locate(fs.namenode.proxy, f"{top}/f")[0] if hasattr(fs.namenode, "proxy") else None
    if block is None:
        pytest.skip("the HDFS client exposes no NameNode proxy to locate the block")
    for dn in cluster.datanode_for(block.b.blockId):
        path = dn.block_file(block.b.blockId)
        raw = bytearray(path.read_bytes())
        raw[1234] ^= 0x40
        path.write_bytes(bytes(raw))
    with pytest.raises(OSError, match="(?i)checksum|corrupt"):
        with fs.open(f"{top}/f") as source:
            source.read()
