"""Property tests: whatever bytes arrive, the decoders never raise, never hang, never hoard.

A peer's bytes either produce events or end the connection with one
``ConnectionFailed`` event (the last one); nothing escapes as an exception and
no more than the frame cap is ever buffered.
"""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hadoop_protos.rpc_header_pb2 import RpcResponseHeaderProto, RpcSaslProto
from pyarn.errors import PyarnError, RemoteError
from pyarn.ipc.auth import ServerAuth, client_negotiation
from pyarn.ipc.client_connection import ClientConnection, ClientState
from pyarn.ipc.constants import AuthMethod
from pyarn.ipc.events import ConnectionFailed
from pyarn.ipc.framing import FrameReader, frame, read_delimited
from pyarn.ipc.headers import (
    connection_context,
    context_header,
    error_response_header,
    method_header,
    request_header,
    success_response_header,
)
from pyarn.ipc.server_connection import ServerConnection, ServerState
from pyarn.security.user import User

from .support import UserSecretManager, make_token

CAP = 4096
CID = bytes(16)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

chunks = st.lists(st.binary(max_size=64), max_size=12)
#: Frames that get past the length check, so header and message parsing is exercised.
framed = st.lists(st.binary(max_size=80).map(lambda b: frame(b)), max_size=6)


def valid_responses(call_ids):
    return [success_response_header(i, CID, 0) for i in call_ids] + [
        error_response_header(1, CID, 0, fatal=False, java_class="x.Y", message="m", error_code=1)]


@st.composite
def mutated_responses(draw):
    """Well-formed responses with a few bytes flipped, truncated or duplicated."""
    data = bytearray(b"".join(frame(h, b"\x00") for h in valid_responses([0, 1, 2])))
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(data) - 1))
        data[pos] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(data)))
    return bytes(data[:cut])


def ready_client() -> ClientConnection:
    client = ClientConnection("p", User("alice"), CID, max_response_length=CAP)
    client.initiate()
    for call_id in range(3):
        client.send_call(call_id, "m", "p", 1, b"")
    client.data_to_send()
    return client


def check_client(client: ClientConnection, pieces) -> None:
    events = []
    for piece in pieces:
        try:
            events += client.receive_data(piece)
        except PyarnError as exc:  # pragma: no cover - the property under test
            raise AssertionError(f"receive_data raised {exc!r}") from exc
        assert client._reader.buffered <= CAP + 4 + len(piece)
    failures = [i for i, e in enumerate(events) if isinstance(e, ConnectionFailed)]
    assert failures in ([], [len(events) - 1])
    assert (client.state is ClientState.CLOSED) == bool(failures)


@FUZZ
@given(chunks)
def test_client_survives_random_bytes(pieces):
    check_client(ready_client(), pieces)


@FUZZ
@given(framed)
def test_client_survives_random_frames(frames):
    check_client(ready_client(), frames)


@FUZZ
@given(mutated_responses())
def test_client_survives_mutated_responses(data):
    check_client(ready_client(), [data])


@FUZZ
@given(st.binary(max_size=200), st.booleans())
def test_client_survives_garbage_during_sasl(data, with_token):
    client = ClientConnection("p", User("alice"), CID, sasl=client_negotiation(
        make_token("alice") if with_token else None), max_response_length=CAP)
    client.initiate()
    check_client(client, [data, b""])


def check_server(server: ServerConnection, pieces) -> None:
    events = []
    for piece in pieces:
        try:
            events += server.receive_data(piece)
        except PyarnError as exc:  # pragma: no cover - the property under test
            raise AssertionError(f"receive_data raised {exc!r}") from exc
        assert server._reader.buffered <= CAP + 4 + len(piece)
    failures = [i for i, e in enumerate(events) if isinstance(e, ConnectionFailed)]
    assert failures in ([], [len(events) - 1])
    assert (server.state is ServerState.CLOSED) == bool(failures)
    out = server.data_to_send()
    if failures and out and not out.startswith(b"HTTP/"):
        reader = FrameReader(1 << 20)
        reader.feed(out)
        last = None
        while (payload := reader.next_frame()) is not None:
            header_bytes, _ = read_delimited(memoryview(payload), 0)
            last = RpcResponseHeaderProto.FromString(header_bytes)
        assert last is not None and last.status == RpcResponseHeaderProto.FATAL and last.exceptionClassName


def simple_server() -> ServerConnection:
    return ServerConnection(ServerAuth(), max_data_length=CAP)


def token_server() -> ServerConnection:
    return ServerConnection(ServerAuth(methods=(AuthMethod.TOKEN, AuthMethod.SIMPLE),
                                       secret_manager=UserSecretManager()), max_data_length=CAP)


PREAMBLE = b"hrpc\x09\x00\x00"
CONTEXT = frame(context_header(CID), connection_context("p", "alice"))


@FUZZ
@given(chunks)
def test_server_survives_random_bytes_instead_of_a_preamble(pieces):
    check_server(simple_server(), pieces)


@FUZZ
@given(chunks)
def test_server_survives_random_bytes_after_the_context(pieces):
    check_server(simple_server(), [PREAMBLE + CONTEXT, *pieces])


@FUZZ
@given(framed)
def test_server_survives_random_frames(frames):
    check_server(simple_server(), [PREAMBLE + CONTEXT, *frames])


@st.composite
def mutated_requests(draw):
    call = frame(request_header(5, CID, 0), method_header("m", "p", 1), b"\x01a")
    data = bytearray(PREAMBLE + CONTEXT + call)
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(data) - 1))
        data[pos] = draw(st.integers(0, 255))
    return bytes(data[:draw(st.integers(0, len(data)))])


@FUZZ
@given(mutated_requests())
def test_server_survives_mutated_requests(data):
    check_server(simple_server(), [data, b""])


@FUZZ
@given(framed)
def test_server_survives_random_frames_during_sasl(frames):
    check_server(token_server(), [b"hrpc\x09\x00\xdf", *frames, b""])


sasl_messages = st.builds(
    RpcSaslProto,
    state=st.sampled_from(list(RpcSaslProto.SaslState.values())),
    token=st.binary(max_size=120),
    auths=st.lists(st.builds(RpcSaslProto.SaslAuth,
                             method=st.sampled_from(["TOKEN", "SIMPLE", "KERBEROS", "X"]),
                             mechanism=st.sampled_from(["DIGEST-MD5", "", "GSSAPI"]),
                             protocol=st.sampled_from(["", "x"]), serverId=st.sampled_from(["default", "y"]),
                             challenge=st.binary(max_size=80)), max_size=3),
)


@FUZZ
@given(st.lists(sasl_messages, max_size=5))
def test_server_negotiation_only_raises_remote_errors(messages):
    negotiation = ServerAuth(methods=(AuthMethod.TOKEN, AuthMethod.SIMPLE),
                             secret_manager=UserSecretManager()).negotiation()
    for message in messages:
        try:
            negotiation.receive(message)
        except RemoteError:
            return


@FUZZ
@given(st.lists(sasl_messages, max_size=5))
def test_client_negotiation_only_raises_pyarn_errors(messages):
    negotiation = client_negotiation(make_token("alice"))
    negotiation.start()
    for message in messages:
        try:
            negotiation.receive(message)
        except PyarnError:
            return
