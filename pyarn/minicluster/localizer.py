"""Localization of a container's LocalResources, as a NodeManager does it.

A resource is copied (FILE) or unpacked (ARCHIVE, PATTERN: zip, jar, tar,
tar.gz, tgz) into the cache its visibility names, under the NM's local dir:

* PUBLIC: ``filecache/<n>/<name>``, shared by every user (the source must be world-readable);
* PRIVATE: ``usercache/<user>/filecache/<n>/<name>``, shared by the user's applications;
* APPLICATION: ``usercache/<user>/appcache/<app>/filecache/<n>/<name>``, removed with the application.

Sources are ``file:`` and ``hdfs://`` URLs (:mod:`.sources`). A cached copy is
reused while the source's modification time stays the one asked for. As
YARN's ``FSDownload``, the source's modification time must equal the
resource's timestamp (its size is not checked by Hadoop 3.3 either), and the
copy's permissions become 500 for files and 700 for directories (555 and 755
when PUBLIC).
"""
from __future__ import annotations

import itertools
import os
import shutil
import tarfile
import threading
import zipfile
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple

from hadoop_protos import yarn_records_pb2 as pb

from ..conf import Configuration
from ..errors import PyarnError
from ..security.tokens import Token
from .diagnostics import resource_changed
from .sources import LocalizationError, Source, SourceStatus, open_source

__all__ = ["LocalizationError", "Localizer"]

#: ``FSDownload``'s permissions of localized copies: (file, directory), private and public.
_PRIVATE_MODES = (0o500, 0o700)
_PUBLIC_MODES = (0o555, 0o755)


class Localizer:
    """Downloads resources into one NodeManager's local dir.

    ``conf`` is the NodeManager's configuration: ``fs.defaultFS`` and the
    HDFS client settings ``hdfs://`` resources are read with. With ``tokens_only``
    (a secure cluster) ``hdfs://`` resources are read with the container's tokens
    only, never with a Kerberos ticket of this process.
    """

    def __init__(self, local_dir: Path, conf: Optional[Configuration] = None, *,
                 tokens_only: bool = False) -> None:
        self.local_dir = local_dir
        self.conf = conf
        self.tokens_only = tokens_only
        self._lock = threading.Lock()
        self._numbers = itertools.count(10)
        #: (scope directory, source, timestamp, type) -> localized path
        self._cache: Dict[Tuple[str, str, int, int], Path] = {}

    def user_dir(self, user: str) -> Path:
        return self.local_dir / "usercache" / user

    def app_dir(self, user: str, app_id: str) -> Path:
        return self.user_dir(user) / "appcache" / app_id

    def _cache_dir(self, visibility: int, user: str, app_id: str) -> Path:
        if visibility == pb.PUBLIC:
            return self.local_dir / "filecache"
        if visibility == pb.PRIVATE:
            return self.user_dir(user) / "filecache"
        return self.app_dir(user, app_id) / "filecache"

    def localize(self, resource: pb.LocalResourceProto, user: str, app_id: str,
                 tokens: Sequence[Token] = ()) -> Path:
        """The local path of ``resource`` (a file, or the directory an archive was unpacked in),
        fetched as ``user`` holding ``tokens`` (the container's)."""
        try:
            with open_source(resource.resource, user, self.conf, tokens=tokens,
                             tokens_only=self.tokens_only) as source:
                return self._localize(source, resource, user, app_id)
        except PyarnError as exc:  # the source's file system refused (permission, connection, ...)
            raise LocalizationError.from_pyarn(exc) from exc

    def _localize(self, source: Source, resource: pb.LocalResourceProto, user: str, app_id: str) -> Path:
        status = source.status()
        if status.modification_ms != resource.timestamp:
            raise LocalizationError(resource_changed(source.text, resource.timestamp, status.modification_ms))
        visibility = resource.visibility if resource.HasField("visibility") else pb.APPLICATION
        if visibility == pb.PUBLIC and not source.is_public(status):
            raise LocalizationError(f"Resource {source.text} is not publicly accessible and as such cannot "
                                    "be part of the public cache.")
        kind = resource.type if resource.HasField("type") else pb.FILE
        cache = self._cache_dir(visibility, user, app_id)
        key = (str(cache), source.text, resource.timestamp, kind)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and cached.exists():
                return cached
            target = cache / str(next(self._numbers)) / source.name
            try:
                _fetch(source, status, target, kind)
                _set_modes(target, _PUBLIC_MODES if visibility == pb.PUBLIC else _PRIVATE_MODES)
            except (OSError, PyarnError, tarfile.TarError, zipfile.BadZipFile) as exc:
                shutil.rmtree(target.parent, ignore_errors=True)
                if isinstance(exc, PyarnError):  # the source refused (permission, bad block)
                    raise LocalizationError.from_pyarn(exc) from exc
                raise LocalizationError(f"Failed to localize {source.text}: {exc}") from exc
            self._cache[key] = target
            return target

    def forget_application(self, user: str, app_id: str) -> None:
        """Delete an application's cache and working directories."""
        app_dir = self.app_dir(user, app_id)
        with self._lock:
            prefix = str(app_dir)
            for key in [k for k in self._cache if k[0].startswith(prefix)]:
                del self._cache[key]
        shutil.rmtree(app_dir, ignore_errors=True)


def _fetch(source: Source, status: SourceStatus, target: Path, kind: int) -> None:
    """Copy or unpack ``source`` to ``target``, as ``FSDownload.downloadAndUnpack`` does."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if status.is_dir:
        source.copy_tree(target)
        return
    name = source.name.lower()
    with source.open() as stream:
        if kind == pb.FILE:
            _copy(stream, target)
        elif name.endswith((".zip", ".jar")):
            with zipfile.ZipFile(stream) as archive:
                archive.extractall(target)  # zipfile drops absolute paths and ".." itself
        elif name.endswith((".tar.gz", ".tgz", ".tar")):
            with tarfile.open(fileobj=stream) as archive:
                _extract_tar(archive, target)
        else:  # YARN: "Cannot unpack", and the archive is kept as a plain file
            _copy(stream, target)


def _copy(stream, target: Path) -> None:
    with open(target, "wb") as out:
        shutil.copyfileobj(stream, out, 1024 * 1024)


def _set_modes(path: Path, modes: Tuple[int, int]) -> None:
    """``FSDownload.changePermissions``: every file and directory of the copy (symlinks left alone)."""
    if path.is_symlink():
        return
    if not path.is_dir():
        path.chmod(modes[0])
        return
    path.chmod(modes[1])
    for child in path.iterdir():
        _set_modes(child, modes)


def _extract_tar(archive: tarfile.TarFile, target: Path) -> None:
    """Unpack without letting a member escape ``target``."""
    if hasattr(tarfile, "data_filter"):
        archive.extractall(target, filter="data")
        return
    root = os.path.realpath(target)
    for member in archive.getmembers():
        destination = os.path.realpath(os.path.join(root, member.name))
        if os.path.commonpath([root, destination]) != root or member.issym() or member.islnk() \
                or member.isdev():
            raise tarfile.TarError(f"refusing to unpack {member.name!r} outside {target}")
    archive.extractall(target)
