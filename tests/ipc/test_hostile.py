"""Garbage and misbehaving peers, on real sockets: one bad connection closes, nothing hangs.

Server side: raw sockets throw bad bytes at pyarn's server. Client side:
scripted servers answer pyarn's client in broken ways.
"""
from __future__ import annotations

import socket
import threading
import time

import pytest

from pyarn.errors import ConnectFailedError, ConnectionClosedError, RemoteProtocolError, RpcTimeoutError
from pyarn.ipc import IpcServer, IpcSettings, RpcClient
from pyarn.ipc.framing import FrameReader, encode_varint, frame, read_delimited
from pyarn.ipc.headers import parse_response_header

from .support import (
    FAST,
    TEST_PROTOCOL,
    Req,
    ScriptedServer,
    accept_simple_client,
    read_frame,
    success_frame,
)


def raw_exchange(address, data: bytes, *, wait: float = 2.0) -> bytes:
    """Send ``data``, return everything the server writes until it closes (or ``wait`` passes)."""
    with socket.create_connection(address) as sock:
        sock.sendall(data)
        sock.settimeout(wait)
        out = b""
        try:
            while chunk := sock.recv(65536):
                out += chunk
        except socket.timeout:  # noqa: UP041
            raise AssertionError(f"server kept the connection open; got {out!r}") from None
        return out


def first_response(data: bytes):
    reader = FrameReader(1 << 20)
    reader.feed(data)
    view = memoryview(reader.next_frame())
    header, _ = read_delimited(view, 0)
    return parse_response_header(header)


@pytest.fixture
def quick_server(handler):
    with IpcServer(idle_timeout=0.3, max_data_length=4096) as srv:
        srv.register(TEST_PROTOCOL, handler)
        yield srv


def assert_still_serving(server, alice):
    with RpcClient(FAST) as client:
        proxy = client.proxy(server.address_string, TEST_PROTOCOL, alice)
        assert proxy.call("echo", Req(renewer="alive")).token.identifier == b"alive"


@pytest.mark.parametrize("garbage", [
    b"\x00" * 7,
    b"hrpc\x08\x00\x00",
    b"\xff" * 64,
    b"hrpc\x09\x00\x00" + b"\x7f\xff\xff\xff",           # absurd length
    b"hrpc\x09\x00\x00" + b"\x80\x00\x00\x00",           # negative length
    b"hrpc\x09\x00\x00" + frame(b"\xff\xff\xff"),        # truncated varint
    b"hrpc\x09\x00\x00" + frame(b"\x03\x08\x02\x10"),    # header missing required fields
    b"hrpc\x09\x00\xdf" + frame(b"\x00", b"\x00"),       # empty SASL header
])
def test_garbage_gets_a_fatal_answer_and_a_close(quick_server, alice, garbage):
    out = raw_exchange(quick_server.address, garbage)
    header = first_response(out)
    assert header.status == 2  # FATAL
    assert header.exceptionClassName
    assert_still_serving(quick_server, alice)


def test_http_request_gets_the_http_answer(quick_server):
    out = raw_exchange(quick_server.address, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 404 Not Found\r\n")


@pytest.mark.parametrize("partial", [
    b"hrp",                                                  # stops inside the preamble
    b"hrpc\x09\x00\x00" + b"\x00\x00\x10\x00" + b"x" * 10,   # stops inside a frame
    b"hrpc\x09\x00\x00",                                     # never sends a context
])
def test_client_that_stops_mid_message_is_dropped_after_idle_timeout(quick_server, alice, partial):
    started = time.monotonic()
    raw_exchange(quick_server.address, partial, wait=3.0)
    assert time.monotonic() - started < 2.0
    assert_still_serving(quick_server, alice)


def test_many_hostile_connections_at_once_leave_the_server_working(quick_server, alice):
    def attack(i: int) -> None:
        try:
            raw_exchange(quick_server.address, bytes([i]) * 50, wait=3.0)
        except OSError:
            pass

    threads = [threading.Thread(target=attack, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert_still_serving(quick_server, alice)
    deadline = time.monotonic() + 2
    while quick_server.connection_count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert quick_server.connection_count == 0


# ----------------------------------------------------------- hostile servers


def call_through(address: str, alice, *, timeout: float = 2.0, settings: IpcSettings = FAST):
    with RpcClient(settings) as client:
        return client.proxy(address, TEST_PROTOCOL, alice).call("echo", Req(renewer="x"), timeout=timeout)


def test_server_sending_garbage_closes_the_connection(alice):
    def script(sock):
        accept_simple_client(sock)
        read_frame(sock)
        sock.sendall(b"\x00\x00\x00\x03\xff\xff\xff")
        time.sleep(1)

    with ScriptedServer(script) as srv, pytest.raises(ConnectionClosedError) as info:
        call_through(srv.address, alice)
    assert isinstance(info.value.__cause__, RemoteProtocolError)
    assert "varint" in str(info.value)


def test_server_answering_a_call_id_never_sent(alice):
    def script(sock):
        accept_simple_client(sock)
        header, _ = read_frame(sock)
        sock.sendall(success_frame(header.callId + 1000, bytes(header.clientId), b""))
        time.sleep(1)

    with ScriptedServer(script) as srv, pytest.raises(ConnectionClosedError, match="never sent"):
        call_through(srv.address, alice)


def test_server_with_unknown_status_code(alice):
    def script(sock):
        accept_simple_client(sock)
        header, _ = read_frame(sock)
        body = b"\x08" + encode_varint(header.callId) + b"\x10\x05"  # status 5 does not exist
        sock.sendall(frame(bytes([len(body)]) + body))
        time.sleep(1)

    with ScriptedServer(script) as srv, pytest.raises(ConnectionClosedError, match="unknown enum value"):
        call_through(srv.address, alice)


def test_server_dying_mid_frame(alice):
    def script(sock):
        accept_simple_client(sock)
        header, _ = read_frame(sock)
        sock.sendall(success_frame(header.callId, bytes(header.clientId), b"\x0a\x00")[:-3])

    with ScriptedServer(script) as srv, pytest.raises(ConnectionClosedError, match="middle of a frame"):
        call_through(srv.address, alice)


def test_server_stalling_mid_frame_hits_the_call_timeout(alice):
    release = threading.Event()

    def script(sock):
        accept_simple_client(sock)
        header, _ = read_frame(sock)
        sock.sendall(success_frame(header.callId, bytes(header.clientId), b"\x0a\x00")[:-3])
        release.wait(5)

    with ScriptedServer(script) as srv:
        started = time.monotonic()
        with pytest.raises(RpcTimeoutError):
            call_through(srv.address, alice, timeout=0.3)
        assert time.monotonic() - started < 1.5
        release.set()


def test_server_announcing_a_huge_frame_is_refused_at_once(alice):
    def script(sock):
        accept_simple_client(sock)
        read_frame(sock)
        sock.sendall(b"\x7f\xff\xff\xf0")  # ~2 GiB announced, nothing sent
        time.sleep(2)

    settings = IpcSettings(connect_timeout=2.0, rpc_timeout=5.0, max_response_length=1 << 20)
    with ScriptedServer(script) as srv:
        started = time.monotonic()
        with pytest.raises(ConnectionClosedError, match="longer than the maximum"):
            call_through(srv.address, alice, settings=settings)
        assert time.monotonic() - started < 1.0


def test_http_server_is_named(alice):
    def script(sock):
        sock.recv(1024)
        sock.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        time.sleep(1)

    with ScriptedServer(script) as srv, pytest.raises(ConnectionClosedError, match="HTTP"):
        call_through(srv.address, alice)


def test_server_silent_during_sasl_handshake_hits_the_connect_timeout(alice):
    from .support import make_token

    def script(sock):
        time.sleep(2)

    settings = IpcSettings(connect_timeout=0.3, rpc_timeout=5.0)
    with ScriptedServer(script) as srv, RpcClient(settings) as client:
        proxy = client.proxy(srv.address, TEST_PROTOCOL, alice, token=make_token("alice"))
        started = time.monotonic()
        with pytest.raises(ConnectFailedError, match="no answer to the connection handshake"):
            proxy.call("echo", Req(renewer="x"))
        assert time.monotonic() - started < 1.5


def test_client_pings_while_a_call_is_outstanding(alice):
    pings = []

    def script(sock):
        accept_simple_client(sock)
        call, _ = read_frame(sock)
        deadline = time.monotonic() + 0.45  # stay silent this long, counting pings
        while time.monotonic() < deadline:
            header, rest = read_frame(sock)
            pings.append((header.callId, header.retryCount, bytes(header.clientId), len(rest)))
        sock.sendall(success_frame(call.callId, bytes(call.clientId), b""))
        time.sleep(0.5)

    settings = IpcSettings(connect_timeout=2.0, rpc_timeout=5.0, ping_interval=0.1)
    with ScriptedServer(script) as srv, RpcClient(settings) as client:
        response = client.proxy(srv.address, TEST_PROTOCOL, alice).call("echo", Req(renewer="x"))
        assert response.token.identifier == b""
        assert len(pings) >= 2
        assert all(p == (-4, -1, client.client_id, 0) for p in pings)


@pytest.mark.parametrize("delay", [0.0, 0.05])
def test_server_refusing_a_simple_client_explains_why(alice, delay):
    """The refusal races the client's first call (written without waiting); the reason must win."""
    from pyarn.errors import AccessControlError
    from pyarn.ipc.headers import error_response_header

    refusal = frame(error_response_header(-1, b"", -1, fatal=True,
                                          java_class="org.apache.hadoop.security.AccessControlException",
                                          message="SIMPLE authentication is not enabled.  Available:[TOKEN]",
                                          error_code=15))

    def script(sock):
        sock.recv(7)
        time.sleep(delay)
        sock.sendall(refusal)

    for _ in range(5):
        with ScriptedServer(script) as srv, pytest.raises(AccessControlError, match="SIMPLE authentication"):
            call_through(srv.address, alice)


def test_client_that_never_reads_cannot_pin_the_handlers(alice):
    """Responses pile up unread: the server gives up after send_timeout and frees its one handler."""
    from pyarn.ipc.headers import connection_context, context_header, method_header, request_header

    from .support import PROTOCOL_NAME, Resp, reply

    class BigReplies:
        def echo(self, request, ctx) -> Resp:
            return reply("z" * (4 << 20))

    with IpcServer(handler_threads=1, send_timeout=0.3, idle_timeout=5.0) as server:
        server.register(TEST_PROTOCOL, BigReplies())
        with socket.create_connection(server.address) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            calls = b"".join(frame(request_header(i, bytes(16), 0), method_header("echo", PROTOCOL_NAME, 1),
                                   b"\x02\x0a\x00") for i in range(8))
            sock.sendall(b"hrpc\x09\x00\x00" + frame(context_header(bytes(16)),
                                                     connection_context(PROTOCOL_NAME, "slow")) + calls)
            deadline = time.monotonic() + 5
            while server.connection_count and time.monotonic() < deadline:
                time.sleep(0.05)
            assert server.connection_count == 0
        with RpcClient(FAST) as client:
            proxy = client.proxy(server.address_string, TEST_PROTOCOL, alice)
            assert len(proxy.call("echo", Req(renewer="x"), timeout=3).token.identifier) == 4 << 20


def _raw_calls(user: str, count: int, renewer: bytes, first_id: int = 0) -> bytes:
    """A SIMPLE client's preamble and context, then ``count`` echo calls, as raw bytes."""
    from pyarn.ipc.headers import connection_context, context_header, method_header, request_header

    from .support import PROTOCOL_NAME

    body = Req(renewer=renewer.decode()).SerializeToString()
    method = method_header("echo", PROTOCOL_NAME, 1)
    calls = b"".join(frame(request_header(first_id + i, bytes(16), 0), method, encode_varint(len(body)), body)
                     for i in range(count))
    context = frame(context_header(bytes(16)), connection_context(PROTOCOL_NAME, user))
    return b"hrpc\x09\x00\x00" + context + calls


def test_a_flood_of_calls_is_held_to_the_queue_bounds(handler, alice):
    """One client sends calls far faster than they are served: the server holds at most its
    queue's worth; the rest waits in TCP buffers (the client cannot even finish sending)."""
    gate = threading.Event()
    handler.before["echo"] = lambda request, ctx: gate.wait(10)
    calls, size = 800, 64 * 1024  # 50 MiB of calls: more than loopback buffers hold
    with IpcServer(handler_threads=2, queue_size_per_handler=3, max_calls_per_connection=5,
                   idle_timeout=10.0) as server:
        server.register(TEST_PROTOCOL, handler)
        with socket.create_connection(server.address) as sock:
            sent = threading.Event()
            writer = threading.Thread(target=lambda: (sock.sendall(_raw_calls("flood", calls, b"x" * size)),
                                                      sent.set()), daemon=True)
            writer.start()
            peak = 0
            deadline = time.monotonic() + 1.5
            while time.monotonic() < deadline:
                held = server.calls_in_progress
                assert server.queued_calls <= 2 * 3
                peak = max(peak, held)
                time.sleep(0.01)
            assert 2 <= peak <= 5  # both handlers busy; never more than the connection's cap
            assert not sent.is_set()  # the server stopped reading: backpressure reached the client
            gate.set()  # now every call is answered, in turn
            reader = FrameReader(1 << 20)
            answered = 0
            sock.settimeout(10)
            while answered < calls:
                reader.feed(sock.recv(1 << 20))
                while reader.next_frame() is not None:
                    answered += 1
            writer.join(5)
            assert sent.is_set() and answered == calls
        assert_still_serving(server, alice)


def test_a_client_that_never_reads_does_not_stall_the_others(alice):
    """Handlers never wait on a client's socket: a client that reads nothing only fills its own
    buffer, and is dropped after send_timeout."""
    from .support import reply

    class BigReplies:
        def echo(self, request, ctx):
            if request.renewer == "big":
                return reply("z" * (2 << 20))
            return reply(request.renewer)

    big, calls, limit = 2 << 20, 8, 4 << 20
    with IpcServer(handler_threads=2, send_timeout=3.0, idle_timeout=10.0, max_calls_per_connection=calls,
                   response_buffer_limit=limit) as server:
        server.register(TEST_PROTOCOL, BigReplies())
        with socket.create_connection(server.address) as hog:
            hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            hog.sendall(_raw_calls("hog", 100, b"big"))  # 200 MiB of answers, if all were made
            time.sleep(0.3)  # the hog's responses pile up in the server
            assert server.buffered_response_bytes > 0
            with RpcClient(FAST) as client:
                proxy = client.proxy(server.address_string, TEST_PROTOCOL, alice)
                for i in range(20):
                    started = time.monotonic()
                    answer = proxy.call("echo", Req(renewer=str(i)), timeout=2)
                    assert answer.token.identifier == str(i).encode()
                    assert time.monotonic() - started < 1.0
            assert server.buffered_response_bytes <= limit + calls * (big + 1024)
            deadline = time.monotonic() + 6
            while server.connection_count and time.monotonic() < deadline:
                time.sleep(0.05)
            assert server.connection_count == 0  # the hog was dropped after send_timeout


def test_stopping_is_prompt_while_a_flooding_client_waits_for_room(handler):
    gate = threading.Event()
    handler.before["echo"] = lambda request, ctx: gate.wait(10)
    server = IpcServer(handler_threads=1, queue_size_per_handler=2, max_calls_per_connection=3).start()
    server.register(TEST_PROTOCOL, handler)
    with socket.create_connection(server.address) as sock:
        sock.sendall(_raw_calls("flood", 50, b"x"))
        deadline = time.monotonic() + 3
        while server.calls_in_progress < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.calls_in_progress == 3  # one being handled, two queued, the reader waiting
        gate.set()
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 2.0
        assert server.connection_count == 0
