"""Staging: the private directory an application's files wait in until YARN localizes them.

``Client.submit`` copies an application's local files into
``<root>/<application id>`` on the cluster's default file system
(``fs.defaultFS``) and hands YARN the staged copies, each with the size and
modification time (ms) its file system reports: YARN's ``FSDownload``
refuses a resource whose modification time differs.

``<root>`` is, in order: the ``root`` given, the ``pyarn.staging-dir``
setting, or the user's ``.pyarn`` directory on the default file system
(``$PYARN_HOME`` or ``~/.pyarn`` on a ``file://`` file system,
``/user/<name>/.pyarn`` on HDFS). A root without a scheme is on the default
file system; relative roots start at the user's home there.

Directories are made 0700 and files 0600, so nothing staged is readable by
other users. A staged file appears only once complete (written under a
temporary name and renamed). ``pyarn-am`` removes the directory when the
application ends (:mod:`pyarn.am.staging`); :meth:`StagingDir.remove`
removes it when a submission fails or the client kills the application.
"""
from __future__ import annotations

import abc
import os
import shutil
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Tuple, Union
from urllib.parse import quote, unquote, urlsplit

import attrs

from .conf import Configuration
from .errors import PyarnError
from .security.user import User
from .yarn.ids import ApplicationId

if TYPE_CHECKING:
    from .hdfs import HDFS

__all__ = ["STAGING_DIR_KEY", "StagedFile", "StagingDir", "LocalStagingDir", "HdfsStagingDir",
           "open_staging_dir", "staging_root", "staging_scheme", "stat_source"]

#: Setting naming the directory applications are staged under.
STAGING_DIR_KEY = "pyarn.staging-dir"
#: ``~/.pyarn`` is replaced by this directory when it is set (as for the saved application secrets).
HOME_ENV = "PYARN_HOME"
DIR_MODE = 0o700
FILE_MODE = 0o600

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)  # noqa: UP017 (datetime.UTC is 3.11+)
_MS = timedelta(milliseconds=1)


@attrs.frozen
class StagedFile:
    """A file where YARN can fetch it: its URL, size in bytes and modification time in ms."""

    url: str
    size: int
    timestamp: int


class StagingDir(abc.ABC):
    """One application's staging directory, at :attr:`url`, on one file system."""

    url: str

    @abc.abstractmethod
    def create(self) -> None:
        """Make the directory (and missing parents), readable by its owner only."""
        ...

    @abc.abstractmethod
    def upload(self, local: Union[str, os.PathLike], name: str) -> StagedFile:
        """Copy a local file or directory tree in as ``name``."""
        ...

    @abc.abstractmethod
    def write(self, name: str, data: bytes) -> StagedFile:
        """Write ``data`` as file ``name``."""
        ...

    @abc.abstractmethod
    def remove(self) -> None:
        """Delete the directory and everything in it (nothing happens when it is gone)."""
        ...

    @abc.abstractmethod
    def exists(self) -> bool:
        """Whether the directory is there."""
        ...

    def close(self) -> None:  # noqa: B027 (a no-op unless a subclass holds connections)
        """Release connections."""

    def __enter__(self) -> StagingDir:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _file_url(path: str) -> str:
    return "file://" + quote(path, safe="/")


def local_status(path: Union[str, Path]) -> Tuple[int, int]:
    """Size and modification time in ms, as Java's ``File.length``/``lastModified`` give them."""
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns // 1_000_000


class LocalStagingDir(StagingDir):
    """A staging directory on the local file system (``fs.defaultFS`` ``file:///``)."""

    def __init__(self, path: Union[str, Path]) -> None:
        self.path = Path(path)
        self.url = _file_url(str(self.path))

    def __repr__(self) -> str:
        return f"LocalStagingDir({str(self.path)!r})"

    def create(self) -> None:
        self.path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        os.chmod(self.path, DIR_MODE)

    def _commit(self, tmp: Path, name: str) -> StagedFile:
        target = self.path / name
        os.replace(tmp, target)
        size, timestamp = local_status(target)
        return StagedFile(_file_url(str(target)), size, timestamp)

    def upload(self, local: Union[str, os.PathLike], name: str) -> StagedFile:
        source = Path(local)
        tmp = self.path / f".{name}.{uuid.uuid4().hex[:12]}.tmp"
        try:
            if source.is_dir():
                shutil.copytree(source, tmp, symlinks=False)
                _restrict_tree(tmp)
            else:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
                with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
                    shutil.copyfileobj(src, out, 4 * 1024 * 1024)
            return self._commit(tmp, name)
        except BaseException:
            _remove_local(tmp)
            raise

    def write(self, name: str, data: bytes) -> StagedFile:
        tmp = self.path / f".{name}.{uuid.uuid4().hex[:12]}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            return self._commit(tmp, name)
        except BaseException:
            _remove_local(tmp)
            raise

    def remove(self) -> None:
        _remove_local(self.path)

    def exists(self) -> bool:
        return self.path.exists()


def _restrict_tree(top: Path) -> None:
    for root, _dirs, files in os.walk(top):
        os.chmod(root, DIR_MODE)
        for name in files:
            os.chmod(os.path.join(root, name), FILE_MODE)


def _remove_local(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _hdfs_millis(moment: datetime) -> int:
    """The NameNode's modification time again in ms, exactly (what ``FSDownload`` compares)."""
    return (moment - _EPOCH) // _MS


class HdfsStagingDir(StagingDir):
    """A staging directory on HDFS, written through ``fs`` (which this object closes)."""

    def __init__(self, fs: HDFS, path: str) -> None:
        self.fs = fs
        self.path = fs.resolve(path)
        self.url = self._url(self.path)

    def __repr__(self) -> str:
        return f"HdfsStagingDir({self.url!r})"

    def _url(self, path: str) -> str:
        return self.fs.uri + quote(path, safe="/")

    def status(self, path: str) -> StagedFile:
        """The staged form of the file or directory at ``path`` on this file system."""
        status = self.fs.stat(path)
        return StagedFile(self._url(status.path), status.length, _hdfs_millis(status.modification_time))

    def create(self) -> None:
        self.fs.mkdir(self.path, parents=True, permission=DIR_MODE)
        self.fs.chmod(self.path, DIR_MODE)

    def upload(self, local: Union[str, os.PathLike], name: str) -> StagedFile:
        target = f"{self.path}/{name}"
        self.fs.put(local, target)
        if os.path.isdir(local):
            for root, _dirs, files in self.fs.walk(target):
                self.fs.chmod(root, DIR_MODE)
                for file in files:
                    self.fs.chmod(f"{root}/{file}", FILE_MODE)
        else:
            self.fs.chmod(target, FILE_MODE)
        return self.status(target)

    def write(self, name: str, data: bytes) -> StagedFile:
        target = f"{self.path}/{name}"
        with self.fs.open(target, "wb", atomic=True, permission=FILE_MODE) as out:
            out.write(data)
        return self.status(target)

    def remove(self) -> None:
        try:
            self.fs.rm(self.path, recursive=True)
        except FileNotFoundError:
            pass

    def exists(self) -> bool:
        return self.fs.exists(self.path)

    def close(self) -> None:
        self.fs.close()


def _local_home() -> Path:
    home = os.environ.get(HOME_ENV)
    return Path(home) if home else Path.home() / ".pyarn"


def staging_root(conf: Configuration, root: Optional[str] = None) -> str:
    """The URL (or path on the default file system) applications are staged under."""
    root = root or conf.get_str(STAGING_DIR_KEY, "")
    if root:
        return root
    scheme = urlsplit(conf.get_str("fs.defaultFS", "file:///")).scheme.lower() or "file"
    return _file_url(str(_local_home())) if scheme == "file" else ".pyarn"


def staging_scheme(conf: Configuration, root: Optional[str] = None) -> str:
    """The scheme (``file``, ``hdfs``, ...) of the file system applications are staged on."""
    scheme = urlsplit(staging_root(conf, root)).scheme or urlsplit(conf.get_str("fs.defaultFS", "file:///")).scheme
    return scheme.lower() or "file"


def open_staging_dir(conf: Configuration, user: User, app_id: ApplicationId,
                     root: Optional[str] = None) -> StagingDir:
    """The staging directory of ``app_id`` (not created yet) under :func:`staging_root`."""
    base = staging_root(conf, root)
    parts = urlsplit(base)
    if not parts.scheme:  # a path on the default file system
        default = urlsplit(conf.get_str("fs.defaultFS", "file:///"))
        if (default.scheme.lower() or "file") == "file":
            parts = urlsplit(_file_url(os.path.abspath(os.path.expanduser(base))))
        else:
            parts = default._replace(path=quote(base, safe="/"))
    scheme = parts.scheme.lower()
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise PyarnError(f"staging directory {base!r}: a file:// URL names no host")
        return LocalStagingDir(Path(unquote(parts.path)) / str(app_id))
    if scheme == "hdfs":
        from .hdfs import HDFS

        fs = HDFS(conf=conf, uri=f"hdfs://{parts.netloc}" if parts.netloc else None, user=user)
        path = unquote(parts.path).rstrip("/") or "/"
        return HdfsStagingDir(fs, f"{path}/{app_id}")
    raise PyarnError(f"staging directory {base!r}: pyarn stages files on file:// or hdfs:// file systems, "
                     f"not {scheme}:// (set fs.defaultFS or {STAGING_DIR_KEY})")


def stat_source(url: str, conf: Configuration, user: User) -> StagedFile:
    """Size and modification time of a file YARN fetches where it is (``file://`` or ``hdfs://``);
    ``FileNotFoundError`` when it is not there."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "file":
        size, timestamp = local_status(unquote(parts.path))
        return StagedFile(url, size, timestamp)
    if scheme != "hdfs":
        raise PyarnError(f"{url}: cannot look up the size and modification time of {scheme}:// files; "
                         "give size and timestamp in the spec")
    from .hdfs import HDFS

    with HDFS(conf=conf, uri=f"hdfs://{parts.netloc}" if parts.netloc else None, user=user) as fs:
        status = fs.stat(unquote(parts.path))
        return StagedFile(url, status.length, _hdfs_millis(status.modification_time))
