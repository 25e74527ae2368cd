"""``pyarn.hdfs.HDFS`` end to end, against the cluster of ``hadoop_conf_dir``.

With ``PYARN_TEST_HADOOP_CONF_DIR`` set this is the real HDFS; without it, the
mini cluster's HDFS. Hadoop's FsShell is the reference for listings when
Java and a Hadoop client classpath are at hand (``PYARN_TEST_HADOOP_CLASSPATH``
or ``../shared/realcluster/realcluster.sh classpath yarn``); the corrupted
block is flipped in the DataNode's block file, found through
``dfs.datanode.data.dir``. ``PYARN_TEST_LARGE=1`` adds a 1 GiB round trip.
"""
from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterator, List

import pytest

from .conftest import block_file, fsshell_runner

REPO = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
LARGE = os.environ.get("PYARN_TEST_LARGE") == "1"

pytestmark = [pytest.mark.realcluster]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for piece in iter(lambda: f.read(4 * MIB), b""):
            digest.update(piece)
    return digest.hexdigest()


# -- fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def conf(hadoop_conf_dir):
    from pyarn.conf import Configuration

    configuration = Configuration.load(hadoop_conf_dir)
    default_fs = configuration.get_str("fs.defaultFS", "file:///")
    if not default_fs.lower().startswith("hdfs://"):
        pytest.skip(f"the cluster's fs.defaultFS is {default_fs!r}: it has no HDFS to test")
    return configuration


def _kerberized(conf) -> bool:
    return conf.get_str("hadoop.security.authentication", "simple") == "kerberos"


@pytest.fixture(scope="module")
def fs(conf):
    from pyarn.hdfs import HDFS

    with HDFS(conf=conf) as client:
        yield client


@pytest.fixture(scope="module")
def workdir(fs) -> Iterator[str]:
    path = fs.mkdir(f"/tmp/pyarn-it-hdfs-{uuid.uuid4().hex[:12]}")
    yield path
    fs.rm(path, recursive=True)


@pytest.fixture
def remote(fs, workdir, request) -> str:
    """A fresh directory for one test."""
    return fs.mkdir(f"{workdir}/{request.node.name.replace('[', '-').rstrip(']')}")



@pytest.fixture(scope="module")
def fsshell(conf, hadoop_conf_dir) -> Callable[..., str]:
    """Hadoop's FsShell on the cluster's conf dir, when Java and Hadoop's client jars are at hand."""
    return fsshell_runner(hadoop_conf_dir)


# -- round trips ---------------------------------------------------------------------------

SIZES = {"empty": 0, "one": 1, "chunk-1": 511, "chunk": 512, "chunk+1": 513, "mib": MIB, "block+1": MIB + 1,
         "packet+1": 64 * 1024 + 1, "three-blocks": 2 * MIB + 12345}


@pytest.mark.parametrize("name", list(SIZES))
def test_put_get_round_trip(fs, remote, tmp_path, name):
    data = os.urandom(SIZES[name])
    local = tmp_path / name
    local.write_bytes(data)
    seen: List[tuple] = []
    target = fs.put(local, f"{remote}/{name}", block_size=MIB,
                    progress=lambda done, total: seen.append((done, total)))
    status = fs.stat(target)
    assert (status.length, status.block_size, status.is_file) == (len(data), MIB, True)
    assert len(fs.namenode.get_block_locations(target).blocks) == -(-len(data) // MIB)
    assert seen[0] == (0, len(data)) and seen[-1][0] == len(data)
    got = fs.get(target, tmp_path / f"{name}.back")
    assert sha(got.read_bytes()) == sha(data)
    with fs.open(target) as f:
        assert sha(f.read()) == sha(data)


@pytest.mark.skipif(not LARGE, reason="set PYARN_TEST_LARGE=1 for the 1 GiB round trip")
def test_one_gib_round_trip(fs, remote, tmp_path):
    local = tmp_path / "big"
    with open(local, "wb") as f:
        for _ in range(64):
            f.write(os.urandom(16 * MIB))
    target = fs.put(local, f"{remote}/big")
    assert fs.stat(target).length == 1024 * MIB
    back = fs.get(target, tmp_path / "big.back")
    assert sha_file(back) == sha_file(local)


def test_seek_and_read_across_blocks(fs, remote):
    data = os.urandom(3 * MIB + 77)
    with fs.open(f"{remote}/f", "wb", block_size=MIB) as out:
        for start in range(0, len(data), 300_001):
            out.write(data[start:start + 300_001])
    with fs.open(f"{remote}/f") as f:
        for offset, length in [(0, 10), (MIB - 5, 10), (2 * MIB + 511, 1026), (3 * MIB, 77), (5, 3)]:
            f.seek(offset)
            assert f.read(length) == data[offset:offset + length]
        f.seek(-7, os.SEEK_END)
        assert f.read() == data[-7:]
        assert f.read(5) == b""


def test_append_new_block(fs, remote):
    path = f"{remote}/log"
    with fs.open(path, "wb", block_size=MIB) as out:
        out.write(b"first\n")
    with fs.open(path, "ab") as out:
        out.write(b"second\n")
    with fs.open(path) as f:
        assert f.read() == b"first\nsecond\n"


def test_directory_trees(fs, remote, tmp_path):
    tree = tmp_path / "tree"
    files = {"a.txt": b"a" * 100, "sub/b.bin": os.urandom(5000), "sub/deeper/c": b"", "other/d": b"d"}
    for name, data in files.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_bytes(data)
    target = fs.put(tree, remote)
    assert target == f"{remote}/tree"
    assert sorted(fs.ls(target)) == [f"{target}/{n}" for n in ("a.txt", "other", "sub")]
    walked = {d: (sorted(ds), sorted(fs_)) for d, ds, fs_ in fs.walk(target)}
    assert walked[f"{target}/sub"] == (["deeper"], ["b.bin"])
    assert fs.du(target).file_count == 4 and fs.du(target).length == 5101
    back = fs.get(target, tmp_path / "back")
    for name, data in files.items():
        assert (back / name).read_bytes() == data


# -- against Java's FsShell ---------------------------------------------------------------------


def test_fsshell_file_read_by_pyarn(fs, fsshell, remote, tmp_path):
    local = tmp_path / "java.bin"
    local.write_bytes(os.urandom(MIB + 4097))
    fsshell("-D", f"dfs.blocksize={MIB}", "-put", str(local), f"{remote}/java.bin")
    assert sha(fs.get(f"{remote}/java.bin", tmp_path / "got").read_bytes()) == sha_file(local)


def test_pyarn_file_read_by_fsshell(fs, fsshell, remote, tmp_path):
    local = tmp_path / "py.bin"
    local.write_bytes(os.urandom(2 * MIB + 3))
    fs.put(local, f"{remote}/py.bin", block_size=MIB)
    fsshell("-get", f"{remote}/py.bin", str(tmp_path / "got"))
    assert sha_file(tmp_path / "got") == sha_file(local)


def _create_empty(fs, paths: List[str]) -> None:
    """Empty files the quick way: create + complete, eight at a time."""
    namenode = fs.namenode

    def one(path: str) -> None:
        status = namenode.create(path, 0o644, replication=1, block_size=MIB)
        namenode.complete(path, status.file_id)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, paths))


def test_listing_of_ten_thousand_files_matches_fsshell(fs, fsshell, remote):
    from pyarn.hdfs.cli import format_ls

    names = [f"file-{i:05d}" for i in range(10_000)]
    _create_empty(fs, [f"{remote}/{name}" for name in names])
    fs.mkdir(f"{remote}/zz-dir")
    listed = fs.ls(remote)
    assert listed == [f"{remote}/{name}" for name in names] + [f"{remote}/zz-dir"]
    ours = "\n".join(format_ls(fs, [remote])) + "\n"
    assert ours == fsshell("-ls", remote)


def test_permissions_as_fsshell_shows_them(fs, fsshell, remote, conf):
    from pyarn.hdfs.cli import format_ls

    modes = {"plain": 0o644, "private": 0o600, "exec": 0o755, "none": 0o000, "sticky": 0o1777,
             "sticky-T": 0o1770}
    for name, mode in modes.items():
        with fs.open(f"{remote}/{name}", "wb") as out:
            out.write(name.encode())
        fs.chmod(f"{remote}/{name}", mode)
        assert fs.stat(f"{remote}/{name}").permission == mode
    fs.mkdir(f"{remote}/dir", permission=0o777)
    if not _kerberized(conf):  # only a superuser may give a file to a group it is not in
        fs.chown(f"{remote}/dir", group="pyarn-group")
    assert fs.stat(f"{remote}/dir").mode == "drwxr-xr-x"  # umask 022 applies, as in Java
    assert fs.stat(f"{remote}/sticky").mode == "-rwxrwxrwt"
    assert fs.stat(f"{remote}/sticky-T").permission_string == "rwxrwx--T"
    ours = "\n".join(format_ls(fs, [remote])) + "\n"
    assert ours == fsshell("-ls", remote)
    theirs = fsshell("-ls", "-d", f"{remote}/dir", f"hdfs://{fs.authority}{remote}/plain")
    assert "\n".join(format_ls(fs, [f"{remote}/dir", f"hdfs://{fs.authority}{remote}/plain"],
                               directory=True)) + "\n" == theirs


def test_cli_ls_and_cat(fs, fsshell, remote, conf, tmp_path):
    with fs.open(f"{remote}/hello.txt", "wb") as out:
        out.write(b"hello from pyarn\n")
    fs.mkdir(f"{remote}/sub/deeper")
    command = [sys.executable, "-m", "pyarn.hdfs.cli", "--conf-dir", str(conf.source_dir)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    ls = subprocess.run([*command, "ls", "-R", remote], capture_output=True, text=True, env=env)
    assert ls.returncode == 0, ls.stderr
    assert ls.stdout == fsshell("-ls", "-R", remote)
    cat = subprocess.run([*command, "cat", f"{remote}/hello.txt"], capture_output=True, env=env)
    assert cat.stdout == b"hello from pyarn\n"
    missing = subprocess.run([*command, "ls", f"{remote}/nope"], capture_output=True, text=True, env=env)
    assert missing.returncode == 1 and "does not exist" in missing.stderr


# -- namespace changes -----------------------------------------------------------------------


def test_rename_and_delete(fs, remote):
    from pyarn.hdfs import DirectoryNotEmptyError

    for name in ("a", "b"):
        with fs.open(f"{remote}/{name}", "wb") as out:
            out.write(name.encode())
    assert fs.mv(f"{remote}/a", f"{remote}/a2") == f"{remote}/a2"
    assert not fs.exists(f"{remote}/a")
    with pytest.raises(FileExistsError):
        fs.mv(f"{remote}/a2", f"{remote}/b")
    fs.mv(f"{remote}/a2", f"{remote}/b", overwrite=True)
    with fs.open(f"{remote}/b") as f:
        assert f.read() == b"a"
    fs.mkdir(f"{remote}/d")
    assert fs.mv(f"{remote}/b", f"{remote}/d") == f"{remote}/d/b"
    with pytest.raises(DirectoryNotEmptyError) as info:
        fs.rm(f"{remote}/d")
    assert isinstance(info.value, OSError)
    fs.rm(f"{remote}/d", recursive=True)
    assert fs.ls(remote) == []


def test_relative_paths_and_uris(fs, conf):
    assert fs.resolve("x/../y") == f"{fs.home}/y"
    assert fs.resolve(f"hdfs://{fs.authority}/tmp//a/") == "/tmp/a"
    assert fs.resolve("hdfs:///tmp") == "/tmp"
    with pytest.raises(ValueError, match="another file system"):
        fs.stat("hdfs://elsewhere.invalid:8020/tmp")
    assert fs.stat(f"hdfs://{fs.authority}/tmp").is_dir


# -- errors ----------------------------------------------------------------------------------------


def test_missing_file(fs, remote, tmp_path):
    from pyarn.errors import PyarnError

    missing = f"{remote}/missing"
    for action in (lambda: fs.stat(missing), lambda: fs.open(missing), lambda: fs.rm(missing),
                   lambda: fs.get(missing, tmp_path / "x"), lambda: fs.ls(missing),
                   lambda: fs.mv(missing, f"{remote}/elsewhere"), lambda: fs.open(missing, "ab")):
        with pytest.raises(FileNotFoundError) as info:
            action()
        assert isinstance(info.value, PyarnError)
    assert not fs.exists(missing)
    with pytest.raises(FileNotFoundError):
        fs.put(tmp_path / "no-such-local-file", remote)


def test_existing_target(fs, remote, tmp_path):
    path = f"{remote}/there"
    with fs.open(path, "wb") as out:
        out.write(b"old")
    for atomic in (False, True):
        with pytest.raises(FileExistsError):
            fs.open(path, "wb", atomic=atomic)
    local = tmp_path / "there"
    local.write_bytes(b"new")
    with pytest.raises(FileExistsError):
        fs.put(local, path)
    with pytest.raises(FileExistsError):
        fs.mkdir(path, parents=False)
    with pytest.raises(FileExistsError):
        fs.get(path, local)
    fs.put(local, path, overwrite=True)
    with fs.open(path) as f:
        assert f.read() == b"new"
    with pytest.raises(IsADirectoryError):
        fs.open(remote)


def test_permission_denied(fs, conf, remote, monkeypatch):
    from pyarn.errors import AccessControlError
    from pyarn.hdfs import HDFS

    if _kerberized(conf):
        pytest.skip("another user needs another Kerberos ticket: HADOOP_USER_NAME is ignored")
    with fs.open(f"{remote}/secret", "wb") as out:
        out.write(b"secret")
    fs.chmod(f"{remote}/secret", 0o600)
    monkeypatch.setenv("HADOOP_USER_NAME", "pyarn-intruder")
    with HDFS(conf=conf) as other:
        assert other.user.name == "pyarn-intruder"
        with pytest.raises(PermissionError) as info:
            other.open(f"{remote}/secret").read()
        assert isinstance(info.value, AccessControlError)
        with pytest.raises(PermissionError):
            other.open(f"{remote}/new", "wb")
        with pytest.raises(PermissionError):
            other.rm(f"{remote}/secret")
        with pytest.raises(PermissionError):
            other.chmod(f"{remote}/secret", 0o777)
    assert fs.exists(f"{remote}/secret") and not fs.exists(f"{remote}/new")


def test_corrupt_block(fs, remote, tmp_path, hadoop_conf_dir):
    from pyarn.hdfs import CorruptBlockError

    data = os.urandom(300_000)
    path = f"{remote}/to-corrupt"
    with fs.open(path, "wb", replication=1) as out:
        out.write(data)
    block = fs.namenode.get_block_locations(path).blocks[0]
    found = block_file(hadoop_conf_dir, block.b.blockId)
    if found is None:
        pytest.skip(f"the DataNode's file of block {block.b.blockId} is not on this machine "
                    "(no dfs.datanode.data.dir in the conf dir names it)")
    bad = 200_000  # in the fourth packet: the first ones still read
    original = found.read_bytes()[bad]
    with found.open("r+b") as f:
        f.seek(bad)
        f.write(bytes([original ^ 0xFF]))
    try:
        with pytest.raises(CorruptBlockError) as info:
            fs.open(path).read()
        error = info.value
        assert isinstance(error, OSError)
        assert f"blk_{block.b.blockId}" in str(error) and path in str(error)
        assert error.path == path and f"blk_{block.b.blockId}" in error.block
        with fs.open(path) as f:
            assert f.read(1000) == data[:1000]
        with pytest.raises(CorruptBlockError):
            fs.get(path, tmp_path / "corrupt")
        assert list(tmp_path.iterdir()) == []
    finally:
        with found.open("r+b") as f:
            f.seek(bad)
            f.write(bytes([original]))
    with fs.open(path) as f:
        assert f.read() == data


# -- writes that fail -------------------------------------------------------------------------------


class _Breaker:
    """A DataNode socket factory whose sockets can be cut from the test."""

    def __init__(self, factory) -> None:
        self.factory = factory
        self.sockets: List[socket.socket] = []

    def __call__(self, datanode):
        sock = self.factory(datanode)
        self.sockets.append(sock)
        return sock

    def cut(self) -> None:
        for sock in self.sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@pytest.mark.parametrize("atomic", [False, True], ids=["direct", "atomic"])
def test_failed_write_leaves_no_file(fs, remote, monkeypatch, atomic):
    from pyarn.hdfs.blocks import PipelineError

    breaker = _Breaker(fs._sock_factory)
    monkeypatch.setattr(fs, "_sock_factory", breaker)
    path = f"{remote}/broken"
    writer = fs.open(path, "wb", block_size=MIB, atomic=atomic)
    writer.write(os.urandom(MIB + 1000))  # one block complete, the second under way
    breaker.cut()
    with pytest.raises(PipelineError):
        for _ in range(64):
            writer.write(os.urandom(64 * 1024))
        writer.close()
    assert writer.closed
    assert fs.ls(remote) == []  # neither the file nor a temporary one


def test_failed_atomic_overwrite_keeps_the_old_file(fs, remote, monkeypatch):
    path = f"{remote}/keep"
    with fs.open(path, "wb") as out:
        out.write(b"old content")
    with pytest.raises(RuntimeError):
        with fs.open(path, "wb", overwrite=True, atomic=True) as out:
            out.write(os.urandom(100_000))
            assert fs.ls(remote) != [path]  # the temporary file exists meanwhile
            raise RuntimeError("the caller fails midway")
    assert fs.ls(remote) == [path]
    with fs.open(path) as f:
        assert f.read() == b"old content"


def test_lease_is_renewed_while_writing(fs, remote):
    lease = fs.namenode.lease
    interval, tick = lease.interval, lease.tick
    lease.interval = lease.tick = 0.2
    try:
        with fs.open(f"{remote}/slow", "wb") as out:
            out.write(b"x")
            before = lease.renewals
            deadline = time.monotonic() + 10
            while lease.renewals < before + 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert lease.renewals >= before + 2
            assert lease.running
        deadline = time.monotonic() + 5
        while lease.running and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not lease.running
    finally:
        lease.interval, lease.tick = interval, tick
    assert fs.stat(f"{remote}/slow").length == 1


def test_concurrent_writers_share_one_lease(fs, remote):
    errors: List[BaseException] = []

    def write(i: int) -> None:
        try:
            with fs.open(f"{remote}/w{i}", "wb", block_size=MIB) as out:
                out.write(os.urandom(MIB + i))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [fs.stat(f"{remote}/w{i}").length for i in range(4)] == [MIB + i for i in range(4)]
