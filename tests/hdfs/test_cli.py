"""``pyarn fs``: parser, FsShell-style ls lines, progress bar, and the actions over a fake cluster."""
from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import time
from datetime import datetime, timezone

import pytest

from pyarn.conf import Configuration
from pyarn.hdfs import HDFS, FileStatus, FileType, cli

from .datanode_peer import DataNodePeer
from .fake_namenode import FakeNameNode

UTC = timezone.utc  # noqa: UP017


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def status(path, type=FileType.FILE, length=6, permission=0o644, owner="root", group="supergroup",
           replication=1, acl=False) -> FileStatus:
    return FileStatus(path=path, type=type, length=length, permission=permission, owner=owner, group=group,
                      modification_time=datetime(2026, 11, 21, 6, 28, 42, tzinfo=UTC), access_time=None,
                      replication=replication if type is FileType.FILE else 0, block_size=0, acl=acl)


@pytest.mark.parametrize("size,text", [
    (0, "0"), (1023, "1023"), (1024, "1 K"), (1536, "1.5 K"), (1048575, "1.0 M"), (1 << 20, "1 M"),
    (5 * (1 << 30) + 1, "5.0 G"), (123456789, "117.7 M"), (1 << 60, "1 E"),
])
def test_human_size_is_hadoops(size, text):
    assert cli.human_size(size) == text


def test_ls_lines_are_fsshells():
    formatter = cli.LsFormatter()
    entries = [status("/t/h.txt"), status("/t/sub", FileType.DIRECTORY, 0, 0o755),
               status("/t/s", permission=0o1777, acl=True)]
    formatter.widen(entries)
    assert [formatter.line(e, e.path) for e in entries] == [
        "-rw-r--r--   1 root supergroup          6 2026-11-21 06:28 /t/h.txt",
        "drwxr-xr-x   - root supergroup          0 2026-11-21 06:28 /t/sub",
        "-rwxrwxrwt+  1 root supergroup          6 2026-11-21 06:28 /t/s",
    ]


def test_ls_columns_only_grow():
    formatter = cli.LsFormatter(human=True)
    formatter.widen([status("/a", length=123456789012, owner="a-long-owner", replication=1000)])
    formatter.widen([status("/b", owner="x", group="g")])
    assert formatter.line(status("/b", owner="x", group="g", length=2048), "/b") == \
        "-rw-r--r--    1 x            " + "g" + " " * 10 + " " * 9 + "2 K 2026-11-21 06:28 /b"


@pytest.mark.parametrize("arg,shown", [
    ("/tmp", "/tmp"), ("/tmp/", "/tmp"), ("//tmp//x", "/tmp/x"), ("/", "/"), (".", "."), ("rel/", "rel"),
    ("hdfs://h:1/a/", "hdfs://h:1/a"), ("hdfs:///a", "hdfs:///a"),
])
def test_display_of_arguments(arg, shown):
    assert cli._display(arg) == shown


def test_children_of_dot_and_root():
    assert cli._child(".", "x") == "x" and cli._child("/", "x") == "/x" and cli._child("a", "x") == "a/x"


# -- over a fake cluster ---------------------------------------------------------------------


@pytest.fixture
def fake(monkeypatch):
    peer = DataNodePeer()
    namenode = FakeNameNode([peer])
    namenode.mkdirs("/user/alice")
    fs = HDFS(conf=Configuration({"fs.defaultFS": "hdfs://nn:8020"}), user="alice", namenode=namenode)
    monkeypatch.setattr(cli, "_connect", lambda conf_dir: fs)
    monkeypatch.setattr(fs, "close", lambda: None)
    yield fs
    namenode.close()
    peer.close()


def pyarn_fs(*argv: str, stdin: bytes = b"") -> tuple:
    """Run ``pyarn fs ARGV`` in-process; returns (status, stdout text, stderr text)."""
    out, err = io.TextIOWrapper(io.BytesIO(), write_through=True), io.StringIO()
    old = sys.stdout, sys.stderr, sys.stdin
    sys.stdout, sys.stderr = out, err
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin))
    try:
        status = cli.main(list(argv))
    finally:
        sys.stdout, sys.stderr, sys.stdin = old
    return status, out.buffer.getvalue().decode(), err.getvalue()


def test_round_trip_through_the_commands(fake, tmp_path):
    local = tmp_path / "hello.txt"
    local.write_bytes(b"hello\n")
    assert pyarn_fs("mkdir", "-p", "d/e") == (0, "", "")
    assert pyarn_fs("put", "-q", str(local), "d")[0] == 0
    assert pyarn_fs("cat", "d/hello.txt") == (0, "hello\n", "")
    status, out, _ = pyarn_fs("ls", "d")
    assert status == 0 and out.splitlines() == [
        "Found 2 items",
        "drwxr-xr-x   - tester testers          0 2024-05-06 07:08 d/e",
        "-rw-r--r--   3 tester testers          6 2024-05-06 07:08 d/hello.txt",  # dfs.replication
    ]
    assert pyarn_fs("ls", "-d", "/user/alice/d")[1] == \
        "drwxr-xr-x   - tester testers          0 2024-05-06 07:08 /user/alice/d\n"
    assert pyarn_fs("ls", "-R")[1].splitlines()[1].endswith(" d/e")
    assert pyarn_fs("get", str(tmp_path / "nope"), str(tmp_path))[0] == 1
    assert pyarn_fs("get", "-q", "d/hello.txt", str(tmp_path / "back.txt"))[0] == 0
    assert (tmp_path / "back.txt").read_bytes() == b"hello\n"
    assert pyarn_fs("mv", "d/hello.txt", "d/e")[0] == 0
    record = json.loads(pyarn_fs("stat", "--json", "d/e/hello.txt")[1])
    assert (record["path"], record["length"], record["mode"], record["permission"]) == \
        ("/user/alice/d/e/hello.txt", 6, "-rw-r--r--", "0644")
    assert "replication" in pyarn_fs("stat", "d/e/hello.txt")[1]
    status, _, err = pyarn_fs("rm", "d")
    assert status == 1 and "Is a directory" in err
    assert pyarn_fs("rm", "-r", "d") == (0, "", "")
    assert pyarn_fs("rm", "-f", "d") == (0, "", "")


def test_put_from_stdin(fake):
    assert pyarn_fs("put", "-", "in.txt", stdin=b"from stdin")[0] == 0
    assert pyarn_fs("cat", "in.txt")[1] == "from stdin"
    status, _, err = pyarn_fs("put", "-", "in.txt", stdin=b"again")
    assert status == 1 and "already exists" in err


def test_errors_are_one_line_each_and_the_rest_goes_on(fake):
    pyarn_fs("mkdir", "/a")
    status, out, err = pyarn_fs("ls", "/missing", "/a", "/missing2")
    assert status == 1 and out == ""
    assert err.splitlines() == ["pyarn: error: File does not exist: /missing",
                                "pyarn: error: File does not exist: /missing2"]
    status, _, err = pyarn_fs("mkdir", "/a")
    assert status == 1 and "already exists" in err
    status, _, err = pyarn_fs("ls", "hdfs://elsewhere:8020/")
    assert status == 1 and "another file system" in err


def test_several_sources_need_a_directory(fake, tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).write_bytes(name.encode())
    pyarn_fs("put", "-q", str(tmp_path / "a"), "file")
    status, _, err = pyarn_fs("put", "-q", str(tmp_path / "a"), str(tmp_path / "b"), "file")
    assert status == 1 and "Not a directory" in err
    pyarn_fs("mkdir", "dir")
    assert pyarn_fs("put", "-q", str(tmp_path / "a"), str(tmp_path / "b"), "dir")[0] == 0
    assert pyarn_fs("ls", "dir")[1].count("\n") == 3


def test_progress_bar_draws_on_a_terminal(fake, tmp_path, monkeypatch):
    (tmp_path / "f").write_bytes(b"x" * 1000)
    terminal = io.StringIO()
    terminal.isatty = lambda: True  # type: ignore[method-assign]
    monkeypatch.setattr(sys, "stderr", terminal)
    args = argparse.Namespace(quiet=False)
    assert isinstance(cli._progress(args, "f"), cli.ProgressBar)
    assert cli._progress(argparse.Namespace(quiet=True), "f") is None


def test_progress_bar():
    stream = io.StringIO()
    now = [0.0]
    bar = cli.ProgressBar("big.bin", stream, width=10, interval=0.5, clock=lambda: now[0])
    now[0] = 1.0
    bar(512 * 1024 * 1024, 1024 * 1024 * 1024)
    now[0] = 1.1
    bar(600 * 1024 * 1024, 1024 * 1024 * 1024)  # too soon: not drawn
    now[0] = 2.0
    bar(1024 * 1024 * 1024, 1024 * 1024 * 1024)
    bar.finish()
    assert stream.getvalue() == (
        "\rbig.bin [#####     ]  50%  512.0 MiB / 1.0 GiB  512.0 MiB/s"
        "\rbig.bin [##########] 100%  1.0 GiB / 1.0 GiB  512.0 MiB/s\n")
    empty = io.StringIO()
    cli.ProgressBar("e", empty, clock=lambda: 1.0)(0, 0)
    assert "100%" in empty.getvalue()


def test_parser_accepts_every_action():
    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["fs", "put", "-f", "--block-size", "1048576", "a", "b", "/dst"])
    assert (args.sources, args.target, args.force, args.block_size) == (["a", "b"], "/dst", True, 1048576)
    assert parser.parse_args(["fs", "ls"]).paths == []
    assert parser.parse_args(["fs", "rm", "-r", "-f", "x"]).recursive
    with pytest.raises(SystemExit):
        parser.parse_args(["fs"])


def test_building_the_parser_loads_no_protobuf():
    code = ("import argparse, sys\nfrom pyarn.hdfs import cli\n"
            "cli.add_parser(argparse.ArgumentParser().add_subparsers())\n"
            "print(sorted(m for m in sys.modules if m.startswith(('google', 'hadoop_protos'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_not_an_hdfs_default_file_system(tmp_path):
    (tmp_path / "core-site.xml").write_text(
        "<configuration><property><name>fs.defaultFS</name><value>file:///</value></property>"
        "</configuration>")
    status, _, err = pyarn_fs("--conf-dir", str(tmp_path), "ls", "/")
    assert status == 1 and "not HDFS" in err
