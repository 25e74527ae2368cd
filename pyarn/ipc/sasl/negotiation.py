"""The SASL exchange of Hadoop IPC as two state machines over ``RpcSaslProto``.

Neither side touches bytes or sockets: the connection cores feed them the
decoded SASL messages and send what they return (PROTOCOL-FACTS §2.1,
``SaslRpcClient.saslConnect`` and ``Server.processSaslMessage``).
"""
from __future__ import annotations

import enum
from typing import Callable, Dict, List, Mapping, Optional, Sequence

from hadoop_protos.rpc_header_pb2 import RpcSaslProto

from ...errors import AccessControlError, AuthenticationError, RemoteProtocolError, SaslError
from ..constants import AuthMethod, Qop
from .mechanism import ClientMechanism, ServerMechanism

SaslAuth = RpcSaslProto.SaslAuth

#: Builds the client mechanism for an advertised SaslAuth, or ``None`` when this
#: client has no credential for it.
ClientMechanismFactory = Callable[[SaslAuth], Optional[ClientMechanism]]
#: Builds a fresh server mechanism for one connection.
ServerMechanismFactory = Callable[[], ServerMechanism]

_STATE_NAMES = {v: k for k, v in RpcSaslProto.SaslState.items()}


def state_name(state: int) -> str:
    return _STATE_NAMES.get(state, str(state))


class NegotiationState(enum.Enum):
    START = "start"
    IN_PROGRESS = "in progress"
    DONE = "done"


class SaslClientNegotiation:
    """Client side: NEGOTIATE, pick a method, answer challenges until SUCCESS.

    ``mechanisms`` maps an auth method name (``TOKEN``, ``KERBEROS``) to a
    factory. ``allow_simple``: whether the server may settle on SIMPLE (false
    when this client is configured for Kerberos and fallback is not allowed).
    """

    def __init__(self, mechanisms: Mapping[str, ClientMechanismFactory], *,
                 allow_simple: bool = True) -> None:
        self._factories: Dict[str, ClientMechanismFactory] = dict(mechanisms)
        self._allow_simple = allow_simple
        self.state = NegotiationState.START
        self.auth_method: Optional[AuthMethod] = None
        self.mechanism: Optional[ClientMechanism] = None

    @property
    def done(self) -> bool:
        return self.state is NegotiationState.DONE

    @property
    def qop(self) -> Qop:
        return self.mechanism.qop if self.mechanism is not None else Qop.AUTH

    def start(self) -> RpcSaslProto:
        """The first message: NEGOTIATE."""
        if self.state is not NegotiationState.START:
            raise AuthenticationError("SASL negotiation already started")
        self.state = NegotiationState.IN_PROGRESS
        return RpcSaslProto(state=RpcSaslProto.NEGOTIATE)

    def receive(self, message: RpcSaslProto) -> Optional[RpcSaslProto]:
        """Process a server message; returns the reply to send, if any."""
        if self.state is not NegotiationState.IN_PROGRESS:
            raise RemoteProtocolError(f"SASL {state_name(message.state)} received outside a negotiation")
        state = message.state
        if state == RpcSaslProto.NEGOTIATE:
            if self.auth_method is not None:
                raise RemoteProtocolError("server sent NEGOTIATE twice")
            return self._initiate(message.auths)
        if state == RpcSaslProto.CHALLENGE:
            if self.mechanism is None:
                raise RemoteProtocolError("server sent an unsolicited SASL challenge")
            if not message.HasField("token"):
                raise RemoteProtocolError("server SASL challenge contains no token")
            token = self.mechanism.evaluate_challenge(bytes(message.token))
            return RpcSaslProto(state=RpcSaslProto.RESPONSE, token=token or b"")
        if state == RpcSaslProto.SUCCESS:
            self._succeed(message)
            return None
        raise RemoteProtocolError(f"server sent unsupported SASL state {state_name(state)}")

    def _initiate(self, auths: Sequence[SaslAuth]) -> RpcSaslProto:
        chosen = mechanism = None
        for auth in auths:
            if auth.method == AuthMethod.SIMPLE.name:
                chosen = auth
                break
            factory = self._factories.get(auth.method)
            mechanism = factory(auth) if factory is not None else None
            if mechanism is not None:
                chosen = auth
                break
        if chosen is None:
            offered = ", ".join(a.method for a in auths)
            raise AuthenticationError(f"Client cannot authenticate via:[{offered}]")
        self.auth_method = AuthMethod.from_name(chosen.method)
        reply = RpcSaslProto(state=RpcSaslProto.INITIATE)
        advertised = reply.auths.add()
        advertised.CopyFrom(chosen)
        advertised.ClearField("challenge")
        if mechanism is None:  # SIMPLE: the server sends no answer
            self._settle_on_simple()
            return reply
        self.mechanism = mechanism
        if chosen.HasField("challenge"):
            token = mechanism.evaluate_challenge(bytes(chosen.challenge))
        elif mechanism.has_initial_response:
            token = mechanism.evaluate_challenge(b"")
        else:
            token = None
        reply.token = token or b""
        return reply

    def _settle_on_simple(self) -> None:
        if not self._allow_simple:
            raise AuthenticationError(
                "Server asks us to fall back to SIMPLE auth, but this client is configured to only "
                "allow secure connections.")
        self.auth_method = AuthMethod.SIMPLE
        self.state = NegotiationState.DONE

    def _succeed(self, message: RpcSaslProto) -> None:
        if self.mechanism is None:
            if self.auth_method is not None:
                raise RemoteProtocolError("server sent SASL SUCCESS to a SIMPLE initiate")
            # A SIMPLE-only server answers NEGOTIATE with SUCCESS.
            self._settle_on_simple()
            return
        token = None
        if message.HasField("token"):
            token = self.mechanism.evaluate_challenge(bytes(message.token))
        if not self.mechanism.complete:
            raise AuthenticationError("SASL client is out of sync with the server: server says SUCCESS "
                                      f"but {self.mechanism.name} is not complete")
        if token:
            raise AuthenticationError(f"{self.mechanism.name} generated a spurious response after SUCCESS")
        self.state = NegotiationState.DONE


class SaslServerNegotiation:
    """Server side: advertise ``methods``, run the chosen mechanism, end in SUCCESS.

    ``mechanisms`` maps each non-SIMPLE method to a factory and to what the
    server advertises for it (mechanism, protocol, serverId). Failures raise a
    :class:`~pyarn.errors.RemoteError` subclass for the server to send as FATAL.
    """

    def __init__(self, methods: Sequence[AuthMethod], mechanisms: Mapping[AuthMethod, ServerMechanismFactory],
                 *, advertised: Mapping[AuthMethod, SaslAuth]) -> None:
        if not methods:
            raise ValueError("a server needs at least one auth method")
        self.methods: List[AuthMethod] = list(methods)
        self._factories = dict(mechanisms)
        self._advertised = dict(advertised)
        self.state = NegotiationState.START
        self.auth_method: Optional[AuthMethod] = None
        self.mechanism: Optional[ServerMechanism] = None
        self._sent_negotiate = False

    @property
    def done(self) -> bool:
        return self.state is NegotiationState.DONE

    @property
    def qop(self) -> Qop:
        return self.mechanism.qop if self.mechanism is not None else Qop.AUTH

    def _methods_text(self) -> str:
        return "[" + ", ".join(m.name for m in self.methods) + "]"

    def negotiate_message(self) -> RpcSaslProto:
        """The answer to NEGOTIATE (also usable to advertise without being asked)."""
        if self.methods == [AuthMethod.SIMPLE]:
            return RpcSaslProto(state=RpcSaslProto.SUCCESS)
        message = RpcSaslProto(state=RpcSaslProto.NEGOTIATE)
        for method in self.methods:
            entry = message.auths.add()
            if method is AuthMethod.SIMPLE:
                entry.method, entry.mechanism = method.name, ""
                continue
            entry.CopyFrom(self._advertised[method])
            if method is AuthMethod.TOKEN:
                # Save a round trip: the token mechanism's first challenge rides along.
                self.mechanism = self._factories[method]()
                entry.challenge = self.mechanism.evaluate_response(b"") or b""
        return message

    def receive(self, message: RpcSaslProto) -> Optional[RpcSaslProto]:
        """Process a client message; returns the reply to send, if any."""
        if self.state is NegotiationState.DONE:
            raise SaslError("Negotiation is already complete")
        self.state = NegotiationState.IN_PROGRESS
        state = message.state
        if state == RpcSaslProto.NEGOTIATE:
            if self._sent_negotiate:
                raise AccessControlError("Client already attempted negotiation")
            self._sent_negotiate = True
            reply = self.negotiate_message()
            if reply.state == RpcSaslProto.SUCCESS:
                self._finish(AuthMethod.SIMPLE)
            return reply
        if state == RpcSaslProto.INITIATE:
            return self._initiate(message)
        if state == RpcSaslProto.RESPONSE:
            if self.mechanism is None or self.auth_method is None:
                raise SaslError("Client sent RESPONSE before INITIATE")
            return self._step(message)
        raise SaslError(f"Client sent unsupported state {state_name(state)}")

    def _initiate(self, message: RpcSaslProto) -> Optional[RpcSaslProto]:
        if len(message.auths) != 1:
            raise SaslError("Client mechanism is malformed")
        auth = message.auths[0]
        method = self._match(auth)
        if method is None:
            if self._sent_negotiate:
                raise AccessControlError(
                    f"{auth.method} authentication is not enabled.  Available:{self._methods_text()}")
            self._sent_negotiate = True
            return self.negotiate_message()
        self.auth_method = method
        if method is AuthMethod.SIMPLE:
            self._finish(method)
            return None
        if self.mechanism is None or method is not AuthMethod.TOKEN:
            # Without a NEGOTIATE first, the client's (empty) token asks for the first challenge.
            self.mechanism = self._factories[method]()
        return self._step(message)

    def _match(self, auth: SaslAuth) -> Optional[AuthMethod]:
        for method in self.methods:
            if method.name != auth.method:
                continue
            if method is AuthMethod.SIMPLE:
                return method
            expected = self._advertised[method]
            if (auth.mechanism, auth.protocol, auth.serverId) == (
                    expected.mechanism, expected.protocol, expected.serverId):
                return method
        return None

    def _step(self, message: RpcSaslProto) -> RpcSaslProto:
        if not message.HasField("token"):
            raise SaslError("Client did not send a token")
        assert self.mechanism is not None and self.auth_method is not None
        token = self.mechanism.evaluate_response(bytes(message.token))
        if self.mechanism.complete:
            self._finish(self.auth_method)
            reply = RpcSaslProto(state=RpcSaslProto.SUCCESS)
        else:
            reply = RpcSaslProto(state=RpcSaslProto.CHALLENGE)
        if token is not None:
            reply.token = token
        return reply

    def _finish(self, method: AuthMethod) -> None:
        self.auth_method = method
        if method is AuthMethod.SIMPLE:
            self.mechanism = None
        self.state = NegotiationState.DONE
