"""Where the AM's journal lives: a directory on the local disk (``file://``) or in HDFS (``hdfs://``).

A :class:`JournalStore` offers the few file operations :mod:`pyarn.am.journal`
needs, on the files of one directory (flat, named by the journal):

* :meth:`~JournalStore.write_atomic`: a whole file that appears complete or not at all;
* :meth:`~JournalStore.append`: bytes added to the end of a file (``file://`` only,
  :attr:`~JournalStore.appends` says so). On the local disk an append is a
  ``write(2)`` to a file opened with ``O_APPEND``: once it returns, the bytes
  survive the death of the AM's process (not that of the machine: no fsync);
* listing, reading, renaming and deleting files.

HDFS offers no ``hflush`` in pyarn's client, so an HDFS journal writes each
batch of records as a file of its own (see :class:`~pyarn.am.journal.Journal`).
"""
from __future__ import annotations

import abc
import errno
import os
import uuid
from pathlib import Path
from typing import Dict, List, Optional
from urllib.parse import unquote, urlsplit

from ..conf import Configuration
from ..errors import PyarnError
from ..security.user import User

__all__ = ["JournalStore", "LocalJournalStore", "HdfsJournalStore", "open_journal_store"]

#: HDFS's client waits this long (doubling) for a file's last block before ``complete`` succeeds;
#: Hadoop's default (400 ms) would make each journal batch take about half a second.
_HDFS_COMPLETE_DELAY_KEY = "dfs.client.block.write.locateFollowingBlock.initial.delay.ms"
_HDFS_COMPLETE_DELAY_MS = "5"


class JournalStore(abc.ABC):
    """A flat directory of journal files (see the module docstring)."""

    #: Whether :meth:`append` is offered.
    appends = False
    url = ""

    @abc.abstractmethod
    def names(self) -> List[str]:
        """The names of the files in the directory (none when it does not exist)."""
        ...

    @abc.abstractmethod
    def read(self, name: str) -> bytes:
        ...

    @abc.abstractmethod
    def write_atomic(self, name: str, data: bytes) -> None:
        """Write the file ``name`` whole, replacing any file of that name."""
        ...

    def append(self, name: str, data: bytes) -> None:
        """Add ``data`` to the end of ``name`` (created when missing)."""
        raise NotImplementedError(f"{type(self).__name__} cannot append")

    @abc.abstractmethod
    def rename(self, name: str, new_name: str) -> None:
        ...

    @abc.abstractmethod
    def delete(self, name: str) -> None:
        """Remove ``name``; nothing happens when it is not there."""
        ...

    def close(self) -> None:  # noqa: B027 (a no-op unless a subclass holds something open)
        """Release open files and connections."""


class LocalJournalStore(JournalStore):
    """The journal directory ``path`` on the local disk (made 0700 when first written)."""

    appends = True

    def __init__(self, path: os.PathLike) -> None:
        self.path = Path(path)
        self.url = f"file://{self.path}"
        self._fds: Dict[str, int] = {}
        self._ends: Dict[str, int] = {}  # where each open file ends

    def __repr__(self) -> str:
        return f"LocalJournalStore({str(self.path)!r})"

    def names(self) -> List[str]:
        try:
            return sorted(os.listdir(self.path))
        except FileNotFoundError:
            return []

    def read(self, name: str) -> bytes:
        return (self.path / name).read_bytes()

    def _mkdir(self) -> None:
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)

    def write_atomic(self, name: str, data: bytes) -> None:
        self._mkdir()
        tmp = self.path / f".{name}.{uuid.uuid4().hex[:8]}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            _write_all(fd, data)
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        os.replace(tmp, self.path / name)
        _fsync_dir(self.path)

    def append(self, name: str, data: bytes) -> None:
        fd = self._fds.get(name)
        if fd is None:
            self._mkdir()
            fd = self._fds[name] = os.open(self.path / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND
                                           | os.O_CLOEXEC, 0o600)
            self._ends[name] = os.lseek(fd, 0, os.SEEK_END)
        try:
            _write_all(fd, data)
        except BaseException:
            os.ftruncate(fd, self._ends[name])  # no half record in the middle when the append is retried
            raise
        self._ends[name] += len(data)

    def _forget(self, name: str) -> None:
        fd = self._fds.pop(name, None)
        self._ends.pop(name, None)
        if fd is not None:
            os.close(fd)

    def rename(self, name: str, new_name: str) -> None:
        self._forget(name)
        os.replace(self.path / name, self.path / new_name)

    def delete(self, name: str) -> None:
        self._forget(name)
        (self.path / name).unlink(missing_ok=True)

    def close(self) -> None:
        for name in list(self._fds):
            self._forget(name)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:  # some file systems cannot sync a directory
        if exc.errno not in (errno.EINVAL, errno.EBADF):
            raise
    finally:
        os.close(fd)


class HdfsJournalStore(JournalStore):
    """The journal directory ``path`` in the HDFS at ``uri`` (``hdfs://authority``)."""

    def __init__(self, uri: Optional[str], path: str, conf: Configuration,
                 user: Optional[User] = None) -> None:
        from ..hdfs import HDFS

        tuned = conf.with_overrides({_HDFS_COMPLETE_DELAY_KEY: _HDFS_COMPLETE_DELAY_MS})
        self.fs = HDFS(conf=tuned, uri=uri, user=user)
        self.path = path.rstrip("/") or "/"
        self.url = f"{self.fs.uri}{self.path}"
        self._made = False

    def __repr__(self) -> str:
        return f"HdfsJournalStore({self.url!r})"

    def _file(self, name: str) -> str:
        return f"{self.path}/{name}"

    def names(self) -> List[str]:
        try:
            return sorted(os.path.basename(p) for p in self.fs.ls(self.path))
        except FileNotFoundError:
            return []

    def read(self, name: str) -> bytes:
        with self.fs.open(self._file(name)) as f:
            return f.read()

    def write_atomic(self, name: str, data: bytes) -> None:
        if not self._made:
            self.fs.mkdir(self.path, permission=0o700)
            self._made = True
        with self.fs.open(self._file(name), "wb", atomic=True, overwrite=True, permission=0o600) as f:
            f.write(data)

    def rename(self, name: str, new_name: str) -> None:
        self.fs.mv(self._file(name), self._file(new_name), overwrite=True)

    def delete(self, name: str) -> None:
        try:
            self.fs.rm(self._file(name))
        except FileNotFoundError:
            pass

    def close(self) -> None:
        self.fs.close()


def open_journal_store(url: str, conf: Configuration, user: Optional[User] = None) -> JournalStore:
    """The store for the directory ``url``: ``file://`` or ``hdfs://`` (a URL without a scheme is on
    ``fs.defaultFS``)."""
    if not urlsplit(url).scheme:
        url = conf.get_str("fs.defaultFS", "file:///").rstrip("/") + "/" + url.lstrip("/")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "file":
        return LocalJournalStore(unquote(parts.path))
    if scheme == "hdfs":
        return HdfsJournalStore(f"hdfs://{parts.netloc}" if parts.netloc else None, unquote(parts.path),
                                conf, user)
    raise PyarnError(f"cannot keep the application master's journal at {url}: only file:// and hdfs:// "
                     "directories are supported")
