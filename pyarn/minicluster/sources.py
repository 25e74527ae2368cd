"""Where a LocalResource's bytes come from: the NodeManager's own disk (``file:``) or an HDFS.

The localizer asks a :class:`Source` what YARN's ``FSDownload`` asks a Hadoop
``FileSystem``: the status of the resource (modification time, directory or
not, permission), whether it is public, and its bytes (a stream, or a copy of
a directory tree). :func:`open_source` picks the source for a URL; ``hdfs://``
ones are read through :class:`pyarn.hdfs.HDFS`, as the application's user.
"""
from __future__ import annotations

import abc
import os
import posixpath
import shutil
import stat
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import BinaryIO, Iterator, List, Optional, Sequence, cast

import attrs

from hadoop_protos import yarn_records_pb2 as pb

from ..conf import Configuration
from ..errors import PyarnError, java_class_of
from ..hdfs import HDFS
from ..hdfs.namenode import NameNodeClient
from ..ipc import IpcSettings, RpcClient
from ..security.tokens import Token
from ..security.user import User

__all__ = ["LocalizationError", "Source", "SourceStatus", "LocalSource", "HdfsSource", "open_source",
           "url_text"]

FILE_NOT_FOUND = "java.io.FileNotFoundException"
#: Permission bits "others" need: read on files, read and search on directories, search on ancestors.
_OTHER_READ, _OTHER_READ_SEARCH, _OTHER_SEARCH = 0o004, 0o005, 0o001
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)  # noqa: UP017 (datetime.UTC is 3.11+)
_MS = timedelta(milliseconds=1)


class LocalizationError(Exception):
    """A resource could not be localized; ``java_class`` is the exception YARN reports."""

    def __init__(self, message: str, java_class: str = "java.io.IOException") -> None:
        super().__init__(message)
        self.message = message
        self.java_class = java_class

    @classmethod
    def from_pyarn(cls, exc: PyarnError) -> LocalizationError:
        """The error a Hadoop client's exception becomes, Java class kept."""
        return cls(str(exc), java_class_of(exc))


def url_text(url: pb.URLProto) -> str:
    """A URL as Hadoop prints the resource's path (``file:/tmp/x``, ``hdfs://nn:8020/x``)."""
    scheme = url.scheme or "file"
    if url.host:
        return f"{scheme}://{_authority(url)}{url.file}"
    return f"{scheme}:{url.file}"


def _authority(url: pb.URLProto) -> str:
    port = f":{url.port}" if url.HasField("port") and url.port >= 0 else ""
    return f"{url.host}{port}"


@attrs.frozen
class SourceStatus:
    """What ``FileSystem.getFileStatus`` says, as far as localization cares."""

    modification_ms: int
    is_dir: bool
    permission: int


class Source(abc.ABC):
    """One resource on the file system its URL names; close it (or use ``with``) when done.

    ``path`` is the resource's path on that file system, ``text`` its URL as
    Hadoop prints it (in diagnostics), :attr:`name` the name of its localized copy.
    """

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.text = text
        self.name = posixpath.basename(path.rstrip("/"))

    @abc.abstractmethod
    def stat(self, path: str) -> SourceStatus:
        """The status of ``path`` on the source's file system (``FileNotFoundError`` if missing)."""

    @abc.abstractmethod
    def children(self, path: str) -> Iterator[str]:
        """The paths in directory ``path``."""

    @abc.abstractmethod
    def open(self) -> BinaryIO:
        """The bytes of a file resource, as a seekable stream."""

    @abc.abstractmethod
    def copy_tree(self, target: Path) -> None:
        """Copy a directory resource to ``target`` (which does not exist yet)."""

    def status(self) -> SourceStatus:
        """The resource's status; :class:`LocalizationError` (``FileNotFoundException``) if missing."""
        try:
            return self.stat(self.path)
        except FileNotFoundError:
            raise LocalizationError(self.missing_message(), FILE_NOT_FOUND) from None

    def missing_message(self) -> str:
        """How the Hadoop ``FileSystem`` words a missing resource (``RawLocalFileSystem``'s words)."""
        return f"File {self.text} does not exist"

    def is_public(self, status: SourceStatus) -> bool:
        """``FSDownload.isPublic``: others may read the resource (the whole tree of a directory,
        whose directories they may also search) and search every ancestor directory."""
        return self._public_tree(self.path, status) and all(
            self.stat(parent).permission & _OTHER_SEARCH for parent in _ancestors(self.path))

    def _public_tree(self, path: str, status: SourceStatus) -> bool:
        if not status.is_dir:
            return status.permission & _OTHER_READ == _OTHER_READ
        if status.permission & _OTHER_READ_SEARCH != _OTHER_READ_SEARCH:
            return False
        return all(self._public_tree(child, self.stat(child)) for child in self.children(path))

    def close(self) -> None:  # noqa: B027 - nothing to release by default
        """Release what the source holds (connections)."""

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _ancestors(path: str) -> List[str]:
    """``/a/b/c`` → ``["/a/b", "/a", "/"]``."""
    parents = []
    while path not in ("/", ""):
        path = posixpath.dirname(path)
        parents.append(path)
    return parents


class LocalSource(Source):
    """A ``file:`` resource on this machine."""

    def stat(self, path: str) -> SourceStatus:
        st = os.stat(path)
        return SourceStatus(st.st_mtime_ns // 1_000_000, stat.S_ISDIR(st.st_mode), stat.S_IMODE(st.st_mode))

    def children(self, path: str) -> Iterator[str]:
        return (entry.path for entry in os.scandir(path))

    def open(self) -> BinaryIO:
        return open(self.path, "rb")

    def copy_tree(self, target: Path) -> None:
        shutil.copytree(self.path, target, symlinks=True)


class HdfsSource(Source):
    """An ``hdfs://`` resource, read through ``fs`` (a :class:`pyarn.hdfs.HDFS`, closed with the source,
    as is ``rpc``, the connections it was given)."""

    def __init__(self, fs: HDFS, path: str, text: str, rpc=None) -> None:
        super().__init__(path, text)
        self.fs = fs
        self.rpc = rpc

    def missing_message(self) -> str:
        return f"File does not exist: {self.text}"  # DistributedFileSystem's words

    def stat(self, path: str) -> SourceStatus:
        status = self.fs.stat(path)
        return SourceStatus((status.modification_time - _EPOCH) // _MS, status.is_dir, status.permission)

    def children(self, path: str) -> Iterator[str]:
        return iter(cast(List[str], self.fs.ls(path)))

    def open(self) -> BinaryIO:
        return self.fs.open(self.path)

    def copy_tree(self, target: Path) -> None:
        self.fs.get(self.path, target)

    def close(self) -> None:
        self.fs.close()
        if self.rpc is not None:
            self.rpc.close()


def open_source(url: pb.URLProto, user: str, conf: Optional[Configuration], *, tokens: Sequence[Token] = (),
                tokens_only: bool = False) -> Source:
    """The source of ``url``; ``conf`` is the NodeManager's configuration (``fs.defaultFS``, HDFS
    addresses). ``hdfs://`` resources are read as ``user``; with ``tokens_only`` (a secure
    cluster) holding ``tokens`` and nothing else: a NameNode that wants Kerberos finds no
    ticket (a secure NodeManager's localizer has only the application's tokens)."""
    text = url_text(url)
    scheme = url.scheme or "file"
    if scheme.lower() == "file":
        return LocalSource(url.file, text)
    if scheme.lower() != "hdfs":
        raise LocalizationError(f'No FileSystem for scheme "{scheme}"',
                                "org.apache.hadoop.fs.UnsupportedFileSystemException")
    conf = conf if conf is not None else Configuration()
    if url.host:
        uri = f"hdfs://{_authority(url)}"
    else:
        uri = conf.get_str("fs.defaultFS", "file:///")
        if not uri.lower().startswith("hdfs://"):
            raise LocalizationError(f"Incomplete HDFS URI, no host: {text}")
    rpc = None
    try:
        if tokens_only:
            rpc = _tokens_only_rpc(conf)
            namenode = NameNodeClient.from_conf(conf, uri, user=User(user, tokens=tokens), rpc=rpc)
            fs = HDFS(conf=conf, uri=uri, user=namenode.user, namenode=namenode)
        else:
            fs = HDFS(conf=conf, uri=uri, user=user)
    except PyarnError as exc:
        if rpc is not None:
            rpc.close()
        raise LocalizationError.from_pyarn(exc) from exc
    return HdfsSource(fs, posixpath.normpath(url.file or "/"), text, rpc)


#: A ticket cache that is never there: a tokens-only client finds no Kerberos ticket.
_NO_TICKET = "MEMORY:pyarn-minicluster-localizer-no-ticket"


def _tokens_only_rpc(conf: Configuration) -> RpcClient:
    """Connections that authenticate with a token or not at all: a Kerberos offer finds no ticket."""
    from ..security.kerberos import KerberosCredentials

    return RpcClient(IpcSettings.from_conf(conf), kerberos=KerberosCredentials("", ccache=_NO_TICKET))
