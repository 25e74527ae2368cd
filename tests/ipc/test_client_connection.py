"""The sans-IO client core, bytes in and bytes out, against frames written out by hand."""
from __future__ import annotations

import pytest

from pyarn.errors import (
    ApplicationNotFoundError,
    ConnectionClosedError,
    FileAlreadyExistsError,
    LocalProtocolError,
    RemoteError,
    RemoteProtocolError,
    VersionMismatchError,
)
from pyarn.ipc.auth import client_negotiation
from pyarn.ipc.client_connection import ClientConnection, ClientState
from pyarn.ipc.constants import AuthMethod
from pyarn.ipc.events import CallFailed, CallSucceeded, ConnectionFailed, Established
from pyarn.ipc.framing import FrameTooLargeError, encode_varint
from pyarn.security.user import User

CID = bytes(range(16))
CID_HEX = CID.hex()
PREAMBLE_SIMPLE = "68727063" "09" "00" "00"
# Context frame: header(callId -3, real client id, retry -1) + context{userInfo{alice}, protocol "p"}.
CONTEXT_FRAME = ("00000028" "1a" "0802" "1000" "1805" "2210" + CID_HEX + "2801"
                 "0c" "1207" "0a05" + b"alice".hex() + "1a01" + b"p".hex())
# Call 0, first attempt, method "m" of protocol "p" v1, empty request message.
CALL_0_FRAME = ("00000025" "1a" "0802" "1000" "1800" "2210" + CID_HEX + "2800"
                "08" "0a016d" "120170" "1801" "00")


def response_success(call_id_varint: str, body_hex: str, client_id: bytes = CID) -> bytes:
    header = "08" + call_id_varint + "1000" "1809" + "3a" + f"{len(client_id):02x}" + client_id.hex() + "4000"
    payload = f"{len(header) // 2:02x}" + header + f"{len(body_hex) // 2:02x}" + body_hex
    return bytes.fromhex(f"{len(payload) // 2:08x}" + payload)


def response_failure(call_id_varint: str, status: int, java_class: str, message: str, code: int) -> bytes:
    cls, msg = java_class.encode(), message.encode()
    header = ("08" + call_id_varint + f"10{status:02x}" + "1809"
              + "22" + encode_varint(len(cls)).hex() + cls.hex()
              + "2a" + encode_varint(len(msg)).hex() + msg.hex()
              + f"30{code:02x}" + "3a10" + CID_HEX + "4000")
    payload = encode_varint(len(header) // 2).hex() + header
    return bytes.fromhex(f"{len(payload) // 2:08x}" + payload)


def ready(**kwargs) -> ClientConnection:
    conn = ClientConnection("p", User("alice"), CID, **kwargs)
    events = conn.initiate()
    assert events == [Established(AuthMethod.SIMPLE)]
    conn.data_to_send()
    return conn


def test_simple_connection_sends_preamble_and_context_at_once():
    conn = ClientConnection("p", User("alice"), CID)
    assert conn.state is ClientState.IDLE
    events = conn.initiate()
    assert conn.data_to_send().hex() == PREAMBLE_SIMPLE + CONTEXT_FRAME
    assert events == [Established(AuthMethod.SIMPLE)]
    assert conn.state is ClientState.READY
    assert conn.data_to_send() == b""


def test_call_frame_byte_by_byte():
    conn = ready()
    conn.send_call(0, "m", "p", 1, b"")
    assert conn.data_to_send().hex() == CALL_0_FRAME
    assert conn.in_flight == 1


def test_ping_frame_is_header_only_with_call_id_minus_4():
    conn = ready()
    conn.send_ping()
    assert conn.data_to_send().hex() == "0000001b" "1a" "0802" "1000" "1807" "2210" + CID_HEX + "2801"


def test_success_response_becomes_call_succeeded_with_body():
    conn = ready()
    conn.send_call(0, "m", "p", 1, b"")
    events = conn.receive_data(response_success("00", "0a0178"))
    assert len(events) == 1 and isinstance(events[0], CallSucceeded)
    assert (events[0].call_id, events[0].retry_count, bytes(events[0].body)) == (0, 0, b"\x0a\x01\x78")
    assert conn.in_flight == 0


def test_responses_arrive_in_any_order_and_split_anywhere():
    conn = ready()
    for call_id in (5, 6, 7):
        conn.send_call(call_id, "m", "p", 1, b"")
    stream = response_success("07", "") + response_success("05", "01") + response_success("06", "0202")
    events = []
    for i in range(0, len(stream), 3):
        events += conn.receive_data(stream[i:i + 3])
    assert [(e.call_id, bytes(e.body)) for e in events] == [(7, b""), (5, b"\x01"), (6, b"\x02\x02")]


def test_error_response_keeps_connection_and_maps_java_class():
    conn = ready()
    conn.send_call(3, "m", "p", 1, b"")
    text = "Application with id 'application_1_0001' doesn't exist in RM.\n\tat org.apache.Foo(Foo.java:1)"
    events = conn.receive_data(response_failure(
        "03", 1, "org.apache.hadoop.yarn.exceptions.ApplicationNotFoundException", text, 1))
    assert isinstance(events[0], CallFailed)
    error = events[0].error
    assert isinstance(error, ApplicationNotFoundError)
    assert str(error) == "Application with id 'application_1_0001' doesn't exist in RM."
    assert error.java_text == text and error.error_code == 1
    assert conn.state is ClientState.READY
    conn.send_call(4, "m", "p", 1, b"")
    assert isinstance(conn.receive_data(response_success("04", ""))[0], CallSucceeded)


def test_fatal_response_closes_the_connection_with_the_remote_error():
    conn = ready()
    conn.send_call(0, "m", "p", 1, b"")
    events = conn.receive_data(response_failure(
        "ffffffff0f", 2, "org.apache.hadoop.ipc.RPC$VersionMismatch", "Server IPC version 9 cannot ...", 14))
    assert len(events) == 1 and isinstance(events[0], ConnectionFailed)
    assert isinstance(events[0].error, VersionMismatchError)
    assert conn.state is ClientState.CLOSED
    assert conn.receive_data(response_success("00", "")) == []


def test_response_to_a_call_never_sent_is_a_protocol_error():
    conn = ready()
    conn.send_call(1, "m", "p", 1, b"")
    events = conn.receive_data(response_success("02", ""))
    assert isinstance(events[0], ConnectionFailed)
    assert isinstance(events[0].error, RemoteProtocolError)
    assert "call id 2, which was never sent" in str(events[0].error)


def test_late_response_to_an_abandoned_call_is_dropped():
    conn = ready()
    conn.send_call(1, "m", "p", 1, b"")
    conn.abandon(1)
    assert conn.receive_data(response_success("01", "")) == []
    assert conn.state is ClientState.READY
    # ... but only once
    assert isinstance(conn.receive_data(response_success("01", ""))[0], ConnectionFailed)


def test_response_with_another_client_id_is_rejected():
    conn = ready()
    conn.send_call(1, "m", "p", 1, b"")
    events = conn.receive_data(response_success("01", "", client_id=bytes(16)))
    assert "another client's id" in str(events[0].error)


def test_unknown_status_code_closes_the_connection():
    conn = ready()
    conn.send_call(1, "m", "p", 1, b"")
    frame = bytes.fromhex("00000005" "04" "0801" "1009")  # status 9 does not exist
    events = conn.receive_data(frame)
    assert isinstance(events[0].error, RemoteProtocolError)
    assert conn.state is ClientState.CLOSED


def test_truncated_varint_inside_a_frame_closes_the_connection():
    conn = ready()
    events = conn.receive_data(bytes.fromhex("00000002" "ff" "ff"))
    assert isinstance(events[0].error, RemoteProtocolError)
    assert "varint" in str(events[0].error)


def test_trailing_bytes_after_the_response_body_are_rejected():
    conn = ready()
    conn.send_call(0, "m", "p", 1, b"")
    good = response_success("00", "")
    bad = (len(good) - 4 + 1).to_bytes(4, "big") + good[4:] + b"\x00"
    events = conn.receive_data(bad)
    assert "length mismatch" in str(events[0].error)


def test_end_of_stream_in_the_middle_of_a_frame_fails_pending_calls_clearly():
    conn = ready()
    conn.send_call(0, "m", "p", 1, b"")
    assert conn.receive_data(response_success("00", "")[:9]) == []
    events = conn.receive_data(b"")
    assert isinstance(events[0].error, ConnectionClosedError)
    assert str(events[0].error) == ("the server closed the connection in the middle of a frame "
                                    "with 1 call(s) in flight")


def test_oversized_response_is_refused_before_it_is_buffered():
    conn = ready(max_response_length=1000)
    events = conn.receive_data(b"\x00\x01\x00\x00")
    assert isinstance(events[0].error, FrameTooLargeError)


def test_pre_rpcv9_server_is_named():
    conn = ready()
    events = conn.receive_data(b"\xff\xff\xff\xff\x00\x00\x00\x00")
    assert "older than 9" in str(events[0].error)


def test_misuse_is_a_local_protocol_error():
    conn = ClientConnection("p", User("alice"), CID)
    with pytest.raises(LocalProtocolError, match="state idle"):
        conn.send_call(0, "m", "p", 1, b"")
    with pytest.raises(LocalProtocolError):
        conn.receive_data(b"x")
    conn.initiate()
    conn.send_call(0, "m", "p", 1, b"")
    with pytest.raises(LocalProtocolError, match="already in flight"):
        conn.send_call(0, "m", "p", 1, b"")
    with pytest.raises(LocalProtocolError, match="not negative"):
        conn.send_call(-4, "m", "p", 1, b"")
    with pytest.raises(LocalProtocolError, match="16 bytes"):
        ClientConnection("p", User("alice"), b"short")


def test_proxy_user_context_names_real_user():
    conn = ClientConnection("p", User("alice").proxy_for("bob"), CID)
    conn.initiate()
    data = conn.data_to_send()
    assert b"\x0a\x03bob\x12\x05alice" in data


# ---------------------------------------------------------------------- SASL

SASL_HEADER = "0a" "0802" "1000" "1841" "2200" "2801"
NEGOTIATE_FRAME = "0000000e" + SASL_HEADER + "021001"
SERVER_SASL_HEADER = "0e" "08dfffffff0f" "1000" "1809" "3a00" "4001"


def sasl_response(sasl_hex: str) -> bytes:
    payload = SERVER_SASL_HEADER + f"{len(sasl_hex) // 2:02x}" + sasl_hex
    return bytes.fromhex(f"{len(payload) // 2:08x}" + payload)


def test_sasl_connection_starts_with_df_preamble_and_negotiate():
    conn = ClientConnection("p", User("alice"), CID, sasl=client_negotiation(None))
    assert conn.initiate() == []
    assert conn.data_to_send().hex() == "68727063" "09" "00" "df" + NEGOTIATE_FRAME
    assert conn.state is ClientState.NEGOTIATING


def test_simple_only_server_success_leads_to_simple_context():
    conn = ClientConnection("p", User("alice"), CID, sasl=client_negotiation(None))
    conn.initiate()
    conn.data_to_send()
    events = conn.receive_data(sasl_response("1000"))  # RpcSaslProto{state: SUCCESS}
    assert events == [Established(AuthMethod.SIMPLE)]
    assert conn.data_to_send().hex() == CONTEXT_FRAME


def test_server_offering_simple_gets_initiate_simple_then_context():
    conn = ClientConnection("p", User("alice"), CID, sasl=client_negotiation(None))
    conn.initiate()
    conn.data_to_send()
    # NEGOTIATE with one auth {method: SIMPLE, mechanism: ""}
    events = conn.receive_data(sasl_response("1001" "220a" "0a0653494d504c45" "1200"))
    assert events == [Established(AuthMethod.SIMPLE)]
    initiate = "0000001a" + SASL_HEADER + "0e" "1002" "220a" "0a0653494d504c45" "1200"
    assert conn.data_to_send().hex() == initiate + CONTEXT_FRAME


def test_sasl_error_during_negotiation_is_raised_as_remote_error():
    conn = ClientConnection("p", User("alice"), CID, sasl=client_negotiation(None))
    conn.initiate()
    events = conn.receive_data(response_failure(
        "dfffffff0f", 2, "org.apache.hadoop.security.AccessControlException", "denied", 15))
    assert isinstance(events[0].error, RemoteError)
    assert events[0].error.java_class == "org.apache.hadoop.security.AccessControlException"


def test_call_response_during_negotiation_is_a_protocol_error():
    conn = ClientConnection("p", User("alice"), CID, sasl=client_negotiation(None))
    conn.initiate()
    events = conn.receive_data(response_success("00", ""))
    assert "before the connection was established" in str(events[0].error)


def test_sasl_message_after_negotiation_is_a_protocol_error():
    conn = ready()
    events = conn.receive_data(sasl_response("1000"))
    assert "outside a negotiation" in str(events[0].error)


def test_errors_do_not_leak_between_unrelated_classes():
    conn = ready()
    conn.send_call(0, "m", "p", 1, b"")
    events = conn.receive_data(response_failure(
        "00", 1, "org.apache.hadoop.fs.FileAlreadyExistsException", "/a exists", 1))
    assert isinstance(events[0].error, FileAlreadyExistsError)
    assert isinstance(events[0].error, FileExistsError)
    assert not isinstance(events[0].error, ApplicationNotFoundError)
