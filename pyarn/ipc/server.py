"""A threaded Hadoop IPC server, for the mini cluster and ``pyarn-am``.

One acceptor thread, one reader thread per connection, handler threads fed by
a bounded call queue, and one responder thread that finishes the writes a
slow client could not take at once (the shape of Hadoop's ``ipc.Server``).
Register a handler object per :class:`~hadoop_protos.protocol.RpcProtocol`;
its method named like the RPC method (``getClusterMetrics``) is called with
``(request, context)`` and returns the response message. Exceptions become
ERROR responses carrying a Java class name (:func:`pyarn.errors.java_class_of`).
"""
from __future__ import annotations

import collections
import logging
import selectors
import socket
import threading
import time
import traceback
from typing import Callable, Deque, Dict, List, Optional, Set, Tuple

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
#: ``ipc.server.handler.queue.size``: call queue slots per handler thread.
DEFAULT_QUEUE_SIZE_PER_HANDLER = 100
#: Calls one connection may have queued or in progress before the server stops reading it.
DEFAULT_MAX_CALLS_PER_CONNECTION = 100
#: Bytes of unread responses one connection may hold before the server stops reading it.
DEFAULT_RESPONSE_BUFFER_LIMIT = 4 * 1024 * 1024
#: How long a closing connection may take to write what is left (a FATAL answer).
_LINGER = 2.0


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


class _CallQueue:
    """The server's call queue, bounded as Hadoop's (``ipc.server.handler.queue.size`` per handler).

    A connection's reader that finds it full waits, and so stops reading from its socket:
    the client's calls stay in TCP buffers, not in the server's memory.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: Deque[Tuple[_Connection, CallReceived]] = collections.deque()
        self._lock = threading.Lock()
        self._not_empty = threading.Condition(self._lock)
        self._not_full = threading.Condition(self._lock)
        self._closed = False

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def put(self, connection: _Connection, call: CallReceived) -> bool:
        """Queue ``call``, waiting for room; False when the queue or the connection closed first."""
        with self._lock:
            while len(self._items) >= self.capacity and not self._closed and not connection.closed:
                self._not_full.wait()
            if self._closed or connection.closed:
                return False
            self._items.append((connection, call))
            self._not_empty.notify()
            return True

    def get(self) -> Optional[Tuple[_Connection, CallReceived]]:
        """The oldest call, waiting for one; None once the queue is closed."""
        with self._lock:
            while not self._items and not self._closed:
                self._not_empty.wait()
            if self._closed:
                return None
            item = self._items.popleft()
            self._not_full.notify()
            return item

    def wake(self) -> None:
        """Let waiting writers look again (a connection of theirs closed)."""
        with self._lock:
            self._not_full.notify_all()

    def close(self) -> None:
        """Drop what is queued and release every waiter."""
        with self._lock:
            self._closed = True
            self._items.clear()
            self._not_full.notify_all()
            self._not_empty.notify_all()


class _Connection:
    """One accepted socket: its protocol core, reader thread and outgoing buffer.

    The socket is non-blocking. Whoever produces bytes (the reader for SASL and FATAL
    answers, a handler for a response) appends them to the outgoing buffer and writes what
    the socket takes at once; the server's responder thread writes the rest when the socket
    is ready, and gives up on a client that takes nothing for ``send_timeout``. So no thread
    ever blocks on a client that does not read.

    The reader takes no new call (and reads nothing more) while the connection has
    ``max_calls_per_connection`` calls in progress, while more than ``response_buffer_limit``
    bytes of its responses wait to go out, or while the server's call queue is full. Its
    unread responses are so bounded by ``response_buffer_limit`` plus the responses of the
    calls in progress.
    """

    def __init__(self, server: IpcServer, sock: socket.socket, peer: Tuple[str, int]) -> None:
        self.server = server
        self.sock = sock
        self.peer = peer
        self.core = ServerConnection(server.auth, max_data_length=server.max_data_length)
        self.lock = threading.Lock()  # guards the core, the outgoing buffer and the counters
        self.changed = threading.Condition(self.lock)  # a call finished, output drained, or closing
        self.calls_in_progress = 0
        self.out: Deque[memoryview] = collections.deque()
        self.out_bytes = 0
        #: When the outgoing buffer last shrank (or stopped being empty).
        self.last_progress = time.monotonic()
        self.context: Optional[ContextReceived] = None
        self.closed = False
        self._released = False
        self.thread = threading.Thread(target=self.run, name=f"pyarn IPC server reader {peer[0]}:{peer[1]}",
                                       daemon=True)

    # ----------------------------------------------------------------- reading

    def run(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self.sock, selectors.EVENT_READ)
        try:
            while not self.closed:
                if not self._wait_for_room():
                    return
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
                with self.lock:
                    events = self.core.receive_data(data)
                    self._send_locked(self.core.data_to_send())
                for event in events:
                    if not self._on_event(event):
                        return
                if self.core.state is ServerState.CLOSED:
                    return
        except BaseException:  # one bad connection must never take the server down
            log.exception("IPC server connection from %s failed", self.peer)
        finally:
            selector.close()
            self.close()

    def _wait_for_room(self) -> bool:
        """Wait until the client has taken enough of its responses; False once closed."""
        limit = self.server.response_buffer_limit
        with self.lock:
            while self.out_bytes > limit and not self.closed:
                self.changed.wait()
            return not self.closed

    def _quiet_too_long(self) -> bool:
        with self.lock:
            if self.calls_in_progress or self.out:
                return False
            stalled = self.core.partial_input
            self.core.close(RemoteProtocolError(
                "client stalled" + (" in the middle of a message" if stalled else " (idle)")))
        log.debug("closing quiet connection from %s", self.peer)
        return True

    def _on_event(self, event) -> bool:
        """Handle one event from the core; False when the connection is to end."""
        if isinstance(event, CallReceived):
            calls, buffered = self.server.max_calls_per_connection, self.server.response_buffer_limit
            with self.lock:
                while (self.calls_in_progress >= calls or self.out_bytes > buffered) and not self.closed:
                    self.changed.wait()
                if self.closed:
                    return False
                self.calls_in_progress += 1
            if not self.server._queue.put(self, event):  # the server is stopping, or we closed
                self.finish_call()
                return False
        elif isinstance(event, ContextReceived):
            self.context = event
        elif isinstance(event, ConnectionFailed):
            log.debug("connection from %s ended: %s", self.peer, event.error)
        return True

    def finish_call(self) -> None:
        with self.lock:
            self.calls_in_progress -= 1
            self.changed.notify_all()

    # ----------------------------------------------------------------- writing

    def respond(self, produce: Callable[[ServerConnection], None]) -> None:
        """Let ``produce`` queue a response on the core, then send it (never blocking)."""
        with self.lock:
            if self.closed or self.core.state is ServerState.CLOSED:
                return
            try:
                produce(self.core)
            except LocalProtocolError:
                return
            self._send_locked(self.core.data_to_send())

    def _send_locked(self, data: bytes) -> None:
        """Append ``data`` to the outgoing buffer and write what the socket takes now."""
        if not data or self.closed:
            return
        idle = not self.out
        self.out.append(memoryview(data))
        self.out_bytes += len(data)
        if idle:
            self.last_progress = time.monotonic()
            self._flush_locked()
            if self.out:
                self.server._responder.watch(self)

    def _flush_locked(self) -> None:
        """Write from the outgoing buffer until it is empty or the socket is full."""
        out = self.out
        while out:
            chunk = out[0]
            try:
                sent = self.sock.send(chunk)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.debug("writing to %s failed: %s", self.peer, exc)
                self._abort_locked()
                return
            self.out_bytes -= sent
            self.last_progress = time.monotonic()
            if sent < len(chunk):
                out[0] = chunk[sent:]
                self.changed.notify_all()
                return
            out.popleft()
        self.changed.notify_all()

    def flush(self) -> bool:
        """The responder's write; True while bytes remain to be written."""
        with self.lock:
            if self.closed:
                return False
            self._flush_locked()
            return bool(self.out)

    # ----------------------------------------------------------------- closing

    def abort(self, reason: Optional[str] = None) -> None:
        """End the connection from another thread (its reader cleans up)."""
        if reason is not None:
            log.info("%s: closing the connection from %s:%s: %s", self.server.name, self.peer[0],
                     self.peer[1], reason)
        with self.lock:
            self._abort_locked()

    def _abort_locked(self) -> None:
        if not self.closed:
            self.closed = True
            self.core.close()
            self.out.clear()
            self.out_bytes = 0
            self.changed.notify_all()
        self.server._queue.wake()
        self.shutdown()

    def shutdown(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def close(self) -> None:
        """Called by the reader thread as it ends: write what is left (a FATAL answer, say)
        within a short time, then release the socket."""
        with self.lock:
            if self._released:
                return
            self._released = True
            left = b"".join(self.out) if not self.closed else b""
            self.closed = True
            self.core.close()
            self.out.clear()
            self.out_bytes = 0
            self.changed.notify_all()
        self.server._queue.wake()
        self.server._responder.forget(self)
        if left:
            try:
                self.sock.settimeout(min(self.server.send_timeout, _LINGER))
                self.sock.sendall(left)
            except OSError:
                pass
        self.shutdown()
        self.sock.close()
        self.server._forget(self)


class _Responder:
    """Writes the responses the handlers could not write at once, and drops clients that take
    nothing for ``send_timeout`` seconds (Hadoop's ``Server.Responder``)."""

    def __init__(self, server: IpcServer) -> None:
        self.server = server
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._lock = threading.Lock()
        self._adds: Set[_Connection] = set()
        self._removes: Set[_Connection] = set()
        self._watched: Set[_Connection] = set()
        self._stopping = False
        self.thread = threading.Thread(target=self._run, name=f"{server.name} responder", daemon=True)

    def watch(self, connection: _Connection) -> None:
        """Have ``connection``'s outgoing buffer written when its socket is ready."""
        with self._lock:
            self._removes.discard(connection)
            self._adds.add(connection)
        self._wake()

    def forget(self, connection: _Connection) -> None:
        """``connection`` is closing: stop watching it (before its socket is closed)."""
        with self._lock:
            self._adds.discard(connection)
            self._removes.add(connection)
        self._wake()

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"x")
        except OSError:  # a full wake pipe already wakes the thread; a closed one: stopping
            pass

    def _run(self) -> None:
        try:
            while not self._stopping:
                for key, _ in self._selector.select(self._tick()):
                    if key.fileobj is self._wake_r:
                        self._drain_wake()
                        continue
                    connection = key.data
                    if not connection.flush():
                        self._unwatch(connection)
                self._apply_changes()
                self._drop_stalled()
        except BaseException:
            log.exception("%s: responder failed", self.server.name)
        finally:
            self._selector.close()

    def _tick(self) -> float:
        return max(min(self.server.send_timeout / 4.0, 1.0), 0.01)

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except OSError:
            pass

    def _apply_changes(self) -> None:
        with self._lock:
            adds, self._adds = self._adds, set()
            removes, self._removes = self._removes, set()
        for connection in removes:
            self._unwatch(connection)
        for connection in adds:
            if connection.closed or connection in self._watched:
                continue
            try:
                self._selector.register(connection.sock, selectors.EVENT_WRITE, connection)
            except (KeyError, ValueError, OSError):  # closed meanwhile (its fd may be reused)
                continue
            self._watched.add(connection)

    def _unwatch(self, connection: _Connection) -> None:
        if connection in self._watched:
            self._watched.discard(connection)
            try:
                self._selector.unregister(connection.sock)
            except (KeyError, ValueError, OSError):
                pass

    def _drop_stalled(self) -> None:
        limit = self.server.send_timeout
        now = time.monotonic()
        for connection in list(self._watched):
            if connection.closed:
                self._unwatch(connection)
            elif connection.out and now - connection.last_progress > limit:
                self._unwatch(connection)
                connection.abort(f"the client read nothing for {limit:g} s")

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float) -> None:
        self._stopping = True
        self._wake()
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(timeout)
        self._wake_r.close()
        self._wake_w.close()


class IpcServer:
    """A Hadoop IPC server on ``host``:``port`` (0 = an ephemeral port).

    ``auth`` chooses the accepted auth methods (default SIMPLE only);
    ``max_data_length`` caps request frames (``ipc.maximum.data.length``);
    ``max_connections`` caps open connections (0 = no cap); a connection
    silent for ``idle_timeout`` seconds with no call in progress is closed,
    and one that takes none of its responses for ``send_timeout`` seconds too.

    Memory stays bounded whatever the clients do: ``handler_threads`` threads serve
    a call queue of ``queue_size_per_handler`` calls per handler
    (``ipc.server.handler.queue.size``, 100); a connection has at most
    ``max_calls_per_connection`` calls queued or in progress, and is not read
    while that many are, while the queue is full, or while more than
    ``response_buffer_limit`` bytes of its responses wait for the client to read
    them. Responses are written without blocking (see :class:`_Connection`).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, auth: Optional[ServerAuth] = None,
                 max_data_length: int = DEFAULT_MAX_DATA_LENGTH, max_connections: int = 0,
                 handler_threads: int = 8, idle_timeout: float = 20.0, send_timeout: float = 60.0,
                 queue_size_per_handler: int = DEFAULT_QUEUE_SIZE_PER_HANDLER,
                 max_calls_per_connection: int = DEFAULT_MAX_CALLS_PER_CONNECTION,
                 response_buffer_limit: int = DEFAULT_RESPONSE_BUFFER_LIMIT,
                 name: str = "pyarn IPC server") -> None:
        for what, value in (("handler_threads", handler_threads),
                            ("queue_size_per_handler", queue_size_per_handler),
                            ("max_calls_per_connection", max_calls_per_connection)):
            if value < 1:
                raise ValueError(f"IpcServer: {what} must be at least 1, got {value}")
        self.auth = auth or ServerAuth()
        self.max_data_length = max_data_length
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self.send_timeout = send_timeout
        self.max_calls_per_connection = max_calls_per_connection
        self.response_buffer_limit = response_buffer_limit
        self.name = name
        self._handler_threads = handler_threads
        self._handlers: Dict[str, Tuple[RpcProtocol, object]] = {}
        self._listener = socket.create_server((host, port), backlog=128)
        self._wake_r, self._wake_w = socket.socketpair()
        self._connections: Set[_Connection] = set()
        self._lock = threading.Lock()
        self._queue = _CallQueue(handler_threads * queue_size_per_handler)
        self._responder = _Responder(self)
        self._workers: List[threading.Thread] = []
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
        self._responder.start()
        self._workers = [threading.Thread(target=self._work, name=f"{self.name} handler {i}", daemon=True)
                         for i in range(self._handler_threads)]
        for worker in self._workers:
            worker.start()
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
                sock.setblocking(False)  # nobody waits on a client: see _Connection
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

    @property
    def queued_calls(self) -> int:
        """Calls waiting in the call queue for a handler."""
        return len(self._queue)

    @property
    def calls_in_progress(self) -> int:
        """Calls read and not yet answered (queued or being handled), over all connections."""
        with self._lock:
            connections = list(self._connections)
        return sum(c.calls_in_progress for c in connections)

    @property
    def buffered_response_bytes(self) -> int:
        """Bytes of responses waiting for their clients to read them."""
        with self._lock:
            connections = list(self._connections)
        return sum(c.out_bytes for c in connections)

    # --------------------------------------------------------------- dispatch

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            self._serve(*item)

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
            connection.abort()  # wakes a reader that waits for room, too
        self._queue.close()  # calls not yet handled are dropped; their connections are closing
        for connection in connections:
            if connection.thread.is_alive() and connection.thread is not threading.current_thread():
                connection.thread.join(timeout)
        for worker in self._workers:  # let calls being handled finish
            if worker is not threading.current_thread():
                worker.join(timeout)
        self._responder.stop(timeout)
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
