"""QOPs on real sockets: pyarn's IPC client and server with TOKEN (DIGEST-MD5) at auth, auth-int
and auth-conf, the choice of QOP from ``hadoop.rpc.protection``, mismatches, and what crosses the wire.

:class:`TcpRelay` sits between client and server and records both directions,
so a test can look for an application marker in the bytes on the socket.
"""
from __future__ import annotations

import socket
import threading
import time
from typing import List, Tuple

import pytest

from hadoop_protos.security_pb2 import GetDelegationTokenRequestProto as Req
from pyarn.errors import RemoteError
from pyarn.ipc import IpcServer, IpcSettings, RpcClient, ServerAuth
from pyarn.ipc.client import Connection
from pyarn.ipc.constants import AuthMethod, Qop
from pyarn.ipc.sasl import NoCommonProtectionError
from pyarn.ipc.sasl.digest_layer import available_ciphers
from pyarn.security.user import User

from .support import PROTOCOL_NAME, TEST_PROTOCOL, EchoHandler, UserSecretManager, make_token

MARKER = "pyarn-marker-7f3e9c1d-not-for-the-wire"
PROTECTIONS = {"authentication": Qop.AUTH, "integrity": Qop.AUTH_INT, "privacy": Qop.AUTH_CONF}


class TcpRelay:
    """Forwards one loopback port to ``target`` and records every byte, per direction."""

    def __init__(self, target: Tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self.upstream: List[bytes] = []  # client -> server
        self.downstream: List[bytes] = []  # server -> client
        self._lock = threading.Lock()
        self._sockets: List[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, self.upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, self.downstream), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, record: List[bytes]) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                with self._lock:
                    record.append(data)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            try:
                sink.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def captured(self) -> bytes:
        """Everything seen so far, both directions."""
        with self._lock:
            return b"".join(self.upstream) + b"".join(self.downstream)

    def close(self) -> None:
        self.listener.close()
        with self._lock:
            for sock in self._sockets:
                sock.close()

    def __enter__(self) -> TcpRelay:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _settings(*qops: Qop) -> IpcSettings:
    return IpcSettings(connect_timeout=2.0, rpc_timeout=5.0, qops=qops)


def _token_server(*qops: Qop) -> IpcServer:
    auth = ServerAuth(methods=(AuthMethod.TOKEN,), secret_manager=UserSecretManager(), qops=qops)
    server = IpcServer(auth=auth, idle_timeout=5.0)
    server.register(TEST_PROTOCOL, EchoHandler())
    return server.start()


def _user(name: str = "alice") -> User:
    return User(name, tokens=[make_token(name)])


@pytest.mark.parametrize("protection", ["authentication", "integrity", "privacy"])
def test_token_calls_at_each_qop(protection):
    qop = PROTECTIONS[protection]
    with _token_server(qop) as server, RpcClient(_settings(qop)) as client:
        proxy = client.proxy(server.address_string, TEST_PROTOCOL, _user(), token=make_token("alice"))
        assert proxy.call("whoami", Req(renewer="")).token.identifier == b"alice"
        big = "x" * 300_000  # many wrap chunks one way, one big wrapped response the other
        assert proxy.call("echo", Req(renewer=big)).token.identifier == big.encode()
        with pytest.raises(Exception, match="boom"):
            proxy.call("fail", Req(renewer="java.io.IOException|boom"))
        assert proxy.call("echo", Req(renewer="still up")).token.identifier == b"still up"


@pytest.mark.parametrize("cipher", ["3des", "rc4", "des", "rc4-56", "rc4-40"])
def test_every_cipher_carries_calls(cipher, monkeypatch):
    if cipher not in available_ciphers():
        pytest.skip(f"this cryptography has no {cipher}")
    from pyarn.ipc.sasl import digest_md5

    monkeypatch.setattr(digest_md5, "available_ciphers", lambda: (cipher,))  # the server offers only this one
    with _token_server(Qop.AUTH_CONF) as server:
        connection = Connection(server.address_string, PROTOCOL_NAME, _user(), client_id=b"C" * 16,
                                settings=_settings(Qop.AUTH_CONF), token=make_token("alice"))
        with connection:
            assert connection.qop is Qop.AUTH_CONF
            assert connection._core._sasl.mechanism.cipher == cipher
            body = connection.call("echo", PROTOCOL_NAME, 1, Req(renewer="y" * 70_000).SerializeToString())
            assert len(body) > 70_000


@pytest.mark.parametrize("client_qops, server_qops, agreed", [
    ((Qop.AUTH_CONF, Qop.AUTH_INT, Qop.AUTH), (Qop.AUTH, Qop.AUTH_INT, Qop.AUTH_CONF), Qop.AUTH_CONF),
    ((Qop.AUTH, Qop.AUTH_CONF), (Qop.AUTH_CONF, Qop.AUTH), Qop.AUTH),
    ((Qop.AUTH_INT, Qop.AUTH_CONF), (Qop.AUTH_CONF, Qop.AUTH_INT), Qop.AUTH_INT),
    ((Qop.AUTH, Qop.AUTH_CONF), (Qop.AUTH_CONF,), Qop.AUTH_CONF),
])
def test_the_client_takes_the_first_of_its_qops_that_the_server_offers(client_qops, server_qops, agreed):
    with _token_server(*server_qops) as server:
        connection = Connection(server.address_string, PROTOCOL_NAME, _user(), client_id=b"C" * 16,
                                settings=_settings(*client_qops), token=make_token("alice"))
        with connection:
            assert connection.qop is agreed


@pytest.mark.parametrize("client_qop, server_qop", [(Qop.AUTH, Qop.AUTH_CONF), (Qop.AUTH_CONF, Qop.AUTH),
                                                    (Qop.AUTH_INT, Qop.AUTH_CONF)])
def test_mismatched_protection_fails_fast_and_says_so(client_qop, server_qop):
    with _token_server(server_qop) as server, RpcClient(_settings(client_qop)) as client:
        proxy = client.proxy(server.address_string, TEST_PROTOCOL, _user(), token=make_token("alice"))
        started = time.monotonic()
        with pytest.raises(NoCommonProtectionError, match="No common protection layer") as info:
            proxy.call("whoami", Req(renewer=""))
        assert time.monotonic() - started < 2
        assert "hadoop.rpc.protection" in str(info.value)


@pytest.mark.parametrize("protection, visible", [("authentication", True), ("integrity", True),
                                                 ("privacy", False)])
def test_privacy_keeps_every_application_byte_off_the_wire(protection, visible):
    qop = PROTECTIONS[protection]
    with _token_server(qop) as server, TcpRelay(server.address) as relay, RpcClient(_settings(qop)) as client:
        proxy = client.proxy(relay.address, TEST_PROTOCOL, _user(), token=make_token("alice"))
        assert proxy.call("echo", Req(renewer=MARKER)).token.identifier == MARKER.encode()
        assert proxy.call("whoami", Req(renewer="")).token.identifier == b"alice"
        client.close()
        captured = relay.captured()
    assert relay.upstream and relay.downstream
    assert (MARKER.encode() in captured) is visible
    assert (PROTOCOL_NAME.encode() in captured) is visible  # the connection context and call headers too


def test_a_corrupted_wrapped_frame_closes_the_connection_with_the_reason():
    with _token_server(Qop.AUTH_INT) as server:
        connection = Connection(server.address_string, PROTOCOL_NAME, _user(), client_id=b"C" * 16,
                                settings=_settings(Qop.AUTH_INT), token=make_token("alice"))
        with connection:
            layer = connection._core._sasl.mechanism
            real_wrap = layer.wrap

            def corrupt(data: bytes) -> bytes:
                wrapped = real_wrap(data)
                return bytes([wrapped[0] ^ 0xFF]) + wrapped[1:]

            layer.wrap = corrupt
            with pytest.raises(RemoteError, match="MAC does not check out"):
                connection.call("echo", PROTOCOL_NAME, 1, Req(renewer="x").SerializeToString())
            assert not connection.usable
