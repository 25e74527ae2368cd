"""A threaded Hadoop IPC server, for the mini cluster and ``pyarn-am``.

One acceptor thread, one reader thread per connection, a pool of handler
threads. Register a handler object per :class:`~hadoop_protos.protocol.RpcProtocol`;
its method named like the RPC method (``getClusterMetrics``) is called with
``(request, context)`` and returns the response message. Exceptions become
ERROR responses carrying a Java class name (:func:`pyarn.errors.java_class_of`).
"""
from __future__ import annotations

import concurrent.futures
import logging
import selectors
import socket
import threading
import traceback
from typing import Callable, Dict, List, Optional, Set, Tuple

import attrs
from google.protobuf.message import Message

from hadoop_protos.protocol import RpcMethod, RpcProtocol

from ..errors import (
    LocalProtocolError,
    NoSuchMethodError,
    NoSuchProtocolError,
    PyarnError,
    RemoteError,
    RemoteProtocolError,
    VersionMismatchError,
    java_class_of,
)
from ..security.user import User
from .auth import ServerAuth
from .constants import DEFAULT_MAX_DATA_LENGTH, AuthMethod
from .events import CallReceived, ConnectionFailed, ContextReceived
from .headers import parse
from .server_connection import (
    ERROR_APPLICATION,
    ERROR_NO_SUCH_METHOD,
    ERROR_NO_SUCH_PROTOCOL,
    ERROR_RPC_SERVER,
    ServerConnection,
    ServerState,
)

log = logging.getLogger(__name__)

_RECV_SIZE = 256 * 1024
ERROR_RPC_VERSION_MISMATCH = 6


@attrs.frozen
class CallContext:
    """What a handler knows about the call it serves."""

    user: User
    auth_method: AuthMethod
    protocol: str
    method: str
    call_id: int
    retry_count: int
    client_id: bytes = attrs.field(repr=False)
    remote_address: Tuple[str, int]
    #: The raw token identifier when the client authenticated with a token.
    token_identifier: Optional[bytes] = attrs.field(default=None, repr=False)


class _Connection:
    """One accepted socket: its protocol core, reader thread and write path."""

    def __init__(self, server: IpcServer, sock: socket.socket, peer: Tuple[str, int]) -> None:
        self.server = server
        self.sock = sock
        self.peer = peer
        self.core = ServerConnection(server.auth, max_data_length=server.max_data_length)
        self.lock = threading.Lock()  # guards the core
        self.send_lock = threading.Lock()
        self.calls_in_progress = 0
        self.context: Optional[ContextReceived] = None
        self.closed = False
        self.thread = threading.Thread(target=self.run, name=f"pyarn IPC server reader {peer[0]}:{peer[1]}",
                                       daemon=True)

    def run(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self.sock, selectors.EVENT_READ)
        try:
            while not self.closed:
                if not selector.select(self.server.idle_timeout):
                    if self._quiet_too_long():
                        return
                    continue
                try:
                    data = self.sock.recv(_RECV_SIZE)
                except (socket.timeout, BlockingIOError, InterruptedError):  # noqa: UP041
                    continue
                except OSError as exc:
                    log.debug("connection from %s broke: %s", self.peer, exc)
                    return
                with self.send_lock:  # what the core writes goes out in the order it was produced
                    with self.lock:
                        events = self.core.receive_data(data)
                        out = self.core.data_to_send()
                    if out:
                        self._write_locked(out)
                for event in events:
                    self._on_event(event)
                if self.core.state is ServerState.CLOSED:
                    return
        except BaseException:  # one bad connection must never take the server down
            log.exception("IPC server connection from %s failed", self.peer)
        finally:
            selector.close()
            self.close()

    def _quiet_too_long(self) -> bool:
        with self.lock:
            if self.calls_in_progress:
                return False
            stalled = self.core.partial_input
            self.core.close(RemoteProtocolError(
                "client stalled" + (" in the middle of a message" if stalled else " (idle)")))
        log.debug("closing quiet connection from %s", self.peer)
        return True

    def _on_event(self, event) -> None:
        if isinstance(event, CallReceived):
            with self.lock:
                self.calls_in_progress += 1
            try:
                self.server._submit(self, event)
            except RuntimeError:  # the pool is shut down: the server is stopping
                self.finish_call()
        elif isinstance(event, ContextReceived):
            self.context = event
        elif isinstance(event, ConnectionFailed):
            log.debug("connection from %s ended: %s", self.peer, event.error)

    def finish_call(self) -> None:
        with self.lock:
            self.calls_in_progress -= 1

    def respond(self, produce: Callable[[ServerConnection], None]) -> None:
        """Let ``produce`` queue a response on the core, then write it."""
        with self.send_lock:
            with self.lock:
                if self.core.state is ServerState.CLOSED:
                    return
                try:
                    produce(self.core)
                except LocalProtocolError:
                    return
                out = self.core.data_to_send()
            self._write_locked(out)

    def _write_locked(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError as exc:
            log.debug("writing to %s failed: %s", self.peer, exc)
            self.shutdown()

    def shutdown(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        with self.lock:
            self.core.close()
        self.shutdown()
        self.sock.close()
        self.server._forget(self)


class IpcServer:
    """A Hadoop IPC server on ``host``:``port`` (0 = an ephemeral port).

    ``auth`` chooses the accepted auth methods (default SIMPLE only);
    ``max_data_length`` caps request frames (``ipc.maximum.data.length``);
    ``max_connections`` caps open connections (0 = no cap); a connection
    silent for ``idle_timeout`` seconds with no call in progress is closed,
    and one that cannot take a response within ``send_timeout`` seconds too.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, auth: Optional[ServerAuth] = None,
                 max_data_length: int = DEFAULT_MAX_DATA_LENGTH, max_connections: int = 0,
                 handler_threads: int = 8, idle_timeout: float = 20.0, send_timeout: float = 60.0,
                 name: str = "pyarn IPC server") -> None:
        self.auth = auth or ServerAuth()
        self.max_data_length = max_data_length
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self.send_timeout = send_timeout
        self.name = name
        self._handler_threads = handler_threads
        self._handlers: Dict[str, Tuple[RpcProtocol, object]] = {}
        self._listener = socket.create_server((host, port), backlog=128)
        self._wake_r, self._wake_w = socket.socketpair()
        self._connections: Set[_Connection] = set()
        self._lock = threading.Lock()
        self._pool: Optional[concurrent.futures.ThreadPoolExecutor] = None
        self._acceptor: Optional[threading.Thread] = None
        self._stopping = False

    @property
    def address(self) -> Tuple[str, int]:
        """The bound ``(host, port)``."""
        host, port = self._listener.getsockname()[:2]
        return host, port

    @property
    def address_string(self) -> str:
        host, port = self.address
        return f"{host}:{port}"

    def register(self, protocol: RpcProtocol, handler: object) -> None:
        """Serve ``protocol`` with ``handler``'s methods (named as the RPC methods)."""
        self._handlers[protocol.name] = (protocol, handler)

    def start(self) -> IpcServer:
        if self._acceptor is not None:
            raise LocalProtocolError("server already started")
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=self._handler_threads, thread_name_prefix=f"{self.name} handler")
        self._acceptor = threading.Thread(target=self._accept_loop, name=f"{self.name} acceptor", daemon=True)
        self._acceptor.start()
        return self

    def _accept_loop(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self._listener, selectors.EVENT_READ)
        selector.register(self._wake_r, selectors.EVENT_READ)
        try:
            while not self._stopping:
                for key, _ in selector.select():
                    if key.fileobj is self._wake_r or self._stopping:
                        return
                    try:
                        sock, peer = self._listener.accept()
                    except OSError as exc:
                        log.debug("accept failed: %s", exc)
                        continue
                    self._admit(sock, peer)
        except BaseException:
            log.exception("%s: acceptor failed", self.name)
        finally:
            selector.close()

    def _admit(self, sock: socket.socket, peer) -> None:
        with self._lock:
            full = self.max_connections and len(self._connections) >= self.max_connections
            if not full and not self._stopping:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                # Bounds sendall to a client that stops reading; reads wait on the selector.
                sock.settimeout(self.send_timeout)
                connection = _Connection(self, sock, peer[:2])
                self._connections.add(connection)
            else:
                connection = None
        if connection is None:
            log.warning("%s: refusing connection from %s: %d connections open", self.name, peer,
                        self.max_connections)
            sock.close()
            return
        connection.thread.start()

    def _forget(self, connection: _Connection) -> None:
        with self._lock:
            self._connections.discard(connection)

    @property
    def connection_count(self) -> int:
        with self._lock:
            return len(self._connections)

    # --------------------------------------------------------------- dispatch

    def _submit(self, connection: _Connection, call: CallReceived) -> None:
        assert self._pool is not None
        self._pool.submit(self._serve, connection, call)

    def _serve(self, connection: _Connection, call: CallReceived) -> None:
        try:
            self._dispatch(connection, call)
        except BaseException:
            log.exception("%s: serving %s failed", self.name, call.method)
        finally:
            connection.finish_call()

    def _dispatch(self, connection: _Connection, call: CallReceived) -> None:
        def error(exc: BaseException, code: int = ERROR_APPLICATION) -> None:
            java_class = java_class_of(exc)
            text = exc.java_text if isinstance(exc, RemoteError) else _stringify(exc)
            connection.respond(lambda core: core.send_error(call.call_id, call.client_id, call.retry_count,
                                                            java_class, text, error_code=code))

        context = connection.context
        entry = self._handlers.get(call.protocol)
        if entry is None:
            error(NoSuchProtocolError(f"Unknown protocol: {call.protocol}"), ERROR_NO_SUCH_PROTOCOL)
            return
        protocol, handler = entry
        if call.protocol_version != protocol.version:
            error(VersionMismatchError(
                f"Protocol {protocol.name} version mismatch. (client = {call.protocol_version}, "
                f"server = {protocol.version})"), ERROR_RPC_VERSION_MISMATCH)
            return
        method = protocol.method(call.method)
        function = getattr(handler, call.method, None) if method is not None else None
        if method is None or function is None:
            connection_protocol = (context.protocol if context is not None else None) or call.protocol
            message = f"Unknown method {call.method} called on {connection_protocol} protocol."
            error(NoSuchMethodError(message), ERROR_NO_SUCH_METHOD)
            return
        try:
            request = parse(method.request, call.body, f"{method.name} request")
        except RemoteProtocolError as exc:
            error(RemoteError(str(exc), "java.io.IOException"), ERROR_RPC_SERVER)
            return
        assert context is not None
        ctx = CallContext(user=context.user, auth_method=context.auth_method, protocol=protocol.name,
                          method=method.name, call_id=call.call_id, retry_count=call.retry_count,
                          client_id=call.client_id, remote_address=connection.peer,
                          token_identifier=context.token_identifier)
        try:
            response = function(request, ctx)
            body = _serialize(method, response)
        except Exception as exc:
            if not isinstance(exc, (PyarnError, OSError)):
                log.warning("%s: handler %s raised %r", self.name, method.name, exc)
            error(exc)
            return
        connection.respond(
            lambda core: core.send_response(call.call_id, call.client_id, call.retry_count, body))

    # ------------------------------------------------------------------ stop

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, close every connection, wait for handlers to finish."""
        if self._stopping:
            return
        self._stopping = True
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass
        if self._acceptor is not None:
            self._acceptor.join(timeout)
        self._listener.close()
        with self._lock:
            connections: List[_Connection] = list(self._connections)
        for connection in connections:
            connection.shutdown()
        for connection in connections:
            if connection.thread.is_alive() and connection.thread is not threading.current_thread():
                connection.thread.join(timeout)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._wake_r.close()
        self._wake_w.close()

    def __enter__(self) -> IpcServer:
        if self._acceptor is None:
            self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def _serialize(method: RpcMethod, response: Message) -> bytes:
    if not isinstance(response, method.response):
        raise TypeError(f"handler for {method.name} returned {type(response).__name__}, "
                        f"not {method.response.DESCRIPTOR.full_name}")
    return response.SerializeToString()


def _stringify(exc: BaseException) -> str:
    """Like Java's ``StringUtils.stringifyException``: message first, then the trace."""
    message = str(exc) or type(exc).__name__
    trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return f"{message}\n{trace}"
