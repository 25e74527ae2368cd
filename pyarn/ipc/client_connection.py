"""The client side of one Hadoop IPC connection, as a sans-IO state machine.

Bytes in (:meth:`ClientConnection.receive_data`), events out; calls in
(:meth:`ClientConnection.send_call`), bytes out (:meth:`ClientConnection.data_to_send`).
No sockets, no threads, no clocks: the transport owns those and serialises
access.

States::

    IDLE --initiate()--> NEGOTIATING --SASL SUCCESS--> READY --error/EOF/close--> CLOSED
    IDLE --initiate() (no SASL)-----------------------> READY
"""
from __future__ import annotations

import enum
from typing import Dict, List, Optional, Set

from hadoop_protos.rpc_header_pb2 import RpcResponseHeaderProto, RpcSaslProto

from ..errors import (
    ConnectionClosedError,
    LocalProtocolError,
    PyarnError,
    RemoteProtocolError,
    remote_error,
)
from ..security.user import User
from .constants import (
    CLIENT_ID_LENGTH,
    DEFAULT_MAX_DATA_LENGTH,
    SASL_CALL_ID,
    AuthMethod,
    AuthProtocol,
    Qop,
    preamble,
)
from .events import CallFailed, CallSucceeded, ConnectionFailed, Established, Event
from .framing import FrameReader, encode_varint, frame, read_delimited
from .headers import (
    ERROR,
    FATAL,
    SASL_REQUEST_HEADER,
    SUCCESS,
    connection_context,
    context_header,
    method_header,
    parse_response_header,
    parse_sasl,
    ping_header,
    request_header,
    sasl_message,
    signed_call_id,
)
from .sasl.negotiation import SaslClientNegotiation, state_name
from .wrapping import WrappedChannel

_EMPTY = memoryview(b"")


class ClientState(enum.Enum):
    IDLE = "idle"
    NEGOTIATING = "negotiating"
    READY = "ready"
    CLOSED = "closed"


class ClientConnection:
    """One client connection's protocol state.

    ``protocol`` is the connection's default protocol name (sent in the
    context); ``sasl`` is the SASL negotiation to run, or ``None`` for the
    plain SIMPLE preamble.
    """

    def __init__(self, protocol: str, user: User, client_id: bytes, *,
                 sasl: Optional[SaslClientNegotiation] = None,
                 max_response_length: int = DEFAULT_MAX_DATA_LENGTH) -> None:
        if len(client_id) != CLIENT_ID_LENGTH:
            raise LocalProtocolError(f"client id must be {CLIENT_ID_LENGTH} bytes, not {len(client_id)}")
        self.protocol = protocol
        self.user = user
        self.client_id = client_id
        self._sasl = sasl
        self._reader = FrameReader(max_response_length)
        self._max_response_length = max_response_length
        self._out: List[bytes] = []
        self._wrapped: Optional[WrappedChannel] = None
        self._in_flight: Dict[int, int] = {}  # call id -> retry count
        self._abandoned: Set[int] = set()
        self._frames_received = 0
        self.state = ClientState.IDLE
        self.auth_method: Optional[AuthMethod] = None
        self.qop = Qop.AUTH
        self.error: Optional[PyarnError] = None
        self._ping_frame = frame(ping_header(client_id))

    # ------------------------------------------------------------------ output

    def data_to_send(self) -> bytes:
        """Bytes produced so far that the transport must write, in order."""
        if not self._out:
            return b""
        data = b"".join(self._out) if len(self._out) > 1 else self._out[0]
        self._out.clear()
        return data

    def _emit(self, data: bytes) -> None:
        self._out.append(self._wrapped.wrap(data) if self._wrapped is not None else data)

    def initiate(self) -> List[Event]:
        """Start the connection: preamble, then NEGOTIATE or the connection context."""
        self._require(ClientState.IDLE, "initiate")
        if self._sasl is None:
            self._out.append(preamble(AuthProtocol.NONE))
            return [self._establish(AuthMethod.SIMPLE)]
        self._out.append(preamble(AuthProtocol.SASL))
        self._out.append(frame(SASL_REQUEST_HEADER, sasl_message(self._sasl.start())))
        self.state = ClientState.NEGOTIATING
        return []

    def send_call(self, call_id: int, method: str, protocol: str, protocol_version: int,
                  request: bytes, retry_count: int = 0) -> None:
        """Queue one call; its response comes back as an event with ``call_id``."""
        self._require(ClientState.READY, "send a call")
        if call_id < 0:
            raise LocalProtocolError(f"call ids of ordinary calls are not negative: {call_id}")
        if call_id in self._in_flight:
            raise LocalProtocolError(f"call id {call_id} is already in flight on this connection")
        body = frame(
            request_header(call_id, self.client_id, retry_count),
            method_header(method, protocol, protocol_version),
            encode_varint(len(request)), request,
        )
        self._abandoned.discard(call_id)
        self._in_flight[call_id] = retry_count
        self._emit(body)

    def send_ping(self) -> None:
        """Queue a ping frame (the server does not answer it)."""
        self._require(ClientState.READY, "ping")
        self._emit(self._ping_frame)

    def abandon(self, call_id: int) -> None:
        """Forget a call (e.g. it timed out); a late response to it is dropped."""
        if self._in_flight.pop(call_id, None) is not None:
            self._abandoned.add(call_id)

    @property
    def in_flight(self) -> int:
        """Number of calls awaiting a response."""
        return len(self._in_flight)

    def close(self, error: Optional[PyarnError] = None) -> None:
        """Mark the connection over (the transport closed it)."""
        if self.state is not ClientState.CLOSED:
            self.state = ClientState.CLOSED
            self.error = error or ConnectionClosedError("connection closed by the client")
            self._dispose()

    def _require(self, state: ClientState, action: str) -> None:
        if self.state is not state:
            raise LocalProtocolError(f"cannot {action} in state {self.state.value}")

    # ------------------------------------------------------------------- input

    def receive_data(self, data: bytes) -> List[Event]:
        """Feed received bytes; ``b""`` means the peer closed the stream.

        Returns the events the bytes complete. A broken connection ends with a
        :class:`~pyarn.ipc.events.ConnectionFailed` event and state CLOSED;
        bytes received after that are ignored.
        """
        if self.state is ClientState.CLOSED:
            return []
        if self.state is ClientState.IDLE:
            raise LocalProtocolError("receive_data before initiate")
        events: List[Event] = []
        try:
            if not data:
                raise self._end_of_stream()
            self._reader.feed(data)
            while self.state is not ClientState.CLOSED:
                payload = self._next_frame()
                if payload is None:
                    break
                self._frames_received += 1
                self._on_frame(payload, events)
        except PyarnError as exc:
            events.append(self._fail(exc))
        return events

    def _next_frame(self) -> Optional[bytes]:
        if self._frames_received == 0 and self._reader.peek_length() == -1:
            raise RemoteProtocolError("the server speaks an IPC version older than 9")
        return self._reader.next_frame()

    def _end_of_stream(self) -> PyarnError:
        where = ""
        if self._reader.buffered or (self._wrapped is not None and self._wrapped.buffered):
            where = " in the middle of a frame"
        pending = f" with {len(self._in_flight)} call(s) in flight" if self._in_flight else ""
        during = " during SASL negotiation" if self.state is ClientState.NEGOTIATING else ""
        return ConnectionClosedError(f"the server closed the connection{where}{during}{pending}")

    def _fail(self, error: PyarnError) -> ConnectionFailed:
        self.state = ClientState.CLOSED
        self.error = error
        self._dispose()
        return ConnectionFailed(error)

    def _dispose(self) -> None:
        if self._sasl is not None and self._sasl.mechanism is not None:
            self._sasl.mechanism.dispose()

    def _on_frame(self, payload: bytes, events: List[Event]) -> None:
        view = memoryview(payload)
        header_bytes, pos = read_delimited(view, 0)
        header = parse_response_header(header_bytes)
        call_id = signed_call_id(header.callId)
        if self._wrapped is not None:
            self._on_wrapped(header, call_id, view, pos, events)
            return
        status = header.status
        if status == FATAL:
            raise remote_error(header.exceptionClassName, header.errorMsg, header.errorDetail or None)
        if call_id == SASL_CALL_ID:
            self._on_sasl(header, view, pos, events)
        elif call_id >= 0:
            self._on_response(header, call_id, view, pos, events)
        else:
            raise RemoteProtocolError(f"response with unknown out-of-band call id {call_id}")

    def _on_wrapped(self, header: RpcResponseHeaderProto, call_id: int, view: memoryview, pos: int,
                    events: List[Event]) -> None:
        if call_id != SASL_CALL_ID or header.status != SUCCESS:
            if header.status == FATAL:
                raise remote_error(header.exceptionClassName, header.errorMsg, header.errorDetail or None)
            raise RemoteProtocolError(f"unwrapped frame (call id {call_id}) on a wrapped connection")
        message = self._sasl_body(view, pos)
        if message.state != RpcSaslProto.WRAP:
            raise RemoteProtocolError(f"SASL {state_name(message.state)} on a wrapped connection")
        assert self._wrapped is not None
        for inner in self._wrapped.unwrap(bytes(message.token)):
            inner_view = memoryview(inner)
            inner_header_bytes, inner_pos = read_delimited(inner_view, 0)
            inner_header = parse_response_header(inner_header_bytes)
            inner_id = signed_call_id(inner_header.callId)
            if inner_header.status == FATAL:
                raise remote_error(inner_header.exceptionClassName, inner_header.errorMsg,
                                   inner_header.errorDetail or None)
            if inner_id < 0:
                raise RemoteProtocolError(f"wrapped response with out-of-band call id {inner_id}")
            self._on_response(inner_header, inner_id, inner_view, inner_pos, events)

    @staticmethod
    def _sasl_body(view: memoryview, pos: int) -> RpcSaslProto:
        body, end = read_delimited(view, pos)
        if end != len(view):
            raise RemoteProtocolError("trailing bytes after a SASL message")
        return parse_sasl(body)

    def _on_sasl(self, header: RpcResponseHeaderProto, view: memoryview, pos: int,
                 events: List[Event]) -> None:
        if self.state is not ClientState.NEGOTIATING or self._sasl is None:
            raise RemoteProtocolError("SASL message from the server outside a negotiation")
        if header.status == ERROR:
            raise remote_error(header.exceptionClassName, header.errorMsg, header.errorDetail or None)
        reply = self._sasl.receive(self._sasl_body(view, pos))
        if reply is not None:
            self._out.append(frame(SASL_REQUEST_HEADER, sasl_message(reply)))
        if self._sasl.done:
            assert self._sasl.auth_method is not None
            mechanism = self._sasl.mechanism
            if mechanism is not None and mechanism.qop.has_security_layer:
                self._wrapped = WrappedChannel(mechanism, SASL_REQUEST_HEADER, self._max_response_length)
            events.append(self._establish(self._sasl.auth_method))

    def _establish(self, auth_method: AuthMethod) -> Established:
        self.auth_method = auth_method
        self.qop = self._sasl.qop if self._sasl is not None else Qop.AUTH
        if auth_method is AuthMethod.TOKEN:
            context = connection_context(self.protocol, None)
        elif auth_method is AuthMethod.KERBEROS:
            # Java sends the UGI's user name: the full principal for a Kerberos login, the
            # impersonated user for a proxy user (whose real user is the principal).
            principal = self._sasl.mechanism.principal if self._sasl and self._sasl.mechanism else None
            name = self.user.name if self.user.real_user or not principal else principal
            context = connection_context(self.protocol, name)
        else:
            context = connection_context(self.protocol, self.user.name, self.user.real_user)
        self._emit(frame(context_header(self.client_id), context))
        self.state = ClientState.READY
        return Established(auth_method, self.qop)

    def _on_response(self, header: RpcResponseHeaderProto, call_id: int, view: memoryview, pos: int,
                     events: List[Event]) -> None:
        if self.state is not ClientState.READY:
            raise RemoteProtocolError(f"response to call {call_id} before the connection was established")
        retry_count = self._in_flight.pop(call_id, None)
        if retry_count is None:
            if call_id in self._abandoned:
                self._abandoned.discard(call_id)
                return
            raise RemoteProtocolError(f"response for call id {call_id}, which was never sent")
        if header.clientId and header.clientId != self.client_id:
            raise RemoteProtocolError("response carries another client's id")
        if header.status == SUCCESS:
            if pos == len(view):
                body = _EMPTY
            else:
                body, end = read_delimited(view, pos)
                if end != len(view):
                    raise RemoteProtocolError("RPC response length mismatch")
            events.append(CallSucceeded(call_id, retry_count, body))
        else:
            if pos != len(view):
                raise RemoteProtocolError("RPC response length mismatch")
            events.append(CallFailed(call_id, retry_count, remote_error(
                header.exceptionClassName, header.errorMsg, header.errorDetail or None)))

