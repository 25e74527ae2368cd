"""``HDFS``: the file-system API over one HDFS (one NameNode, or an HA nameservice).

Paths may be absolute, relative to the user's home directory
(``/user/<name>``) or ``hdfs://`` URIs (see :mod:`pyarn.hdfs.paths`).
Errors are Python's own where they fit, all of them pyarn errors too: a
missing path raises ``FileNotFoundError``
(:class:`~pyarn.errors.RemoteFileNotFoundError`), an existing target
``FileExistsError`` (:class:`~pyarn.errors.FileAlreadyExistsError`), a
refused permission ``PermissionError``
(:class:`~pyarn.errors.AccessControlError`), a block no replica can give
:class:`~pyarn.hdfs.streams.BlockMissingError` or
:class:`~pyarn.hdfs.streams.CorruptBlockError` (``OSError`` both).

Writes: ``open(path, "wb")`` streams a new file; a write that fails deletes
what it created (:mod:`pyarn.hdfs.streams`). With ``atomic=True`` the bytes go
to a hidden temporary name in the same directory that is renamed over the
target once complete, so readers never see a partial file and a failure
keeps any old file. ``put`` always writes that way, as Hadoop's FsShell does.
``rm`` deletes at once: there is no trash.
"""
from __future__ import annotations

import errno
import functools
import io
import os
import uuid
from pathlib import Path
from typing import Callable, Iterator, List, Optional, Tuple, Union

from ..conf import Configuration
from ..errors import PyarnError
from ..ipc import RetryPolicy
from ..security.tokens import Token
from ..security.user import User
from . import paths as _paths
from .blocks import connect_datanode
from .namenode import (
    ContentSummary,
    FileStatus,
    NameNodeClient,
    ServerDefaults,
    file_exists,
    not_found,
)
from .paths import PathLike
from .streams import HdfsReader, HdfsWriter
from .transfer_security import DataTransferSecurity

__all__ = ["HDFS", "Progress"]

#: ``progress(bytes_done, bytes_total)``, called as a transfer moves on.
Progress = Callable[[int, int], None]

_COPY_CHUNK = 4 * 1024 * 1024
_READ_BUFFER = 1024 * 1024
#: Suffix of the temporary names of atomic writes (FsShell uses ``._COPYING_`` too).
_COPYING = "._COPYING_"


def _umask(conf: Configuration) -> int:
    key = "fs.permissions.umask-mode"
    value = conf.get_str(key, "022").strip()
    try:
        umask = int(value, 8)
    except ValueError:
        raise ValueError(f"{key}: expected an octal umask such as 022, got {value!r}") from None
    if not 0 <= umask <= 0o777:
        raise ValueError(f"{key}: {value!r} is out of range 000..777")
    return umask


def parse_mode(mode: Union[int, str]) -> int:
    """A permission as an int: ``0o755`` or an octal string ``"755"`` / ``"0755"`` / ``"1777"``."""
    if isinstance(mode, int):
        value = mode
    else:
        text = mode.strip()
        if not text or any(c not in "01234567" for c in text):
            raise ValueError(f"permission {mode!r}: expected octal digits such as 755")
        value = int(text, 8)
    if not 0 <= value <= 0o7777:
        raise ValueError(f"permission {mode!r} is out of range 0..7777")
    return value


class _Tracker:
    """Adds up bytes moved and tells ``progress``."""

    def __init__(self, total: int, progress: Optional[Progress]) -> None:
        self.total = total
        self.done = 0
        self._progress = progress
        if progress is not None:
            progress(0, total)

    def add(self, count: int) -> None:
        self.done += count
        if self._progress is not None and count:
            self._progress(self.done, self.total)


class HDFS:
    """A client of one HDFS file system.

    ``HDFS()`` reads the Hadoop configuration of the environment
    (``HADOOP_CONF_DIR``, ...) and talks to ``fs.defaultFS``; ``conf_dir``
    or ``conf`` name another configuration, ``uri`` another file system
    (``hdfs://host:port`` or ``hdfs://nameservice``). ``user`` is who to act
    as (default: ``HADOOP_USER_NAME`` or the OS user, with the tokens of
    ``HADOOP_TOKEN_FILE_LOCATION``, as :meth:`User.login
    <pyarn.security.user.User.login>`; a name given here has no tokens). ``retry_policy``
    replaces the failover policy of the configuration. Close the client (or
    use ``with``) to close its connections.
    """

    def __init__(self, conf_dir: Union[str, os.PathLike, None] = None, *,
                 conf: Optional[Configuration] = None, uri: Optional[str] = None,
                 user: Union[str, User, None] = None, retry_policy: Optional[RetryPolicy] = None,
                 namenode: Optional[NameNodeClient] = None) -> None:
        if conf is not None and conf_dir is not None:
            raise ValueError("HDFS: give conf_dir or conf, not both")
        self.conf = conf if conf is not None else Configuration.load(conf_dir)
        self.user = user if isinstance(user, User) else User(user) if user else User.login(self.conf)
        uri = uri or self.conf.get_str("fs.defaultFS")
        scheme, authority, _rest = _paths.split_uri(uri)
        if scheme is None or scheme.lower() != "hdfs" or not authority:
            raise PyarnError(f"{uri!r} is not an HDFS file system (expected hdfs://host:port or "
                             "hdfs://nameservice; check fs.defaultFS)")
        self.authority = authority
        self.uri = f"hdfs://{authority}"
        self.namenode = namenode if namenode is not None else NameNodeClient.from_conf(
            self.conf, self.uri, user=self.user, policy=retry_policy)
        prefix = self.conf.get_str("dfs.user.home.dir.prefix", _paths.DEFAULT_HOME_PREFIX)
        self.home = _paths.home_directory(self.user.name, prefix)
        self.umask = _umask(self.conf)
        self.block_size = self.conf.get_bytes("dfs.blocksize", 128 * 1024 * 1024)
        self.replication = self.conf.get_int("dfs.replication", 3)
        self._packet_size = self.conf.get_bytes("dfs.client-write-packet-size", 64 * 1024)
        self._write_retries = self.conf.get_int("dfs.client.block.write.retries", 3)
        self._acquire_failures = self.conf.get_int("dfs.client.max.block.acquire.failures", 3)
        self._retry_window = self.conf.get_int("dfs.client.retry.window.base", 3000) / 1000.0
        self._prefetch = self.conf.get_bytes("dfs.client.read.prefetch.size", 10 * self.block_size)
        timeout = self.conf.get_int("dfs.client.socket-timeout", 60000) / 1000.0
        self._sock_factory = functools.partial(
            connect_datanode, timeout=timeout,
            use_hostname=self.conf.get_bool("dfs.client.use.datanode.hostname", False))
        #: How DataNode connections are secured (``dfs.data.transfer.protection``, encryption).
        self.transfer_security = DataTransferSecurity.from_conf(self.conf, self.namenode)

    @classmethod
    def from_conf(cls, conf: Configuration, **kwargs) -> HDFS:
        """A client for ``conf`` (see the class for the keyword arguments)."""
        return cls(conf=conf, **kwargs)

    def __repr__(self) -> str:
        return f"HDFS<{self.uri}, user={self.user.name!r}>"

    def close(self) -> None:
        """Stop renewing leases and close the NameNode connections."""
        self.namenode.close()

    def __enter__(self) -> HDFS:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # ---------------------------------------------------------------- paths

    def resolve(self, path: PathLike) -> str:
        """The absolute, normalized path ``path`` names (relative paths start at :attr:`home`)."""
        return _paths.resolve(path, self.home, self.authority)

    def stat(self, path: PathLike) -> FileStatus:
        """The status of ``path``; ``FileNotFoundError`` when there is nothing there."""
        resolved = self.resolve(path)
        status = self.namenode.get_file_info(resolved)
        if status is None:
            raise not_found(resolved)
        return status

    def exists(self, path: PathLike) -> bool:
        """Whether something is at ``path``."""
        return self.namenode.get_file_info(self.resolve(path)) is not None

    def ls(self, path: PathLike = ".", detail: bool = False) -> Union[List[str], List[FileStatus]]:
        """The entries of directory ``path`` (a file lists as itself), in name order.

        Absolute paths, or :class:`FileStatus` records with ``detail``.
        """
        entries = list(self.namenode.list_directory(self.resolve(path)))
        return entries if detail else [entry.path for entry in entries]

    def walk(self, path: PathLike = ".") -> Iterator[Tuple[str, List[str], List[str]]]:
        """``(directory, subdirectory names, file names)`` for each directory of the tree at ``path``,
        top down, like :func:`os.walk` (which it lets prune ``subdirectory names`` the same way)."""
        top = self.resolve(path)
        pending = [top]
        while pending:
            directory = pending.pop()
            dirs: List[str] = []
            files: List[str] = []
            for entry in self.namenode.list_directory(directory):
                (dirs if entry.is_dir else files).append(entry.name)
            yield directory, dirs, files
            pending.extend(_paths.join(directory, name) for name in reversed(dirs))

    def _tree(self, top: str) -> Iterator[FileStatus]:
        """Every entry under directory ``top``, each directory before its contents."""
        for entry in self.namenode.list_directory(top):
            yield entry
            if entry.is_dir:
                yield from self._tree(entry.path)

    def du(self, path: PathLike = ".") -> ContentSummary:
        """Bytes, files and directories under ``path`` (and its quotas)."""
        return self.namenode.get_content_summary(self.resolve(path))

    def server_defaults(self) -> ServerDefaults:
        """The NameNode's defaults for writers (asked once)."""
        return self.namenode.get_server_defaults()

    # ---------------------------------------------------------------- changes

    def mkdir(self, path: PathLike, parents: bool = True, permission: int = 0o777) -> str:
        """Make directory ``path``; returns its resolved path.

        With ``parents`` (``mkdir -p``) missing parents are made and an existing
        directory is fine; without, the parent must exist
        (``FileNotFoundError``) and ``path`` must not (``FileExistsError``).
        The umask (``fs.permissions.umask-mode``) applies to ``permission``.
        """
        resolved = self.resolve(path)
        if not parents and self.namenode.get_file_info(resolved) is not None:
            raise file_exists(resolved)
        self.namenode.mkdirs(resolved, parse_mode(permission) & ~self.umask, create_parent=parents)
        return resolved

    def rm(self, path: PathLike, recursive: bool = False) -> None:
        """Delete ``path`` now (no trash); a non-empty directory needs ``recursive``
        (:class:`~pyarn.hdfs.namenode.DirectoryNotEmptyError` otherwise)."""
        resolved = self.resolve(path)
        if resolved == "/":
            raise _paths.InvalidPathError(resolved, "refusing to delete the root directory")
        if not self.namenode.delete(resolved, recursive):
            raise not_found(resolved)

    def mv(self, src: PathLike, dst: PathLike, overwrite: bool = False) -> str:
        """Rename ``src`` to ``dst``, or into ``dst`` when that is a directory; returns the new path.

        An existing target file is replaced only with ``overwrite``.
        """
        source, target = self.resolve(src), self.resolve(dst)
        status = self.namenode.get_file_info(target)
        if status is not None and status.is_dir and target != source:
            target = _paths.join(target, _paths.basename(source))
        self.namenode.rename2(source, target, overwrite)
        return target

    def chmod(self, path: PathLike, mode: Union[int, str], recursive: bool = False) -> None:
        """Set permission bits (``0o644`` or ``"644"``), on the whole tree with ``recursive``."""
        value = parse_mode(mode)
        for target in self._targets(path, recursive):
            self.namenode.set_permission(target, value)

    def chown(self, path: PathLike, owner: Optional[str] = None, group: Optional[str] = None,
              recursive: bool = False) -> None:
        """Change owner and/or group (superuser only for the owner), on the tree with ``recursive``."""
        for target in self._targets(path, recursive):
            self.namenode.set_owner(target, owner, group)

    def set_replication(self, path: PathLike, replication: int) -> None:
        """Set a file's replication factor."""
        resolved = self.resolve(path)
        if not self.namenode.set_replication(resolved, replication):
            status = self.stat(resolved)
            raise IsADirectoryError(errno.EISDIR, "replication is set on files, not directories", status.path)

    def _targets(self, path: PathLike, recursive: bool) -> Iterator[str]:
        status = self.stat(path)
        yield status.path
        if recursive and status.is_dir:
            for entry in self._tree(status.path):
                yield entry.path

    def get_delegation_token(self, renewer: Optional[str] = None) -> Token:
        """An HDFS delegation token (secure clusters), renewable by ``renewer`` (default: this user)."""
        return self.namenode.get_delegation_token(renewer or self.user.name.split("@")[0].split("/")[0])

    # ---------------------------------------------------------------- streams

    def open(self, path: PathLike, mode: str = "rb", *, overwrite: bool = False, atomic: bool = False,
             block_size: Optional[int] = None, replication: Optional[int] = None,
             permission: int = 0o666, buffer_size: int = _READ_BUFFER):
        """Open a file: ``"rb"`` to read, ``"wb"`` to write a new one, ``"ab"`` to append.

        Reading gives a seekable ``io.BufferedReader``. Writing gives an
        :class:`~pyarn.hdfs.streams.HdfsWriter`; close it or use ``with``
        (an exception in the block abandons the write). ``"wb"`` refuses an
        existing file unless ``overwrite``; with ``atomic`` the file appears
        only when complete (written under a temporary name and renamed).
        ``block_size`` and ``replication`` default to ``dfs.blocksize`` and
        ``dfs.replication``; the umask applies to ``permission``.
        """
        if mode == "rb":
            return io.BufferedReader(self._reader(path), buffer_size)
        if mode == "wb":
            return self._create(self.resolve(path), overwrite, atomic, block_size, replication, permission)
        if mode == "ab":
            return self._append(self.resolve(path))
        raise ValueError(f"mode {mode!r}: expected 'rb', 'wb' or 'ab'")

    def _reader(self, path: PathLike) -> HdfsReader:
        status = self.stat(path)
        if status.is_dir:
            raise IsADirectoryError(errno.EISDIR, "Is a directory", status.path)
        return HdfsReader(self.namenode, status.path, self._sock_factory, prefetch=self._prefetch,
                          max_acquire_failures=self._acquire_failures, retry_window=self._retry_window,
                          security=self.transfer_security)

    def _writer_options(self) -> dict:
        defaults = self.namenode.get_server_defaults()
        return dict(checksum=defaults.checksum, packet_size=self._packet_size,
                    block_write_retries=self._write_retries, security=self.transfer_security)

    def _create(self, target: str, overwrite: bool, atomic: bool, block_size: Optional[int],
                replication: Optional[int], permission: int) -> HdfsWriter:
        options = self._writer_options()
        block_size = block_size or self.block_size
        masked = parse_mode(permission) & ~self.umask
        commit = None
        write_path = target
        if atomic:
            status = self.namenode.get_file_info(target)
            if status is not None and (status.is_dir or not overwrite):
                if status.is_dir:
                    raise IsADirectoryError(errno.EISDIR, "Is a directory", target)
                raise file_exists(target)
            write_path = _paths.join(_paths.parent(target),
                                     f".{_paths.basename(target)}.{uuid.uuid4().hex[:12]}{_COPYING}")

            def commit() -> None:
                self.namenode.rename2(write_path, target, overwrite)

        created = self.namenode.create(write_path, masked, overwrite=overwrite and not atomic,
                                       replication=replication or self.replication, block_size=block_size)
        return HdfsWriter(self.namenode, write_path, created.file_id, self._sock_factory,
                          block_size=block_size, commit=commit, name=target, **options)

    def _append(self, target: str) -> HdfsWriter:
        options = self._writer_options()
        status = self.stat(target)
        if status.is_dir:
            raise IsADirectoryError(errno.EISDIR, "Is a directory", target)
        block, _ = self.namenode.append(target, new_block=True)
        return HdfsWriter(self.namenode, target, status.file_id, self._sock_factory,
                          block_size=status.block_size or self.block_size,
                          previous=block.b if block is not None else None, created=False, **options)

    # ---------------------------------------------------------------- transfers

    def put(self, local: Union[str, os.PathLike], remote: PathLike, overwrite: bool = False,
            progress: Optional[Progress] = None, *, block_size: Optional[int] = None,
            replication: Optional[int] = None) -> str:
        """Copy a local file or directory tree to HDFS; returns the HDFS path written.

        Into ``remote`` when it is a directory, else to ``remote``. Each file
        appears only once complete; an existing one is replaced only with
        ``overwrite``. ``progress(bytes_done, bytes_total)`` follows the bytes.
        """
        source = Path(local)
        if not source.exists():
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(source))
        target = self.resolve(remote)
        status = self.namenode.get_file_info(target)
        if status is not None and status.is_dir:
            target = _paths.join(target, source.resolve().name)
        if not source.is_dir():
            tracker = _Tracker(source.stat().st_size, progress)
            self._put_file(source, target, overwrite, tracker, block_size, replication)
            return target
        files: List[Tuple[Path, str]] = []
        dirs: List[str] = [target]
        for root, dirnames, filenames in os.walk(source):
            relative = Path(root).relative_to(source).as_posix()
            base = target if relative == "." else _paths.join(target, relative)
            dirs.extend(_paths.join(base, name) for name in sorted(dirnames))
            files.extend((Path(root, name), _paths.join(base, name)) for name in sorted(filenames))
        tracker = _Tracker(sum(path.stat().st_size for path, _ in files), progress)
        for directory in dirs:
            self.mkdir(directory)
        for path, destination in files:
            self._put_file(path, destination, overwrite, tracker, block_size, replication)
        return target

    def _put_file(self, source: Path, target: str, overwrite: bool, tracker: _Tracker,
                  block_size: Optional[int], replication: Optional[int]) -> None:
        buffer = bytearray(_COPY_CHUNK)
        view = memoryview(buffer)
        with open(source, "rb") as src, self.open(target, "wb", overwrite=overwrite, atomic=True,
                                                  block_size=block_size, replication=replication) as out:
            while True:
                count = src.readinto(buffer)
                if not count:
                    break
                out.write(view[:count])
                tracker.add(count)

    def get(self, remote: PathLike, local: Union[str, os.PathLike], progress: Optional[Progress] = None,
            overwrite: bool = False) -> Path:
        """Copy an HDFS file or directory tree to the local disk; returns the local path written.

        Into ``local`` when it is a directory, else to ``local``. Each file
        appears only once complete; an existing one is replaced only with
        ``overwrite``. ``progress(bytes_done, bytes_total)`` follows the bytes.
        """
        status = self.stat(remote)
        destination = Path(local)
        if destination.is_dir() and status.name:
            destination = destination / status.name
        if not status.is_dir:
            tracker = _Tracker(status.length, progress)
            self._get_file(status.path, destination, overwrite, tracker)
            return destination
        entries = list(self._tree(status.path))
        tracker = _Tracker(sum(e.length for e in entries if e.is_file), progress)
        if destination.exists() and not destination.is_dir():
            raise FileExistsError(errno.EEXIST, "File exists", str(destination))
        destination.mkdir(parents=True, exist_ok=True)
        prefix = status.path.rstrip("/") + "/"
        for entry in entries:
            local_path = destination.joinpath(*entry.path[len(prefix):].split("/"))
            if entry.is_dir:
                local_path.mkdir(exist_ok=True)
            elif entry.is_file:
                self._get_file(entry.path, local_path, overwrite, tracker)
        return destination

    def _get_file(self, source: str, destination: Path, overwrite: bool, tracker: _Tracker) -> None:
        if destination.exists() and not overwrite:
            raise FileExistsError(errno.EEXIST, "File exists", str(destination))
        temporary = destination.with_name(f".{destination.name}.{uuid.uuid4().hex[:12]}{_COPYING}")
        try:
            with self._reader(source) as reader, open(temporary, "wb") as out:
                for piece in reader.chunks():
                    out.write(piece)
                    tracker.add(len(piece))
            os.replace(temporary, destination)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
