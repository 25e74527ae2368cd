"""The key-value store: the store itself and its client API, wired together without sockets."""
from __future__ import annotations

import queue
import threading
import time

import pytest

from hadoop_protos import pyarn_pb2 as pb
from pyarn.am.kvstore import KeyValueStore
from pyarn.application import kv
from pyarn.application.errors import InvalidRequestError
from pyarn.application.kvops import next_key

from .support import local_client

LIVE = {"worker_0", "worker_1"}


@pytest.fixture
def store():
    s = KeyValueStore(owner_check=lambda owner: None if owner in LIVE else "no such container")
    yield s
    s.close()


@pytest.fixture
def client(store):
    return local_client(store)


# ------------------------------------------------------------------ basics


def test_mapping_interface(client):
    client["b"] = b"2"
    client["a"] = b"1"
    client["c"] = b"3"
    assert client["a"] == b"1"
    assert list(client) == ["a", "b", "c"]
    assert len(client) == 3
    assert "b" in client and "zz" not in client
    del client["b"]
    assert "b" not in client
    with pytest.raises(KeyError):
        client["b"]
    with pytest.raises(KeyError):
        del client["b"]
    assert client.get("missing", b"default") == b"default"
    client.clear()
    assert len(client) == 0


def test_prefix_and_range(client):
    client.update({"job/1": b"a", "job/2": b"b", "jobs": b"c", "k": b"d", "j": b"e"})
    assert list(client.get_prefix("job/").items()) == [("job/1", b"a"), ("job/2", b"b")]
    assert client.count(prefix="job") == 3
    assert client.list_keys(start="job/2", end="k") == ["job/2", "jobs"]
    assert client.list_keys(end="job/2") == ["j", "job/1"]
    assert client.list_keys(start="jobs") == ["jobs", "k"]
    assert client.get_range("j", "jobs") == {"j": b"e", "job/1": b"a", "job/2": b"b"}
    assert client.pop_prefix("job/") == {"job/1": b"a", "job/2": b"b"}
    assert client.discard_range("a", "jz", return_keys=True) == ["j", "jobs"]
    assert client.discard_prefix("") == 1
    assert len(client) == 0


def test_next_key_bounds_prefixes():
    assert next_key("ab") == "ac"
    assert next_key("a\U0010ffff") == "b"
    assert next_key("\ud7ff") == "\ue000"
    assert next_key("") is None


def test_pop_discard_swap_setdefault(client):
    assert client.pop("x") is None
    client["x"] = b"1"
    assert client.pop("x", return_owner=True) == kv.ValueOwnerPair(b"1", None)
    assert client.discard("x") is False
    assert client.swap("y", b"new") is None
    assert client.swap("y", b"newer") == b"new"
    assert client.setdefault("y", b"other") == b"newer"
    assert client.setdefault("z", b"dflt") == b"dflt"
    assert client["z"] == b"dflt"


def test_put_checks(client):
    with pytest.raises(InvalidRequestError, match="does not exist"):
        client.put("nope", owner="worker_0")  # keep the value of a missing key
    with pytest.raises(ValueError):
        kv.put("k")
    with pytest.raises(TypeError):
        kv.put("k", "not bytes")
    with pytest.raises(ValueError):
        kv.put("k", b"v", owner="not-a-container-id")


def test_revisions_and_versions(store, client):
    assert store.revision == 0
    client["a"] = b"1"
    client["a"] = b"2"
    client["b"] = b"3"
    response = store.range(pb.RangeRequestProto(start="a", end="a\0"))
    (entry,) = response.kvs
    assert (entry.create_revision, entry.mod_revision, entry.version) == (1, 2, 2)
    assert response.revision == 3
    client.discard_range()  # one revision for the whole range
    assert store.revision == 4
    client.discard_range()  # nothing deleted: no new revision
    assert store.revision == 4


# ------------------------------------------------------------------ ownership


def test_owned_keys_go_when_their_container_ends(store, client):
    client.put("addr", b"host:1", owner="worker_0")
    client.put("other", b"x", owner="worker_1")
    client.put("free", b"y")
    assert client.get("addr", return_owner=True) == kv.ValueOwnerPair(b"host:1", "worker_0")
    assert store.owned_keys("worker_0") == {"addr"}
    assert store.release_owner("worker_0") == ["addr"]
    assert "addr" not in client and "other" in client and "free" in client
    with pytest.raises(InvalidRequestError, match="completed"):
        client.put("again", b"z", owner="worker_0")


def test_owner_must_be_a_live_container(client):
    with pytest.raises(InvalidRequestError, match="no such container"):
        client.put("k", b"v", owner="worker_9")


def test_owner_changes_and_clears(store, client):
    client.put("k", b"v", owner="worker_0")
    client.put("k", owner="worker_1")  # keeps the value
    assert client.get("k", return_owner=True) == kv.ValueOwnerPair(b"v", "worker_1")
    assert store.owned_keys("worker_0") == set()
    client.put("k", owner=None)
    assert store.owned_keys("worker_1") == set()
    assert store.release_owner("worker_1") == []
    assert client["k"] == b"v"
    client.put("gone", b"1", owner="worker_0")
    del client["gone"]
    assert store.owned_keys("worker_0") == set()


# --------------------------------------------------------------- transactions


def test_compare_and_swap(client):
    client["lock"] = b"free"
    result = client.transaction([kv.value("lock") == b"free"], [kv.put("lock", b"mine"), kv.get("lock")],
                                [kv.get("lock")])
    assert result == kv.TransactionResult(True, [None, b"mine"])
    result = client.transaction([kv.value("lock") == b"free"], [kv.put("lock", b"theirs")], [kv.get("lock")])
    assert result == kv.TransactionResult(False, [b"mine"])


def test_conditions(client):
    client["a"] = b"m"
    client.put("o", b"x", owner="worker_0")

    def holds(*conditions):
        return client.transaction(list(conditions)).succeeded

    assert holds(kv.exists("a"), kv.missing("zz"))
    assert not holds(kv.exists("zz"))
    assert holds(kv.value("a") > b"l", kv.value("a") <= b"m", kv.value("a") != b"n")
    assert holds(kv.value("zz") == None)  # noqa: E711 (a missing value compares equal to None)
    assert holds(kv.value("a") != None)  # noqa: E711
    assert not holds(kv.value("zz") < b"a")  # orderings with "no value" are false
    assert holds(kv.owner("o") == "worker_0", kv.owner("a") == None)  # noqa: E711
    assert holds(kv.version("a") == 1, kv.version("zz") == 0, kv.mod_revision("o") == 2,
                 kv.create_revision("a") == 1)
    with pytest.raises(TypeError):
        kv.version("a") == b"1"  # noqa: B015


def test_a_refused_put_leaves_the_store_unchanged(store, client):
    client["a"] = b"1"
    before = store.revision
    with pytest.raises(InvalidRequestError):
        client.transaction(on_success=[kv.put("a", b"2"), kv.put("b", b"3", owner="worker_9")])
    assert client["a"] == b"1" and "b" not in client and store.revision == before


def test_transaction_is_one_revision(store, client):
    client.transaction(on_success=[kv.put("x", b"1"), kv.put("y", b"2"), kv.discard("x")])
    assert store.revision == 1
    assert list(client) == ["y"]


def test_transaction_type_checks(client):
    with pytest.raises(TypeError):
        client.transaction([kv.get("a")])
    with pytest.raises(TypeError):
        client.transaction(on_success=[kv.value("a") == b"1"])


# ------------------------------------------------------------------- waiting


def test_wait_returns_at_once_when_the_key_exists(client):
    client["k"] = b"v"
    assert client.wait("k", timeout=0) == b"v"


def test_wait_times_out(client):
    began = time.monotonic()
    with pytest.raises(kv.KvTimeoutError):
        client.wait("never", timeout=0.2)
    assert 0.15 < time.monotonic() - began < 2


def test_wait_wakes_on_put(client):
    threading.Timer(0.1, lambda: client.put("k", b"v", owner="worker_1")).start()
    assert client.wait("k", timeout=5, return_owner=True) == kv.ValueOwnerPair(b"v", "worker_1")


def test_close_wakes_waiters(store):
    threading.Timer(0.1, store.close).start()
    began = time.monotonic()
    assert not store.wait("k", None).HasField("kv")
    assert time.monotonic() - began < 2


# -------------------------------------------------------------------- events


def _take(events, n, timeout=5.0):
    return [events.get(timeout=timeout) for _ in range(n)]


def test_events_after_subscribing(client):
    client["before"] = b"0"
    with client.events(prefix="job/") as events:
        client["job/1"] = b"a"
        client["other"] = b"x"
        client.put("job/2", b"b", owner="worker_0")
        del client["job/1"]
        first, second, third = _take(events, 3)
        assert (first.key, first.event_type, first.result) == ("job/1", kv.EventType.PUT,
                                                                kv.ValueOwnerPair(b"a", None))
        assert (second.key, second.result) == ("job/2", kv.ValueOwnerPair(b"b", "worker_0"))
        assert (third.key, third.event_type, third.result) == ("job/1", kv.EventType.DELETE, None)
        assert first.revision < second.revision < third.revision
        with pytest.raises(queue.Empty):
            events.get(timeout=0.2)


def test_event_types_and_several_filters(store, client):
    with client.events(key="k", event_type="delete") as events:
        events.subscribe(prefix="")
        client["k"] = b"1"
        del client["k"]
        got = _take(events, 3)
        kinds = sorted((e.event_filter.event_type.value, e.event_type.value) for e in got)
        assert kinds == [("ALL", "DELETE"), ("ALL", "PUT"), ("DELETE", "DELETE")]
        events.unsubscribe(key="k", event_type="delete")
        with pytest.raises(ValueError):
            events.unsubscribe(key="k", event_type="delete")


def test_owner_release_sends_delete_events(store, client):
    client.put("addr", b"h", owner="worker_0")
    with client.events(key="addr") as events:
        store.release_owner("worker_0")
        (event,) = _take(events, 1)
        assert (event.key, event.event_type) == ("addr", kv.EventType.DELETE)


def test_watch_is_a_long_poll(store):
    now = store.watch(pb.WatchRequestProto())
    assert now.revision == now.cursor == 0
    threading.Timer(0.1, lambda: store.put(pb.PutRequestProto(key="k", value=b"v"))).start()
    began = time.monotonic()
    response = store.watch(pb.WatchRequestProto(after_revision=0, timeout_ms=5000))
    assert time.monotonic() - began < 4
    assert [e.kv.key for e in response.events] == ["k"] and response.cursor == 1
    empty = store.watch(pb.WatchRequestProto(after_revision=1, timeout_ms=50))
    assert not empty.events and empty.cursor == 1


def test_watch_keeps_a_transaction_together_and_compacts():
    store = KeyValueStore(max_events=5)
    ops = [pb.RequestOpProto(put=pb.PutRequestProto(key=f"k{i}", value=b"v")) for i in range(3)]
    store.transaction(pb.TransactionRequestProto(on_success=ops))  # revision 1: three events
    store.put(pb.PutRequestProto(key="z", value=b"v"))  # revision 2
    response = store.watch(pb.WatchRequestProto(after_revision=0, max_events=2))
    assert [e.revision for e in response.events] == [1, 1, 1] and response.cursor == 1
    rest = store.watch(pb.WatchRequestProto(after_revision=response.cursor))
    assert [e.kv.key for e in rest.events] == ["z"] and rest.cursor == 2
    for i in range(5):
        store.put(pb.PutRequestProto(key=f"more{i}", value=b"v"))
    assert store.watch(pb.WatchRequestProto(after_revision=0)).compacted
    assert not store.watch(pb.WatchRequestProto(after_revision=3)).compacted
    assert store.watch(pb.WatchRequestProto(after_revision=99)).compacted  # a cursor from another store


def test_event_filter_arguments():
    assert kv.EventFilter.of(key="a") == kv.EventFilter("a", "a\0")
    assert kv.EventFilter.of(prefix="a") == kv.EventFilter("a", "b")
    with pytest.raises(ValueError):
        kv.EventFilter.of(key="a", prefix="b")
