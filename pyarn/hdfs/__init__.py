"""HDFS: the NameNode client, block transfer, and a file-system API.

``from pyarn.hdfs import HDFS`` is the front door (:mod:`pyarn.hdfs.filesystem`).
Names are imported on first use, so importing this package (for instance for
``pyarn fs``'s parser) costs no protobuf load.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .datatransfer_sasl import DataEncryptionKey, DataTransferProtectionError
    from .filesystem import HDFS, Progress
    from .namenode import (
        ContentSummary,
        DirectoryNotEmptyError,
        FileStatus,
        FileType,
        NameNodeClient,
        ServerDefaults,
    )
    from .paths import InvalidPathError
    from .streams import BlockMissingError, CorruptBlockError, HdfsReader, HdfsWriter
    from .transfer_security import DataTransferSecurity

_EXPORTS = {
    "HDFS": "filesystem",
    "Progress": "filesystem",
    "NameNodeClient": "namenode",
    "FileStatus": "namenode",
    "FileType": "namenode",
    "ContentSummary": "namenode",
    "ServerDefaults": "namenode",
    "DirectoryNotEmptyError": "namenode",
    "InvalidPathError": "paths",
    "HdfsReader": "streams",
    "HdfsWriter": "streams",
    "BlockMissingError": "streams",
    "CorruptBlockError": "streams",
    "DataTransferSecurity": "transfer_security",
    "DataTransferProtectionError": "datatransfer_sasl",
    "DataEncryptionKey": "datatransfer_sasl",
}

__all__ = [
    "HDFS", "Progress", "NameNodeClient", "FileStatus", "FileType", "ContentSummary", "ServerDefaults",
    "DirectoryNotEmptyError", "InvalidPathError", "HdfsReader", "HdfsWriter", "BlockMissingError",
    "CorruptBlockError", "DataTransferSecurity", "DataTransferProtectionError", "DataEncryptionKey",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list:
    return sorted(set(globals()) | set(_EXPORTS))
