"""The DataNode's side of DataTransfer SASL (Hadoop's ``SaslDataTransferServer``), general handshake.

A DataNode with ``dfs.data.transfer.protection`` set, on an unprivileged port, starts
every connection with this handshake before the first op::

    client: DE AD BE EF, {SUCCESS, payload=""}
    server: {SUCCESS, payload=digest-challenge}
    client: {SUCCESS, payload=digest-response}
    server: {SUCCESS, payload=rspauth}        or {ERROR, message[, accessTokenError]}

DIGEST-MD5 (protocol ``hdfs``, server name ``0``) authenticates the client by its
block token: the user name is the Base64 identifier, the password the Base64 of
``HmacSHA1(block key, identifier)``, so a token the key did not sign, or one that
expired, does not get through (``accessTokenError`` tells a 3.x client to fetch new
tokens). The QOP is the best of ``dfs.data.transfer.protection`` the client accepts;
afterwards, at ``auth-int``/``auth-conf``, both ways travel in SASL frames
(:class:`~pyarn.hdfs.transfer_security.ProtectedSocket` with a
:class:`~pyarn.hdfs.datatransfer_sasl.SaslStreamCodec`, the client's own framing).
No AES/CTR cipher option is negotiated (as a DataNode without
``dfs.encrypt.data.transfer.cipher.suites``) and the encrypted handshake
(``dfs.encrypt.data.transfer``) is not offered.
"""
from __future__ import annotations

import base64
import binascii
import logging
import socket
from typing import List, Sequence, Union

from hadoop_protos import datatransfer_pb2 as dt
from pyarn.errors import InvalidTokenError
from pyarn.hdfs.datatransfer import decode_delimited
from pyarn.hdfs.datatransfer_sasl import (
    MAGIC,
    SASL_PROTOCOL,
    SASL_SERVER_NAME,
    SaslStreamCodec,
    encode_sasl_message,
)
from pyarn.hdfs.transfer_security import ProtectedSocket
from pyarn.ipc.constants import Qop
from pyarn.ipc.sasl.digest_md5 import DigestMd5Server

from .blocktokens import BlockTokenIdentifier, BlockTokenSecretManager
from .datanode import HandshakeFailed

__all__ = ["SaslTransferServer", "HandshakeFailed"]

log = logging.getLogger(__name__)

_SUCCESS = dt.DataTransferEncryptorMessageProto.SUCCESS
_ERROR = dt.DataTransferEncryptorMessageProto.ERROR
_RECV_SIZE = 64 * 1024

Peer = Union[socket.socket, ProtectedSocket]


class _Reader:
    """Whole messages off a blocking socket, keeping what follows them."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()

    def _fill(self, what: str) -> None:
        data = self.sock.recv(_RECV_SIZE)
        if not data:
            raise HandshakeFailed(f"the client closed the connection in the SASL handshake ({what})")
        self.buffer += data

    def exactly(self, size: int, what: str) -> bytes:
        while len(self.buffer) < size:
            self._fill(what)
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def message(self) -> dt.DataTransferEncryptorMessageProto:
        while True:
            found = decode_delimited(self.buffer, dt.DataTransferEncryptorMessageProto)
            if found is not None:
                message, end = found
                del self.buffer[:end]
                return message
            self._fill("a SASL message")


class SaslTransferServer:
    """Runs the handshake on each new connection of a DataNode (see the module notes)."""

    def __init__(self, qops: Sequence[Qop], block_tokens: BlockTokenSecretManager) -> None:
        if not qops:
            raise ValueError("SaslTransferServer: dfs.data.transfer.protection names no QOP")
        self.qops = tuple(qops)
        self.block_tokens = block_tokens

    def _password(self, username: str, failures: List[BaseException]) -> str:
        """``SaslDataTransferServer.buildServerPassword``: the password the NameNode's key gives
        the block token identifier ``username``, once its expiry is checked."""
        try:
            try:
                raw = base64.b64decode(username.encode("ascii"), validate=True)
            except (binascii.Error, UnicodeEncodeError, ValueError):
                raise InvalidTokenError("Can't de-serialize block token identifier") from None
            identifier = BlockTokenIdentifier.from_bytes(raw)
            if identifier.expiry_date < self.block_tokens.now():
                raise InvalidTokenError(f"Block token with {identifier} is expired.")
            if identifier.key_id != self.block_tokens.key.key_id:
                raise InvalidTokenError(f"Can't re-compute password for {identifier}, since the required "
                                        f"block key (keyID={identifier.key_id}) doesn't exist.")
            return base64.b64encode(self.block_tokens.key.password(raw)).decode("ascii")
        except BaseException as exc:
            failures.append(exc)
            raise

    def handshake(self, sock: socket.socket) -> Peer:
        """Authenticate the client on ``sock``; the socket to serve ops on from now on.

        Raises :class:`HandshakeFailed` (or ``OSError``) when the client does not get through.
        """
        reader = _Reader(sock)
        magic = reader.exactly(4, "the magic number")
        if magic != MAGIC:
            raise HandshakeFailed(f"Received {magic.hex()} instead of {MAGIC.hex()} from client.")
        first = reader.message()
        failures: List[BaseException] = []
        server = DigestMd5Server(lambda name: self._password(name, failures), realm=SASL_SERVER_NAME,
                                 protocol=SASL_PROTOCOL, server_id=SASL_SERVER_NAME, qops=self.qops)
        try:
            challenge = server.evaluate_response(bytes(first.payload))
        except Exception as exc:
            raise self._refused(sock, exc, failures) from exc
        sock.sendall(encode_sasl_message(challenge))
        second = reader.message()
        if second.status != _SUCCESS:
            raise HandshakeFailed(f"the client gave up the SASL handshake: {second.message}")
        try:
            final = server.evaluate_response(bytes(second.payload))
        except Exception as exc:
            raise self._refused(sock, exc, failures) from exc
        sock.sendall(encode_sasl_message(final))
        unused = bytes(reader.buffer)
        if not server.qop.has_security_layer:
            if unused:
                raise HandshakeFailed("the client sent an op before the SASL handshake was over")
            return sock
        return ProtectedSocket(sock, SaslStreamCodec(server), unused)

    @staticmethod
    def _refused(sock: socket.socket, exc: BaseException, failures: List[BaseException]) -> HandshakeFailed:
        """Tell the client why (``sendInvalidTokenSaslErrorMessage`` / ``sendGenericSaslErrorMessage``)."""
        token = next((f for f in failures if isinstance(f, InvalidTokenError)), None)
        message, flag = (str(token), True) if token is not None else (str(exc), False)
        try:
            sock.sendall(encode_sasl_message(status=_ERROR, message=message, access_token_error=flag))
        except OSError:
            pass
        return HandshakeFailed(f"SASL handshake refused: {message}")

    def secure_mirror(self, sock: socket.socket, target, token) -> Peer:
        """The client side towards the next DataNode of a pipeline (Java's ``socketSend``), with the
        block token the client gave; closes ``sock`` when it raises."""
        from pyarn.hdfs.transfer_security import DataTransferSecurity

        return DataTransferSecurity(security_enabled=True, qops=self.qops).secure(sock, target, token)
