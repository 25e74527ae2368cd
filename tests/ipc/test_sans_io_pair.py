"""Client core against server core in memory: every auth path, and a SASL security layer.

The security-layer tests plug a toy mechanism (XOR "encryption", tiny raw
send size) into both negotiation machines under the KERBEROS method name, the
way GSSAPI and DIGEST-MD5 auth-conf will plug in: the cores must wrap every
frame after negotiation without knowing anything about the mechanism.
"""
from __future__ import annotations

from typing import List, Optional

import pytest

from hadoop_protos.rpc_header_pb2 import RpcSaslProto
from pyarn.errors import InvalidTokenError, RemoteProtocolError, SaslError
from pyarn.ipc.auth import ServerAuth, client_negotiation
from pyarn.ipc.client_connection import ClientConnection, ClientState
from pyarn.ipc.constants import SASL_CALL_ID, AuthMethod, Qop
from pyarn.ipc.events import (
    CallReceived,
    CallSucceeded,
    ConnectionFailed,
    ContextReceived,
    Established,
    Event,
)
from pyarn.ipc.framing import FrameReader, frame, read_delimited
from pyarn.ipc.headers import method_header, parse_sasl, request_header, success_response_header
from pyarn.ipc.sasl import ClientMechanism, SaslClientNegotiation, SaslServerNegotiation, ServerMechanism
from pyarn.ipc.server_connection import ServerConnection, ServerState
from pyarn.security.tokens import Token
from pyarn.security.user import User

from .support import CID, UserSecretManager, connect_pair, make_token, pump


def call(client: ClientConnection, server: ServerConnection, call_id: int, payload: bytes) -> bytes:
    client.send_call(call_id, "echo", "p", 1, payload)
    client_events: List[Event] = []
    server_events: List[Event] = []
    pump(client, server, client_events, server_events)
    (received,) = server_events
    assert isinstance(received, CallReceived)
    reply = bytes(received.body)[::-1]
    server.send_response(received.call_id, received.client_id, received.retry_count, reply)
    pump(client, server, client_events, server_events)
    (done,) = client_events
    assert isinstance(done, CallSucceeded) and done.call_id == call_id
    return bytes(done.body)


def test_simple_pair_round_trip():
    client, server, (cev, sev) = connect_pair(ServerConnection(ServerAuth()))
    assert cev == [Established(AuthMethod.SIMPLE)]
    assert sev == [ContextReceived(User("alice"), "p", AuthMethod.SIMPLE)]
    assert call(client, server, 0, b"hello") == b"olleh"


def test_token_pair_authenticates_user_from_token():
    auth = ServerAuth(methods=(AuthMethod.TOKEN,), secret_manager=UserSecretManager())
    client, server, (cev, sev) = connect_pair(ServerConnection(auth), token=make_token("bob"),
                                              user=User("ignored"))
    assert cev == [Established(AuthMethod.TOKEN, Qop.AUTH)]
    (context,) = sev
    assert context.user == User("bob") and context.auth_method is AuthMethod.TOKEN
    assert context.token_identifier == b"user:bob"
    assert call(client, server, 1, b"abc") == b"cba"


def test_sasl_client_without_token_falls_to_simple_on_mixed_server():
    auth = ServerAuth(methods=(AuthMethod.TOKEN, AuthMethod.SIMPLE), secret_manager=UserSecretManager())
    client, server, (cev, sev) = connect_pair(ServerConnection(auth), sasl=client_negotiation(None))
    assert cev == [Established(AuthMethod.SIMPLE)]
    assert sev[0].user == User("alice") and sev[0].auth_method is AuthMethod.SIMPLE
    assert call(client, server, 2, b"x") == b"x"


def test_wrong_token_fails_both_sides_with_the_servers_reason():
    auth = ServerAuth(methods=(AuthMethod.TOKEN,), secret_manager=UserSecretManager())
    token = make_token("bob", password=b"nope")
    client, server, (cev, sev) = connect_pair(ServerConnection(auth), token=token)
    assert isinstance(cev[-1], ConnectionFailed) and isinstance(cev[-1].error, SaslError)
    assert isinstance(sev[-1], ConnectionFailed) and isinstance(sev[-1].error, SaslError)
    assert client.state is ClientState.CLOSED and server.state is ServerState.CLOSED


def test_unknown_token_is_invalid_token_on_the_client():
    auth = ServerAuth(methods=(AuthMethod.TOKEN,), secret_manager=UserSecretManager())
    forged = Token(b"someone-else", b"pw", "PYARN_TEST_TOKEN")
    _, _, (cev, _) = connect_pair(ServerConnection(auth), token=forged)
    assert isinstance(cev[-1].error, InvalidTokenError)


# ------------------------------------------------------------ security layer


class _Xor:
    """Both sides' toy layer: XOR with a key, tiny chunks, auth-conf."""

    key = 0x5A

    @property
    def qop(self) -> Qop:
        return Qop.AUTH_CONF

    @property
    def max_wrap_size(self) -> int:
        return 16

    def wrap(self, data: bytes) -> bytes:
        assert len(data) <= 16
        return b"X" + bytes(b ^ self.key for b in data)

    def unwrap(self, data: bytes) -> bytes:
        if data[:1] != b"X":
            raise RemoteProtocolError("toy layer: bad token")
        return bytes(b ^ self.key for b in data[1:])


class ToyClient(_Xor, ClientMechanism):
    name = "XOR-TEST"

    def __init__(self) -> None:
        self._complete = False

    @property
    def has_initial_response(self) -> bool:
        return True

    def evaluate_challenge(self, challenge: bytes) -> Optional[bytes]:
        if challenge == b"":
            return b"hello"
        assert challenge == b"welcome"
        self._complete = True
        return None

    @property
    def complete(self) -> bool:
        return self._complete


class ToyServer(_Xor, ServerMechanism):
    name = "XOR-TEST"

    def __init__(self) -> None:
        self._complete = False

    def evaluate_response(self, response: bytes) -> Optional[bytes]:
        assert response == b"hello"
        self._complete = True
        return b"welcome"

    @property
    def complete(self) -> bool:
        return self._complete

    @property
    def authorization_id(self) -> str:
        return "toy-user"


TOY_AUTH = RpcSaslProto.SaslAuth(method="KERBEROS", mechanism="XOR-TEST", protocol="toy",
                                 serverId="localhost")


class ToyServerAuth:
    """Stands in for ServerAuth: a port that only speaks the toy mechanism."""

    methods = (AuthMethod.KERBEROS,)
    simple_allowed = False

    def negotiation(self) -> SaslServerNegotiation:
        return SaslServerNegotiation(self.methods, {AuthMethod.KERBEROS: ToyServer},
                                     advertised={AuthMethod.KERBEROS: TOY_AUTH})


def toy_pair():
    sasl = SaslClientNegotiation(
        {"KERBEROS": lambda auth: ToyClient() if auth.mechanism == "XOR-TEST" else None})
    return connect_pair(ServerConnection(ToyServerAuth()), sasl=sasl, user=User("toy-user"))


def _sasl_frames(data: bytes) -> List[RpcSaslProto]:
    reader = FrameReader(1 << 20)
    reader.feed(data)
    messages = []
    while (payload := reader.next_frame()) is not None:
        view = memoryview(payload)
        _, pos = read_delimited(view, 0)
        body, _ = read_delimited(view, pos)
        messages.append(parse_sasl(body))
    return messages


def test_security_layer_negotiates_and_reports_qop():
    client, server, (cev, sev) = toy_pair()
    assert cev == [Established(AuthMethod.KERBEROS, Qop.AUTH_CONF)]
    assert sev[0].user == User("toy-user") and sev[0].auth_method is AuthMethod.KERBEROS
    assert server.qop is Qop.AUTH_CONF


def test_every_frame_after_negotiation_is_wrapped_in_small_chunks():
    client, server, _ = toy_pair()
    client.send_call(9, "echo", "p", 1, b"secret payload that spans several chunks")
    wire = client.data_to_send()
    assert b"secret" not in wire and b"echo" not in wire
    messages = _sasl_frames(wire)
    assert len(messages) > 3
    assert all(m.state == RpcSaslProto.WRAP and len(m.token) <= 17 for m in messages)
    (event,) = server.receive_data(wire)
    assert isinstance(event, CallReceived)
    assert bytes(event.body) == b"secret payload that spans several chunks"
    server.send_response(9, CID, 0, b"reply!")
    out = server.data_to_send()
    assert b"reply!" not in out
    assert all(m.state == RpcSaslProto.WRAP for m in _sasl_frames(out))
    (done,) = client.receive_data(out)
    assert isinstance(done, CallSucceeded) and bytes(done.body) == b"reply!"


def test_unwrapped_frame_on_wrapped_connection_is_fatal_both_ways():
    client, server, _ = toy_pair()
    plain = frame(request_header(1, CID, 0), method_header("echo", "p", 1), b"\x00")
    (event,) = server.receive_data(plain)
    assert isinstance(event, ConnectionFailed) and "security layer" in str(event.error)

    client2, server2, _ = toy_pair()
    client2.send_call(1, "echo", "p", 1, b"")
    server2.receive_data(client2.data_to_send())
    plain_response = frame(success_response_header(1, CID, 0), b"\x00")
    (event,) = client2.receive_data(plain_response)
    assert isinstance(event, ConnectionFailed)


def test_wrap_state_is_rejected_before_negotiation_finishes():
    server = ServerConnection(ServerAuth(methods=(AuthMethod.TOKEN,), secret_manager=UserSecretManager()))
    wrap = RpcSaslProto(state=RpcSaslProto.WRAP, token=b"x").SerializeToString()
    data = b"hrpc\x09\x00\xdf" + frame(request_header(SASL_CALL_ID, b"", -1), bytes([len(wrap)]) + wrap)
    (event,) = server.receive_data(data)
    assert "Server is not wrapping data" in str(event.error)


@pytest.mark.parametrize("cut", range(1, 12))
def test_context_split_at_any_point_still_establishes(cut):
    auth = ServerAuth(methods=(AuthMethod.TOKEN,), secret_manager=UserSecretManager())
    client = ClientConnection("p", User("x"), CID, sasl=client_negotiation(make_token("bob")))
    server = ServerConnection(auth)
    client.initiate()
    events: List[Event] = []
    for _ in range(10):
        data = client.data_to_send()
        for i in range(0, len(data), cut):
            events += server.receive_data(data[i:i + cut])
        reply = server.data_to_send()
        if not data and not reply:
            break
        client.receive_data(reply)
    assert [type(e) for e in events] == [ContextReceived]
