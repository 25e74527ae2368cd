"""SASL on the DataNode streaming port, without I/O: the handshake and the protected stream.

A secure DataNode that listens on an unprivileged port (``dfs.data.transfer.protection``
set) or encrypts block traffic (``dfs.encrypt.data.transfer``) wants a SASL
handshake before the first op (Hadoop: ``SaslDataTransferClient``,
``DataTransferSaslUtil``, ``SaslParticipant``; the DataNode's side is
``SaslDataTransferServer``)::

    client: DE AD BE EF                      (SASL_TRANSFER_MAGIC_NUMBER, 4 bytes, big-endian)
    client: {SUCCESS, payload=""}            (+ handshakeSecret when the block token has one)
    server: {SUCCESS, payload=challenge}     (DIGEST-MD5 digest-challenge)
    client: {SUCCESS, payload=response}      (+ cipherOption AES/CTR/NoPadding when asked for)
    server: {SUCCESS, payload=rspauth}       (+ the negotiated cipherOption, keys wrapped)

Each message is a varint-delimited ``DataTransferEncryptorMessageProto``. A
server that refuses sends ``{ERROR, message}`` (``accessTokenError`` set when the
block token was refused, on 3.x DataNodes) or ``{ERROR_UNKNOWN_KEY, message}``
(an expired data encryption key).

The mechanism is DIGEST-MD5 with protocol ``hdfs`` and server name ``0``
(digest-uri ``hdfs/0``), from :mod:`pyarn.ipc.sasl.digest_md5`. Credentials:

* general handshake: user name = Base64 of the block token's identifier,
  password = Base64 of its password; QOPs from ``dfs.data.transfer.protection``;
* encrypted handshake: user name = ``"<keyId> <blockPoolId> <Base64 nonce>"`` and
  password = Base64 of the key of the NameNode's ``DataEncryptionKey``; QOP
  ``auth-conf`` only, cipher = the key's ``encryptionAlgorithm`` when set.

Afterwards, with ``auth-int``/``auth-conf``, every byte both ways travels in
frames of a 4-byte big-endian length and the SASL-wrapped bytes
(``SaslOutputStream``/``SaslInputStream``): :class:`SaslStreamCodec`. When
privacy was negotiated and both sides accept ``AES/CTR/NoPadding``
(``dfs.encrypt.data.transfer.cipher.suites``), the DataNode sends fresh AES keys
wrapped by the SASL layer and the stream becomes plain AES-CTR instead:
:class:`CipherStreamCodec`. With ``auth`` the stream stays as it is.
"""
from __future__ import annotations

import base64
import enum
import struct
from typing import TYPE_CHECKING, List, Optional, Sequence, Tuple, Union

import attrs
from google.protobuf.message import DecodeError

from hadoop_protos import datatransfer_pb2 as dt
from hadoop_protos import hdfs_pb2
from pyarn.errors import AuthenticationError, LocalProtocolError, PyarnError

from ..ipc.constants import Qop
from ..ipc.sasl.mechanism import NoCommonProtectionError, SecurityLayer, protection_names
from ..security.writable import WritableError, WritableReader
from .datatransfer import DataTransferError, decode_delimited, encode_delimited

__all__ = [
    "SASL_TRANSFER_MAGIC_NUMBER", "MAGIC", "SASL_PROTOCOL", "SASL_SERVER_NAME", "AES_CTR_NOPADDING",
    "PROTECTION_KEY", "CIPHER_SUITES_KEY", "Status",
    "SaslRefusedError", "DataTransferProtectionError",
    "BlockTokenIdentifier", "DataEncryptionKey", "CipherOption",
    "block_token_credentials", "encryption_key_credentials", "parse_protection",
    "encode_sasl_message", "SaslDataTransferClient", "SaslStreamCodec", "CipherStreamCodec",
]

#: ``DataTransferSaslUtil.SASL_TRANSFER_MAGIC_NUMBER``: what a client sends first instead of
#: the data transfer version.
SASL_TRANSFER_MAGIC_NUMBER = 0xDEADBEEF
MAGIC = struct.pack(">I", SASL_TRANSFER_MAGIC_NUMBER)
#: ``SaslParticipant``'s protocol and server name: the digest-uri is ``hdfs/0``.
SASL_PROTOCOL = "hdfs"
SASL_SERVER_NAME = "0"
#: Separates the parts of an encrypted handshake's user name.
NAME_DELIMITER = " "
#: The one cipher suite HDFS negotiates for DataTransfer (``CipherSuite.AES_CTR_NOPADDING``).
AES_CTR_NOPADDING = "AES/CTR/NoPadding"
PROTECTION_KEY = "dfs.data.transfer.protection"
CIPHER_SUITES_KEY = "dfs.encrypt.data.transfer.cipher.suites"
#: Cap on one wrapped frame of the protected stream (a packet is at most 16 MiB).
MAX_FRAME_SIZE = 16 * 1024 * 1024 + 64 * 1024

Status = dt.DataTransferEncryptorMessageProto.DataTransferEncryptorStatus
_SUCCESS = dt.DataTransferEncryptorMessageProto.SUCCESS
_ERROR = dt.DataTransferEncryptorMessageProto.ERROR
_ERROR_UNKNOWN_KEY = dt.DataTransferEncryptorMessageProto.ERROR_UNKNOWN_KEY

Buffer = Union[bytes, bytearray, memoryview]

if TYPE_CHECKING:  # the mechanism is imported when a handshake is made (pyarn.ipc.sasl is lazy)
    from ..ipc.sasl.digest_md5 import DigestMd5Client


def _digest_md5_client(username: str, password: str, qops: Sequence[Qop],
                       cipher: Optional[str] = None) -> DigestMd5Client:
    from ..ipc.sasl.digest_md5 import DigestMd5Client

    return DigestMd5Client(username, password, protocol=SASL_PROTOCOL, server_id=SASL_SERVER_NAME, qops=qops,
                           cipher=cipher)


# -- errors ---------------------------------------------------------------------------------------


class SaslRefusedError(AuthenticationError):
    """The DataNode ended the handshake with an error message.

    ``status`` is ``ERROR`` or ``ERROR_UNKNOWN_KEY`` (the data encryption key expired: get
    a new one); ``access_token_error`` is set by 3.x DataNodes when the block token was
    refused; ``peer_message`` is the DataNode's text.
    """

    def __init__(self, message: str, status: int, peer_message: str, access_token_error: bool) -> None:
        super().__init__(message)
        self.status = status
        self.peer_message = peer_message
        self.access_token_error = access_token_error

    @property
    def unknown_key(self) -> bool:
        return self.status == _ERROR_UNKNOWN_KEY

    def __reduce__(self):
        return (type(self), (self.args[0], self.status, self.peer_message, self.access_token_error))


class DataTransferProtectionError(NoCommonProtectionError):
    """This client and the DataNode accept no quality of protection in common
    (``dfs.data.transfer.protection`` differs, or the DataNode insists on encryption)."""


# -- credentials ----------------------------------------------------------------------------------


@attrs.frozen
class BlockTokenIdentifier:
    """What a block access token's identifier says (``BlockTokenIdentifier``), either encoding.

    The legacy Writable form (first byte <= 0: a vlong expiry date) or the protobuf form
    (``BlockTokenSecretProto``, 3.x with ``dfs.block.access.token.protobuf.enable``).
    ``handshake_secret`` is set by NameNodes that send the client's QOP to DataNodes.
    """

    expiry_date: int
    key_id: int
    user_id: Optional[str]
    block_pool_id: Optional[str]
    block_id: int
    modes: Tuple[str, ...] = ()
    storage_types: Tuple[str, ...] = ()
    storage_ids: Tuple[str, ...] = ()
    handshake_secret: bytes = b""

    _MODES = {1: "READ", 2: "WRITE", 3: "COPY", 4: "REPLACE"}
    _STORAGE = {1: "DISK", 2: "SSD", 3: "ARCHIVE", 4: "RAM_DISK", 5: "PROVIDED", 6: "NVDIMM"}

    @classmethod
    def from_bytes(cls, data: Buffer) -> BlockTokenIdentifier:
        """Parse an identifier; ``ValueError`` when it is neither form."""
        data = bytes(data)
        if not data:
            raise ValueError("empty block token identifier")
        if data[0] >= 0x80 or data[0] == 0:
            return cls._legacy(data)
        proto = hdfs_pb2.BlockTokenSecretProto()
        try:
            proto.ParseFromString(data)
        except DecodeError as exc:
            raise ValueError(f"malformed block token identifier: {exc}") from None
        return cls(proto.expiryDate, proto.keyId, proto.userId if proto.HasField("userId") else None,
                   proto.blockPoolId if proto.HasField("blockPoolId") else None, proto.blockId,
                   tuple(cls._MODES.get(m, str(m)) for m in proto.modes),
                   tuple(cls._STORAGE.get(t, str(t)) for t in proto.storageTypes),
                   tuple(proto.storageIds), bytes(proto.handshakeSecret))

    @classmethod
    def _legacy(cls, data: bytes) -> BlockTokenIdentifier:
        reader = WritableReader(data)

        def string(what: str) -> Optional[str]:
            length = reader.read_vint(f"length of {what}")
            return None if length < 0 else reader.read_bytes(length, what).decode("utf-8")

        def strings(what: str) -> Tuple[str, ...]:
            return tuple(string(what) or "" for _ in range(reader.read_length(f"{what} count")))

        try:
            expiry = reader.read_vlong("expiry date")
            key_id = reader.read_vint("key id")
            user = string("user id")
            pool = string("block pool id")
            block_id = reader.read_vlong("block id")
            modes = strings("access mode")
            types = strings("storage type") if not reader.at_end() else ()
            ids = strings("storage id") if not reader.at_end() else ()
            secret = reader.read_vbytes("handshake secret") if not reader.at_end() else b""
        except (WritableError, UnicodeDecodeError) as exc:
            raise ValueError(f"malformed block token identifier: {exc}") from None
        return cls(expiry, key_id, user, pool, block_id, modes, types, ids, secret)


def block_token_credentials(identifier: bytes, password: bytes) -> Tuple[str, str]:
    """The general handshake's SASL user name and password: Base64 of the block token's
    identifier and of its password (the password itself never crosses the wire); the same
    encoding as :func:`pyarn.ipc.sasl.digest_md5.token_credentials` for IPC."""
    return base64.b64encode(identifier).decode("ascii"), base64.b64encode(password).decode("ascii")


@attrs.frozen(repr=False)
class DataEncryptionKey:
    """A NameNode's key for encrypted block transfers (``getDataEncryptionKey``).

    ``expiry_date`` is in milliseconds since the epoch. The key is a secret: ``repr`` hides it.
    """

    key_id: int
    block_pool_id: str
    nonce: bytes
    encryption_key: bytes
    expiry_date: int
    encryption_algorithm: Optional[str] = None

    def __repr__(self) -> str:
        return (f"DataEncryptionKey(key_id={self.key_id}, block_pool_id={self.block_pool_id!r}, "
                f"expiry_date={self.expiry_date}, encryption_algorithm={self.encryption_algorithm!r})")

    @classmethod
    def from_proto(cls, proto: hdfs_pb2.DataEncryptionKeyProto) -> DataEncryptionKey:
        algorithm = proto.encryptionAlgorithm if proto.HasField("encryptionAlgorithm") else None
        return cls(proto.keyId, proto.blockPoolId, bytes(proto.nonce), bytes(proto.encryptionKey),
                   proto.expiryDate, algorithm or None)

    def to_proto(self) -> hdfs_pb2.DataEncryptionKeyProto:
        proto = hdfs_pb2.DataEncryptionKeyProto(keyId=self.key_id, blockPoolId=self.block_pool_id,
                                                nonce=self.nonce, encryptionKey=self.encryption_key,
                                                expiryDate=self.expiry_date)
        if self.encryption_algorithm:
            proto.encryptionAlgorithm = self.encryption_algorithm
        return proto

    def expired(self, now_millis: int) -> bool:
        return self.expiry_date < now_millis


def encryption_key_credentials(key: DataEncryptionKey) -> Tuple[str, str]:
    """The encrypted handshake's SASL user name (``"<keyId> <blockPoolId> <Base64 nonce>"``)
    and password (Base64 of the key)."""
    nonce = base64.b64encode(key.nonce).decode("ascii")
    name = NAME_DELIMITER.join((str(key.key_id), key.block_pool_id, nonce))
    return name, base64.b64encode(key.encryption_key).decode("ascii")


def parse_protection(value: Optional[str], key: str = PROTECTION_KEY) -> Tuple[Qop, ...]:
    """``authentication,integrity,privacy`` → QOPs in that order (the client's preference)."""
    if not value or not value.strip():
        return ()
    qops = []
    for name in value.split(","):
        if not name.strip():
            continue
        try:
            qops.append(Qop.from_protection(name))
        except ValueError:
            raise ValueError(f"{key}: {name.strip()!r} is not one of authentication, integrity, "
                             "privacy") from None
    return tuple(dict.fromkeys(qops))


# -- messages -------------------------------------------------------------------------------------


@attrs.frozen(repr=False)
class CipherOption:
    """A ``CipherOptionProto``: the suite and, once negotiated, the keys and IVs of both ways.

    ``in_*`` protect what the client sends (the DataNode's input), ``out_*`` what it receives.
    """

    suite: int = hdfs_pb2.AES_CTR_NOPADDING
    in_key: bytes = b""
    in_iv: bytes = b""
    out_key: bytes = b""
    out_iv: bytes = b""

    def __repr__(self) -> str:
        name = hdfs_pb2.CipherSuiteProto.Name(self.suite) if self.suite in (1, 2, 3) else self.suite
        return f"CipherOption({name}, {len(self.in_key) * 8}-bit keys)"

    @classmethod
    def from_proto(cls, proto: hdfs_pb2.CipherOptionProto) -> CipherOption:
        return cls(proto.suite, bytes(proto.inKey), bytes(proto.inIv), bytes(proto.outKey),
                   bytes(proto.outIv))

    def to_proto(self) -> hdfs_pb2.CipherOptionProto:
        proto = hdfs_pb2.CipherOptionProto(suite=self.suite)
        for name, value in (("inKey", self.in_key), ("inIv", self.in_iv), ("outKey", self.out_key),
                            ("outIv", self.out_iv)):
            if value:
                setattr(proto, name, value)
        return proto


def encode_sasl_message(payload: Optional[bytes] = None, *, status: int = _SUCCESS,
                        message: Optional[str] = None, cipher_options: Sequence[CipherOption] = (),
                        handshake_secret: Optional[Tuple[bytes, str]] = None,
                        access_token_error: bool = False) -> bytes:
    """One varint-delimited ``DataTransferEncryptorMessageProto``."""
    proto = dt.DataTransferEncryptorMessageProto(status=status)
    if payload is not None:
        proto.payload = payload
    if message is not None:
        proto.message = message
    for option in cipher_options:
        proto.cipherOption.append(option.to_proto())
    if handshake_secret is not None:
        proto.handshakeSecret.secret, proto.handshakeSecret.bpid = handshake_secret
    if access_token_error:
        proto.accessTokenError = True
    return encode_delimited(proto)


# -- the client handshake -------------------------------------------------------------------------


class _State(enum.Enum):
    START = "start"
    AWAIT_CHALLENGE = "awaiting the challenge"
    AWAIT_FINAL = "awaiting the final message"
    DONE = "done"
    FAILED = "failed"


class SaslDataTransferClient:
    """The client's side of the handshake, as a state machine over bytes.

    :meth:`initiate` gives the first bytes to send; :meth:`receive_data` takes what the
    DataNode sent and returns what to send back (maybe nothing) until :attr:`done`.
    Then :meth:`codec` protects the stream (``None`` at QOP ``auth``).

    Make one with :meth:`for_block_token` (general handshake) or
    :meth:`for_encryption_key` (encrypted handshake). ``qops`` are the acceptable QOPs,
    most preferred first; ``cipher_suites`` the ``dfs.encrypt.data.transfer.cipher.suites``
    value (only ``AES/CTR/NoPadding`` is known); ``handshake_secret`` is
    ``(secret, block pool id)`` from a block token that carries one.

    Errors: :class:`SaslRefusedError` (the DataNode said no),
    :class:`DataTransferProtectionError` (no common QOP),
    :class:`~pyarn.errors.AuthenticationError` (the DataNode's proof is wrong, or it
    chose a QOP that was not asked for), :class:`~pyarn.hdfs.datatransfer.DataTransferError`
    (bad bytes). After an error, :meth:`error_message` gives the bytes Java sends to tell the
    DataNode why.
    """

    def __init__(self, mechanism: DigestMd5Client, qops: Sequence[Qop], *,
                 cipher_suites: Optional[str] = None,
                 handshake_secret: Optional[Tuple[bytes, str]] = None, encrypted: bool = False) -> None:
        if not qops:
            raise ValueError("a DataTransfer SASL handshake needs at least one QOP")
        self.mechanism = mechanism
        self.qops: Tuple[Qop, ...] = tuple(qops)
        self.encrypted = encrypted
        self._options: Tuple[CipherOption, ...] = ()
        if cipher_suites and cipher_suites.strip():
            if cipher_suites.strip() != AES_CTR_NOPADDING:
                raise ValueError(f"Invalid cipher suite, {CIPHER_SUITES_KEY}={cipher_suites.strip()} "
                                 f"(only {AES_CTR_NOPADDING} is supported)")
            if Qop.AUTH_CONF in self.qops:
                self._options = (CipherOption(hdfs_pb2.AES_CTR_NOPADDING),)
        self._secret = handshake_secret
        self._state = _State.START
        self._buffer = bytearray()
        self.cipher_option: Optional[CipherOption] = None

    @classmethod
    def for_block_token(cls, identifier: bytes, password: bytes, qops: Sequence[Qop], *,
                        cipher_suites: Optional[str] = None) -> SaslDataTransferClient:
        """The general handshake with a block access token."""
        username, secret = block_token_credentials(identifier, password)
        handshake = None
        try:
            parsed = BlockTokenIdentifier.from_bytes(identifier) if identifier else None
        except ValueError:
            parsed = None
        if parsed is not None and parsed.handshake_secret:
            handshake = (parsed.handshake_secret, parsed.block_pool_id or "")
        mechanism = _digest_md5_client(username, secret, qops)
        return cls(mechanism, qops, cipher_suites=cipher_suites, handshake_secret=handshake)

    @classmethod
    def for_encryption_key(cls, key: DataEncryptionKey, *,
                           cipher_suites: Optional[str] = None) -> SaslDataTransferClient:
        """The encrypted handshake: privacy only, with the NameNode's data encryption key."""
        username, secret = encryption_key_credentials(key)
        qops = (Qop.AUTH_CONF,)
        mechanism = _digest_md5_client(username, secret, qops, key.encryption_algorithm)
        return cls(mechanism, qops, cipher_suites=cipher_suites, encrypted=True)

    # -- state ------------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        return self._state is _State.DONE

    @property
    def qop(self) -> Qop:
        """The negotiated QOP (once :attr:`done`)."""
        return self.mechanism.qop

    @property
    def unused_data(self) -> bytes:
        """Bytes received after the handshake's last message (they belong to the stream)."""
        return bytes(self._buffer) if self.done else b""

    def initiate(self) -> bytes:
        """The magic number and the first (empty) message."""
        if self._state is not _State.START:
            raise LocalProtocolError("the DataTransfer SASL handshake was already started")
        self._state = _State.AWAIT_CHALLENGE
        return MAGIC + encode_sasl_message(b"", handshake_secret=self._secret)

    def receive_data(self, data: Buffer) -> bytes:
        """Process bytes from the DataNode; returns the bytes to send (maybe empty)."""
        if self._state in (_State.START, _State.DONE, _State.FAILED):
            raise LocalProtocolError(f"DataTransfer SASL handshake is {self._state.value}: "
                                     "nothing to receive")
        self._buffer += data
        out = bytearray()
        try:
            while self._state in (_State.AWAIT_CHALLENGE, _State.AWAIT_FINAL):
                decoded = decode_delimited(self._buffer, dt.DataTransferEncryptorMessageProto)
                if decoded is None:
                    break
                message, end = decoded
                del self._buffer[:end]
                out += self._handle(message)
        except BaseException:
            self._state = _State.FAILED
            raise
        return bytes(out)

    def error_message(self, text: str) -> bytes:
        """An ``ERROR`` message telling the DataNode why this side gave up."""
        return encode_sasl_message(status=_ERROR, message=text)

    # -- steps --------------------------------------------------------------------------------

    def _handle(self, message: dt.DataTransferEncryptorMessageProto) -> bytes:
        if message.status != _SUCCESS:
            text = message.message if message.HasField("message") else ""
            what = ("unknown data encryption key" if message.status == _ERROR_UNKNOWN_KEY
                    else "block token refused" if message.accessTokenError else "handshake refused")
            raise SaslRefusedError(f"DataNode: {what}: {text or '(no message)'}", message.status, text,
                                   bool(message.accessTokenError))
        payload = bytes(message.payload)
        if self._state is _State.AWAIT_CHALLENGE:
            if not payload:
                raise DataTransferError("the DataNode's SASL challenge is empty")
            try:
                response = self.mechanism.evaluate_challenge(payload)
            except NoCommonProtectionError as exc:
                raise self._no_common(exc) from None
            self._state = _State.AWAIT_FINAL
            return encode_sasl_message(response or b"", cipher_options=self._options)
        # _State.AWAIT_FINAL
        if self.mechanism.evaluate_challenge(payload):
            raise AuthenticationError("DIGEST-MD5 answered the DataNode's final message")
        if not self.mechanism.complete:
            raise AuthenticationError("Failed to complete SASL handshake")
        if self.mechanism.qop not in self.qops:
            raise AuthenticationError(
                "SASL handshake completed, but channel does not have acceptable quality of protection, "
                f"requested = {protection_names(self.qops)}, negotiated = "
                f"{protection_names((self.mechanism.qop,))}")
        if self.mechanism.qop is Qop.AUTH_CONF and len(message.cipherOption):
            self.cipher_option = self._unwrap_option(CipherOption.from_proto(message.cipherOption[0]))
        self._state = _State.DONE
        return b""

    def _no_common(self, exc: NoCommonProtectionError) -> DataTransferProtectionError:
        if self.encrypted:
            text = ("No common protection layer between client and DataNode: the encrypted handshake "
                    f"(dfs.encrypt.data.transfer) needs privacy, the DataNode offers "
                    f"{protection_names(exc.offered)}")
        else:
            text = (f"No common protection layer between client and DataNode: this client's "
                    f"{PROTECTION_KEY} is {protection_names(self.qops)}, the DataNode's is "
                    f"{protection_names(exc.offered)}")
        return DataTransferProtectionError(text, self.qops, exc.offered)

    def _unwrap_option(self, option: CipherOption) -> CipherOption:
        if option.suite != hdfs_pb2.AES_CTR_NOPADDING:
            raise DataTransferError(f"the DataNode chose cipher suite {option.suite}, "
                                    f"which this client did not offer")
        if not self._options:
            raise DataTransferError("the DataNode chose a cipher suite this client did not offer")
        in_key = self.mechanism.unwrap(option.in_key)
        out_key = self.mechanism.unwrap(option.out_key)
        for name, key, iv in (("in", in_key, option.in_iv), ("out", out_key, option.out_iv)):
            if len(key) not in (16, 24, 32) or len(iv) != 16:
                raise DataTransferError(f"the DataNode's AES/CTR {name} key has {len(key)} bytes and "
                                        f"its IV {len(iv)}")
        return CipherOption(option.suite, in_key, option.in_iv, out_key, option.out_iv)

    def codec(self) -> Optional[Union[SaslStreamCodec, CipherStreamCodec]]:
        """How the stream is protected from now on: ``None`` at QOP ``auth``."""
        if not self.done:
            raise LocalProtocolError("the DataTransfer SASL handshake is not complete")
        if self.cipher_option is not None:
            return CipherStreamCodec(self.cipher_option, client=True)
        if self.mechanism.qop.has_security_layer:
            return SaslStreamCodec(self.mechanism)
        return None


# -- the protected stream -------------------------------------------------------------------------


_LENGTH = struct.Struct(">I")


class SaslStreamCodec:
    """``SaslOutputStream``/``SaslInputStream`` framing over a negotiated security layer.

    :meth:`encode` wraps outgoing bytes, at most ``layer.max_wrap_size`` per frame
    (the peer's ``maxbuf``), each frame a 4-byte big-endian length and the wrapped
    bytes. :meth:`decode` takes received bytes and returns the plaintext of every
    complete frame among them. A frame longer than ``max_frame`` or one that fails
    its check is a :class:`~pyarn.hdfs.datatransfer.DataTransferError`.
    """

    def __init__(self, layer: SecurityLayer, max_frame: int = MAX_FRAME_SIZE) -> None:
        self.layer = layer
        self._max_frame = max_frame
        self._chunk = max(1, layer.max_wrap_size)
        self._buffer = bytearray()

    @property
    def buffered(self) -> int:
        """Received bytes of a frame not complete yet."""
        return len(self._buffer)

    def encode(self, data: Buffer) -> bytes:
        view = memoryview(data).cast("B")
        pieces: List[bytes] = []
        for start in range(0, len(view), self._chunk):
            token = self.layer.wrap(bytes(view[start:start + self._chunk]))
            pieces += (_LENGTH.pack(len(token)), token)
        return b"".join(pieces)

    def decode(self, data: Buffer) -> bytes:
        buffer = self._buffer
        buffer += data
        out: List[bytes] = []
        pos = 0
        while len(buffer) - pos >= 4:
            (length,) = _LENGTH.unpack_from(buffer, pos)
            if length > self._max_frame:
                raise DataTransferError(f"SASL frame of {length} bytes exceeds the "
                                        f"{self._max_frame}-byte limit")
            if len(buffer) - pos - 4 < length:
                break
            token = bytes(buffer[pos + 4:pos + 4 + length])
            pos += 4 + length
            try:
                out.append(self.layer.unwrap(token))
            except PyarnError as exc:
                raise DataTransferError(f"a SASL frame failed its check: {exc}") from None
        del buffer[:pos]
        return b"".join(out)

    def dispose(self) -> None:
        self.layer.dispose()


class CipherStreamCodec:
    """AES-CTR both ways, with the keys and IVs the DataNode chose (``CryptoInputStream``/
    ``CryptoOutputStream``: one continuous counter stream per direction from the IV)."""

    buffered = 0

    def __init__(self, option: CipherOption, *, client: bool = True) -> None:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        send = (option.in_key, option.in_iv) if client else (option.out_key, option.out_iv)
        receive = (option.out_key, option.out_iv) if client else (option.in_key, option.in_iv)
        self.option = option
        self._encrypt = Cipher(algorithms.AES(send[0]), modes.CTR(send[1])).encryptor()
        self._decrypt = Cipher(algorithms.AES(receive[0]), modes.CTR(receive[1])).decryptor()

    def encode(self, data: Buffer) -> bytes:
        return self._encrypt.update(bytes(data))

    def decode(self, data: Buffer) -> bytes:
        return self._decrypt.update(bytes(data))

    def dispose(self) -> None:
        pass
