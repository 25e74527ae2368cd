"""Files and archives that YARN localizes into a container."""
from __future__ import annotations

import os
from typing import Any, Optional, Tuple
from urllib.parse import urlparse

import attrs

from ._base import Path, check_int, check_mapping, check_str, describe, fail, require
from ._spec import NamedEnum, SpecBase, check_enum, check_instance, convert_enum

__all__ = ["File", "FileType", "FileVisibility", "ARCHIVE_EXTENSIONS", "normalize_source"]

#: Sources with these endings are archives unless ``type`` says otherwise (as in Skein).
ARCHIVE_EXTENSIONS: Tuple[str, ...] = (".zip", ".tar.gz", ".tgz")


class FileType(NamedEnum):
    """How YARN localizes a file: as is, or unpacked into a directory."""

    FILE = "file"
    ARCHIVE = "archive"


class FileVisibility(NamedEnum):
    """Who may share a localized file on a node."""

    #: Containers of the same application.
    APPLICATION = "application"
    #: All applications of the same user.
    PRIVATE = "private"
    #: All users.
    PUBLIC = "public"


def normalize_source(source: str, base_dir: Optional[str] = None) -> str:
    """A file source as a URL: paths without a scheme become absolute ``file://`` URLs.

    Relative paths are taken relative to ``base_dir`` (the spec file's
    directory when loading a file), else to the current directory. Sources
    with a scheme are kept as written.
    """
    if urlparse(source).scheme:
        return source
    path = source if os.path.isabs(source) else os.path.join(base_dir or os.getcwd(), source)
    return "file://" + os.path.normpath(path)


def _to_file_type(value: Any) -> Any:
    return convert_enum(FileType, value)


def _to_visibility(value: Any) -> Any:
    return convert_enum(FileVisibility, value)


def _to_source(value: Any) -> Any:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    return normalize_source(value) if isinstance(value, str) and value else value


@attrs.define
class File(SpecBase):
    """A file or archive that YARN places in a container's working directory.

    ``source`` is a URL (``hdfs:///...``, ``file:///...``) or a local path; a
    path without a scheme is made absolute and stored as a ``file://`` URL.
    ``type`` defaults to ``archive`` for ``.zip``, ``.tar.gz`` and ``.tgz``
    sources and ``file`` otherwise; archives are unpacked into a directory
    named after the target. ``size`` and ``timestamp`` (bytes, milliseconds)
    are 0 unless known; submission fills them in from the file system.
    In specs, a bare string is short for ``{source: <string>}``.
    """

    source: str = attrs.field(converter=_to_source)
    type: FileType = attrs.field(default=None, converter=_to_file_type)
    visibility: FileVisibility = attrs.field(default=FileVisibility.APPLICATION,
                                             converter=_to_visibility)
    size: int = 0
    timestamp: int = 0

    _FIELDS = ("source", "type", "visibility", "size", "timestamp")
    _EXPECTED = "a source path or URL, or a mapping with source, type and visibility"

    @classmethod
    def _from_obj(cls, obj: Any, path: Path, base_dir: Optional[str]) -> File:
        if isinstance(obj, os.PathLike):
            obj = os.fspath(obj)
        kwargs = cls._fields_of({"source": obj} if isinstance(obj, str) else obj, path)
        source = require(kwargs, "source", path)
        if isinstance(source, str) and source:
            kwargs["source"] = normalize_source(source, base_dir)
        return cls._build(kwargs, path)

    def _complete(self) -> None:
        if self.type is None and isinstance(self.source, str):
            self.type = FileType.ARCHIVE if self.source.endswith(ARCHIVE_EXTENSIONS) else FileType.FILE

    @property
    def local_path(self) -> Optional[str]:
        """The local path of a ``file://`` source, else ``None``."""
        url = urlparse(self.source)
        return url.path if url.scheme == "file" else None

    def _check(self, path: Path, check_files: bool) -> None:
        spath = path + ("source",)
        check_str(self.source, spath, nonempty=True)
        url = urlparse(self.source)
        if url.scheme == "file" and (url.netloc not in ("", "localhost") or not os.path.isabs(url.path)):
            fail(spath, f"expected a local path or a file:///absolute/path URL, got {describe(self.source)}")
        check_enum(self.type, FileType, path + ("type",))
        check_enum(self.visibility, FileVisibility, path + ("visibility",))
        check_int(self.size, path + ("size",), 0)
        check_int(self.timestamp, path + ("timestamp",), 0)
        local = self.local_path
        if check_files and local is not None:
            if not os.path.exists(local):
                fail(spath, f"local file {local!r} does not exist")
            if not os.access(local, os.R_OK):
                fail(spath, f"local file {local!r} is not readable")
            if self.type is FileType.ARCHIVE and not os.path.isfile(local):
                fail(spath, f"{local!r} is a directory; an archive must be a single file")


def check_file_map(files: Any, path: Path, check_local: bool) -> None:
    """Check a ``files`` mapping: plain file names in the container to :class:`File`."""
    check_mapping(files, path, "a mapping of file names in the container to sources")
    for target, file in files.items():
        if not isinstance(target, str):
            fail(path, f"file names must be strings, got {describe(target)}")
        name = target[2:] if target.startswith("./") else target
        if not name or "/" in name or name in (".", ".."):
            fail(path + (target,), "expected a file name in the container's working directory "
                                   f"(no directories), got {describe(target)}")
        check_instance(file, File, path + (target,))
        file._check(path + (target,), check_local)


def files_from_obj(value: Any, path: Path, base_dir: Optional[str]) -> Any:
    """A ``files`` mapping read from a spec (left as is when it is not a mapping)."""
    if not isinstance(value, dict):
        return value
    return {k: File._from_obj(v, path + (k,), base_dir) for k, v in value.items()}


def to_files(value: Any) -> Any:
    """Converter for ``files`` fields: sources and dicts become :class:`File`."""
    if not isinstance(value, dict):
        return value
    return {k: v if isinstance(v, File) else File._from_obj(v, ("files", k), None) for k, v in value.items()}


def convert_file(field: str, value: Any) -> Any:
    """For converters of a single :class:`File` field: a file from a source or dict."""
    if isinstance(value, (str, dict, os.PathLike)):
        return File._from_obj(value, (field,), None)
    return value

