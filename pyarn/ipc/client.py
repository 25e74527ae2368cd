"""Blocking IPC client: connections over sockets, a connection cache, and the typed proxy.

* :class:`Connection`: one TCP connection driven by one reader thread; any
  number of threads may call on it at once (responses are matched by call id).
  It pings after ``ipc.ping.interval`` of silence while calls are outstanding
  and closes itself after ``ipc.client.connection.maxidletime`` unused.
* :class:`RpcClient`: owns a client id and a cache of connections keyed by
  (address, protocol, user, auth).
* :class:`RpcProxy`: calls the methods of one :class:`~hadoop_protos.protocol.RpcProtocol`
  at one address, checking request types against the protocol's table.
"""
from __future__ import annotations

import functools
import itertools
import logging
import selectors
import socket
import threading
import time
import uuid
from typing import Callable, Dict, Hashable, Optional, Tuple

from google.protobuf.message import Message

from hadoop_protos.protocol import RpcMethod, RpcProtocol

from ..errors import (
    ConnectFailedError,
    ConnectionClosedError,
    ConnectTimeoutError,
    LocalProtocolError,
    PyarnError,
    RemoteError,
    RemoteProtocolError,
    RpcTimeoutError,
    remote_error,
)
from ..net import Address, AddressLike, format_address, parse_address
from ..security.kerberos import KerberosCredentials
from ..security.tokens import Token
from ..security.user import User
from .auth import KerberosTarget, client_negotiation, select_token
from .client_connection import ClientConnection, ClientState
from .constants import CALL_ID_MASK, AuthMethod, Qop
from .events import CallFailed, CallSucceeded, ConnectionFailed, Established
from .headers import parse
from .settings import IpcSettings

log = logging.getLogger(__name__)

#: ``timeout=DEFAULT_TIMEOUT`` means ``ipc.client.rpc-timeout.ms`` from the settings; ``None``: no limit.
DEFAULT_TIMEOUT = -1.0
_RECV_SIZE = 256 * 1024
#: How long a failed write waits for the reader to learn why the server closed.
_VERDICT_WAIT = 1.0
_call_ids = itertools.count()
#: Token choices an RpcClient remembers before it starts over (they are cheap to make again).
_MAX_TOKEN_CHOICES = 1024
_UNDECIDED = object()


def next_call_id() -> int:
    """A process-wide call id: 0, 1, 2, ... wrapping within 31 bits, as Java does."""
    return next(_call_ids) & CALL_ID_MASK


class _Pending:
    """One call awaiting its response; completed once by the reader thread."""

    __slots__ = ("_lock", "body", "error")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()
        self.body: Optional[memoryview] = None
        self.error: Optional[BaseException] = None

    def succeed(self, body: memoryview) -> None:
        self.body = body
        self._lock.release()

    def fail(self, error: BaseException) -> None:
        self.error = error
        self._lock.release()

    def wait(self, timeout: Optional[float]) -> bool:
        return self._lock.acquire(timeout=-1 if timeout is None else max(timeout, 0.0))


class _NotSent(ConnectFailedError):
    """The call never fully left: the connection was closed, or writing it failed.

    An incomplete frame is never processed by a server, so another connection may serve the call.
    """


class Connection:
    """One IPC connection to ``address`` for ``protocol``, as ``user``.

    Use :meth:`open` (or the context manager) before :meth:`call`. With a
    ``token`` (or Kerberos configured) the connection negotiates SASL,
    otherwise it uses SIMPLE auth. With Kerberos configured
    (``hadoop.security.authentication=kerberos``) the client answers a
    KERBEROS offer with ``kerberos`` (a login) or the ticket cache.
    ``on_close`` is told when the connection ends, whoever ended it.
    """

    def __init__(self, address: AddressLike, protocol: str, user: User, *, client_id: bytes,
                 settings: Optional[IpcSettings] = None, token: Optional[Token] = None,
                 kerberos: Optional[KerberosCredentials] = None,
                 on_close: Optional[Callable[[Connection], None]] = None) -> None:
        self.address = parse_address(address)
        self.protocol = protocol
        self.user = user
        self.settings = settings or IpcSettings()
        self.token = token
        secure = self.settings.security_enabled
        sasl = None
        if token is not None or secure:  # Java tries SASL in the same two cases
            allow_simple = not secure or self.settings.fallback_to_simple_auth_allowed
            target = None
            if secure:
                target = KerberosTarget(protocol, self.address[0], self.settings.principal_conf,
                                        dict(self.settings.principal_keys), kerberos)
            sasl = client_negotiation(token, qops=self.settings.qops, allow_simple=allow_simple,
                                      kerberos=target)
        self._core = ClientConnection(protocol, user, client_id, sasl=sasl,
                                      max_response_length=self.settings.max_response_length)
        self._on_close = on_close
        self._sock: Optional[socket.socket] = None
        self._lock = threading.Lock()  # guards the core and _pending
        self._send_lock = threading.Lock()  # keeps frames whole and in order on the socket
        self._pending: Dict[int, _Pending] = {}
        self._reader: Optional[threading.Thread] = None
        self._closed = False
        self._last_received = self._last_activity = time.monotonic()
        self.auth_method: Optional[AuthMethod] = None
        #: The negotiated quality of protection (once open).
        self.qop = Qop.AUTH

    def __repr__(self) -> str:
        return (f"Connection({format_address(self.address)}, {self.protocol}, user={self.user.name!r}, "
                f"{self._core.state.value})")

    @property
    def name(self) -> str:
        return format_address(self.address)

    @property
    def usable(self) -> bool:
        """Whether new calls can go out on this connection."""
        return not self._closed and self._core.state is ClientState.READY

    # ---------------------------------------------------------------- set-up

    def open(self) -> Connection:
        """Connect, negotiate and send the connection context; then start the reader."""
        if self._sock is not None:
            raise LocalProtocolError("connection already opened")
        timeout = self.settings.connect_timeout
        try:
            sock = socket.create_connection(self.address, timeout=timeout)
        except socket.timeout:  # noqa: UP041 (not an alias of TimeoutError before 3.10)
            raise ConnectTimeoutError(f"connect to {self.name} timed out after {timeout:g} s") from None
        except OSError as exc:
            raise ConnectFailedError(f"cannot connect to {self.name}: {exc.strerror or exc}") from exc
        self._sock = sock
        try:
            if self.settings.tcp_nodelay:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            self._handshake(sock, timeout)
        except BaseException:
            self._core.close()
            self._closed = True
            sock.close()
            raise
        # Sends block at most rpc_timeout; reads only happen once the selector says so.
        sock.settimeout(self.settings.rpc_timeout)
        self._reader = threading.Thread(target=self._read_loop, name=f"pyarn IPC reader {self.name}",
                                        daemon=True)
        self._reader.start()
        return self

    def _handshake(self, sock: socket.socket, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        no_answer = f"no answer to the connection handshake in {timeout:g} s"
        events = self._core.initiate()
        while True:
            data = self._core.data_to_send()
            try:
                sock.sendall(data)
            except OSError as exc:  # the server is gone: what it said, if anything, comes next
                events.extend(self._core.receive_data(_drain(sock)))
                if not any(isinstance(e, ConnectionFailed) for e in events):
                    raise ConnectFailedError(f"{self.name}: connection failed during the handshake: "
                                             f"{exc.strerror or exc}") from exc
            for event in events:
                if isinstance(event, Established):
                    self.auth_method = event.auth_method
                    self.qop = event.qop
                    return
                if isinstance(event, ConnectionFailed):
                    error = event.error
                    if isinstance(error, ConnectionClosedError):
                        raise ConnectFailedError(f"{self.name}: {error}") from error
                    raise error
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ConnectFailedError(f"{self.name}: {no_answer}")
            sock.settimeout(remaining)
            try:
                received = sock.recv(_RECV_SIZE)
            except socket.timeout:  # noqa: UP041 (not an alias of TimeoutError before 3.10)
                raise ConnectFailedError(f"{self.name}: {no_answer}") from None
            except OSError as exc:
                raise ConnectFailedError(f"{self.name}: connection failed during the handshake: {exc}") \
                    from exc
            events = self._core.receive_data(received)

    # ----------------------------------------------------------------- calls

    def call(self, method: str, protocol: str, protocol_version: int, request: bytes, *,
             call_id: Optional[int] = None, retry_count: int = 0,
             timeout: Optional[float] = None) -> memoryview:
        """Send one call and wait for its response body (the serialized response message).

        Raises the :class:`~pyarn.errors.RemoteError` the server sent,
        :class:`~pyarn.errors.RpcTimeoutError` after ``timeout`` seconds, or
        :class:`~pyarn.errors.ConnectionClosedError` if the connection breaks.
        """
        if call_id is None:
            call_id = next_call_id()
        pending = _Pending()
        with self._send_lock:
            with self._lock:
                if not self.usable:
                    if isinstance(self._core.error, (RemoteError, RemoteProtocolError)):  # the peer's answer
                        raise _per_call_error(self._core.error, self.name)
                    raise _NotSent(f"connection to {self.name} is closed")
                self._core.send_call(call_id, method, protocol, protocol_version, request, retry_count)
                self._pending[call_id] = pending
                data = self._core.data_to_send()
                self._last_activity = time.monotonic()
            failure = self._write(data)
        if failure is not None:
            with self._lock:
                self._pending.pop(call_id, None)
            self._raise_write_failure(failure)
        if not pending.wait(timeout):
            with self._lock:
                still_waiting = self._pending.pop(call_id, None) is pending
                if still_waiting:
                    self._core.abandon(call_id)
            if still_waiting:
                raise RpcTimeoutError(
                    f"call {method} #{call_id} to {self.name} got no response in {timeout:g} s")
            pending.wait(None)  # the response raced the timeout and is being delivered
        if pending.error is not None:
            raise pending.error
        assert pending.body is not None
        return pending.body

    def _raise_write_failure(self, failure: ConnectionClosedError) -> None:
        """The call could not be written: say why, preferring the server's own reason.

        A SIMPLE client sends its context and first call without waiting, so a
        server that refuses the connection (FATAL, then close) shows first as a
        failed write; the refusal is still readable and the reader is about to see it.
        """
        reader = self._reader
        if reader is not None and reader is not threading.current_thread():
            reader.join(_VERDICT_WAIT)
        verdict = self._core.error
        if isinstance(verdict, (RemoteError, RemoteProtocolError)):  # what the peer said or sent
            raise _per_call_error(verdict, self.name)
        self._abort(failure)
        raise _NotSent(f"{failure}; the call was not sent") from failure.__cause__

    def _write(self, data: bytes) -> Optional[ConnectionClosedError]:
        """Write under the send lock; returns the error that breaks the connection, if any."""
        assert self._sock is not None
        try:
            self._sock.sendall(data)
        except socket.timeout as exc:  # noqa: UP041 (not an alias of TimeoutError before 3.10)
            error = ConnectionClosedError(f"sending to {self.name} timed out")
            error.__cause__ = exc
            return error
        except OSError as exc:
            error = ConnectionClosedError(f"sending to {self.name} failed: {exc.strerror or exc}")
            error.__cause__ = exc
            return error
        return None

    # ---------------------------------------------------------------- reader

    def _read_loop(self) -> None:
        sock = self._sock
        assert sock is not None
        selector = selectors.DefaultSelector()
        selector.register(sock, selectors.EVENT_READ)
        try:
            while not self._closed:
                if not selector.select(self._quiet_wait()):
                    self._on_quiet()
                    continue
                try:
                    data = sock.recv(_RECV_SIZE)
                except (socket.timeout, BlockingIOError, InterruptedError):  # noqa: UP041
                    continue
                except OSError as exc:
                    if self._closed:
                        return
                    self._abort(ConnectionClosedError(f"connection to {self.name} broke: {exc}"))
                    return
                now = time.monotonic()
                with self._lock:
                    self._last_received = now
                    events = self._core.receive_data(data)
                    self._dispatch(events)
                if self._core.state is ClientState.CLOSED:
                    return
        except BaseException as exc:  # never let a reader die silently with callers waiting
            log.exception("IPC reader for %s failed", self.name)
            self._abort(ConnectionClosedError(f"IPC reader for {self.name} failed: {exc!r}"))
        finally:
            selector.close()
            self._finish()

    def _quiet_wait(self) -> float:
        now = time.monotonic()
        with self._lock:
            busy = self._core.in_flight > 0
        ping_due = self._last_received + self.settings.ping_interval - now
        if busy:
            return max(ping_due, 0.0) if self.settings.ping else self.settings.ping_interval
        idle_due = self._last_activity + self.settings.max_idle_time - now
        return max(min(idle_due, self.settings.ping_interval), 0.0)

    def _on_quiet(self) -> None:
        with self._send_lock:
            with self._lock:
                if self._core.state is not ClientState.READY:
                    return
                now = time.monotonic()
                if self._core.in_flight:
                    if not self.settings.ping or now - self._last_received < self.settings.ping_interval:
                        return
                    self._core.send_ping()
                    self._last_received = now  # next ping after another interval of silence
                    data = self._core.data_to_send()
                elif now - self._last_activity >= self.settings.max_idle_time:
                    log.debug("closing idle IPC connection to %s", self.name)
                    self._core.close(ConnectionClosedError(
                        f"connection to {self.name} closed after being idle"))
                    self._closed = True
                    data = b""
                else:
                    return
            failure = self._write(data) if data else None
        if failure is not None:
            self._abort(failure)
        elif self._closed:
            self._shutdown_socket()

    def _dispatch(self, events) -> None:
        """Complete calls from ``events``; called with ``_lock`` held."""
        for event in events:
            if isinstance(event, CallSucceeded):
                pending = self._pending.pop(event.call_id, None)
                if pending is not None:
                    pending.succeed(event.body)
            elif isinstance(event, CallFailed):
                pending = self._pending.pop(event.call_id, None)
                if pending is not None:
                    pending.fail(event.error)
            elif isinstance(event, ConnectionFailed):
                self._fail_pending(event.error)

    def _fail_pending(self, error: PyarnError) -> None:
        """Fail every waiting call with its own exception; called with ``_lock`` held."""
        self._closed = True
        pending, self._pending = self._pending, {}
        for call in pending.values():
            call.fail(_per_call_error(error, self.name))

    def _abort(self, error: PyarnError) -> None:
        with self._lock:
            self._core.close(error)
            self._fail_pending(error)
        self._shutdown_socket()

    # ----------------------------------------------------------------- close

    def _shutdown_socket(self) -> None:
        sock = self._sock
        if sock is None:
            return
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _finish(self) -> None:
        with self._lock:
            self._closed = True
            if self._core.state is not ClientState.CLOSED:
                self._core.close()
            if self._pending:
                self._fail_pending(
                    self._core.error or ConnectionClosedError(f"connection to {self.name} closed"))
        if self._sock is not None:
            self._sock.close()
        if self._on_close is not None:
            self._on_close(self)

    def close(self) -> None:
        """Close the connection; calls still waiting fail with ConnectionClosedError."""
        if self._sock is None:
            self._closed = True
            return
        self._abort(ConnectionClosedError(f"connection to {self.name} closed by the client"))
        reader = self._reader
        if reader is not None and reader is not threading.current_thread():
            reader.join(timeout=5)

    def __enter__(self) -> Connection:
        if self._sock is None:
            self.open()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _drain(sock: socket.socket) -> bytes:
    """Whatever a closing peer left to read (at most one receive), or ``b""``."""
    try:
        sock.settimeout(0.5)
        return sock.recv(_RECV_SIZE)
    except OSError:
        return b""


def _per_call_error(error: PyarnError, where: str) -> BaseException:
    """A fresh exception for one waiting call out of a connection-wide failure."""
    if isinstance(error, RemoteError):
        return remote_error(error.java_class, error.java_text, error.error_code)
    if isinstance(error, ConnectionClosedError):
        fresh = ConnectionClosedError(str(error))
    else:
        fresh = ConnectionClosedError(f"connection to {where} failed: {error}")
    fresh.__cause__ = error
    return fresh


class RpcClient:
    """Shares connections, a client id and settings among proxies.

    Connections are cached per (address, protocol, user, auth method and
    token) and reused by every thread. Close the client (or use it as a
    context manager) to close them all. ``kerberos``: the Kerberos login
    (:class:`~pyarn.security.kerberos.KerberosCredentials`) used when the
    settings enable Kerberos; ``None`` reads the ticket cache (``KRB5CCNAME``)
    at each new connection.
    """

    def __init__(self, settings: Optional[IpcSettings] = None, *, client_id: Optional[bytes] = None,
                 kerberos: Optional[KerberosCredentials] = None) -> None:
        self.settings = settings or IpcSettings()
        self.client_id = client_id if client_id is not None else uuid.uuid4().bytes
        self.kerberos = kerberos
        self._lock = threading.Lock()
        self._connections: Dict[Hashable, Connection] = {}
        self._opening: Dict[Hashable, threading.Lock] = {}
        self._token_choices: Dict[Hashable, Optional[Token]] = {}
        self._closed = False

    def proxy(self, address: AddressLike, protocol: RpcProtocol, user: Optional[User] = None, *,
              token: Optional[Token] = None) -> RpcProxy:
        """A typed proxy for ``protocol`` at ``address``."""
        return RpcProxy(self, address, protocol, user, token=token)

    def invoke(self, address: AddressLike, protocol: RpcProtocol, method: RpcMethod, request: Message, *,
               user: User, token: Optional[Token] = None, call_id: Optional[int] = None,
               retry_count: int = 0, timeout: Optional[float] = DEFAULT_TIMEOUT) -> Message:
        """Call ``method`` at ``address`` and return the parsed response.

        The building block of :class:`RpcProxy` and the failover proxy.
        ``timeout`` defaults to ``ipc.client.rpc-timeout.ms`` (``None``: wait forever).
        """
        addr = parse_address(address)
        if timeout is not None and timeout < 0:
            timeout = self.settings.rpc_timeout
        if token is None:
            token = self._select_token(user, protocol.name, addr)
        payload = request.SerializeToString()
        if call_id is None:
            call_id = next_call_id()
        for attempt in range(2):
            connection = self._connection(addr, protocol.name, user, token)
            try:
                body = connection.call(method.name, protocol.name, protocol.version, payload,
                                       call_id=call_id, retry_count=retry_count, timeout=timeout)
                break
            except _NotSent:
                if attempt:
                    raise
        return parse(method.response, body, f"{method.name} response")

    def _select_token(self, user: User, protocol: str, address: Address) -> Optional[Token]:
        """:func:`~pyarn.ipc.auth.select_token`, decided once per (user, protocol, address):
        the choice may take a name lookup, which must not happen on every call."""
        key = (user, protocol, address)
        choice = self._token_choices.get(key, _UNDECIDED)
        if choice is _UNDECIDED:
            choice = select_token(user, protocol, address)
            with self._lock:
                if len(self._token_choices) >= _MAX_TOKEN_CHOICES:
                    self._token_choices.clear()
                self._token_choices[key] = choice
        return choice  # type: ignore[return-value]

    def _connection(self, address: Address, protocol: str, user: User, token: Optional[Token]) -> Connection:
        if token is not None:
            auth: Tuple = (AuthMethod.TOKEN, token)
        elif self.settings.security_enabled:
            auth = (AuthMethod.KERBEROS,)
        else:
            auth = (AuthMethod.SIMPLE,)
        key = (address, protocol, user, auth)
        with self._lock:
            if self._closed:
                raise LocalProtocolError("this RpcClient is closed")
            connection = self._connections.get(key)
            if connection is not None and connection.usable:
                return connection
            opening = self._opening.setdefault(key, threading.Lock())
        with opening:
            with self._lock:
                connection = self._connections.get(key)
                if connection is not None and connection.usable:
                    return connection
            connection = Connection(address, protocol, user, client_id=self.client_id, settings=self.settings,
                                    token=token, kerberos=self.kerberos,
                                    on_close=functools.partial(self._forget, key))
            connection.open()
            with self._lock:
                self._connections[key] = connection
                closed = self._closed
            if closed:
                connection.close()
                raise LocalProtocolError("this RpcClient is closed")
            return connection

    def _forget(self, key: Hashable, connection: Connection) -> None:
        with self._lock:
            if self._connections.get(key) is connection:
                del self._connections[key]

    @property
    def connection_count(self) -> int:
        """Open connections in the cache."""
        with self._lock:
            return sum(1 for c in self._connections.values() if c.usable)

    def close(self) -> None:
        """Close every cached connection; the client cannot be used afterwards."""
        with self._lock:
            self._closed = True
            connections = list(self._connections.values())
            self._connections.clear()
        for connection in connections:
            connection.close()

    def __enter__(self) -> RpcClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class RpcProxy:
    """Calls one protocol's methods at one address, as one user (default: the login user,
    :meth:`User.login <pyarn.security.user.User.login>`, with the process's tokens)."""

    def __init__(self, client: RpcClient, address: AddressLike, protocol: RpcProtocol,
                 user: Optional[User] = None, *, token: Optional[Token] = None) -> None:
        self.client = client
        self.address = parse_address(address)
        self.protocol = protocol
        self.user = user if user is not None else User.login()
        self.token = token

    def __repr__(self) -> str:
        return f"RpcProxy({format_address(self.address)}, {self.protocol.name})"

    def method(self, name: str) -> RpcMethod:
        """The table entry of ``name``; :class:`~pyarn.errors.LocalProtocolError` if there is none."""
        method = self.protocol.method(name)
        if method is None:
            raise LocalProtocolError(f"{self.protocol.name} has no method {name!r}")
        return method

    def call(self, method_name: str, request: Message, *,
             timeout: Optional[float] = DEFAULT_TIMEOUT) -> Message:
        """Call ``method_name`` with ``request``; returns the response message.

        ``request`` must be the method's request type (``TypeError`` otherwise).
        """
        method = self.method(method_name)
        check_request(method, request)
        return self.client.invoke(self.address, self.protocol, method, request, user=self.user,
                                  token=self.token, timeout=timeout)


def check_request(method: RpcMethod, request: Message) -> None:
    """``TypeError`` unless ``request`` is an instance of ``method``'s request type."""
    if not isinstance(request, method.request):
        raise TypeError(f"{method.name} takes a {method.request.DESCRIPTOR.full_name}, "
                        f"not {type(request).__name__}")


__all__ = ["DEFAULT_TIMEOUT", "Connection", "RpcClient", "RpcProxy", "check_request", "format_address",
           "next_call_id", "parse_address"]
