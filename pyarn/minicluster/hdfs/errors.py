"""The Java exceptions the mini NameNode sends, by their Hadoop class names.

Each helper builds a :class:`~pyarn.errors.RemoteError` (or the matching
subclass) so the IPC server answers with Hadoop's own class name, and Java's
``RemoteException.unwrapRemoteException`` finds the class it expects.
"""
from __future__ import annotations

from pyarn.errors import (
    AccessControlError,
    FileAlreadyExistsError,
    ParentNotDirectoryError,
    RemoteError,
    RemoteFileNotFoundError,
)

__all__ = [
    "IO_EXCEPTION", "access_denied", "already_being_created", "already_exists", "illegal_argument",
    "invalid_path", "io_error", "lease_expired", "not_empty", "not_found", "not_replicated_yet",
    "parent_not_directory",
]

IO_EXCEPTION = "java.io.IOException"
_ALREADY_BEING_CREATED = "org.apache.hadoop.hdfs.protocol.AlreadyBeingCreatedException"
_LEASE_EXPIRED = "org.apache.hadoop.hdfs.server.namenode.LeaseExpiredException"
_INVALID_PATH = "org.apache.hadoop.fs.InvalidPathException"
_NOT_EMPTY = "org.apache.hadoop.fs.PathIsNotEmptyDirectoryException"
_NOT_REPLICATED_YET = "org.apache.hadoop.hdfs.server.namenode.NotReplicatedYetException"
_ILLEGAL_ARGUMENT = "org.apache.hadoop.HadoopIllegalArgumentException"


def io_error(message: str) -> RemoteError:
    return RemoteError(message, IO_EXCEPTION)


def not_found(message: str) -> RemoteError:
    return RemoteFileNotFoundError(message)


def already_exists(message: str) -> RemoteError:
    return FileAlreadyExistsError(message)


def parent_not_directory(message: str) -> RemoteError:
    return ParentNotDirectoryError(message)


def access_denied(message: str) -> RemoteError:
    return AccessControlError(message)


def already_being_created(message: str) -> RemoteError:
    return RemoteError(message, _ALREADY_BEING_CREATED)


def lease_expired(message: str) -> RemoteError:
    return RemoteError(message, _LEASE_EXPIRED)


def invalid_path(message: str) -> RemoteError:
    return RemoteError(message, _INVALID_PATH)


def not_empty(path: str) -> RemoteError:
    return RemoteError(f"`{path} is non empty': Directory is not empty", _NOT_EMPTY)


def not_replicated_yet(path: str) -> RemoteError:
    return RemoteError(f"Not replicated yet: {path}", _NOT_REPLICATED_YET)


def illegal_argument(message: str) -> RemoteError:
    return RemoteError(message, _ILLEGAL_ARGUMENT)
