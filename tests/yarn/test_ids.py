"""ApplicationId, ApplicationAttemptId, ContainerId and NodeId: Hadoop's string forms, protos, order."""
from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyarn.errors import PyarnError
from pyarn.yarn.ids import ApplicationAttemptId, ApplicationId, ContainerId, InvalidIdError, NodeId

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
TS = 1410901177871

app_ids = st.builds(ApplicationId, st.integers(0, INT64_MAX), st.integers(0, INT32_MAX))
attempt_ids = st.builds(ApplicationAttemptId, app_ids, st.integers(0, INT32_MAX))
container_ids = st.builds(ContainerId.from_parts, attempt_ids,
                          sequence_number=st.integers(0, 2**40 - 1), epoch=st.integers(0, 2**23 - 1))
hostnames = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?){0,3}",
                          fullmatch=True)
ipv6_hosts = st.ip_addresses(v=6).map(str)
node_ids = st.builds(NodeId, hostnames | ipv6_hosts, st.integers(0, 65535))


def attempt(ts: int, app: int, number: int) -> ApplicationAttemptId:
    return ApplicationAttemptId(ApplicationId(ts, app), number)


# ---- Hadoop's printed forms ------------------------------------------------------


@pytest.mark.parametrize("value, text", [
    (ApplicationId(TS, 1), "application_1410901177871_0001"),
    (ApplicationId(TS, 12345), "application_1410901177871_12345"),
    (ApplicationId(0, 0), "application_0_0000"),
    (ApplicationId(INT64_MAX, INT32_MAX), f"application_{INT64_MAX}_{INT32_MAX}"),
    (attempt(TS, 1, 1), "appattempt_1410901177871_0001_000001"),
    (attempt(TS, 12345, 1234567), "appattempt_1410901177871_12345_1234567"),
    (ContainerId(attempt(TS, 1, 1), 5), "container_1410901177871_0001_01_000005"),
    (ContainerId.from_parts(attempt(TS, 1, 1), 5, epoch=17), "container_e17_1410901177871_0001_01_000005"),
    (ContainerId.from_parts(attempt(TS, 1, 123), 1234567), "container_1410901177871_0001_123_1234567"),
    # Hadoop's own TestContainerId vectors.
    (ContainerId(attempt(10, 1, 1), 1), "container_10_0001_01_000001"),
    (ContainerId(attempt(TS, 36473, 4365472), 25645811), f"container_{TS}_36473_4365472_25645811"),
    (ContainerId(attempt(TS, 36473, 4365472), 4298334883325),
     f"container_e03_{TS}_36473_4365472_999799999997"),
    (ContainerId(attempt(TS, 36473, 4365472), 844424930131965),
     f"container_e767_{TS}_36473_4365472_1099511627773"),
    (NodeId("node1.example.com", 8041), "node1.example.com:8041"),
    (NodeId("::1", 8041), "::1:8041"),
])
def test_prints_and_parses_as_hadoop(value, text):
    assert str(value) == text
    assert type(value).parse(text) == value
    assert eval(repr(value)) == value


def test_container_id_parts():
    cid = ContainerId.parse("container_e17_1410901177871_0001_01_000005")
    assert (cid.epoch, cid.sequence_number) == (17, 5)
    assert cid.id == (17 << 40) | 5
    assert cid.application_id == ApplicationId(TS, 1)
    assert cid.application_attempt_id == attempt(TS, 1, 1)


@pytest.mark.parametrize("cls, text, canonical", [
    (ApplicationId, "application_1_00012", "application_1_0012"),
    (ApplicationId, "application_0001_1", "application_1_0001"),
    (ApplicationAttemptId, "appattempt_1_1_1", "appattempt_1_0001_000001"),
    (ContainerId, "container_e00_1_1_1_1", "container_1_0001_01_000001"),
    (ContainerId, "container_e3_1_1_1_1", "container_e03_1_0001_01_000001"),
    (NodeId, "[::1]:8041", "::1:8041"),
    (NodeId, "[fe80::1%eth0]:80", "fe80::1%eth0:80"),
    (NodeId, "node:007", "node:7"),
])
def test_non_canonical_forms_parse_like_hadoop(cls, text, canonical):
    assert str(cls.parse(text)) == canonical


# ---- Round trips ---------------------------------------------------------------------


@given(st.one_of(app_ids, attempt_ids, container_ids, node_ids))
def test_string_round_trip(value):
    text = str(value)
    assert type(value).parse(text) == value
    assert str(type(value).parse(text)) == text


@given(st.one_of(app_ids, attempt_ids, container_ids, node_ids))
def test_proto_round_trip(value):
    proto = value.to_proto()
    assert type(value).from_proto(type(proto).FromString(proto.SerializeToString())) == value


@given(container_ids)
def test_container_id_packs_epoch_above_40_bits(cid):
    assert ContainerId.from_parts(cid.application_attempt_id, cid.sequence_number, cid.epoch) == cid
    assert 0 <= cid.sequence_number < 2**40
    assert ("_e" in str(cid)) == (cid.epoch > 0)


def test_container_id_proto_ignores_deprecated_app_id():
    cid = ContainerId.from_parts(attempt(TS, 1, 1), 5, epoch=2)
    proto = cid.to_proto()
    assert not proto.HasField("app_id")
    proto.app_id.id = 99
    assert ContainerId.from_proto(proto) == cid


# ---- Order and hashing as Hadoop's compareTo ------------------------------------------


def _key(value):
    if isinstance(value, ApplicationId):
        return (value.cluster_timestamp, value.id)
    if isinstance(value, ApplicationAttemptId):
        return (_key(value.application_id), value.attempt_id)
    if isinstance(value, ContainerId):
        return (_key(value.application_attempt_id), value.id)
    return (value.host, value.port)


@pytest.mark.parametrize("ids", [app_ids, attempt_ids, container_ids, node_ids])
def test_order_and_hash(ids):
    @given(ids, ids)
    def check(a, b):
        assert (a < b) == (_key(a) < _key(b))
        assert (a == b) == (_key(a) == _key(b))
        if a == b:
            assert hash(a) == hash(b)
        assert sorted([a, b]) == sorted([a, b], key=_key)

    check()


def test_hadoop_compare_examples():
    # From Hadoop's TestContainerId: c1 < c2 (number), c1 < c4 (attempt), c1 > c5 (timestamp).
    c1, c2 = ContainerId(attempt(10, 1, 1), 1), ContainerId(attempt(10, 1, 1), 2)
    c4, c5 = ContainerId(attempt(10, 1, 3), 1), ContainerId(attempt(8, 1, 3), 1)
    assert c1 < c2 and c1 < c4 and c1 > c5
    assert len({c1, ContainerId(attempt(10, 1, 1), 1), c2}) == 2
    assert NodeId("a", 2) < NodeId("b", 1) and NodeId("a", 1) < NodeId("a", 2)


def test_coerce():
    app = ApplicationId(TS, 1)
    assert ApplicationId.coerce(app) is app
    assert ApplicationId.coerce("application_1410901177871_0001") == app
    assert ApplicationAttemptId.coerce(str(attempt(TS, 1, 2))) == attempt(TS, 1, 2)
    assert ContainerId.coerce("container_1_0001_01_000001").sequence_number == 1
    assert NodeId.coerce("h:1") == NodeId("h", 1)


# ---- Malformed ids ----------------------------------------------------------------------


@pytest.mark.parametrize("cls, text, reason", [
    (ApplicationId, "", "does not start with 'application_'"),
    (ApplicationId, "app_1410901177871_0001", "does not start with"),
    (ApplicationId, "Application_1410901177871_0001", "does not start with"),
    (ApplicationId, "appattempt_1410901177871_0001_000001", "does not start with"),
    (ApplicationId, "application_1410901177871", "1 '_'-separated fields"),
    (ApplicationId, "application_1410901177871_", "empty part"),
    (ApplicationId, "application__0001", "empty part"),
    (ApplicationId, "application_1410901177871_0001_01", "3 '_'-separated fields"),
    (ApplicationId, "application_1410901177871_abc", "'abc' is not a decimal number"),
    (ApplicationId, "application_1410901177871_-1", "'-1' is not a decimal number"),
    (ApplicationId, "application_-1410901177871_0001", "is not a decimal number"),
    (ApplicationId, "application_1410901177871_+1", "is not a decimal number"),
    (ApplicationId, "application_1410901177871_ 1", "is not a decimal number"),
    (ApplicationId, "application_1410901177871_\u0661", "is not a decimal number"),
    (ApplicationId, "application_1410901177871_2147483648", "id 2147483648 is outside 0..2147483647"),
    (ApplicationId, "application_9223372036854775808_1", "outside 0..9223372036854775807"),
    (ApplicationId, "application_1_" + "9" * 5000, "too large"),
    (ApplicationAttemptId, "application_1410901177871_0001", "does not start with 'appattempt_'"),
    (ApplicationAttemptId, "appattempt_1410901177871_0001", "2 '_'-separated fields"),
    (ApplicationAttemptId, "appattempt_1410901177871_0001_x", "'x' is not a decimal number"),
    (ApplicationAttemptId, "appattempt_1410901177871_0001_-1", "is not a decimal number"),
    (ApplicationAttemptId, "appattempt_1_1_2147483648", "attempt_id 2147483648 is outside"),
    (ContainerId, "containers_1410901177871_0001_01_000005", "does not start with 'container_'"),
    (ContainerId, "container_1410901177871_0001_01", "3 '_'-separated fields"),
    (ContainerId, "container_1410901177871_0001_01_000005_17", "5 '_'-separated fields"),
    (ContainerId, "container_e17_1410901177871_0001_01", "4 '_'-separated fields"),
    (ContainerId, "container_e_1410901177871_0001_01_000005", "empty part"),
    (ContainerId, "container_ex_1410901177871_0001_01_000005", "'x' is not a decimal number"),
    (ContainerId, "container_e-1_1410901177871_0001_01_000005", "is not a decimal number"),
    (ContainerId, "container_1410901177871_0001_01_00000x", "is not a decimal number"),
    (ContainerId, "container_1410901177871_0001_01_1099511627776",
     "sequence number 1099511627776 is outside"),
    (ContainerId, "container_e8388608_1410901177871_0001_01_000005", "epoch 8388608 is outside"),
    (NodeId, "node1.example.com", "no port"),
    (NodeId, "node1.example.com:", "no port"),
    (NodeId, ":8041", "empty host"),
    (NodeId, "node1:http", "'http' is not a decimal number"),
    (NodeId, "node1:-1", "is not a decimal number"),
    (NodeId, "node1:65536", "port 65536 is outside 0..65535"),
])
def test_malformed_ids_name_the_input_and_the_form(cls, text, reason):
    with pytest.raises(InvalidIdError) as info:
        cls.parse(text)
    error = info.value
    assert isinstance(error, ValueError) and isinstance(error, PyarnError)
    assert error.value == text and error.kind == cls.__name__
    message = str(error)
    assert repr(text) in message
    assert reason in message
    assert "expected " in message and "e.g. " in message


def test_parse_rejects_non_strings():
    with pytest.raises(TypeError):
        ApplicationId.parse(12)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        NodeId.parse(None)  # type: ignore[arg-type]


def test_invalid_id_error_pickles():
    with pytest.raises(InvalidIdError) as info:
        ContainerId.parse("container_x")
    copy = pickle.loads(pickle.dumps(info.value))
    assert str(copy) == str(info.value) and copy.value == "container_x"


@pytest.mark.parametrize("make", [
    lambda: ApplicationId(-1, 1),
    lambda: ApplicationId(1, 2**31),
    lambda: ApplicationAttemptId(ApplicationId(1, 1), -1),
    lambda: ContainerId(ApplicationAttemptId(ApplicationId(1, 1), 1), -5),
    lambda: ContainerId.from_parts(ApplicationAttemptId(ApplicationId(1, 1), 1), 2**40),
    lambda: ContainerId.from_parts(ApplicationAttemptId(ApplicationId(1, 1), 1), 1, epoch=2**23),
])
def test_constructors_reject_out_of_range_numbers(make):
    with pytest.raises(ValueError):
        make()


def test_constructors_reject_wrong_types():
    with pytest.raises(TypeError):
        ApplicationId(1, "1")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ApplicationId(1, True)
    with pytest.raises(TypeError):
        ApplicationAttemptId("application_1_0001", 1)  # type: ignore[arg-type]
