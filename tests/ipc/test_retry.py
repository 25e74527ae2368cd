"""Retry policy and the failover proxy, against real pyarn servers."""
from __future__ import annotations

import random
import socket
import time

import pytest

from pyarn.errors import (
    ApplicationNotFoundError,
    ConnectFailedError,
    ConnectionClosedError,
    FailoverExhaustedError,
    LocalProtocolError,
    RetriableError,
    RpcTimeoutError,
    StandbyError,
)
from pyarn.ipc import FailoverProxy, IpcServer, RetryPolicy

from .support import TEST_PROTOCOL, EchoHandler, Req, ScriptedServer, accept_simple_client, read_frame

NO_WAIT = RetryPolicy(max_attempts=6, sleep_base=0.01, sleep_max=0.05)


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def pair():
    """Two servers, each with its own handler."""
    handlers = (EchoHandler(), EchoHandler())
    with IpcServer() as first, IpcServer() as second:
        first.register(TEST_PROTOCOL, handlers[0])
        second.register(TEST_PROTOCOL, handlers[1])
        yield (first, second), handlers


def closed_port() -> str:
    with socket.create_server(("127.0.0.1", 0)) as s:
        return f"127.0.0.1:{s.getsockname()[1]}"


def standby(request, ctx):
    raise StandbyError("Operation category READ is not supported in state standby")


def test_pause_is_capped_exponential_with_jitter():
    policy = RetryPolicy(sleep_base=0.5, sleep_max=4.0, jitter=0.5)
    rng = random.Random(7)
    for n, base in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (10, 4.0), (1000, 4.0)]:
        pauses = [policy.pause(n, rng) for _ in range(200)]
        assert base * 0.5 <= min(pauses) and max(pauses) <= base * 1.5
        assert max(pauses) - min(pauses) > base * 0.5  # really jittered
    assert RetryPolicy(jitter=0).pause(2) == 2.0
    assert policy.failover_pause(1) == 0.0


def test_policy_from_hadoop_conf():
    hdfs = RetryPolicy.from_conf({"dfs.client.failover.max.attempts": "3",
                                  "dfs.client.failover.sleep.base.millis": "100"})
    assert (hdfs.max_attempts, hdfs.sleep_base, hdfs.sleep_max) == (4, 0.1, 15.0)  # failovers + 1
    yarn = RetryPolicy.from_conf({"yarn.resourcemanager.connect.retry-interval.ms": "2000"}, service="yarn")
    assert (yarn.max_attempts, yarn.sleep_base, yarn.sleep_max) == (451, 2.0, 2.0)
    with pytest.raises(ValueError, match="dfs.client.failover.max.attempts"):
        RetryPolicy.from_conf({"dfs.client.failover.max.attempts": "many"})


def test_fails_over_from_a_standby_and_resends_with_same_call_id(pair, client, alice):
    (first, second), (h1, h2) = pair
    h1.before["echo"] = standby
    sleeps = Sleeps()
    proxy = FailoverProxy(client, [first.address_string, second.address_string], TEST_PROTOCOL, alice,
                          policy=NO_WAIT, sleep=sleeps)
    assert proxy.call("echo", Req(renewer="hi")).token.identifier == b"hi"
    ((_, id1, retry1, cid1),) = h1.calls
    ((_, id2, retry2, cid2),) = h2.calls
    assert (id1, cid1) == (id2, cid2) and cid1 == client.client_id
    assert (retry1, retry2) == (0, 1)
    assert sleeps == []  # the first failover is immediate
    # The proxy now starts at the active server.
    proxy.call("echo", Req(renewer="again"))
    assert len(h1.calls) == 1 and len(h2.calls) == 2


def test_other_remote_errors_are_the_answer(pair, client, alice):
    (first, second), (h1, h2) = pair

    def missing(request, ctx):
        raise ApplicationNotFoundError("no such app")
    h1.before["echo"] = missing
    proxy = FailoverProxy(client, [first.address_string, second.address_string], TEST_PROTOCOL, alice,
                          policy=NO_WAIT, sleep=Sleeps())
    with pytest.raises(ApplicationNotFoundError, match="no such app"):
        proxy.call("echo", Req(renewer="x"))
    assert h2.calls == []


def test_retriable_error_retries_the_same_server_after_a_pause(pair, client, alice):
    (first, second), (h1, h2) = pair
    failures = iter([True, True, False])

    def busy(request, ctx):
        if next(failures):
            raise RetriableError("server too busy")
    h1.before["echo"] = busy
    sleeps = Sleeps()
    proxy = FailoverProxy(client, [first.address_string, second.address_string], TEST_PROTOCOL, alice,
                          policy=RetryPolicy(sleep_base=0.01, sleep_max=1.0), sleep=sleeps)
    assert proxy.call("echo", Req(renewer="x")).token.identifier == b"x"
    assert [c[2] for c in h1.calls] == [0, 1, 2] and h2.calls == []
    assert len(sleeps) == 2 and all(s > 0 for s in sleeps)


def _drop_after_reading_the_call(sock):
    accept_simple_client(sock)
    read_frame(sock)  # the call reached this server; now it dies


def test_non_idempotent_call_is_not_resent_after_it_may_have_reached_a_server(pair, client, alice):
    (_, second), (_, h2) = pair
    with ScriptedServer(_drop_after_reading_the_call) as dying:
        proxy = FailoverProxy(client, [dying.address, second.address_string], TEST_PROTOCOL, alice,
                              policy=NO_WAIT, sleep=Sleeps())
        with pytest.raises(ConnectionClosedError):
            proxy.call("create", Req(renewer="file"))
    assert h2.count("create") == 0


@pytest.mark.parametrize("method", ["echo", "append"])  # IDEMPOTENT and AT_MOST_ONCE
def test_retry_safe_call_is_resent_elsewhere_after_the_server_died(pair, client, alice, method):
    (_, second), (_, h2) = pair
    with ScriptedServer(_drop_after_reading_the_call) as dying:
        proxy = FailoverProxy(client, [dying.address, second.address_string], TEST_PROTOCOL, alice,
                              policy=NO_WAIT, sleep=Sleeps())
        proxy.call(method, Req(renewer="file"))
    ((name, _, retry_count, _),) = h2.calls
    assert (name, retry_count) == (method, 1)


def test_non_idempotent_call_fails_over_when_the_connection_was_never_made(pair, client, alice):
    (_, second), (_, h2) = pair
    proxy = FailoverProxy(client, [closed_port(), second.address_string], TEST_PROTOCOL, alice,
                          policy=NO_WAIT, sleep=Sleeps())
    assert proxy.call("create", Req(renewer="f")).token.identifier == b"created f"
    assert h2.count("create") == 1


def test_only_retry_safe_calls_fail_over_after_a_timeout(pair, client, alice):
    (first, second), (h1, h2) = pair
    h1.before["echo"] = h1.before["create"] = lambda request, ctx: time.sleep(0.4)

    def proxy():
        return FailoverProxy(client, [first.address_string, second.address_string], TEST_PROTOCOL, alice,
                             policy=NO_WAIT, sleep=Sleeps())

    assert proxy().call("echo", Req(renewer="t"), timeout=0.15).token.identifier == b"t"
    assert len(h2.calls) == 1
    with pytest.raises(RpcTimeoutError):
        proxy().call("create", Req(renewer="t"), timeout=0.15)
    assert h2.count("create") == 0


def test_exhausted_attempts_list_every_address_and_reason(alice, client):
    addresses = [closed_port(), closed_port()]
    sleeps = Sleeps()
    proxy = FailoverProxy(client, addresses, TEST_PROTOCOL, alice,
                          policy=RetryPolicy(max_attempts=5, sleep_base=0.01, sleep_max=0.02, jitter=0),
                          sleep=sleeps)
    with pytest.raises(FailoverExhaustedError) as info:
        proxy.call("echo", Req(renewer="x"))
    error = info.value
    first, second = addresses
    assert [a for a, _ in error.attempts] == [first, second, first, second, first]
    assert all(isinstance(e, ConnectFailedError) for _, e in error.attempts)
    assert error.addresses == tuple(addresses)
    assert str(error).startswith("echo: all 5 attempt(s) failed")
    assert addresses[1] in str(error) and "cannot connect" in str(error)
    # First failover immediate; then base * 2**n capped at 0.02 (Hadoop's calculateExponentialTime).
    assert sleeps == [0.02, 0.02, 0.02]


def test_standby_everywhere_is_exhausted(pair, client, alice):
    (first, second), (h1, h2) = pair
    h1.before["echo"] = h2.before["echo"] = standby
    proxy = FailoverProxy(client, [first.address_string, second.address_string], TEST_PROTOCOL, alice,
                          policy=RetryPolicy(max_attempts=4, sleep_base=0.0, sleep_max=0.0), sleep=Sleeps())
    with pytest.raises(FailoverExhaustedError) as info:
        proxy.call("echo", Req(renewer="x"))
    assert all(isinstance(e, StandbyError) for _, e in info.value.attempts)
    assert [c[2] for c in h1.calls + h2.calls] == [0, 2, 1, 3]


def test_failover_proxy_checks_method_and_type(client, alice):
    proxy = FailoverProxy(client, [closed_port()], TEST_PROTOCOL, alice)
    with pytest.raises(LocalProtocolError):
        proxy.call("nope", Req())
    with pytest.raises(TypeError):
        proxy.call("echo", object())
    with pytest.raises(ValueError):
        FailoverProxy(client, [], TEST_PROTOCOL, alice)
