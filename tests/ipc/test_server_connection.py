"""The sans-IO server core, bytes in and bytes out.

Several expected answers are byte strings captured from a real Hadoop 3.3.6
ResourceManager given the same input (see the ``RM_*`` constants): pyarn's
server must answer exactly as Hadoop's does.
"""
from __future__ import annotations

import pytest

from pyarn.errors import AccessControlError, ConnectionClosedError, RemoteProtocolError
from pyarn.ipc.auth import ServerAuth
from pyarn.ipc.constants import HTTP_ON_IPC_PORT_RESPONSE, AuthMethod
from pyarn.ipc.events import CallReceived, ConnectionFailed, ContextReceived, PingReceived
from pyarn.ipc.framing import FrameTooLargeError, frame
from pyarn.ipc.headers import connection_context, context_header, method_header, request_header
from pyarn.ipc.server_connection import ServerConnection, ServerState
from pyarn.security.user import User

from .support import UserSecretManager, connect_pair, make_token

CID = bytes(range(16))
SIMPLE = bytes.fromhex("68727063" "09" "00" "00")
SASL = bytes.fromhex("68727063" "09" "00" "df")
CONTEXT = frame(context_header(CID), connection_context("p", "alice"))


def _java_string(text: str) -> str:
    return f"{len(text):02x}" + text.encode().hex()


def _fatal(call_id: str, java_class: str, message: str, code: int, retry: str) -> bytes:
    header = ("08" + call_id + "1002" "1809" "22" + _java_string(java_class) + "2a" + _java_string(message)
              + f"30{code:02x}" "3a00" "40" + retry)
    payload = f"{len(header) // 2:02x}" + header
    return bytes.fromhex(f"{len(payload) // 2:08x}" + payload)


# Captured from Hadoop 3.3.6's RM (port 8032) for: "xxxx" + version 9 + 00 00.
RM_BAD_MAGIC = _fatal("ffffffff0f", "org.apache.hadoop.ipc.RPC$VersionMismatch",
                      "Server IPC version 9 cannot communicate with client version 9", 14, "01")
# ... for auth protocol byte 5.
RM_BAD_AUTH = _fatal("ffffffff0f", "org.apache.hadoop.ipc.IpcException", "Unknown auth protocol:5", 15, "01")
# ... for a call (id 0, retry 0) before the connection context.
RM_NO_CONTEXT = _fatal("00", "org.apache.hadoop.ipc.RpcServerException", "Connection context not established",
                       12, "00")
# ... for an out-of-band call id -7.
RM_UNKNOWN_OOB = _fatal("f9ffffff0f", "org.apache.hadoop.ipc.RpcServerException",
                        "Unknown out of band call #-7", 12, "01")
# ... for a second connection context.
RM_CONTEXT_TWICE = _fatal("fdffffff0f", "org.apache.hadoop.ipc.RpcServerException",
                          "Connection context already processed", 12, "01")
# ... for a connection context sent right after a SASL preamble.
RM_CONTEXT_DURING_SASL = _fatal("fdffffff0f", "org.apache.hadoop.ipc.RpcServerException",
                                "Connection header sent during SASL negotiation", 12, "01")
# The scheduler port (TOKEN only) for a SIMPLE preamble.
RM_SIMPLE_NOT_ENABLED = _fatal("ffffffff0f", "org.apache.hadoop.security.AccessControlException",
                               "SIMPLE authentication is not enabled.  Available:[TOKEN]", 15, "01")


# Three captures verbatim, to keep the helper above honest.
VERBATIM = {
    "simple not enabled": (RM_SIMPLE_NOT_ENABLED,
                           "0000007e7d08ffffffff0f1002180922316f72672e6170616368652e6861646f6f702e7365637572"
                           "6974792e416363657373436f6e74726f6c457863657074696f6e2a3853494d504c452061757468656e"
                           "7469636174696f6e206973206e6f7420656e61626c65642e2020417661696c61626c653a5b544f4b45"
                           "4e5d300f3a004001"),
    "context twice": (RM_CONTEXT_TWICE,
                      "000000616008fdffffff0f1002180922286f72672e6170616368652e6861646f6f702e6970632e52706353"
                      "6572766572457863657074696f6e2a24436f6e6e656374696f6e20636f6e7465787420616c7265616479"
                      "2070726f636573736564300c3a004001"),
    "context during sasl": (RM_CONTEXT_DURING_SASL,
                            "0000006b6a08fdffffff0f1002180922286f72672e6170616368652e6861646f6f702e6970632e5270"
                            "63536572766572457863657074696f6e2a2e436f6e6e656374696f6e206865616465722073656e7420"
                            "647572696e67205341534c206e65676f74696174696f6e300c3a004001"),
}


@pytest.mark.parametrize("name", sorted(VERBATIM))
def test_captured_frames_are_verbatim(name):
    built, wire = VERBATIM[name]
    assert built.hex() == wire


def simple_server(**kwargs) -> ServerConnection:
    return ServerConnection(ServerAuth(), **kwargs)


def token_only() -> ServerConnection:
    return ServerConnection(ServerAuth(methods=(AuthMethod.TOKEN,), secret_manager=UserSecretManager()))


def established(**kwargs) -> ServerConnection:
    server = simple_server(**kwargs)
    events = server.receive_data(SIMPLE + CONTEXT)
    assert events == [ContextReceived(User("alice"), "p", AuthMethod.SIMPLE)]
    return server


def test_preamble_and_context_fed_byte_by_byte():
    server = simple_server()
    events = []
    for byte in SIMPLE + CONTEXT:
        events += server.receive_data(bytes([byte]))
    assert events == [ContextReceived(User("alice"), "p", AuthMethod.SIMPLE)]
    assert server.state is ServerState.READY
    assert server.data_to_send() == b""


def test_call_becomes_call_received():
    server = established()
    call = frame(request_header(7, CID, 2), method_header("m", "p", 1), b"\x03abc")
    (event,) = server.receive_data(call)
    assert isinstance(event, CallReceived)
    assert (event.call_id, event.retry_count, event.client_id, event.method, event.protocol,
            event.protocol_version, bytes(event.body)) == (7, 2, CID, "m", "p", 1, b"abc")


def test_success_response_bytes():
    server = established()
    server.send_response(7, CID, 2, b"\x0a\x01x")
    assert server.data_to_send().hex() == (
        "0000001f" "1a" "0807" "1000" "1809" "3a10" + CID.hex() + "4004" "03" "0a0178")


def test_error_response_bytes():
    server = established()
    server.send_error(0, b"", 0, "c", "m", error_code=2)
    assert server.data_to_send().hex() == (
        "00000013" "12" "0800" "1001" "1809" "2201" "63" "2a01" "6d" "3002" "3a00" "4000")


def test_ping_is_an_event_without_answer():
    server = established()
    assert server.receive_data(frame(request_header(-4, CID, -1))) == [PingReceived()]
    assert server.data_to_send() == b""


def test_http_get_gets_hadoops_http_answer():
    server = simple_server()
    (event,) = server.receive_data(b"GET / HTTP/1.1\r\n")
    assert isinstance(event, ConnectionFailed)
    assert server.data_to_send() == HTTP_ON_IPC_PORT_RESPONSE
    assert server.state is ServerState.CLOSED


@pytest.mark.parametrize("data, expected", [
    (b"xxxx\x09\x00\x00", RM_BAD_MAGIC),
    (b"hrpc\x09\x00\x05", RM_BAD_AUTH),
    (SIMPLE + frame(request_header(0, CID, 0), method_header("getClusterMetrics",
                                                              "org.apache.hadoop.yarn.api.ApplicationClientProtocolPB",
                                                              1), b"\x00"), None),
    (SIMPLE + CONTEXT + frame(request_header(-7, CID, -1)), RM_UNKNOWN_OOB),
    (SIMPLE + CONTEXT + CONTEXT, RM_CONTEXT_TWICE),
    (SASL + CONTEXT, RM_CONTEXT_DURING_SASL),
])
def test_fatal_answers_match_a_real_resourcemanager(data, expected):
    server = simple_server()
    events = server.receive_data(data)
    assert isinstance(events[-1], ConnectionFailed)
    assert server.state is ServerState.CLOSED
    out = server.data_to_send()
    if expected is None:  # call before context: the RM's answer (callId 0 echoed, retry 0 echoed)
        expected = RM_NO_CONTEXT
    assert out.hex() == expected.hex()


def test_token_only_port_refuses_simple_like_yarns_scheduler():
    server = token_only()
    (event,) = server.receive_data(SIMPLE)
    assert isinstance(event.error, AccessControlError)
    assert server.data_to_send().hex() == RM_SIMPLE_NOT_ENABLED.hex()


def test_frame_above_the_cap_is_refused_without_buffering_it():
    server = established(max_data_length=1024)
    (event,) = server.receive_data(b"\x7f\xff\xff\xff" + b"x" * 100)
    assert isinstance(event.error, FrameTooLargeError)
    out = server.data_to_send()
    assert b"Requested data length 2147483647 is longer than maximum configured RPC length 1024" in out


def test_unparseable_header_is_a_fatal_deserializing_error():
    server = established()
    (event,) = server.receive_data(frame(b"\x05\xff\xff\xff\xff\xff"))
    assert isinstance(event.error, RemoteProtocolError)
    out = server.data_to_send()
    assert b"Error decoding RpcRequestHeaderProto" in out
    assert out[6:12].hex() == "08ffffffff0f"  # call id -1: there was no header to echo


def test_header_without_rpc_op_is_refused():
    server = established()
    header = bytes.fromhex("0802" "1801" "2200")  # rpcKind, callId 0, clientId; no rpcOp
    (event,) = server.receive_data(frame(bytes([len(header)]) + header))
    assert "No rpc op" in str(event.error)


def test_trailing_garbage_after_request_is_fatal():
    server = established()
    call = frame(request_header(1, CID, 0), method_header("m", "p", 1), b"\x01a", b"junk")
    (event,) = server.receive_data(call)
    assert "unable to read call parameters" in str(event.error)


def test_end_of_stream_mid_frame_vs_clean_close():
    server = established()
    (event,) = server.receive_data(b"\x00\x00\x00\x10abc") + server.receive_data(b"")
    assert isinstance(event.error, RemoteProtocolError)
    assert "middle of a frame" in str(event.error)
    clean = established()
    (event,) = clean.receive_data(b"")
    assert isinstance(event.error, ConnectionClosedError)


def test_bytes_after_close_are_ignored():
    server = simple_server()
    server.receive_data(b"GET / HTTP/1.1\r\n")
    assert server.receive_data(b"more") == []


def test_token_user_cannot_claim_another_user_in_the_context():
    client, server, _ = connect_pair(
        token_only(), token=make_token("alice"), user=User("mallory"), claim_user="mallory")
    assert server.state is ServerState.CLOSED
    assert isinstance(server.error, AccessControlError)
    assert str(server.error) == (
        "Authenticated user (alice) doesn't match what the client claims to be (mallory)")
