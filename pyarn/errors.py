"""Every error pyarn raises, under one root: :class:`PyarnError`.

Two families:

* :class:`RemoteError` and its subclasses: a Java exception the server sent
  back. Each keeps the Java class name (``java_class``), the first line of the
  Java message (``message``, also ``str(error)``) and the full Java text
  (``java_text``, usually with the server's stack trace). A registry maps Java
  class names to the Python subclass to raise; unknown names give a plain
  :class:`RemoteError`. Every Java class pyarn maps is registered here, so the mapping does
  not depend on which modules happen to be imported. Some subclasses are also Python built-in errors
  (``RemoteFileNotFoundError`` is a ``FileNotFoundError``, ...), so callers can
  catch them the usual way.
* Local errors: the connection failed, a call timed out, a peer broke the
  protocol (:class:`RemoteProtocolError`) or we misused it
  (:class:`LocalProtocolError`), authentication could not be set up, or every
  address of a failover proxy failed.
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple, Type

__all__ = [
    "PyarnError", "RemoteError", "remote_error", "java_class_of", "register_java_class",
    "StandbyError", "RetriableError", "AccessControlError", "InvalidTokenError",
    "YarnError", "ApplicationNotFoundError", "ApplicationAttemptNotFoundError",
    "ContainerNotFoundError", "InvalidApplicationMasterRequestError",
    "ApplicationMasterNotRegisteredError", "InvalidResourceRequestError",
    "InvalidResourceBlacklistRequestError", "InvalidContainerReleaseError", "InvalidContainerError",
    "YarnFeatureNotEnabledError", "RemoteFileNotFoundError", "FileAlreadyExistsError",
    "ParentNotDirectoryError", "SafeModeError", "DirectoryNotEmptyError", "NotReplicatedYetError",
    "LeaseExpiredError", "AlreadyBeingCreatedError", "QuotaExceededError", "InvalidRequestError",
    "NoSuchMethodError",
    "NoSuchProtocolError",
    "RpcServerError", "VersionMismatchError", "SaslError",
    "RpcConnectionError", "ConnectFailedError", "ConnectTimeoutError", "ConnectionClosedError",
    "RpcTimeoutError",
    "ProtocolError", "LocalProtocolError", "RemoteProtocolError", "AuthenticationError",
    "FailoverExhaustedError",
]

#: Java class used when a Python exception has no better Java name.
DEFAULT_JAVA_CLASS = "java.io.IOException"


class PyarnError(Exception):
    """The root of every error pyarn raises."""


# --------------------------------------------------------------------------
# Remote (Java) exceptions

_REGISTRY: Dict[str, Type[RemoteError]] = {}


class RemoteError(PyarnError):
    """A Java exception returned by a Hadoop server.

    ``message`` is the first line of the Java message; ``java_text`` the whole
    text as sent (Java servers append their stack trace). ``error_code`` is the
    ``RpcErrorCodeProto`` value when the server sent one.
    """

    #: The Java class a subclass stands for; used when raising it server-side.
    JAVA_CLASS: str = DEFAULT_JAVA_CLASS

    def __init__(self, message: str = "", java_class: Optional[str] = None, *,
                 java_text: Optional[str] = None, error_code: Optional[int] = None) -> None:
        self.java_class = java_class or type(self).JAVA_CLASS
        self.java_text = message if java_text is None else java_text
        self.message = message
        self.error_code = error_code
        super().__init__(message)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, java_class={self.java_class!r})"

    def __reduce__(self):
        return (_rebuild_remote_error, (type(self), self.message, self.java_class,
                                        self.java_text, self.error_code))


def _rebuild_remote_error(cls, message, java_class, java_text, error_code):
    return cls(message, java_class, java_text=java_text, error_code=error_code)


def register_java_class(*java_classes: str):
    """Class decorator: raise ``cls`` for remote exceptions of these Java classes.

    The first name becomes ``cls.JAVA_CLASS`` (the name used when pyarn's own
    server sends the error back).
    """
    def decorate(cls: Type[RemoteError]) -> Type[RemoteError]:
        cls.JAVA_CLASS = java_classes[0]
        for name in java_classes:
            _REGISTRY[name] = cls
        return cls
    return decorate


def remote_error(java_class: str, java_text: Optional[str],
                 error_code: Optional[int] = None) -> RemoteError:
    """The Python exception for a Java exception class name and message."""
    text = java_text or ""
    first_line = text.split("\n", 1)[0].rstrip("\r")
    cls = _REGISTRY.get(java_class, RemoteError)
    return cls(first_line, java_class, java_text=text, error_code=error_code)


#: Built-in Python errors a server handler may raise, and the Java class sent for each.
_BUILTIN_JAVA_CLASSES: Tuple[Tuple[Type[BaseException], str], ...] = (
    (FileNotFoundError, "java.io.FileNotFoundException"),
    (FileExistsError, "org.apache.hadoop.fs.FileAlreadyExistsException"),
    (NotADirectoryError, "org.apache.hadoop.fs.ParentNotDirectoryException"),
    (PermissionError, "org.apache.hadoop.security.AccessControlException"),
    (NotImplementedError, "java.lang.UnsupportedOperationException"),
    (ValueError, "java.lang.IllegalArgumentException"),
)


def java_class_of(exc: BaseException) -> str:
    """The Java class name to report for ``exc`` (server side)."""
    if isinstance(exc, RemoteError):
        return exc.java_class
    for py_cls, java_name in _BUILTIN_JAVA_CLASSES:
        if isinstance(exc, py_cls):
            return java_name
    return DEFAULT_JAVA_CLASS


@register_java_class("org.apache.hadoop.ipc.StandbyException")
class StandbyError(RemoteError):
    """The server is a standby: try another one."""


@register_java_class("org.apache.hadoop.ipc.RetriableException")
class RetriableError(RemoteError):
    """The server asks to retry the same call later."""


@register_java_class("org.apache.hadoop.security.AccessControlException",
                     "org.apache.hadoop.security.authorize.AuthorizationException")
class AccessControlError(RemoteError, PermissionError):
    """Permission denied by the server."""


@register_java_class("org.apache.hadoop.security.token.SecretManager$InvalidToken")
class InvalidTokenError(RemoteError):
    """The token is unknown, expired or does not check out."""


@register_java_class("org.apache.hadoop.yarn.exceptions.YarnException")
class YarnError(RemoteError):
    """A YARN exception (``YarnException`` and its subclasses)."""


@register_java_class("org.apache.hadoop.yarn.exceptions.ApplicationNotFoundException")
class ApplicationNotFoundError(YarnError):
    """The ResourceManager knows no such application."""


@register_java_class("org.apache.hadoop.yarn.exceptions.ApplicationAttemptNotFoundException")
class ApplicationAttemptNotFoundError(YarnError):
    """The ResourceManager knows no such application attempt."""


@register_java_class("org.apache.hadoop.yarn.exceptions.ContainerNotFoundException")
class ContainerNotFoundError(YarnError):
    """No such container."""


@register_java_class("org.apache.hadoop.yarn.exceptions.InvalidApplicationMasterRequestException")
class InvalidApplicationMasterRequestError(YarnError):
    """The AM sent a request the ResourceManager rejects (e.g. registering twice)."""


@register_java_class("org.apache.hadoop.yarn.exceptions.ApplicationMasterNotRegisteredException")
class ApplicationMasterNotRegisteredError(YarnError):
    """The AM called ``allocate`` before registering."""


@register_java_class("org.apache.hadoop.yarn.exceptions.InvalidResourceRequestException")
class InvalidResourceRequestError(YarnError):
    """A resource request the scheduler refuses (more than the maximum allocation, a bad label, ...)."""


@register_java_class("org.apache.hadoop.yarn.exceptions.InvalidResourceBlacklistRequestException")
class InvalidResourceBlacklistRequestError(YarnError):
    """A blacklist addition or removal the scheduler refuses."""


@register_java_class("org.apache.hadoop.yarn.exceptions.InvalidContainerReleaseException")
class InvalidContainerReleaseError(YarnError):
    """The AM asked to release a container that is not its own."""


@register_java_class("org.apache.hadoop.yarn.exceptions.InvalidContainerException")
class InvalidContainerError(YarnError):
    """A NodeManager refuses a container: its token or launch context does not check out."""


@register_java_class("org.apache.hadoop.yarn.exceptions.YARNFeatureNotEnabledException")
class YarnFeatureNotEnabledError(YarnError):
    """The call needs a YARN feature the cluster has turned off (e.g. reservations, timeline)."""


@register_java_class("java.io.FileNotFoundException")
class RemoteFileNotFoundError(RemoteError, FileNotFoundError):
    """No such file on the server (also a ``FileNotFoundError``)."""


@register_java_class("org.apache.hadoop.fs.FileAlreadyExistsException")
class FileAlreadyExistsError(RemoteError, FileExistsError):
    """The file exists (also a ``FileExistsError``)."""


@register_java_class("org.apache.hadoop.fs.ParentNotDirectoryException")
class ParentNotDirectoryError(RemoteError, NotADirectoryError):
    """A parent of the path is a file (also a ``NotADirectoryError``)."""


@register_java_class("org.apache.hadoop.hdfs.server.namenode.SafeModeException")
class SafeModeError(RemoteError):
    """The NameNode is in safe mode."""


@register_java_class("org.apache.hadoop.fs.PathIsNotEmptyDirectoryException")
class DirectoryNotEmptyError(RemoteError, OSError):
    """A non-recursive delete of a directory that has children (also an ``OSError``)."""


@register_java_class("org.apache.hadoop.hdfs.server.namenode.NotReplicatedYetException")
class NotReplicatedYetError(RemoteError):
    """``addBlock`` came before the previous block reached its minimal replication: retry later."""


@register_java_class("org.apache.hadoop.hdfs.server.namenode.LeaseExpiredException")
class LeaseExpiredError(RemoteError):
    """The write lease on the file is gone (the file was deleted, or the lease expired)."""


@register_java_class("org.apache.hadoop.hdfs.protocol.AlreadyBeingCreatedException")
class AlreadyBeingCreatedError(RemoteError):
    """Another client holds the write lease on the file."""


@register_java_class("org.apache.hadoop.hdfs.protocol.QuotaExceededException",
                     "org.apache.hadoop.hdfs.protocol.NSQuotaExceededException",
                     "org.apache.hadoop.hdfs.protocol.DSQuotaExceededException",
                     "org.apache.hadoop.hdfs.protocol.QuotaByStorageTypeExceededException")
class QuotaExceededError(RemoteError, OSError):
    """A name or space quota would be exceeded (also an ``OSError``)."""


@register_java_class("pyarn.am.InvalidRequestException")
class InvalidRequestError(RemoteError, ValueError):
    """pyarn's ApplicationMaster refused a request: unknown service or container, bad arguments,
    a put that keeps the value of a missing key, an owner that is not a live container, ..."""


@register_java_class("org.apache.hadoop.ipc.RpcServerException")
class RpcServerError(RemoteError):
    """The server's IPC layer failed the call."""


@register_java_class("org.apache.hadoop.ipc.RpcNoSuchMethodException")
class NoSuchMethodError(RpcServerError):
    """The server's protocol has no such method."""


@register_java_class("org.apache.hadoop.ipc.RpcNoSuchProtocolException")
class NoSuchProtocolError(RpcServerError):
    """The server does not serve that protocol (or not that version)."""


@register_java_class("org.apache.hadoop.ipc.RPC$VersionMismatch")
class VersionMismatchError(RpcServerError):
    """The server speaks another IPC or protocol version."""


@register_java_class("javax.security.sasl.SaslException")
class SaslError(RemoteError):
    """SASL negotiation failed on the server."""


# --------------------------------------------------------------------------
# Local errors


class RpcConnectionError(PyarnError, ConnectionError):
    """The IPC connection could not be used (also a built-in ``ConnectionError``)."""


class ConnectFailedError(RpcConnectionError):
    """Connecting (TCP, preamble, SASL) failed: no call was sent on this attempt."""


class ConnectTimeoutError(ConnectFailedError, TimeoutError):
    """The TCP connect timed out (``ipc.client.connect.timeout``): retried per
    ``ipc.client.connect.max.retries.on.timeouts``, as Java does."""


class ConnectionClosedError(RpcConnectionError):
    """The connection closed while calls were in flight; they may have reached the server."""


class RpcTimeoutError(PyarnError, TimeoutError):
    """A call got no answer in time; it may have reached the server."""


class ProtocolError(PyarnError):
    """The IPC protocol was broken, by us or by the peer."""


class LocalProtocolError(ProtocolError):
    """We misused the protocol (a bug in the caller, e.g. calling before connecting)."""


class RemoteProtocolError(ProtocolError):
    """The peer broke the protocol (bad bytes, bad lengths, unknown call ids, ...)."""


class AuthenticationError(PyarnError):
    """This side cannot authenticate: no usable method or credential, or a bad server proof."""


class FailoverExhaustedError(PyarnError):
    """Every attempt of a failover proxy failed.

    ``attempts`` lists ``(address, error)`` for each attempt, in order.
    """

    def __init__(self, method: str, attempts: Sequence[Tuple[str, BaseException]]) -> None:
        self.method = method
        self.attempts: Tuple[Tuple[str, BaseException], ...] = tuple(attempts)
        super().__init__(self._describe())

    def _describe(self) -> str:
        lines = [f"{self.method}: all {len(self.attempts)} attempt(s) failed ({', '.join(self.addresses)})"]
        lines.extend(f"  {address}: {type(error).__name__}: {error}" for address, error in self.attempts)
        return "\n".join(lines)

    @property
    def addresses(self) -> Tuple[str, ...]:
        """Every distinct address tried, in order of first attempt."""
        seen: Dict[str, None] = {}
        for address, _ in self.attempts:
            seen.setdefault(address, None)
        return tuple(seen)

    def __reduce__(self):
        return (type(self), (self.method, self.attempts))

