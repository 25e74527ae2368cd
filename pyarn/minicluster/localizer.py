"""Localization of a container's LocalResources, as a NodeManager does it.

A resource is copied (FILE) or unpacked (ARCHIVE, PATTERN: zip, jar, tar,
tar.gz, tgz) into the cache its visibility names, under the NM's local dir:

* PUBLIC: ``filecache/<n>/<name>``, shared by every user (the source must be world-readable);
* PRIVATE: ``usercache/<user>/filecache/<n>/<name>``, shared by the user's applications;
* APPLICATION: ``usercache/<user>/appcache/<app>/filecache/<n>/<name>``, removed with the application.

A cached copy is reused while the source's modification time stays the one
asked for. As YARN's ``FSDownload``, the source's modification time must equal
the resource's timestamp (its size is not checked by Hadoop 3.3 either).
Only ``file:`` URLs are served for now.
"""
from __future__ import annotations

import itertools
import os
import shutil
import stat
import tarfile
import threading
import zipfile
from pathlib import Path
from typing import Dict, Tuple

from hadoop_protos import yarn_records_pb2 as pb

from .diagnostics import resource_changed


class LocalizationError(Exception):
    """A resource could not be localized; ``java_class`` is the exception YARN reports."""

    def __init__(self, message: str, java_class: str = "java.io.IOException") -> None:
        super().__init__(message)
        self.message = message
        self.java_class = java_class


def url_text(url: pb.URLProto) -> str:
    """A URL as Hadoop prints the resource's path (``file:/tmp/x``, ``hdfs://nn:8020/x``)."""
    scheme = url.scheme or "file"
    if url.host:
        port = f":{url.port}" if url.HasField("port") and url.port >= 0 else ""
        return f"{scheme}://{url.host}{port}{url.file}"
    return f"{scheme}:{url.file}"


def _mtime_ms(path: Path) -> int:
    return path.stat().st_mtime_ns // 1_000_000


def _is_public(path: Path) -> bool:
    """World-readable, and every ancestor directory world-executable (``FSDownload.isPublic``)."""
    if not path.stat().st_mode & stat.S_IROTH:
        return False
    return all(parent.stat().st_mode & stat.S_IXOTH for parent in path.parents)


class Localizer:
    """Downloads resources into one NodeManager's local dir."""

    def __init__(self, local_dir: Path) -> None:
        self.local_dir = local_dir
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

    def localize(self, resource: pb.LocalResourceProto, user: str, app_id: str) -> Path:
        """The local path of ``resource`` (a file, or the directory an archive was unpacked in)."""
        url = resource.resource
        text = url_text(url)
        scheme = url.scheme or "file"
        if scheme != "file":
            raise LocalizationError(f'No FileSystem for scheme "{scheme}"',
                                    "org.apache.hadoop.fs.UnsupportedFileSystemException")
        source = Path(url.file)
        if not source.exists():
            raise LocalizationError(f"File {text} does not exist", "java.io.FileNotFoundException")
        actual = _mtime_ms(source)
        if actual != resource.timestamp:
            raise LocalizationError(resource_changed(text, resource.timestamp, actual))
        visibility = resource.visibility if resource.HasField("visibility") else pb.APPLICATION
        if visibility == pb.PUBLIC and not _is_public(source):
            raise LocalizationError(f"Resource {text} is not publicly accessible and as such cannot be "
                                    "part of the public cache.")
        kind = resource.type if resource.HasField("type") else pb.FILE
        cache = self._cache_dir(visibility, user, app_id)
        key = (str(cache), str(source), resource.timestamp, kind)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and cached.exists():
                return cached
            target = cache / str(next(self._numbers)) / source.name
            try:
                self._fetch(source, target, kind)
            except (OSError, tarfile.TarError, zipfile.BadZipFile) as exc:
                shutil.rmtree(target.parent, ignore_errors=True)
                raise LocalizationError(f"Failed to localize {text}: {exc}") from exc
            self._cache[key] = target
            return target

    @staticmethod
    def _fetch(source: Path, target: Path, kind: int) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        if kind == pb.FILE or source.is_dir():
            if source.is_dir():
                shutil.copytree(source, target, symlinks=True)
            else:
                shutil.copy2(source, target)
            return
        name = source.name.lower()
        if name.endswith((".zip", ".jar")):
            with zipfile.ZipFile(source) as archive:
                archive.extractall(target)  # zipfile drops absolute paths and ".." itself
        elif name.endswith((".tar.gz", ".tgz", ".tar")):
            with tarfile.open(source) as archive:
                _extract_tar(archive, target)
        else:  # YARN: "Cannot unpack", and the archive is kept as a plain file
            shutil.copy2(source, target)

    def forget_application(self, user: str, app_id: str) -> None:
        """Delete an application's cache and working directories."""
        app_dir = self.app_dir(user, app_id)
        with self._lock:
            prefix = str(app_dir)
            for key in [k for k in self._cache if k[0].startswith(prefix)]:
                del self._cache[key]
        shutil.rmtree(app_dir, ignore_errors=True)


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
