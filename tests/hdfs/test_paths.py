"""HDFS path resolution: home directory, URIs, normalization, refusals."""
from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from pyarn.hdfs.paths import (
    InvalidPathError,
    basename,
    home_directory,
    join,
    parent,
    resolve,
    same_authority,
    split_uri,
)

HOME = "/user/alice"
AUTHORITY = "nn.example.com:8020"


@pytest.mark.parametrize("given,expected", [
    ("/data/x", "/data/x"),
    ("x", "/user/alice/x"),
    (".", "/user/alice"),
    ("", None),
    ("a/b/../c/./d/", "/user/alice/a/c/d"),
    ("//data///x//", "/data/x"),
    ("/", "/"),
    ("..", "/user"),
    ("../../..", None),
    ("hdfs://nn.example.com:8020/data/x", "/data/x"),
    ("hdfs://NN.example.com/data/x", "/data/x"),        # case and default port
    ("hdfs:///data/x", "/data/x"),                        # no authority: this file system
    ("hdfs:/data/x", "/data/x"),
    ("hdfs://nn.example.com:8020", "/"),
    ("HDFS://nn.example.com:8020/a", "/a"),
    ("/a b/%20c", "/a b/%20c"),                           # taken literally, as Java's Path does
    (PurePosixPath("/p/q"), "/p/q"),
])
def test_resolve(given, expected):
    if expected is None:
        with pytest.raises(InvalidPathError):
            resolve(given, HOME, AUTHORITY)
    else:
        assert resolve(given, HOME, AUTHORITY) == expected


@pytest.mark.parametrize("given,reason", [
    ("hdfs://other.example.com:8020/x", "another file system"),
    ("hdfs://nn.example.com:9000/x", "another file system"),
    ("s3a://bucket/x", "scheme 's3a' is not hdfs"),
    ("file:///tmp/x", "scheme 'file' is not hdfs"),
    ("/a/b:c", "cannot hold ':'"),
    ("/..", "above the root"),
    ("/a\x00b", "NUL"),
])
def test_refused(given, reason):
    with pytest.raises(InvalidPathError, match=reason) as info:
        resolve(given, HOME, AUTHORITY)
    assert isinstance(info.value, ValueError)
    assert info.value.path == given


def test_any_authority_without_a_file_system():
    assert resolve("hdfs://anything:1/x", HOME) == "/x"


def test_a_path_must_be_text():
    with pytest.raises(TypeError):
        resolve(b"/x", HOME)  # type: ignore[arg-type]


@pytest.mark.parametrize("authority", ["nn:80x", "nn:99999", "::1:8020", "nn:"])
def test_a_bad_authority_is_refused_not_guessed(authority):
    """``nn:80x`` once silently meant port 8020; ``nn:`` has no port, which is the default."""
    if authority == "nn:":
        assert resolve(f"hdfs://{authority}/x", HOME, "nn:8020") == "/x"
        return
    with pytest.raises(InvalidPathError, match="bad authority") as info:
        resolve(f"hdfs://{authority}/x", HOME, "nn:8020")
    assert info.value.path == f"hdfs://{authority}/x"
    with pytest.raises(ValueError):
        same_authority(authority, "nn:8020")


def test_same_authority_resolves_names():
    assert same_authority("localhost:8020", "127.0.0.1:8020")
    assert same_authority("localhost", "127.0.0.1:8020")
    assert not same_authority("localhost:8021", "127.0.0.1:8020")
    assert same_authority("mycluster", "MyCluster")
    assert not same_authority("no-such-host.invalid", "127.0.0.1")


@pytest.mark.parametrize("name,home", [
    ("alice", "/user/alice"),
    ("alice@EXAMPLE.COM", "/user/alice"),
    ("nn/host.example.com@EXAMPLE.COM", "/user/nn"),
])
def test_home_directory(name, home):
    assert home_directory(name) == home
    assert home_directory(name, "/home/") == home.replace("/user", "/home")


def test_split_uri_and_helpers():
    assert split_uri("hdfs://h:1/x") == ("hdfs", "h:1", "/x")
    assert split_uri("hdfs:///x") == ("hdfs", "", "/x")
    assert split_uri("hdfs:/x") == ("hdfs", None, "/x")
    assert split_uri("x/y") == (None, None, "x/y")
    assert join("/", "a") == "/a" and join("/a", "b") == "/a/b"
    assert parent("/a/b") == "/a" and parent("/a") == "/" and parent("/") == "/"
    assert basename("/a/b") == "b" and basename("/") == ""
