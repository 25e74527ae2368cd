"""GSSAPI (Kerberos V5) SASL mechanism, RFC 4752, as the JDK's ``GssKrb5Client``/``GssKrb5Server`` run it.

The exchange: the client's initial token (AP-REQ) rides in INITIATE; the
server answers with its AP-REP (mutual authentication); the client sends an
empty response; then the security-layer negotiation: the server sends
``wrap(mask, max size)`` (4 bytes: a bit mask of the layers it accepts -
1 none, 2 integrity, 4 confidentiality - and the largest message it
receives), the client answers ``wrap(chosen layer, its max size[, authzid])``
and the server is done. Both handshake messages are wrapped without
encryption. Afterwards ``auth-int`` / ``auth-conf`` traffic goes through GSS
wrap/unwrap (with the confidentiality flag for ``auth-conf``), chunked to
``get_wrap_size_limit`` of the peer's maximum.

These classes drive a ``gssapi.SecurityContext`` (python-gssapi); the
contexts are made by :mod:`pyarn.security.kerberos`.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

from ...errors import AuthenticationError, RemoteProtocolError, SaslError
from ...security.kerberos import KerberosError, TicketExpiredError, gss_reason, gssapi_module
from ..constants import Qop
from .mechanism import (
    LAYER_BITS,
    ClientMechanism,
    NoCommonProtectionError,
    ServerMechanism,
    choose_qop,
    protection_names,
    qops_of_mask,
)

NAME = "GSSAPI"
#: What each side says it can receive (the JDK's ``javax.security.sasl.maxbuffer`` default).
DEFAULT_MAX_BUFFER = 65536
_MAX_SIZE = 0xFFFFFF

__all__ = ["GssapiClient", "GssapiServer"]


def _errors() -> Any:
    return gssapi_module().exceptions


def context_flags(qops: Sequence[Qop]) -> Any:
    """The GSS flags the JDK client asks for under Hadoop: mutual auth, integrity, confidentiality,
    and sequence detection when a security layer may be used."""
    flags = gssapi_module().RequirementFlag
    wanted = flags.mutual_authentication | flags.integrity | flags.confidentiality
    if any(q.has_security_layer for q in qops):
        wanted |= flags.out_of_sequence_detection | flags.replay_detection
    return wanted


class _GssLayer:
    """The security layer on an established context, once a QOP is agreed."""

    _context: Any = None
    _qop: Qop = Qop.AUTH
    _raw_send_size = DEFAULT_MAX_BUFFER

    @property
    def qop(self) -> Qop:
        return self._qop

    @property
    def max_wrap_size(self) -> int:
        return self._raw_send_size

    def _require_layer(self) -> Any:
        if not self._qop.has_security_layer or self._context is None:
            raise AuthenticationError(f"GSSAPI has no security layer at QOP {self._qop.value}")
        return self._context

    def wrap(self, data: bytes) -> bytes:
        context = self._require_layer()
        try:
            return bytes(context.wrap(bytes(data), self._qop is Qop.AUTH_CONF).message)
        except _errors().GSSError as exc:
            raise AuthenticationError(f"GSSAPI: cannot wrap: {gss_reason(exc)}") from None

    def unwrap(self, data: bytes) -> bytes:
        context = self._require_layer()
        try:
            result = context.unwrap(bytes(data))
        except _errors().GSSError as exc:
            raise RemoteProtocolError(f"GSSAPI: cannot unwrap a message: {gss_reason(exc)}") from None
        if self._qop is Qop.AUTH_CONF and not result.encrypted:
            raise RemoteProtocolError("GSSAPI: an unencrypted message on an auth-conf connection")
        return bytes(result.message)

    def _size_limit(self, peer_max: int) -> int:
        if peer_max <= 0:
            raise RemoteProtocolError("GSSAPI: the peer accepts no wrapped data (max buffer 0)")
        try:
            limit = int(self._context.get_wrap_size_limit(peer_max, self._qop is Qop.AUTH_CONF))
        except _errors().GSSError as exc:
            raise RemoteProtocolError(f"GSSAPI: no wrap size for {peer_max} bytes: {gss_reason(exc)}") \
                from None
        if limit <= 0:
            raise RemoteProtocolError(f"GSSAPI: the peer's max buffer {peer_max} leaves no room for data")
        return limit

    def dispose(self) -> None:
        self._context = None


class GssapiClient(_GssLayer, ClientMechanism):
    """The client side; ``context`` is an initiator ``gssapi.SecurityContext`` for the server's principal.

    ``qops``: acceptable QOPs, most preferred first; ``principal``: this
    client's principal (sent as the connection context's user).
    """

    name = NAME

    def __init__(self, context: Any, *, qops: Sequence[Qop] = (Qop.AUTH,), principal: Optional[str] = None,
                 target: str = "", max_buffer: int = DEFAULT_MAX_BUFFER) -> None:
        self._context = context
        self._qops = tuple(qops) or (Qop.AUTH,)
        self._principal = principal
        self._target = target
        self._max_buffer = max_buffer
        self._final_handshake = False
        self._complete = False

    @property
    def has_initial_response(self) -> bool:
        return True

    @property
    def principal(self) -> Optional[str]:
        return self._principal

    @property
    def complete(self) -> bool:
        return self._complete

    def evaluate_challenge(self, challenge: bytes) -> Optional[bytes]:
        if self._complete:
            raise AuthenticationError("GSSAPI authentication already complete")
        if self._final_handshake:
            return self._negotiate_layer(bytes(challenge))
        first = not challenge
        try:
            token = self._context.step(bytes(challenge) if challenge else None)
        except _errors().ExpiredCredentialsError:
            raise TicketExpiredError(f"the Kerberos ticket of {self._principal} has expired; "
                                     "run kinit again") from None
        except _errors().GSSError as exc:
            if first:
                raise KerberosError(f"cannot get a Kerberos service ticket for {self._target}: "
                                    f"{gss_reason(exc)}") from None
            raise AuthenticationError(f"GSSAPI: the server's Kerberos reply does not check out (mutual "
                                      f"authentication with {self._target} failed): {gss_reason(exc)}") \
                from None
        if self._context.complete:
            self._final_handshake = True
        return bytes(token) if token else b""

    def _negotiate_layer(self, challenge: bytes) -> bytes:
        if not challenge:
            return b""
        try:
            offer = bytes(self._context.unwrap(challenge).message)
        except _errors().GSSError as exc:
            raise AuthenticationError(f"GSSAPI: Final handshake failed: {gss_reason(exc)}") from None
        if len(offer) < 4:
            raise AuthenticationError(f"GSSAPI: the server's security-layer offer has {len(offer)} bytes")
        offered = qops_of_mask(offer[0])
        try:
            qop = choose_qop(NAME, self._qops, offered)
        except NoCommonProtectionError:
            raise NoCommonProtectionError(
                "No common protection layer between client and server: this client accepts "
                f"{protection_names(self._qops)} (hadoop.rpc.protection), the server requires "
                f"{protection_names(offered)}", self._qops, offered) from None
        self._qop = qop
        ours = 0
        if qop.has_security_layer:
            self._raw_send_size = self._size_limit(int.from_bytes(offer[1:4], "big"))
            ours = min(self._max_buffer, _MAX_SIZE)
        reply = bytes((LAYER_BITS[qop],)) + ours.to_bytes(3, "big")
        try:
            token = bytes(self._context.wrap(reply, False).message)
        except _errors().GSSError as exc:
            raise AuthenticationError(f"GSSAPI: Final handshake failed: {gss_reason(exc)}") from None
        self._complete = True
        return token


class GssapiServer(_GssLayer, ServerMechanism):
    """The server side; ``context`` is an acceptor ``gssapi.SecurityContext``.

    ``qops`` are the layers offered (their order does not matter: the client
    chooses); ``authorize(peer, authzid)`` may refuse a client that asks to act
    as someone else (default: only as itself, as Hadoop's callback does).
    """

    name = NAME

    def __init__(self, context: Any, *, qops: Sequence[Qop] = (Qop.AUTH,), service: Optional[str] = None,
                 max_buffer: int = DEFAULT_MAX_BUFFER,
                 authorize: Optional[Callable[[str, str], bool]] = None) -> None:
        self._context = context
        self._mask = 0
        for qop in qops or (Qop.AUTH,):
            self._mask |= LAYER_BITS[qop]
        self._service = service
        self._max_buffer = max_buffer
        self._authorize = authorize or (lambda peer, authzid: peer == authzid)
        self._stage = 0
        self._peer = ""
        self._complete = False
        self._authorization_id = ""

    @property
    def complete(self) -> bool:
        return self._complete

    @property
    def authorization_id(self) -> str:
        return self._authorization_id

    @property
    def peer(self) -> str:
        """The client's Kerberos principal (once the context is established)."""
        return self._peer

    def evaluate_response(self, response: bytes) -> Optional[bytes]:
        if self._complete:
            raise SaslError("SASL authentication already complete")
        if self._stage == 1:
            return self._offer_layers(bytes(response))
        if self._stage == 2:
            self._accept_layer(bytes(response))
            return None
        try:
            token = self._context.step(bytes(response))
        except _errors().GSSError as exc:
            raise SaslError(f"GSS initiate failed: {gss_reason(exc)}") from None
        if not self._context.complete:
            return bytes(token) if token else b""
        self._stage = 1
        self._peer = str(self._context.initiator_name)
        target = str(self._context.target_name)
        if self._service is not None and target.split("/")[0].split("@")[0].lower() != self._service.lower():
            raise SaslError(f"GSS context targ name protocol error: {target}")
        if not token:
            return self._offer_layers(b"")
        return bytes(token)

    def _offer_layers(self, response: bytes) -> bytes:
        if response:
            raise SaslError("Handshake expecting no response data from server")
        offer = bytes((self._mask,)) + min(self._max_buffer, _MAX_SIZE).to_bytes(3, "big")
        self._stage = 2
        try:
            return bytes(self._context.wrap(offer, False).message)
        except _errors().GSSError as exc:
            raise SaslError(f"Problem wrapping handshake1: {gss_reason(exc)}") from None

    def _accept_layer(self, response: bytes) -> None:
        try:
            answer = bytes(self._context.unwrap(response).message)
        except _errors().GSSError as exc:
            raise SaslError(f"Final handshake step failed: {gss_reason(exc)}") from None
        if len(answer) < 4:
            raise SaslError(f"Final handshake step failed: {len(answer)} bytes instead of at least 4")
        chosen = qops_of_mask(answer[0])
        if len(chosen) != 1 or not answer[0] & self._mask:
            raise SaslError(f"Client selected unsupported protection: {answer[0]}")
        self._qop = chosen[0]
        if self._qop.has_security_layer:
            try:
                self._raw_send_size = self._size_limit(int.from_bytes(answer[1:4], "big"))
            except RemoteProtocolError as exc:
                raise SaslError(f"Final handshake step failed: {exc}") from None
        try:
            authzid = answer[4:].decode("utf-8") if len(answer) > 4 else self._peer
        except UnicodeDecodeError:
            raise SaslError("Final handshake step failed: the authorization id is not UTF-8") from None
        if not self._authorize(self._peer, authzid):
            raise SaslError(f"{self._peer} is not authorized to connect as {authzid}")
        self._authorization_id = authzid
        self._complete = True
        return None
