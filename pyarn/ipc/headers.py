"""Encoding and decoding the RPC headers that start every frame (PROTOCOL-FACTS §1.3-1.8).

The request header of an ordinary call and the response header of a
successful call are written by hand: their layout is fixed and these are the
hottest encodings of the layer. Tests check them byte for byte against the
protobuf classes.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Optional, Type, TypeVar, cast

from google.protobuf.message import DecodeError, Message

from hadoop_protos.ipc_connection_context_pb2 import IpcConnectionContextProto, UserInformationProto
from hadoop_protos.protobuf_rpc_engine_pb2 import RequestHeaderProto
from hadoop_protos.rpc_header_pb2 import RpcResponseHeaderProto, RpcSaslProto

from ..errors import RemoteProtocolError
from .constants import (
    CONNECTION_CONTEXT_CALL_ID,
    INVALID_RETRY_COUNT,
    IPC_VERSION,
    PING_CALL_ID,
    SASL_CALL_ID,
)
from .framing import Buffer, delimited, encode_varint, zigzag32

# rpcKind = RPC_PROTOCOL_BUFFER (field 1), rpcOp = RPC_FINAL_PACKET (field 2), then the callId tag.
_REQUEST_PREFIX = b"\x08\x02\x10\x00\x18"
_CLIENT_ID_TAG = b"\x22"
_RETRY_TAG = b"\x28"
# status = SUCCESS (field 2), serverIpcVersionNum = 9 (field 3).
_SUCCESS_MIDDLE = b"\x10\x00\x18" + bytes((IPC_VERSION,))
_RESPONSE_CLIENT_ID_TAG = b"\x3a"
_RESPONSE_RETRY_TAG = b"\x40"

M = TypeVar("M", bound=Message)

SUCCESS = RpcResponseHeaderProto.SUCCESS
ERROR = RpcResponseHeaderProto.ERROR
FATAL = RpcResponseHeaderProto.FATAL


def request_header(call_id: int, client_id: bytes, retry_count: int) -> bytes:
    """The delimited ``RpcRequestHeaderProto`` of a protobuf-engine frame."""
    header = b"".join((
        _REQUEST_PREFIX, encode_varint(zigzag32(call_id)),
        _CLIENT_ID_TAG, encode_varint(len(client_id)), client_id,
        _RETRY_TAG, encode_varint(zigzag32(retry_count)),
    ))
    return encode_varint(len(header)) + header


#: Header of every client SASL frame: callId -33, empty clientId, retryCount -1.
SASL_REQUEST_HEADER = request_header(SASL_CALL_ID, b"", INVALID_RETRY_COUNT)


def context_header(client_id: bytes) -> bytes:
    return request_header(CONNECTION_CONTEXT_CALL_ID, client_id, INVALID_RETRY_COUNT)


def ping_header(client_id: bytes) -> bytes:
    return request_header(PING_CALL_ID, client_id, INVALID_RETRY_COUNT)


@lru_cache(maxsize=4096)
def method_header(method: str, protocol: str, version: int) -> bytes:
    """The delimited ``RequestHeaderProto`` naming the method; cached per method."""
    return delimited(RequestHeaderProto(
        methodName=method, declaringClassProtocolName=protocol,
        clientProtocolVersion=version).SerializeToString())


def connection_context(protocol: str, effective_user: Optional[str],
                       real_user: Optional[str] = None) -> bytes:
    """The delimited ``IpcConnectionContextProto``.

    With no ``effective_user`` (TOKEN auth) the user info is present but empty,
    as the Java client sends it.
    """
    info = UserInformationProto()
    if effective_user is not None:
        info.effectiveUser = effective_user
        if real_user is not None:
            info.realUser = real_user
    return delimited(IpcConnectionContextProto(userInfo=info, protocol=protocol).SerializeToString())


def sasl_message(message: RpcSaslProto) -> bytes:
    return delimited(message.SerializeToString())


def success_response_header(call_id: int, client_id: bytes, retry_count: int) -> bytes:
    """The delimited ``RpcResponseHeaderProto`` of a SUCCESS response."""
    header = b"".join((
        b"\x08", encode_varint(call_id & 0xFFFFFFFF), _SUCCESS_MIDDLE,
        _RESPONSE_CLIENT_ID_TAG, encode_varint(len(client_id)), client_id,
        _RESPONSE_RETRY_TAG, encode_varint(zigzag32(retry_count)),
    ))
    return encode_varint(len(header)) + header


def error_response_header(call_id: int, client_id: bytes, retry_count: int, *, fatal: bool,
                          java_class: str, message: str, error_code: int) -> bytes:
    """The delimited ``RpcResponseHeaderProto`` of an ERROR or FATAL response."""
    header = RpcResponseHeaderProto(
        callId=call_id & 0xFFFFFFFF, status=FATAL if fatal else ERROR,
        serverIpcVersionNum=IPC_VERSION, exceptionClassName=java_class, errorMsg=message,
        errorDetail=cast(Any, error_code), clientId=client_id, retryCount=retry_count)
    return delimited(header.SerializeToString())


#: Header of every server SASL frame: callId -33 (as uint32), SUCCESS, empty clientId, retryCount -1.
SASL_RESPONSE_HEADER = success_response_header(SASL_CALL_ID, b"", INVALID_RETRY_COUNT)


def signed_call_id(call_id: int) -> int:
    """A response's uint32 call id as the signed int the request used."""
    return call_id - (1 << 32) if call_id >= 1 << 31 else call_id


def parse(message_class: Type[M], data: Buffer, what: str) -> M:
    """Parse ``data`` as ``message_class``, requiring its required fields.

    Raises :class:`RemoteProtocolError` naming ``what`` on failure.
    """
    message = message_class()
    try:
        message.ParseFromString(cast(bytes, data))  # any buffer will do
    except (DecodeError, ValueError) as exc:
        raise RemoteProtocolError(f"cannot decode {what}: {exc}") from None
    if not message.IsInitialized():
        missing = ", ".join(cast(Any, message).FindInitializationErrors())
        raise RemoteProtocolError(f"{what} lacks required field(s) {missing} or has an unknown enum value")
    return message


def parse_response_header(data: Buffer) -> RpcResponseHeaderProto:
    return parse(RpcResponseHeaderProto, data, "RPC response header")


def parse_sasl(data: Buffer) -> RpcSaslProto:
    return parse(RpcSaslProto, data, "SASL message")
