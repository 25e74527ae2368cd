"""Fixed values of Hadoop IPC version 9 (PROTOCOL-FACTS §1-2)."""
from __future__ import annotations

import enum

#: The connection preamble starts with these four bytes.
MAGIC = b"hrpc"
#: IPC wire version (RPCv9).
IPC_VERSION = 9
#: Service class byte of the preamble; 0 unless a server uses service-class queues.
SERVICE_CLASS = 0
PREAMBLE_LENGTH = 7

#: Call ids with a special meaning (RpcConstants.java, Server.AuthProtocol).
AUTHORIZATION_FAILED_CALL_ID = -1
INVALID_CALL_ID = -2
CONNECTION_CONTEXT_CALL_ID = -3
PING_CALL_ID = -4
SASL_CALL_ID = -33
#: Ordinary call ids are non-negative and wrap within 31 bits.
CALL_ID_MASK = 0x7FFFFFFF
#: retryCount of out-of-band frames (SASL, context, ping).
INVALID_RETRY_COUNT = -1

#: Length of a client id (a UUID's 16 bytes).
CLIENT_ID_LENGTH = 16

#: ``RpcKindProto.RPC_PROTOCOL_BUFFER``; ``OperationProto.RPC_FINAL_PACKET``.
RPC_PROTOCOL_BUFFER = 2
RPC_FINAL_PACKET = 0

#: Default of ``ipc.maximum.data.length`` / ``ipc.maximum.response.length``.
DEFAULT_MAX_DATA_LENGTH = 128 * 1024 * 1024

#: What Hadoop's server answers to an HTTP request on an IPC port.
HTTP_ON_IPC_PORT_RESPONSE = (
    b"HTTP/1.1 404 Not Found\r\n"
    b"Content-type: text/plain\r\n\r\n"
    b"It looks like you are making an HTTP request to a Hadoop IPC port. "
    b"This is not the correct port for the web interface on this daemon.\r\n"
)


class AuthProtocol(enum.IntEnum):
    """Last byte of the preamble: plain (SIMPLE) or SASL."""

    NONE = 0x00
    SASL = 0xDF  # -33 as a signed byte


class AuthMethod(enum.Enum):
    """Hadoop's SaslRpcServer.AuthMethod: code and default SASL mechanism."""

    SIMPLE = (80, "")
    KERBEROS = (81, "GSSAPI")
    TOKEN = (82, "DIGEST-MD5")
    PLAIN = (83, "PLAIN")

    def __init__(self, code: int, mechanism: str) -> None:
        self.code = code
        self.mechanism = mechanism

    @classmethod
    def from_name(cls, name: str) -> AuthMethod:
        try:
            return cls[name]
        except KeyError:
            raise ValueError(f"unknown auth method {name!r}") from None


class Qop(enum.Enum):
    """SASL quality of protection; ``hadoop.rpc.protection`` names them differently."""

    AUTH = "auth"
    AUTH_INT = "auth-int"
    AUTH_CONF = "auth-conf"

    @property
    def has_security_layer(self) -> bool:
        """Whether traffic after negotiation is wrapped."""
        return self is not Qop.AUTH

    @classmethod
    def from_protection(cls, name: str) -> Qop:
        """``authentication`` / ``integrity`` / ``privacy`` -> QOP."""
        key = name.strip().lower()
        try:
            return _PROTECTION[key]
        except KeyError:
            raise ValueError(
                f"hadoop.rpc.protection: {name!r} is not one of authentication, integrity, privacy"
            ) from None


_PROTECTION = {"authentication": Qop.AUTH, "integrity": Qop.AUTH_INT, "privacy": Qop.AUTH_CONF}


def preamble(auth_protocol: AuthProtocol) -> bytes:
    """The seven bytes a client sends first."""
    return MAGIC + bytes((IPC_VERSION, SERVICE_CLASS, int(auth_protocol)))
