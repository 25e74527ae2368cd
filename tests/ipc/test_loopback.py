"""pyarn's client against pyarn's server over loopback TCP."""
from __future__ import annotations

import threading
import time

import pytest

from hadoop_protos.protocol import RpcProtocol
from pyarn.errors import (
    AccessControlError,
    ApplicationNotFoundError,
    ConnectFailedError,
    ConnectionClosedError,
    LocalProtocolError,
    NoSuchMethodError,
    NoSuchProtocolError,
    RemoteError,
    RemoteFileNotFoundError,
    RpcConnectionError,
    RpcTimeoutError,
    SaslError,
    VersionMismatchError,
)
from pyarn.ipc import IpcServer, IpcSettings, RpcClient
from pyarn.security.user import User

from .support import FAST, PROTOCOL_NAME, TEST_PROTOCOL, Req, Resp, make_token


def echo(proxy, text: str) -> str:
    return proxy.call("echo", Req(renewer=text)).token.identifier.decode()


def test_simple_call_round_trip(server, client, alice, handler):
    proxy = client.proxy(server.address_string, TEST_PROTOCOL, alice)
    assert echo(proxy, "hello") == "hello"
    who = proxy.call("whoami", Req(renewer=""))
    assert (who.token.identifier, who.token.kind) == (b"alice", "SIMPLE")
    assert handler.calls[0][3] == client.client_id


def test_proxy_user_reaches_the_server(server, client):
    who = client.proxy(server.address_string, TEST_PROTOCOL, User("admin").proxy_for("bob")).call(
        "whoami", Req(renewer=""))
    assert (who.token.identifier, who.token.service) == (b"bob", "admin")


def test_token_auth_on_a_token_only_port(token_server, client):
    proxy = client.proxy(token_server.address_string, TEST_PROTOCOL, User("whoever"), token=make_token("bob"))
    who = proxy.call("whoami", Req(renewer=""))
    assert (who.token.identifier, who.token.kind) == (b"bob", "TOKEN")


def test_wrong_token_is_rejected_and_nothing_is_cached(token_server, client):
    proxy = client.proxy(token_server.address_string, TEST_PROTOCOL, User("x"),
                         token=make_token("bob", password=b"guessed"))
    with pytest.raises(SaslError, match="Mismatched response"):
        echo(proxy, "x")
    assert client.connection_count == 0


def test_no_token_on_a_token_only_port(token_server, client, alice):
    refusal = r"SIMPLE authentication is not enabled.  Available:\[TOKEN\]"
    with pytest.raises(AccessControlError, match=refusal):
        echo(client.proxy(token_server.address_string, TEST_PROTOCOL, alice), "x")


def test_sixteen_threads_share_one_connection(server, client, alice, handler):
    proxy = client.proxy(server.address_string, TEST_PROTOCOL, alice)
    results, errors = {}, []

    def work(n: int) -> None:
        try:
            for i in range(40):
                text = f"{n}-{i}"
                results[text] = echo(proxy, text)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not errors
    assert len(results) == 640 and all(k == v for k, v in results.items())
    assert client.connection_count == 1
    assert server.connection_count == 1
    call_ids = [c[1] for c in handler.calls]
    assert len(set(call_ids)) == 640


def test_a_slow_call_does_not_hold_up_fast_ones_on_the_same_connection(server, client, alice):
    proxy = client.proxy(server.address_string, TEST_PROTOCOL, alice)
    echo(proxy, "warm up")
    finished = []
    slow = threading.Thread(target=lambda: finished.append(proxy.call("sleep", Req(renewer="0.5"))))
    slow.start()
    time.sleep(0.05)
    started = time.monotonic()
    assert echo(proxy, "fast") == "fast"
    assert time.monotonic() - started < 0.3
    assert not finished
    slow.join(5)
    assert finished and client.connection_count == 1


@pytest.mark.parametrize("java_class, expected", [
    ("org.apache.hadoop.yarn.exceptions.ApplicationNotFoundException", ApplicationNotFoundError),
    ("java.io.FileNotFoundException", RemoteFileNotFoundError),
    ("org.example.SomethingElseException", RemoteError),
])
def test_server_side_exceptions_keep_class_and_message(server, client, alice, java_class, expected):
    proxy = client.proxy(server.address_string, TEST_PROTOCOL, alice)
    with pytest.raises(expected) as info:
        proxy.call("fail", Req(renewer=f"{java_class}|first line\n\tat Foo.bar(Foo.java:1)"))
    assert type(info.value) is expected
    assert info.value.java_class == java_class
    assert str(info.value) == "first line"
    assert info.value.java_text == "first line\n\tat Foo.bar(Foo.java:1)"
    assert echo(proxy, "still up") == "still up"
    assert client.connection_count == 1


def test_python_exceptions_in_handlers_get_java_names(server, client, alice, handler):
    def boom(request, ctx):
        raise FileNotFoundError("/no/such/file")
    handler.before["echo"] = boom
    with pytest.raises(RemoteFileNotFoundError) as info:
        echo(client.proxy(server.address_string, TEST_PROTOCOL, alice), "x")
    assert isinstance(info.value, FileNotFoundError)
    assert info.value.java_class == "java.io.FileNotFoundException"
    assert str(info.value) == "/no/such/file"
    assert "Traceback" in info.value.java_text

    handler.before["echo"] = lambda request, ctx: 1 / 0
    with pytest.raises(RemoteError) as info:
        echo(client.proxy(server.address_string, TEST_PROTOCOL, alice), "x")
    assert info.value.java_class == "java.io.IOException"
    assert str(info.value) == "division by zero"


def test_unknown_method_protocol_and_version_as_hadoop_names_them(server, client, alice):
    with pytest.raises(NoSuchMethodError) as info:
        client.proxy(server.address_string, TEST_PROTOCOL, alice).call("unimplemented", Req(renewer=""))
    assert str(info.value) == f"Unknown method unimplemented called on {PROTOCOL_NAME} protocol."
    assert info.value.java_class == "org.apache.hadoop.ipc.RpcNoSuchMethodException"

    other = RpcProtocol("org.example.Nope", 1, "x", tuple(TEST_PROTOCOL.methods.values()))
    with pytest.raises(NoSuchProtocolError, match="Unknown protocol: org.example.Nope"):
        client.proxy(server.address_string, other, alice).call("echo", Req(renewer=""))

    newer = RpcProtocol(PROTOCOL_NAME, 7, "x", tuple(TEST_PROTOCOL.methods.values()))
    with pytest.raises(VersionMismatchError, match=r"version mismatch. \(client = 7, server = 1\)"):
        client.proxy(server.address_string, newer, alice).call("echo", Req(renewer=""))


def test_proxy_checks_method_and_request_type_before_sending(server, client, alice, handler):
    proxy = client.proxy(server.address_string, TEST_PROTOCOL, alice)
    with pytest.raises(LocalProtocolError, match="has no method 'nope'"):
        proxy.call("nope", Req())
    with pytest.raises(TypeError, match="echo takes a hadoop.common.GetDelegationTokenRequestProto"):
        proxy.call("echo", Resp())
    assert handler.calls == [] and client.connection_count == 0


def test_call_timeout_then_connection_still_usable(server, client, alice):
    proxy = client.proxy(server.address_string, TEST_PROTOCOL, alice)
    started = time.monotonic()
    with pytest.raises(RpcTimeoutError, match="got no response in 0.2 s"):
        proxy.call("sleep", Req(renewer="0.6"), timeout=0.2)
    assert time.monotonic() - started < 0.5
    assert echo(proxy, "after") == "after"
    time.sleep(0.6)  # the late response arrives and is dropped quietly
    assert echo(proxy, "later") == "later"
    assert client.connection_count == 1


def test_server_stopping_mid_call_fails_the_call(handler, alice):
    server = IpcServer().start()
    server.register(TEST_PROTOCOL, handler)
    with RpcClient(FAST) as client:
        proxy = client.proxy(server.address_string, TEST_PROTOCOL, alice)
        outcome = []
        caller = threading.Thread(
            target=lambda: outcome.append(_catch(proxy.call, "sleep", Req(renewer="0.4"))))
        caller.start()
        time.sleep(0.1)
        server.stop()
        caller.join(5)
        assert isinstance(outcome[0], ConnectionClosedError)
        with pytest.raises(ConnectFailedError):
            echo(proxy, "nobody home")


def _catch(fn, *args):
    try:
        return fn(*args)
    except Exception as exc:
        return exc


def test_idle_connection_closes_and_reopens(server, alice):
    settings = IpcSettings(connect_timeout=2.0, rpc_timeout=5.0, max_idle_time=0.2)
    with RpcClient(settings) as client:
        proxy = client.proxy(server.address_string, TEST_PROTOCOL, alice)
        assert echo(proxy, "1") == "1"
        assert client.connection_count == 1
        deadline = time.monotonic() + 3
        while (client.connection_count or server.connection_count) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.connection_count == 0 and server.connection_count == 0
        assert echo(proxy, "2") == "2"


def test_connection_cache_keys(server, client, token_server):
    a = client.proxy(server.address_string, TEST_PROTOCOL, User("a"))
    echo(a, "x")
    echo(client.proxy(server.address_string, TEST_PROTOCOL, User("a")), "x")
    assert client.connection_count == 1
    echo(client.proxy(server.address_string, TEST_PROTOCOL, User("b")), "x")
    assert client.connection_count == 2
    echo(client.proxy(token_server.address_string, TEST_PROTOCOL, User("a"), token=make_token("a")), "x")
    assert client.connection_count == 3


def test_server_connection_limit(handler, alice):
    with IpcServer(max_connections=1) as server:
        server.register(TEST_PROTOCOL, handler)
        with RpcClient(FAST) as first, RpcClient(FAST) as second:
            echo(first.proxy(server.address_string, TEST_PROTOCOL, alice), "in")
            # SIMPLE sends preamble, context and call without waiting: the refusal shows
            # as a failed write or an end of stream, depending on timing.
            with pytest.raises(RpcConnectionError):
                echo(second.proxy(server.address_string, TEST_PROTOCOL, alice), "refused")
            assert echo(first.proxy(server.address_string, TEST_PROTOCOL, alice), "still in") == "still in"


def test_server_frame_cap_rejects_big_requests_with_a_clear_error(handler, alice):
    with IpcServer(max_data_length=1000) as server, RpcClient(FAST) as client:
        server.register(TEST_PROTOCOL, handler)
        proxy = client.proxy(server.address_string, TEST_PROTOCOL, alice)
        with pytest.raises(RemoteError, match="longer than maximum configured RPC length 1000"):
            echo(proxy, "x" * 2000)
        assert echo(proxy, "small") == "small"


def test_client_response_cap(server, alice):
    settings = IpcSettings(connect_timeout=2.0, rpc_timeout=5.0, max_response_length=1000)
    with RpcClient(settings) as client:
        proxy = client.proxy(server.address_string, TEST_PROTOCOL, alice)
        with pytest.raises(ConnectionClosedError, match="longer than the maximum of 1000 bytes"):
            echo(proxy, "y" * 1500)
        assert echo(proxy, "ok") == "ok"


def test_closing_the_client_fails_waiting_calls(server, alice):
    client = RpcClient(FAST)
    proxy = client.proxy(server.address_string, TEST_PROTOCOL, alice)
    outcome = []
    caller = threading.Thread(target=lambda: outcome.append(_catch(proxy.call, "sleep", Req(renewer="1"))))
    caller.start()
    time.sleep(0.15)
    client.close()
    caller.join(5)
    assert isinstance(outcome[0], ConnectionClosedError)
    with pytest.raises(LocalProtocolError, match="closed"):
        echo(proxy, "x")


def test_connect_refused_is_connect_failed(client, alice):
    import socket

    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    with pytest.raises(ConnectFailedError, match="cannot connect to 127.0.0.1"):
        echo(client.proxy(f"127.0.0.1:{port}", TEST_PROTOCOL, alice), "x")
