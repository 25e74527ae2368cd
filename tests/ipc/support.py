"""A small test protocol served by pyarn's own IPC server, its handler and tokens.

The protocol reuses existing messages: requests are
``GetDelegationTokenRequestProto`` (one string, ``renewer``) and responses
``GetDelegationTokenResponseProto`` (a TokenProto), so handlers can echo,
report who called, sleep or raise on demand.
"""
from __future__ import annotations

import socket
import threading
import time
from typing import Callable, Dict, List, Optional, Tuple

from hadoop_protos.protocol import RetrySafety, RpcMethod, RpcProtocol
from hadoop_protos.rpc_header_pb2 import RpcRequestHeaderProto
from hadoop_protos.security_pb2 import GetDelegationTokenRequestProto as Req
from hadoop_protos.security_pb2 import GetDelegationTokenResponseProto as Resp
from hadoop_protos.security_pb2 import TokenProto
from pyarn.errors import InvalidTokenError, remote_error
from pyarn.ipc import IpcSettings
from pyarn.ipc.auth import SecretManager, client_negotiation
from pyarn.ipc.client_connection import ClientConnection, ClientState
from pyarn.ipc.events import Event
from pyarn.ipc.framing import encode_varint, frame, read_delimited
from pyarn.ipc.headers import connection_context, context_header, success_response_header
from pyarn.ipc.sasl import SaslClientNegotiation
from pyarn.ipc.server_connection import ServerConnection
from pyarn.security.tokens import Token
from pyarn.security.user import User

PROTOCOL_NAME = "org.pyarn.test.EchoProtocolPB"

TEST_PROTOCOL = RpcProtocol(PROTOCOL_NAME, 1, "pyarn.test.EchoService", (
    RpcMethod("echo", Req, Resp, RetrySafety.IDEMPOTENT),
    RpcMethod("whoami", Req, Resp, RetrySafety.IDEMPOTENT),
    RpcMethod("fail", Req, Resp, RetrySafety.IDEMPOTENT),
    RpcMethod("sleep", Req, Resp, RetrySafety.IDEMPOTENT),
    RpcMethod("create", Req, Resp, RetrySafety.UNSAFE),
    RpcMethod("append", Req, Resp, RetrySafety.AT_MOST_ONCE),
    RpcMethod("unimplemented", Req, Resp, RetrySafety.IDEMPOTENT),
))

TOKEN_KIND = "PYARN_TEST_TOKEN"


def reply(text: str, kind: str = "", service: str = "") -> Resp:
    return Resp(token=TokenProto(identifier=text.encode(), password=b"", kind=kind, service=service))


class EchoHandler:
    """Handles TEST_PROTOCOL; records every call it sees."""

    def __init__(self) -> None:
        self.calls: List[Tuple[str, int, int, bytes]] = []  # method, call id, retry count, client id
        self.lock = threading.Lock()
        self.before: Dict[str, object] = {}  # method -> callable(request, ctx) run first

    def _record(self, request, ctx) -> None:
        with self.lock:
            self.calls.append((ctx.method, ctx.call_id, ctx.retry_count, ctx.client_id))
        hook = self.before.get(ctx.method)
        if hook is not None:
            hook(request, ctx)

    def count(self, method: str) -> int:
        with self.lock:
            return sum(1 for c in self.calls if c[0] == method)

    def echo(self, request: Req, ctx) -> Resp:
        self._record(request, ctx)
        return reply(request.renewer)

    def whoami(self, request: Req, ctx) -> Resp:
        self._record(request, ctx)
        return reply(ctx.user.name, kind=ctx.auth_method.name, service=ctx.user.real_user or "")

    def fail(self, request: Req, ctx) -> Resp:
        """``renewer`` is ``<java class>|<java text>``."""
        self._record(request, ctx)
        java_class, _, text = request.renewer.partition("|")
        raise remote_error(java_class, text)

    def sleep(self, request: Req, ctx) -> Resp:
        self._record(request, ctx)
        time.sleep(float(request.renewer))
        return reply(request.renewer)

    def create(self, request: Req, ctx) -> Resp:
        self._record(request, ctx)
        return reply("created " + request.renewer)

    def append(self, request: Req, ctx) -> Resp:
        self._record(request, ctx)
        return reply("appended " + request.renewer)


class UserSecretManager(SecretManager):
    """Tokens whose identifier is ``user:<name>``; password = identifier reversed."""

    def retrieve_password(self, identifier: bytes) -> bytes:
        if not identifier.startswith(b"user:"):
            raise InvalidTokenError(f"unknown token {identifier!r}")
        return identifier[::-1]

    def user_of(self, identifier: bytes) -> str:
        return identifier[len(b"user:"):].decode()


def make_token(name: str, *, password: bytes = None, service: str = "") -> Token:
    identifier = f"user:{name}".encode()
    return Token(identifier, identifier[::-1] if password is None else password, TOKEN_KIND, service)


FAST = IpcSettings(connect_timeout=2.0, rpc_timeout=5.0, ping_interval=5.0, max_idle_time=5.0)


# ------------------------------------------------------------ sans-IO pairs

CID = b"C" * 16


def pump(client: ClientConnection, server: ServerConnection, client_events: List[Event],
         server_events: List[Event], *, rewrite=None) -> None:
    """Shuttle bytes both ways until neither side has anything to say."""
    for _ in range(50):
        to_server = client.data_to_send()
        if rewrite is not None and to_server:
            to_server = rewrite(to_server)
        if to_server:
            server_events += server.receive_data(to_server)
        to_client = server.data_to_send()
        if to_client:
            client_events += client.receive_data(to_client)
        if not to_server and not to_client:
            return
    raise AssertionError("the two cores never went quiet")


ALICE = User("alice")


def connect_pair(server: ServerConnection, *, token: Optional[Token] = None, user: User = ALICE,
                 claim_user: Optional[str] = None, sasl: Optional[SaslClientNegotiation] = None):
    """Connect a client core to ``server``; returns (client, server, events on both sides)."""
    if sasl is None and token is not None:
        sasl = client_negotiation(token)
    client = ClientConnection("p", user, CID, sasl=sasl)
    client_events: List[Event] = list(client.initiate())
    server_events: List[Event] = []

    def claim(data: bytes) -> bytes:  # swap the context for one naming another user
        if claim_user is not None and client.state is ClientState.READY and not server_events:
            return frame(context_header(CID), connection_context("p", claim_user))
        return data

    pump(client, server, client_events, server_events, rewrite=claim)
    return client, server, (client_events, server_events)


# ------------------------------------------------------ scripted raw servers


def read_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError(f"peer closed after {len(data)} of {n} bytes")
        data += chunk
    return data


def read_frame(sock: socket.socket) -> Tuple[RpcRequestHeaderProto, memoryview]:
    """One client frame: its parsed RPC header and the rest of the payload."""
    length = int.from_bytes(read_exact(sock, 4), "big")
    view = memoryview(read_exact(sock, length))
    header_bytes, pos = read_delimited(view, 0)
    return RpcRequestHeaderProto.FromString(header_bytes), view[pos:]


def accept_simple_client(sock: socket.socket) -> None:
    """Read a SIMPLE client's preamble and connection context."""
    assert read_exact(sock, 7) == b"hrpc\x09\x00\x00"
    header, _ = read_frame(sock)
    assert header.callId == -3


def success_frame(call_id: int, client_id: bytes, body: bytes, retry_count: int = 0) -> bytes:
    return frame(success_response_header(call_id, client_id, retry_count), encode_varint(len(body)), body)


class ScriptedServer:
    """A raw TCP server that runs ``script(sock)`` on each accepted connection.

    For client tests against servers that misbehave in precise ways.
    """

    def __init__(self, script: Callable[[socket.socket], None]) -> None:
        self.script = script
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self.errors: List[BaseException] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        try:
            with sock:
                self.script(sock)
        except (EOFError, OSError):
            pass
        except BaseException as exc:  # surfaced by the test through .errors
            self.errors.append(exc)

    def close(self) -> None:
        self.listener.close()

    def __enter__(self) -> ScriptedServer:
        return self

    def __exit__(self, exc_type, *exc_info) -> None:
        self.close()
        if exc_type is None and self.errors:
            raise self.errors[0]
