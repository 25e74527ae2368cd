"""The HDFS file-system API over an in-memory NameNode and test DataNodes (no cluster)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from pyarn.conf import Configuration
from pyarn.errors import PyarnError
from pyarn.hdfs import HDFS, DirectoryNotEmptyError, FileStatus, InvalidPathError
from pyarn.hdfs.filesystem import parse_mode
from pyarn.security.user import User

from .datanode_peer import DataNodePeer
from .fake_namenode import FakeNameNode


@pytest.fixture
def peer():
    p = DataNodePeer()
    yield p
    p.close()


def make_fs(peer, **conf) -> HDFS:
    values = {"fs.defaultFS": "hdfs://nn.example.com:8020", "dfs.blocksize": "64k",
              "dfs.replication": "1", **conf}
    namenode = FakeNameNode([peer])
    namenode.mkdirs("/user/alice")
    namenode.calls.clear()
    return HDFS(conf=Configuration(values), user="alice", namenode=namenode)


@pytest.fixture
def fs(peer):
    client = make_fs(peer)
    yield client
    client.close()


def calls(fs, name):
    return [c for c in fs.namenode.calls if c[0] == name]


def test_identity_and_paths(fs):
    assert fs.uri == "hdfs://nn.example.com:8020" and fs.home == "/user/alice"
    assert fs.user == User("alice") and "alice" in repr(fs)
    assert fs.resolve("data/x") == "/user/alice/data/x"
    assert fs.resolve("hdfs://nn.example.com/x") == "/x"
    with pytest.raises(InvalidPathError, match="another file system"):
        fs.stat("hdfs://other:8020/x")


def test_home_prefix_and_umask_come_from_the_configuration(peer):
    client = make_fs(peer, **{"dfs.user.home.dir.prefix": "/homes", "fs.permissions.umask-mode": "077"})
    assert client.home == "/homes/alice"
    client.mkdir("/d")
    assert client.stat("/d").permission == 0o700
    with pytest.raises(ValueError, match="umask"):
        make_fs(peer, **{"fs.permissions.umask-mode": "u=rwx"})


def test_not_an_hdfs_file_system(peer):
    with pytest.raises(PyarnError, match="not an HDFS file system"):
        HDFS(conf=Configuration({"fs.defaultFS": "file:///"}), namenode=FakeNameNode([peer]))
    with pytest.raises(ValueError, match="conf_dir or conf"):
        HDFS("/etc/hadoop", conf=Configuration({}))


def test_mkdir_applies_the_umask_and_parents(fs):
    assert fs.mkdir("a/b/c") == "/user/alice/a/b/c"
    assert fs.stat("a/b/c").permission == 0o755
    assert fs.mkdir("a/b/c") == "/user/alice/a/b/c"  # -p: an existing directory is fine
    with pytest.raises(FileExistsError):
        fs.mkdir("a/b/c", parents=False)
    with pytest.raises(FileNotFoundError):
        fs.mkdir("x/y", parents=False)
    fs.mkdir("/p", permission=0o700)
    assert fs.stat("/p").permission == 0o700


def test_stat_exists_ls(fs):
    fs.mkdir("d/sub")
    with fs.open("d/f", "wb") as out:
        out.write(b"12345")
    status = fs.stat("d/f")
    assert isinstance(status, FileStatus) and status.length == 5 and status.permission == 0o644
    assert fs.exists("d/f") and not fs.exists("d/nope")
    assert fs.ls("d") == ["/user/alice/d/f", "/user/alice/d/sub"]
    assert [s.name for s in fs.ls("d", detail=True)] == ["f", "sub"]
    assert fs.ls("d/f") == ["/user/alice/d/f"]  # a file lists as itself
    with pytest.raises(FileNotFoundError) as info:
        fs.stat("d/nope")
    assert isinstance(info.value, PyarnError) and "/user/alice/d/nope" in str(info.value)


def test_listing_follows_pages(peer):
    client = make_fs(peer)
    client.namenode.listing_page = 3
    for i in range(10):
        client.mkdir(f"/many/d{i}")
    assert client.ls("/many") == [f"/many/d{i}" for i in range(10)]
    assert len(calls(client, "getListing")) == 4


def test_walk_and_du(fs):
    for path in ("t/a/x", "t/b"):
        fs.mkdir(path)
    for path in ("t/f1", "t/a/f2", "t/a/x/f3"):
        with fs.open(path, "wb") as out:
            out.write(b"abc")
    walked = list(fs.walk("t"))
    assert walked == [("/user/alice/t", ["a", "b"], ["f1"]), ("/user/alice/t/a", ["x"], ["f2"]),
                      ("/user/alice/t/a/x", [], ["f3"]), ("/user/alice/t/b", [], [])]
    summary = fs.du("t")
    assert (summary.length, summary.file_count, summary.directory_count) == (9, 3, 4)


def test_open_modes(fs):
    with fs.open("f", "wb") as out:
        out.write(b"hello")
    with fs.open("f") as f:
        assert f.read() == b"hello"
    with fs.open("f", "ab") as out:
        out.write(b" world")
    with fs.open("f", "rb") as f:
        assert f.read() == b"hello world"
    for mode in ("r", "w", "rb+", "xb"):
        with pytest.raises(ValueError, match="mode"):
            fs.open("f", mode)
    fs.mkdir("dir")
    with pytest.raises(IsADirectoryError):
        fs.open("dir")
    with pytest.raises(FileExistsError):
        fs.open("dir", "wb")
    with pytest.raises(IsADirectoryError):
        fs.open("dir", "wb", atomic=True, overwrite=True)


def test_write_refuses_an_existing_file_unless_overwrite(fs):
    with fs.open("f", "wb") as out:
        out.write(b"one")
    for atomic in (False, True):
        with pytest.raises(FileExistsError):
            fs.open("f", "wb", atomic=atomic)
        with fs.open("f", "wb", overwrite=True, atomic=atomic) as out:
            out.write(b"two" if not atomic else b"three")
    with fs.open("f") as f:
        assert f.read() == b"three"


def test_atomic_write_is_invisible_until_complete(fs):
    out = fs.open("f", "wb", atomic=True, block_size=1024 * 1024)
    out.write(b"data")
    [temporary] = fs.ls(".")
    name = temporary.rsplit("/", 1)[1]
    assert name.startswith(".f.") and name.endswith("._COPYING_")
    assert not fs.exists("f")
    out.close()
    assert fs.ls(".") == ["/user/alice/f"]
    assert calls(fs, "rename2")[-1][1:] == (temporary, "/user/alice/f", False)


def test_atomic_write_that_fails_keeps_the_old_file(fs):
    with fs.open("f", "wb") as out:
        out.write(b"old")
    with pytest.raises(RuntimeError):
        with fs.open("f", "wb", atomic=True, overwrite=True) as out:
            out.write(b"new but broken")
            raise RuntimeError("midway")
    assert fs.ls(".") == ["/user/alice/f"]
    with fs.open("f") as f:
        assert f.read() == b"old"


def test_block_size_and_replication_of_new_files(fs):
    with fs.open("f", "wb", block_size=1000, replication=2) as out:
        out.write(os.urandom(2500))
    status = fs.stat("f")
    assert (status.block_size, status.replication) == (1000, 2)
    assert [b.numBytes for b in fs.namenode.nodes["/user/alice/f"].blocks] == [1000, 1000, 500]
    with fs.open("g", "wb") as out:
        out.write(b"x")
    assert (fs.stat("g").block_size, fs.stat("g").replication) == (64 * 1024, 1)


def test_rm(fs):
    fs.mkdir("d/sub")
    with fs.open("d/f", "wb") as out:
        out.write(b"x")
    fs.rm("d/f")
    assert not fs.exists("d/f")
    with pytest.raises(FileNotFoundError):
        fs.rm("d/f")
    with pytest.raises(DirectoryNotEmptyError):
        fs.rm("d")
    fs.rm("d", recursive=True)
    assert not fs.exists("d")
    with pytest.raises(InvalidPathError, match="root"):
        fs.rm("/", recursive=True)


def test_mv(fs):
    fs.mkdir("dir")
    for name in ("a", "b"):
        with fs.open(name, "wb") as out:
            out.write(name.encode())
    assert fs.mv("a", "c") == "/user/alice/c"
    with pytest.raises(FileExistsError):
        fs.mv("c", "b")
    assert fs.mv("c", "b", overwrite=True) == "/user/alice/b"
    assert fs.mv("b", "dir") == "/user/alice/dir/b"
    with pytest.raises(FileNotFoundError):
        fs.mv("nope", "x")


def test_chmod_chown_set_replication(fs):
    fs.mkdir("t/u")
    with fs.open("t/u/f", "wb") as out:
        out.write(b"x")
    fs.chmod("t", "700")
    assert fs.stat("t").permission == 0o700 and fs.stat("t/u").permission == 0o755
    fs.chmod("t", 0o750, recursive=True)
    assert {fs.stat(p).permission for p in ("t", "t/u", "t/u/f")} == {0o750}
    fs.chown("t", group="staff", recursive=True)
    assert {fs.stat(p).group for p in ("t", "t/u", "t/u/f")} == {"staff"}
    fs.set_replication("t/u/f", 3)
    assert fs.stat("t/u/f").replication == 3
    with pytest.raises(IsADirectoryError):
        fs.set_replication("t", 3)


@pytest.mark.parametrize("mode,value", [(0o644, 0o644), ("644", 0o644), ("0755", 0o755), ("1777", 0o1777)])
def test_parse_mode(mode, value):
    assert parse_mode(mode) == value


@pytest.mark.parametrize("mode", ["u+x", "", "8", "77777", -1, 0o10000])
def test_parse_mode_refuses(mode):
    with pytest.raises(ValueError):
        parse_mode(mode)


# -- put and get ------------------------------------------------------------------------


def test_put_and_get_a_file(fs, tmp_path):
    data = os.urandom(200_000)
    local = tmp_path / "data.bin"
    local.write_bytes(data)
    seen = []
    assert fs.put(local, "up.bin", progress=lambda done, total: seen.append((done, total))) == \
        "/user/alice/up.bin"
    assert seen[0] == (0, 200_000) and seen[-1] == (200_000, 200_000)
    assert fs.stat("up.bin").length == 200_000
    back = fs.get("up.bin", tmp_path / "back.bin")
    assert back.read_bytes() == data
    fs.mkdir("into")
    assert fs.put(local, "into") == "/user/alice/into/data.bin"  # into an existing directory
    (tmp_path / "sub").mkdir()
    assert fs.get("into/data.bin", tmp_path / "sub") == tmp_path / "sub" / "data.bin"  # into a directory


def test_put_refuses_to_replace_unless_asked(fs, tmp_path):
    local = tmp_path / "f"
    local.write_bytes(b"one")
    fs.put(local, "f")
    local.write_bytes(b"two")
    with pytest.raises(FileExistsError):
        fs.put(local, "f")
    fs.put(local, "f", overwrite=True)
    with fs.open("f") as f:
        assert f.read() == b"two"
    with pytest.raises(FileNotFoundError):
        fs.put(tmp_path / "missing", "g")


def test_get_refuses_to_replace_unless_asked(fs, tmp_path):
    with fs.open("f", "wb") as out:
        out.write(b"remote")
    local = tmp_path / "f"
    local.write_bytes(b"local")
    with pytest.raises(FileExistsError):
        fs.get("f", local)
    assert local.read_bytes() == b"local"
    fs.get("f", local, overwrite=True)
    assert local.read_bytes() == b"remote"


def test_put_and_get_trees(fs, tmp_path):
    tree = tmp_path / "tree"
    files = {"a": b"A" * 1000, "s/b": b"B", "s/t/c": b"", "e/d": os.urandom(70_000)}
    for name, data in files.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_bytes(data)
    (tree / "empty").mkdir()
    seen = []
    assert fs.put(tree, "up", progress=lambda d, t: seen.append((d, t))) == "/user/alice/up"
    assert seen[-1] == (71_001, 71_001)
    assert sorted(fs.ls("up")) == ["/user/alice/up/a", "/user/alice/up/e", "/user/alice/up/empty",
                                   "/user/alice/up/s"]
    assert fs.put(tree, "up") == "/user/alice/up/tree"  # into the existing directory
    seen.clear()
    back = fs.get("up", tmp_path / "back", progress=lambda d, t: seen.append((d, t)))
    assert back == tmp_path / "back"
    for name, data in files.items():
        assert (back / name).read_bytes() == data
    assert (back / "empty").is_dir() and (back / "tree" / "s" / "b").read_bytes() == b"B"
    assert seen[-1][0] == seen[-1][1] == 2 * 71_001


def test_a_failed_get_leaves_no_local_file(fs, peer, tmp_path):
    with fs.open("f", "wb") as out:
        out.write(os.urandom(100_000))
    peer.faults.read_corrupt_chunk = 100
    from pyarn.hdfs import CorruptBlockError

    with pytest.raises(CorruptBlockError):
        fs.get("f", tmp_path / "f")
    assert list(tmp_path.iterdir()) == []


def test_delegation_token_renewer_defaults_to_the_user(fs):
    asked = []
    fs.namenode.get_delegation_token = lambda renewer: asked.append(renewer)  # type: ignore[attr-defined]
    fs.get_delegation_token()
    fs.get_delegation_token("yarn")
    assert asked == ["alice", "yarn"]


def test_lazy_package_exports():
    import pyarn.hdfs as hdfs

    assert hdfs.HDFS is HDFS and "HDFS" in dir(hdfs)
    with pytest.raises(AttributeError):
        hdfs.NoSuchThing  # noqa: B018


def test_from_conf(peer):
    conf = Configuration({"fs.defaultFS": "hdfs://127.0.0.1:1"})
    with HDFS.from_conf(conf, user="bob") as client:
        assert client.home == "/user/bob" and client.namenode.addresses == ("127.0.0.1:1",)


def test_paths_may_be_pathlike(fs):
    fs.mkdir(Path("/x/y"))
    assert fs.exists(Path("/x/y"))
