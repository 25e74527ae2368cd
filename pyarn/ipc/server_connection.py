"""The server side of one Hadoop IPC connection, as a sans-IO state machine.

Bytes in (:meth:`ServerConnection.receive_data`), events out; responses in
(:meth:`ServerConnection.send_response`, :meth:`ServerConnection.send_error`),
bytes out (:meth:`ServerConnection.data_to_send`). It checks the preamble, runs
the server side of SASL, reads the connection context and turns calls into
:class:`~pyarn.ipc.events.CallReceived` events (``Server.Connection`` in
Hadoop's ``ipc/Server.java``).

States::

    PREAMBLE --hrpc 9 0 DF--> NEGOTIATING --SASL done--> AWAIT_CONTEXT --context--> READY
    PREAMBLE --hrpc 9 0 00----------------------------->  AWAIT_CONTEXT
    any --bad bytes / FATAL / EOF--> CLOSED

A peer that breaks the protocol gets a FATAL response (when one can be sent)
and the connection ends with a :class:`~pyarn.ipc.events.ConnectionFailed` event.
"""
from __future__ import annotations

import enum
from typing import List, Optional, Tuple

from hadoop_protos.ipc_connection_context_pb2 import IpcConnectionContextProto
from hadoop_protos.protobuf_rpc_engine_pb2 import RequestHeaderProto
from hadoop_protos.rpc_header_pb2 import RpcRequestHeaderProto, RpcResponseHeaderProto, RpcSaslProto

from ..errors import (
    AccessControlError,
    ConnectionClosedError,
    LocalProtocolError,
    PyarnError,
    RemoteError,
    RemoteProtocolError,
)
from ..security.user import User
from .auth import ServerAuth
from .constants import (
    AUTHORIZATION_FAILED_CALL_ID,
    CONNECTION_CONTEXT_CALL_ID,
    DEFAULT_MAX_DATA_LENGTH,
    HTTP_ON_IPC_PORT_RESPONSE,
    INVALID_RETRY_COUNT,
    IPC_VERSION,
    MAGIC,
    PING_CALL_ID,
    PREAMBLE_LENGTH,
    RPC_FINAL_PACKET,
    SASL_CALL_ID,
    AuthMethod,
    AuthProtocol,
    Qop,
)
from .events import CallReceived, ConnectionFailed, ContextReceived, Event, PingReceived
from .framing import FrameReader, FrameTooLargeError, encode_varint, frame, read_delimited
from .headers import (
    SASL_RESPONSE_HEADER,
    error_response_header,
    parse,
    parse_sasl,
    sasl_message,
    success_response_header,
)
from .sasl.negotiation import SaslServerNegotiation
from .wrapping import WrappedChannel

ERROR_APPLICATION = RpcResponseHeaderProto.ERROR_APPLICATION
ERROR_NO_SUCH_METHOD = RpcResponseHeaderProto.ERROR_NO_SUCH_METHOD
ERROR_NO_SUCH_PROTOCOL = RpcResponseHeaderProto.ERROR_NO_SUCH_PROTOCOL
ERROR_RPC_SERVER = RpcResponseHeaderProto.ERROR_RPC_SERVER
FATAL_UNKNOWN = RpcResponseHeaderProto.FATAL_UNKNOWN
FATAL_INVALID_RPC_HEADER = RpcResponseHeaderProto.FATAL_INVALID_RPC_HEADER
FATAL_DESERIALIZING_REQUEST = RpcResponseHeaderProto.FATAL_DESERIALIZING_REQUEST
FATAL_VERSION_MISMATCH = RpcResponseHeaderProto.FATAL_VERSION_MISMATCH
FATAL_UNAUTHORIZED = RpcResponseHeaderProto.FATAL_UNAUTHORIZED

RPC_SERVER_EXCEPTION = "org.apache.hadoop.ipc.RpcServerException"
VERSION_MISMATCH = "org.apache.hadoop.ipc.RPC$VersionMismatch"
IPC_EXCEPTION = "org.apache.hadoop.ipc.IpcException"
IO_EXCEPTION = "java.io.IOException"


class ServerState(enum.Enum):
    PREAMBLE = "preamble"
    NEGOTIATING = "negotiating"
    AWAIT_CONTEXT = "awaiting context"
    READY = "ready"
    CLOSED = "closed"


class _Fatal(Exception):
    """Ends the connection: ``error`` is reported, ``response`` (if any) sent first."""

    def __init__(self, error: PyarnError, response: Optional[bytes] = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.response = response


class ServerConnection:
    """One server connection's protocol state; ``auth`` says which methods it accepts."""

    def __init__(self, auth: ServerAuth, *, max_data_length: int = DEFAULT_MAX_DATA_LENGTH) -> None:
        self.auth = auth
        self.max_data_length = max_data_length
        self.state = ServerState.PREAMBLE
        self._preamble = bytearray()
        self._reader = FrameReader(max_data_length)
        self._out: List[bytes] = []
        self._sasl: Optional[SaslServerNegotiation] = None
        self._wrapped: Optional[WrappedChannel] = None
        self.auth_protocol: Optional[AuthProtocol] = None
        self.auth_method: Optional[AuthMethod] = None
        self.qop = Qop.AUTH
        self.user: Optional[User] = None
        self.protocol: Optional[str] = None
        self.token_identifier: Optional[bytes] = None
        #: The client's Kerberos principal (KERBEROS auth); ``user`` holds its short name.
        self.principal: Optional[str] = None
        self.error: Optional[PyarnError] = None
        # The call id and retry count a FATAL answer echoes: those of the frame at hand.
        self._frame_call_id = AUTHORIZATION_FAILED_CALL_ID
        self._frame_retry_count = INVALID_RETRY_COUNT

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

    def send_response(self, call_id: int, client_id: bytes, retry_count: int, body: bytes) -> None:
        """Queue the SUCCESS response of a call; ``body`` is the serialized response message."""
        self._require_open("send a response")
        self._emit(frame(success_response_header(call_id, client_id, retry_count),
                         encode_varint(len(body)), body))

    def send_error(self, call_id: int, client_id: bytes, retry_count: int, java_class: str, message: str,
                   *, error_code: int = ERROR_APPLICATION) -> None:
        """Queue the ERROR response of a call (the connection stays up)."""
        self._require_open("send an error")
        self._emit(frame(error_response_header(
            call_id, client_id, retry_count, fatal=False, java_class=java_class, message=message,
            error_code=error_code)))

    @property
    def partial_input(self) -> bool:
        """Whether part of a preamble or frame is buffered (the client stopped mid-message)."""
        return bool(self._preamble and self.state is ServerState.PREAMBLE) or bool(self._reader.buffered) or (
            self._wrapped is not None and bool(self._wrapped.buffered))

    def close(self, error: Optional[PyarnError] = None) -> None:
        """Mark the connection over (the transport closed it)."""
        if self.state is not ServerState.CLOSED:
            self.state = ServerState.CLOSED
            self.error = error or ConnectionClosedError("connection closed by the server")
            self._dispose()

    def _require_open(self, action: str) -> None:
        if self.state is ServerState.CLOSED:
            raise LocalProtocolError(f"cannot {action}: the connection is closed")

    def _fatal_response(self, java_class: str, message: str, error_code: int, *,
                        call_id: int = AUTHORIZATION_FAILED_CALL_ID, client_id: bytes = b"",
                        retry_count: int = INVALID_RETRY_COUNT) -> bytes:
        data = frame(error_response_header(
            call_id, client_id, retry_count, fatal=True, java_class=java_class, message=message,
            error_code=error_code))
        return self._wrapped.wrap(data) if self._wrapped is not None else data

    def _protocol_violation(self, message: str, error_code: int = FATAL_INVALID_RPC_HEADER) -> _Fatal:
        """A FATAL RpcServerException answering the frame being processed (its call id echoed)."""
        return _Fatal(RemoteProtocolError(message), self._fatal_response(
            RPC_SERVER_EXCEPTION, message, error_code, call_id=self._frame_call_id,
            retry_count=self._frame_retry_count))

    # ------------------------------------------------------------------- input

    def receive_data(self, data: bytes) -> List[Event]:
        """Feed received bytes; ``b""`` means the client closed the stream."""
        if self.state is ServerState.CLOSED:
            return []
        events: List[Event] = []
        try:
            if not data:
                raise _Fatal(self._end_of_stream())
            if self.state is ServerState.PREAMBLE:
                data = self._on_preamble(data)
            if data:
                self._reader.feed(data)
            while self.state is not ServerState.CLOSED:
                self._forget_frame()
                payload = self._reader.next_frame()
                if payload is None:
                    break
                self._on_outer_frame(payload, events)
        except FrameTooLargeError as exc:
            message = (f"Requested data length {exc.length} is longer than maximum configured RPC length "
                       f"{exc.maximum}")
            events.append(self._fail(_Fatal(exc, self._fatal_response(IO_EXCEPTION, message, FATAL_UNKNOWN))))
        except RemoteProtocolError as exc:
            events.append(self._fail(_Fatal(exc, self._protocol_violation(str(exc)).response)))
        except _Fatal as fatal:
            events.append(self._fail(fatal))
        return events

    def _end_of_stream(self) -> PyarnError:
        if self.state is ServerState.PREAMBLE and self._preamble:
            return RemoteProtocolError("the client closed the connection in the middle of its preamble")
        if self._reader.buffered or (self._wrapped is not None and self._wrapped.buffered):
            return RemoteProtocolError("the client closed the connection in the middle of a frame")
        return ConnectionClosedError("the client closed the connection")

    def _fail(self, fatal: _Fatal) -> ConnectionFailed:
        if fatal.response is not None:
            self._out.append(fatal.response)
        self.state = ServerState.CLOSED
        self.error = fatal.error
        self._dispose()
        return ConnectionFailed(fatal.error)

    def _dispose(self) -> None:
        if self._sasl is not None and self._sasl.mechanism is not None:
            self._sasl.mechanism.dispose()

    def _on_preamble(self, data: bytes) -> bytes:
        need = PREAMBLE_LENGTH - len(self._preamble)
        self._preamble += data[:need]
        rest = data[need:]
        if len(self._preamble) < PREAMBLE_LENGTH:
            return b""
        magic, version, auth = bytes(self._preamble[:4]), self._preamble[4], self._preamble[6]
        if magic == b"GET ":
            raise _Fatal(RemoteProtocolError("HTTP request on an IPC port"), HTTP_ON_IPC_PORT_RESPONSE)
        if magic != MAGIC or version != IPC_VERSION:
            message = f"Server IPC version {IPC_VERSION} cannot communicate with client version {version}"
            detail = message if magic == MAGIC else f"bad connection preamble {bytes(self._preamble)!r}"
            raise _Fatal(RemoteProtocolError(detail),
                         self._fatal_response(VERSION_MISMATCH, message, FATAL_VERSION_MISMATCH))
        if auth == AuthProtocol.NONE:
            if not self.auth.simple_allowed:
                raise self._auth_failure(AccessControlError(
                    "SIMPLE authentication is not enabled.  Available:" + self._methods_text()))
            self.auth_protocol = AuthProtocol.NONE
            self.auth_method = AuthMethod.SIMPLE
            self.state = ServerState.AWAIT_CONTEXT
        elif auth == AuthProtocol.SASL:
            self.auth_protocol = AuthProtocol.SASL
            self._sasl = self.auth.negotiation()
            self.state = ServerState.NEGOTIATING
        else:
            raise self._auth_failure(RemoteError(f"Unknown auth protocol:{auth}", IPC_EXCEPTION))
        return rest

    def _methods_text(self) -> str:
        return "[" + ", ".join(m.name for m in self.auth.methods) + "]"

    def _auth_failure(self, error: RemoteError) -> _Fatal:
        """A FATAL_UNAUTHORIZED answer carrying ``error`` (its call id echoed)."""
        return _Fatal(error, self._fatal_response(error.java_class, error.message, FATAL_UNAUTHORIZED,
                                                  call_id=self._frame_call_id,
                                                  retry_count=self._frame_retry_count))

    def _on_outer_frame(self, payload: bytes, events: List[Event]) -> None:
        if self._wrapped is None:
            self._on_frame(payload, events)
            return
        view = memoryview(payload)
        header, pos = self._header(view)
        if header.callId != SASL_CALL_ID:
            raise self._protocol_violation(f"unwrapped call #{header.callId} on a connection with a "
                                           f"{self.qop.value} security layer")
        message = self._sasl_body(view, pos)
        if message.state != RpcSaslProto.WRAP:
            raise self._protocol_violation("Negotiation is already complete")
        for inner in self._wrapped.unwrap(bytes(message.token)):
            self._on_frame(inner, events)
            if self.state is ServerState.CLOSED:
                return

    def _forget_frame(self) -> None:
        """Answers from now on echo no call id (until the next header is parsed)."""
        self._frame_call_id, self._frame_retry_count = AUTHORIZATION_FAILED_CALL_ID, INVALID_RETRY_COUNT

    def _header(self, view: memoryview) -> Tuple[RpcRequestHeaderProto, int]:
        """Parse the frame's RPC header; later failures echo its call id."""
        self._forget_frame()
        try:
            header_bytes, pos = read_delimited(view, 0)
            header = parse(RpcRequestHeaderProto, header_bytes, "RpcRequestHeaderProto")
        except RemoteProtocolError as exc:
            raise self._protocol_violation(f"Error decoding RpcRequestHeaderProto: {exc}",
                                           FATAL_DESERIALIZING_REQUEST) from None
        self._frame_call_id, self._frame_retry_count = header.callId, header.retryCount
        return header, pos

    def _on_frame(self, payload: bytes, events: List[Event]) -> None:
        view = memoryview(payload)
        header, pos = self._header(view)
        self._check_header(header)
        call_id = header.callId
        if call_id >= 0:
            if self.state is not ServerState.READY:
                raise self._protocol_violation("Connection context not established")
            events.append(self._call(header, view, pos))
        elif call_id == CONNECTION_CONTEXT_CALL_ID:
            events.append(self._context(view, pos))
        elif call_id == SASL_CALL_ID:
            self._on_sasl(view, pos)
        elif call_id == PING_CALL_ID:
            events.append(PingReceived())
        else:
            raise self._protocol_violation(f"Unknown out of band call #{call_id}")

    def _check_header(self, header: RpcRequestHeaderProto) -> None:
        if not header.HasField("rpcOp"):
            raise self._protocol_violation(" IPC Server: No rpc op in rpcRequestHeader")
        if header.rpcOp != RPC_FINAL_PACKET:
            raise self._protocol_violation(
                f"IPC Server does not implement rpc header operation{header.rpcOp}")
        if not header.HasField("rpcKind"):
            raise self._protocol_violation(" IPC Server: No rpc kind in rpcRequestHeader")

    @staticmethod
    def _sasl_body(view: memoryview, pos: int) -> RpcSaslProto:
        body, end = read_delimited(view, pos)
        if end != len(view):
            raise RemoteProtocolError("trailing bytes after a SASL message")
        return parse_sasl(body)

    def _on_sasl(self, view: memoryview, pos: int) -> None:
        if self.auth_protocol is not AuthProtocol.SASL or self._sasl is None:
            raise self._protocol_violation("SASL protocol not requested by client")
        message = self._sasl_body(view, pos)
        if message.state == RpcSaslProto.WRAP:
            raise self._protocol_violation("Server is not wrapping data")
        try:
            reply = self._sasl.receive(message)
            if self._sasl.done:
                self._authenticated()
        except RemoteError as exc:
            raise self._auth_failure(exc) from None
        if reply is not None:
            self._emit(frame(SASL_RESPONSE_HEADER, sasl_message(reply)))
        if self._sasl.done:
            mechanism = self._sasl.mechanism
            if mechanism is not None and self.qop.has_security_layer:
                # Only now: the SUCCESS reply above goes out unwrapped.
                self._wrapped = WrappedChannel(mechanism, SASL_RESPONSE_HEADER, self.max_data_length)
            self.state = ServerState.AWAIT_CONTEXT

    def _authenticated(self) -> None:
        assert self._sasl is not None and self._sasl.auth_method is not None
        self.auth_method = self._sasl.auth_method
        mechanism = self._sasl.mechanism
        if self.auth_method is AuthMethod.SIMPLE:
            self.auth_protocol = AuthProtocol.NONE
        elif mechanism is not None:
            self.qop = mechanism.qop
            if self.auth_method is AuthMethod.TOKEN:
                name, self.token_identifier = self.auth.token_user(mechanism.authorization_id)
                self.user = User(name)
            elif self.auth_method is AuthMethod.KERBEROS:
                self.principal = mechanism.authorization_id
                to_user = getattr(self.auth, "kerberos_user", None)  # duck-typed auths may not map names
                self.user = User(to_user(self.principal) if to_user else self.principal)
            else:
                self.user = User(mechanism.authorization_id)

    def _context(self, view: memoryview, pos: int) -> ContextReceived:
        if self.state is ServerState.NEGOTIATING:
            raise self._protocol_violation("Connection header sent during SASL negotiation")
        if self.state is ServerState.READY:
            raise self._protocol_violation("Connection context already processed")
        body, end = read_delimited(view, pos)
        if end != len(view):
            raise self._protocol_violation("trailing bytes after the connection context",
                                           FATAL_DESERIALIZING_REQUEST)
        try:
            context = parse(IpcConnectionContextProto, body, "IpcConnectionContextProto")
        except RemoteProtocolError as exc:
            raise self._protocol_violation(str(exc), FATAL_DESERIALIZING_REQUEST) from None
        claimed = context.userInfo.effectiveUser if context.userInfo.HasField("effectiveUser") else None
        if self.auth_method is AuthMethod.SIMPLE:
            if not claimed:
                raise self._auth_failure(AccessControlError("no user in the connection context"))
            real = context.userInfo.realUser if context.userInfo.HasField("realUser") else None
            self.user = User(claimed, real_user=real or None)
        else:
            assert self.user is not None
            if claimed and claimed not in (self.user.name, self.principal):
                if self.auth_method is AuthMethod.TOKEN:
                    raise self._auth_failure(AccessControlError(
                        f"Authenticated user ({self.user.name}) doesn't match what the client claims "
                        f"to be ({claimed})"))
                self.user = User(claimed, real_user=self.user.name)
        self.protocol = context.protocol if context.HasField("protocol") else None
        self.state = ServerState.READY
        assert self.auth_method is not None
        return ContextReceived(self.user, self.protocol, self.auth_method, self.token_identifier)

    def _call(self, header: RpcRequestHeaderProto, view: memoryview, pos: int) -> CallReceived:
        try:
            method_bytes, pos = read_delimited(view, pos)
            method = parse(RequestHeaderProto, method_bytes, "RequestHeaderProto")
            if pos == len(view):
                body = view[pos:pos]
            else:
                body, end = read_delimited(view, pos)
                if end != len(view):
                    raise RemoteProtocolError("trailing bytes after the request")
        except RemoteProtocolError as exc:
            raise self._protocol_violation(f"IPC server unable to read call parameters: {exc}",
                                           FATAL_DESERIALIZING_REQUEST) from None
        return CallReceived(header.callId, header.retryCount, bytes(header.clientId), method.methodName,
                            method.declaringClassProtocolName, method.clientProtocolVersion, body)

