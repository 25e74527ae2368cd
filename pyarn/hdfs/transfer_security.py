"""When and how a DataNode connection is secured, over a blocking socket.

:class:`DataTransferSecurity` decides per connection what Java's
``SaslDataTransferClient.send`` decides:

1. the NameNode encrypts block transfers (its server defaults say
   ``encryptDataTransfer``, or this client sets ``dfs.encrypt.data.transfer``) and
   gives a data encryption key → the *encrypted handshake* with that key;
2. else an insecure client (``hadoop.security.authentication=simple``) → nothing;
3. else a DataNode on a privileged port (below 1024, started as root) → nothing;
4. else ``dfs.data.transfer.protection`` set → the *general handshake* with the
   block token of the ``LocatedBlock``;
5. else nothing (a secure DataNode on an unprivileged port will hang up).

The handshake itself is :mod:`pyarn.hdfs.datatransfer_sasl`; this module moves its
bytes and returns either the socket itself (QOP ``auth``) or a
:class:`ProtectedSocket` that wraps and unwraps everything after it.

Errors from :meth:`DataTransferSecurity.secure` (the socket is closed by then):

* :class:`~pyarn.hdfs.datatransfer_sasl.DataTransferProtectionError`: no common QOP.
  Another replica would say the same: it is not a ``DataNodeError``.
* :class:`~pyarn.hdfs.datatransfer.BlockTokenError`: the block token was refused.
* :class:`InvalidEncryptionKeyError`: the data encryption key expired (the cached
  key is dropped; connect again).
* :class:`~pyarn.hdfs.datatransfer.DataNodeError`: anything else this DataNode did.
"""
from __future__ import annotations

import io
import logging
import socket
import threading
import time
from typing import Callable, Mapping, Optional, Sequence, Union

from hadoop_protos import hdfs_pb2
from hadoop_protos.security_pb2 import TokenProto

from ..errors import AuthenticationError, PyarnError
from ..ipc.constants import Qop
from ..ipc.sasl.mechanism import protection_names
from .datatransfer import BlockTokenError, DataNodeError, DataTransferError, xfer_addr
from .datatransfer_sasl import (
    CIPHER_SUITES_KEY,
    PROTECTION_KEY,
    CipherStreamCodec,
    DataEncryptionKey,
    DataTransferProtectionError,
    SaslDataTransferClient,
    SaslRefusedError,
    SaslStreamCodec,
    parse_protection,
)

__all__ = ["DataTransferSecurity", "ProtectedSocket", "InvalidEncryptionKeyError", "ENCRYPT_KEY"]

log = logging.getLogger(__name__)

ENCRYPT_KEY = "dfs.encrypt.data.transfer"
#: ``SecurityUtil.isPrivilegedPort``: a DataNode below this port was started as root (jsvc)
#: and is trusted without SASL.
PRIVILEGED_PORT_LIMIT = 1024
_RECV_SIZE = 256 * 1024
#: What a 2.x DataNode's JDK DIGEST-MD5 server says when the block token does not check out.
_TOKEN_REFUSALS = ("IO error acquiring password", "Mismatched response", "Block token", "InvalidToken",
                   "token is expired", "Can't re-compute password")

Codec = Union[SaslStreamCodec, CipherStreamCodec]


class InvalidEncryptionKeyError(DataNodeError):
    """The DataNode does not know the data encryption key (it expired): fetch a new one."""


class DataTransferSecurity:
    """How this client secures its DataNode connections (see the module notes).

    ``security_enabled`` is ``hadoop.security.authentication=kerberos``; ``qops`` the
    QOPs of ``dfs.data.transfer.protection``, most preferred first; ``encryption_key``
    returns the NameNode's current :class:`DataEncryptionKey`, or ``None`` when block
    transfers are not encrypted (asked at most once per key lifetime);
    ``cipher_suites`` is ``dfs.encrypt.data.transfer.cipher.suites``. ``timeout``
    bounds each read of the handshake (default: the socket's own).
    """

    def __init__(self, *, security_enabled: bool = False, qops: Sequence[Qop] = (),
                 encryption_key: Optional[Callable[[], Optional[DataEncryptionKey]]] = None,
                 cipher_suites: Optional[str] = None, clock: Callable[[], float] = time.time) -> None:
        self.security_enabled = security_enabled
        self.qops = tuple(qops)
        self.cipher_suites = cipher_suites.strip() if cipher_suites and cipher_suites.strip() else None
        self._key_source = encryption_key
        self._clock = clock
        self._key: Optional[DataEncryptionKey] = None
        self._key_checked = False
        self._lock = threading.Lock()

    @classmethod
    def from_conf(cls, conf: Mapping[str, str], namenode=None) -> DataTransferSecurity:
        """Settings from ``conf``; ``namenode`` (a :class:`~pyarn.hdfs.namenode.NameNodeClient`)
        answers whether transfers are encrypted and gives the keys."""
        authentication = str(conf.get("hadoop.security.authentication") or "simple").strip().lower()
        qops = parse_protection(conf.get(PROTECTION_KEY))
        encrypt = str(conf.get(ENCRYPT_KEY) or "false").strip().lower() == "true"
        key_source = None
        if namenode is not None:
            def key_source() -> Optional[DataEncryptionKey]:
                if not (encrypt or namenode.get_server_defaults().encrypt_data_transfer):
                    return None
                return namenode.get_data_encryption_key()
        return cls(security_enabled=authentication == "kerberos", qops=qops, encryption_key=key_source,
                   cipher_suites=conf.get(CIPHER_SUITES_KEY))

    def __repr__(self) -> str:
        return (f"DataTransferSecurity(security_enabled={self.security_enabled}, "
                f"protection={protection_names(self.qops) if self.qops else None!r})")

    # -- the data encryption key -------------------------------------------------------------

    def encryption_key(self) -> Optional[DataEncryptionKey]:
        """The current data encryption key, fetched again once expired; ``None``: no encryption."""
        if self._key_source is None:
            return None
        with self._lock:
            now = int(self._clock() * 1000)
            if self._key is not None and not self._key.expired(now):
                return self._key
            if self._key is None and self._key_checked:
                return None
            self._key = self._key_source()
            self._key_checked = True
            return self._key

    def invalidate_key(self) -> None:
        """Forget the cached key (a DataNode said it does not know it)."""
        with self._lock:
            self._key = None
            self._key_checked = False

    # -- connections ----------------------------------------------------------------------------

    def handshake_for(self, datanode: hdfs_pb2.DatanodeInfoProto,
                      token: Optional[TokenProto]) -> Optional[SaslDataTransferClient]:
        """The handshake a connection to ``datanode`` needs, or ``None`` for none."""
        key = self.encryption_key()
        if key is not None:
            return SaslDataTransferClient.for_encryption_key(key, cipher_suites=self.cipher_suites)
        if not self.security_enabled or datanode.id.xferPort < PRIVILEGED_PORT_LIMIT or not self.qops:
            return None
        identifier = bytes(token.identifier) if token is not None else b""
        password = bytes(token.password) if token is not None else b""
        return SaslDataTransferClient.for_block_token(identifier, password, self.qops,
                                                      cipher_suites=self.cipher_suites)

    def unprotected_hint(self, datanode: hdfs_pb2.DatanodeInfoProto) -> str:
        """Why a secure DataNode may have hung up on an unprotected connection ("" if not that)."""
        if (self.security_enabled and not self.qops and datanode.id.xferPort >= PRIVILEGED_PORT_LIMIT
                and self._key is None):
            return (f" (this client uses Kerberos but sets no {PROTECTION_KEY}: a DataNode on an "
                    f"unprivileged port expects a SASL handshake; set {PROTECTION_KEY} as the cluster does)")
        return ""

    def secure(self, sock: socket.socket, datanode: hdfs_pb2.DatanodeInfoProto,
               token: Optional[TokenProto]) -> Union[socket.socket, ProtectedSocket]:
        """Run the handshake ``datanode`` needs on ``sock``; the socket to use from now on.

        Closes ``sock`` when it raises (see the module notes for the errors).
        """
        try:
            handshake = self.handshake_for(datanode, token)
        except BaseException:
            sock.close()
            raise
        if handshake is None:
            return sock
        addr = xfer_addr(datanode)
        try:
            unused = _run(sock, handshake)
            codec = handshake.codec()
        except BaseException as exc:
            _tell_peer(sock, handshake, exc)
            sock.close()
            raise self._error(exc, addr, handshake) from exc
        log.debug("DataTransfer SASL with %s: %s%s", addr, handshake.qop.value,
                  " + AES/CTR" if handshake.cipher_option is not None else "")
        if codec is None:
            return sock
        return ProtectedSocket(sock, codec, unused)

    def _error(self, exc: BaseException, addr: str, handshake: SaslDataTransferClient) -> BaseException:
        what = "encrypted SASL handshake" if handshake.encrypted else "SASL handshake"
        if isinstance(exc, DataTransferProtectionError):
            error = DataTransferProtectionError(f"DataNode {addr}: {exc}", exc.preferred, exc.offered)
            return error
        if isinstance(exc, SaslRefusedError):
            if exc.unknown_key:
                self.invalidate_key()
                return InvalidEncryptionKeyError(
                    f"DataNode {addr} does not know this client's data encryption key: {exc.peer_message}",
                    addr)
            if exc.access_token_error or (not handshake.encrypted and any(
                    marker in exc.peer_message for marker in _TOKEN_REFUSALS)):
                return BlockTokenError(f"DataNode {addr} refused the block token in the {what}: "
                                       f"{exc.peer_message}", addr)
            return DataNodeError(f"DataNode {addr} refused the {what}: {exc.peer_message}", addr)
        if isinstance(exc, (OSError, DataTransferError, AuthenticationError, PyarnError)):
            return DataNodeError(f"{what} with DataNode {addr} failed: {exc}", addr)
        return exc


def _run(sock: socket.socket, handshake: SaslDataTransferClient) -> bytes:
    """Drive the handshake over ``sock``; the bytes that arrived after it."""
    sock.sendall(handshake.initiate())
    while not handshake.done:
        data = sock.recv(_RECV_SIZE)
        if not data:
            raise DataTransferError("the DataNode closed the connection during the SASL handshake")
        reply = handshake.receive_data(data)
        if reply:
            sock.sendall(reply)
    return handshake.unused_data


def _tell_peer(sock: socket.socket, handshake: SaslDataTransferClient, exc: BaseException) -> None:
    """As Java: a client that gives up tells the DataNode why (best effort)."""
    if isinstance(exc, (SaslRefusedError, OSError)):
        return
    try:
        sock.sendall(handshake.error_message(str(exc)))
    except OSError:
        pass


class ProtectedSocket:
    """A connected socket whose traffic passes through a codec (wrapped SASL frames or AES-CTR).

    Offers the part of the socket API the block reader and writer use: ``sendall``,
    ``recv``, ``recv_into``, ``makefile("rb")``, timeouts, ``fileno`` and ``close``.
    :attr:`pending` says whether decoded bytes are waiting (``poll`` cannot see them).
    Sends are not thread-safe (callers serialize them, as for a plain socket).
    """

    def __init__(self, sock: socket.socket, codec: Codec, received: bytes = b"") -> None:
        self._sock = sock
        self.codec = codec
        self._plain = bytearray(codec.decode(received) if received else b"")
        self._closed = False

    def __repr__(self) -> str:
        return f"ProtectedSocket({self._sock!r}, {type(self.codec).__name__})"

    @property
    def pending(self) -> bool:
        return bool(self._plain)

    def sendall(self, data) -> None:
        self._sock.sendall(self.codec.encode(data))

    def recv_into(self, buffer, nbytes: int = 0) -> int:
        view = memoryview(buffer).cast("B")
        want = nbytes or len(view)
        if want == 0:
            return 0
        while not self._plain:
            data = self._sock.recv(_RECV_SIZE)
            if not data:
                if self.codec.buffered:
                    raise ConnectionResetError(f"connection closed inside a protected frame "
                                               f"({self.codec.buffered} bytes of it received)")
                return 0
            try:
                self._plain += self.codec.decode(data)
            except DataTransferError as exc:
                raise ConnectionError(str(exc)) from exc
        count = min(want, len(self._plain))
        view[:count] = self._plain[:count]
        del self._plain[:count]
        return count

    def recv(self, size: int) -> bytes:
        buffer = bytearray(size)
        count = self.recv_into(buffer)
        return bytes(buffer[:count])

    def makefile(self, mode: str = "rb", buffering: int = io.DEFAULT_BUFFER_SIZE) -> io.BufferedReader:
        if mode != "rb":
            raise ValueError(f"ProtectedSocket.makefile supports mode 'rb' only, not {mode!r}")
        return io.BufferedReader(_RawReader(self), max(1, buffering))

    def settimeout(self, value: Optional[float]) -> None:
        self._sock.settimeout(value)

    def gettimeout(self) -> Optional[float]:
        return self._sock.gettimeout()

    def setsockopt(self, *args) -> None:
        self._sock.setsockopt(*args)

    def fileno(self) -> int:
        return self._sock.fileno()

    def getpeername(self):
        return self._sock.getpeername()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.codec.dispose()
        self._sock.close()

    def __enter__(self) -> ProtectedSocket:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class _RawReader(io.RawIOBase):
    def __init__(self, sock: ProtectedSocket) -> None:
        super().__init__()
        self._sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        return self._sock.recv_into(buffer)
