"""RPC headers: hand-encoded fast paths equal protobuf's output, byte for byte."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hadoop_protos.ipc_connection_context_pb2 import IpcConnectionContextProto
from hadoop_protos.protobuf_rpc_engine_pb2 import RequestHeaderProto
from hadoop_protos.rpc_header_pb2 import RpcRequestHeaderProto, RpcResponseHeaderProto, RpcSaslProto
from pyarn.errors import RemoteProtocolError
from pyarn.ipc.framing import delimited, frame
from pyarn.ipc.headers import (
    SASL_REQUEST_HEADER,
    SASL_RESPONSE_HEADER,
    connection_context,
    error_response_header,
    method_header,
    parse_response_header,
    parse_sasl,
    request_header,
    sasl_message,
    signed_call_id,
    success_response_header,
)

int32 = st.integers(min_value=-(2**31), max_value=2**31 - 1)


def test_sasl_request_header_matches_the_facts_sheet():
    # PROTOCOL-FACTS §1.3: callId -33, empty clientId, retryCount -1.
    assert SASL_REQUEST_HEADER.hex(" ") == "0a 08 02 10 00 18 41 22 00 28 01"


def test_negotiate_frame_matches_the_facts_sheet():
    negotiate = frame(SASL_REQUEST_HEADER, sasl_message(RpcSaslProto(state=RpcSaslProto.NEGOTIATE)))
    assert negotiate.hex(" ") == "00 00 00 0e 0a 08 02 10 00 18 41 22 00 28 01 02 10 01"


@given(int32, st.binary(min_size=0, max_size=20), int32)
def test_request_header_equals_protobuf_serialization(call_id, client_id, retry_count):
    expected = RpcRequestHeaderProto(rpcKind=2, rpcOp=0, callId=call_id, clientId=client_id,
                                     retryCount=retry_count).SerializeToString()
    assert request_header(call_id, client_id, retry_count) == delimited(expected)


def test_request_header_of_a_first_call_by_hand():
    client_id = bytes(range(16))
    assert request_header(0, client_id, 0).hex() == (
        "1a" "0802" "1000" "1800" "2210" + client_id.hex() + "2800")


@given(int32, st.binary(max_size=16), int32)
def test_success_response_header_equals_protobuf_serialization(call_id, client_id, retry_count):
    expected = RpcResponseHeaderProto(callId=call_id & 0xFFFFFFFF, status=RpcResponseHeaderProto.SUCCESS,
                                      serverIpcVersionNum=9, clientId=client_id,
                                      retryCount=retry_count).SerializeToString()
    assert success_response_header(call_id, client_id, retry_count) == delimited(expected)


def test_sasl_response_header_as_hadoop_writes_it():
    # callId 0xFFFFFFDF as uint32 (five bytes), SUCCESS, version 9, empty clientId, retryCount -1.
    assert SASL_RESPONSE_HEADER.hex(" ") == "0e 08 df ff ff ff 0f 10 00 18 09 3a 00 40 01"


def test_error_response_header_round_trips():
    data = error_response_header(-1, b"", -1, fatal=True,
                                 java_class="org.apache.hadoop.ipc.RPC$VersionMismatch",
                                 message="Server IPC version 9 cannot communicate with client version 8",
                                 error_code=14)
    header = parse_response_header(data[1:])
    assert header.callId == 0xFFFFFFFF and signed_call_id(header.callId) == -1
    assert header.status == RpcResponseHeaderProto.FATAL
    assert header.errorDetail == 14
    assert header.exceptionClassName == "org.apache.hadoop.ipc.RPC$VersionMismatch"


def test_method_header_is_delimited_request_header_proto():
    data = method_header("getClusterMetrics", "org.apache.hadoop.yarn.api.ApplicationClientProtocolPB", 1)
    parsed = RequestHeaderProto.FromString(data[1:])
    assert data[0] == len(data) - 1
    assert (parsed.methodName, parsed.declaringClassProtocolName, parsed.clientProtocolVersion) == (
        "getClusterMetrics", "org.apache.hadoop.yarn.api.ApplicationClientProtocolPB", 1)


def test_connection_context_for_token_auth_has_empty_user_info():
    data = connection_context("p", None)
    context = IpcConnectionContextProto.FromString(data[1:])
    assert context.HasField("userInfo")
    assert not context.userInfo.HasField("effectiveUser")
    assert context.protocol == "p"


def test_connection_context_for_a_proxy_user():
    context = IpcConnectionContextProto.FromString(connection_context("p", "bob", "alice")[1:])
    assert (context.userInfo.effectiveUser, context.userInfo.realUser) == ("bob", "alice")


@pytest.mark.parametrize("value, signed", [
    (0, 0), (5, 5), (0xFFFFFFDF, -33), (0xFFFFFFFC, -4), (2**31 - 1, 2**31 - 1)])
def test_signed_call_id(value, signed):
    assert signed_call_id(value) == signed


def test_response_header_with_unknown_status_is_rejected():
    # callId 1, status 7 (no such RpcStatusProto value)
    with pytest.raises(RemoteProtocolError, match="status"):
        parse_response_header(bytes.fromhex("0801" "1007"))


def test_response_header_without_call_id_is_rejected():
    with pytest.raises(RemoteProtocolError, match="callId"):
        parse_response_header(bytes.fromhex("1000"))


def test_garbage_sasl_message_is_rejected():
    with pytest.raises(RemoteProtocolError, match="SASL message"):
        parse_sasl(b"\x0a")
