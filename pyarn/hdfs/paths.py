"""HDFS path names: resolution against a home directory, URIs, validation.

What :class:`~pyarn.hdfs.HDFS` accepts, as Java's ``DistributedFileSystem``
does:

* absolute paths (``/data/x``);
* relative paths, taken from the user's home directory
  (``dfs.user.home.dir.prefix``, ``/user``, then the short user name);
* ``hdfs://authority/path`` URIs, whose authority must name this file
  system (``host[:port]``, port 8020 by default, or the logical nameservice);
* ``hdfs:///path`` and ``hdfs:/path`` (no authority: this file system).

Paths are normalized like Java's ``Path``: repeated and trailing slashes go,
``.`` and ``..`` are resolved. Characters are taken literally (no
percent-decoding). A ``..`` above the root, a ``:`` in a name (Hadoop's
``DFSUtilClient.isValidName``), another scheme or another cluster raise
:class:`InvalidPathError` naming the path.
"""
from __future__ import annotations

import os
import posixpath
import re
import socket
from typing import List, Optional, Tuple, Union

from ..errors import PyarnError
from ..net import parse_address

__all__ = ["InvalidPathError", "PathLike", "home_directory", "resolve", "split_uri", "same_authority",
           "join", "parent", "basename", "DEFAULT_HOME_PREFIX", "NAMENODE_PORT"]

PathLike = Union[str, "os.PathLike[str]"]

#: ``dfs.user.home.dir.prefix`` default.
DEFAULT_HOME_PREFIX = "/user"
NAMENODE_PORT = 8020
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")


class InvalidPathError(PyarnError, ValueError):
    """A path HDFS cannot take, or one that names another file system (also a ``ValueError``)."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"invalid HDFS path {path!r}: {reason}")


def home_directory(user_name: str, prefix: str = DEFAULT_HOME_PREFIX) -> str:
    """``<prefix>/<short name>``: the short name drops ``/host`` and ``@REALM`` of a Kerberos principal."""
    short = user_name.split("@", 1)[0].split("/", 1)[0]
    return join(resolve(prefix, "/"), short)


def split_uri(path: str) -> Tuple[Optional[str], Optional[str], str]:
    """``(scheme, authority, path)``; scheme and authority are None when absent.

    ``hdfs:///x`` gives an empty authority, ``hdfs:/x`` a None one.
    """
    match = _SCHEME.match(path)
    if match is None:
        return None, None, path
    scheme, rest = match.group(1), path[match.end():]
    if rest.startswith("//"):
        authority, slash, tail = rest[2:].partition("/")
        return scheme, authority, slash + tail
    return scheme, None, rest


def same_authority(given: str, ours: str, default_port: int = NAMENODE_PORT) -> bool:
    """Whether URI authority ``given`` names the same NameNode(s) as ``ours``.

    Case-insensitive, with the default port filled in, and comparing resolved
    addresses when the names differ (``localhost`` and ``127.0.0.1``). An
    authority that is not ``host[:port]`` (``nn:80x``) raises ValueError.
    """
    a, b = parse_address(given.lower(), default_port), parse_address(ours.lower(), default_port)
    if a == b:
        return True
    if a[1] != b[1]:
        return False
    try:
        return socket.gethostbyname(a[0]) == socket.gethostbyname(b[0])
    except OSError:
        return False


def resolve(path: PathLike, working_dir: str, authority: Optional[str] = None) -> str:
    """The absolute, normalized HDFS path that ``path`` names.

    ``working_dir`` (absolute) anchors relative paths. ``authority`` is this
    file system's URI authority; a URI naming another one is refused.
    """
    text = os.fspath(path)
    if not isinstance(text, str):
        raise TypeError(f"an HDFS path must be a str or os.PathLike[str], not {type(text).__name__}")
    if not text:
        raise InvalidPathError(text, "the path is empty")
    if "\x00" in text:
        raise InvalidPathError(text, "a path cannot hold NUL characters")
    scheme, given_authority, rest = split_uri(text)
    if scheme is not None:
        if scheme.lower() != "hdfs":
            raise InvalidPathError(text, f"scheme {scheme!r} is not hdfs")
        if given_authority and authority is not None:
            try:
                same = same_authority(given_authority, authority)
            except ValueError as exc:
                raise InvalidPathError(text, f"bad authority: {exc}") from None
            if not same:
                raise InvalidPathError(text, f"it names another file system (hdfs://{given_authority}); "
                                             f"this client is connected to hdfs://{authority}")
        if not rest:
            rest = "/"
        if not rest.startswith("/"):
            raise InvalidPathError(text, "a URI's path must be absolute")
    if not rest.startswith("/"):
        rest = working_dir.rstrip("/") + "/" + rest
    return _normalize(text, rest)


def _normalize(original: str, absolute: str) -> str:
    parts: List[str] = []
    for part in absolute.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise InvalidPathError(original, "'..' goes above the root")
            parts.pop()
            continue
        if ":" in part:
            raise InvalidPathError(original, f"HDFS names cannot hold ':' (in {part!r})")
        parts.append(part)
    return "/" + "/".join(parts)


def join(directory: str, name: str) -> str:
    """``directory/name`` for a resolved directory and a plain name."""
    return directory.rstrip("/") + "/" + name


def parent(path: str) -> str:
    """The parent of a resolved path (the root is its own parent)."""
    return posixpath.dirname(path) or "/"


def basename(path: str) -> str:
    """The last name of a resolved path (``""`` for the root)."""
    return posixpath.basename(path)
