"""Connection retries and the retry policies Java builds, against real sockets.

A closed port refuses every connection; a listener whose backlog is full lets connects time
out; a server that accepts and reads but never answers lets calls time out. The tests count
connections, attempts and pauses (recorded, not slept), never wall-clock time.
"""
from __future__ import annotations

import socket
import threading
from typing import List

import pytest

from pyarn.conf import ConfigError, Configuration
from pyarn.conf.defaults import DEFAULTS
from pyarn.errors import ConnectFailedError, FailoverExhaustedError, RpcTimeoutError
from pyarn.ipc import FailoverProxy, IpcSettings, RetryPolicy, RpcClient
from pyarn.ipc.retry import RETRY_DEFAULTS
from pyarn.yarn.resourcemanager import ResourceManagerClient

from .support import TEST_PROTOCOL, Req, ScriptedServer, accept_simple_client, read_frame
from .test_retry import Sleeps, closed_port


class SilentServer(ScriptedServer):
    """Accepts, reads the call, never answers; counts the connections it accepted.

    (Also used by tests/hdfs/test_unreachable.py.)"""

    def __init__(self) -> None:
        self.connections: List[int] = []
        super().__init__(self._silent)

    def _silent(self, sock: socket.socket) -> None:
        self.connections.append(1)
        accept_simple_client(sock)
        read_frame(sock)
        while sock.recv(4096):  # until the client gives up and closes
            pass


@pytest.fixture
def quick_client():
    with RpcClient(IpcSettings(connect_timeout=0.3, rpc_timeout=0.3, ping_interval=5.0)) as client:
        yield client


# ------------------------------------------------------------------ the policies from_conf builds


def test_one_namenode_gets_a_single_attempt_as_in_java():
    """NameNodeProxiesClient: RetryUtils.getDefaultRetryPolicy is TRY_ONCE_THEN_FAIL, and it is
    also the connection retry policy; only timeouts use ipc.client.connect.max.retries.on.timeouts."""
    policy = RetryPolicy.from_conf({}, "hdfs", ha=False)
    assert (policy.max_attempts, policy.connect_pauses, policy.connect_timeout_retries) == (1, (), 45)
    ignored = {"ipc.client.connect.max.retries": "7"}  # the connection retry policy is not built from it
    assert RetryPolicy.from_conf(ignored, "hdfs", ha=False).connect_pauses == ()


def test_a_nameservice_fails_over_max_attempts_times():
    """failoverOnNetworkException: dfs.client.failover.max.attempts failovers, so one call more."""
    policy = RetryPolicy.from_conf({}, "hdfs", ha=True)
    assert (policy.max_attempts, policy.sleep_base, policy.sleep_max) == (16, 0.5, 15.0)
    assert (policy.connect_pauses, policy.connect_timeout_retries) == ((), 0)
    assert RetryPolicy.from_conf({}, "hdfs") == policy  # a nameservice unless told otherwise
    assert RetryPolicy.from_conf({"dfs.client.failover.max.attempts": "0"}, "hdfs").max_attempts == 1
    custom = RetryPolicy.from_conf({"dfs.client.failover.connection.retries.on.timeouts": "3"}, "hdfs")
    assert custom.connect_timeout_retries == 3


def test_dfs_retry_policy_spec_drives_the_connections():
    """MultipleLinearRandomRetry "10000,6,60000,10": Java's searchPair gives the first pair one retry more."""
    policy = RetryPolicy.from_conf({"dfs.client.retry.policy.enabled": "true"}, "hdfs", ha=False)
    assert policy.connect_pauses == (10.0,) * 7 + (60.0,) * 10 and policy.connect_jitter == 0.5
    spec = RetryPolicy.from_conf({"dfs.client.retry.policy.enabled": "true",
                                  "dfs.client.retry.policy.spec": "100,1,200,2"}, "hdfs", ha=False)
    assert spec.connect_pauses == (0.1, 0.1, 0.2, 0.2)
    for bad in ("100,1,200", "100,x", "0,3"):
        with pytest.raises(ValueError, match="dfs.client.retry.policy.spec"):
            RetryPolicy.from_conf({"dfs.client.retry.policy.enabled": "true",
                                   "dfs.client.retry.policy.spec": bad}, "hdfs", ha=False)


def test_resourcemanager_policy_follows_rmproxy():
    """Hadoop 3.3.6's RMProxy: max-wait / retry-interval failovers, each connection retried per
    ipc.client.connect.* (yarn.client.failover-retries* with HA)."""
    policy = RetryPolicy.from_conf({}, "yarn")
    assert (policy.max_attempts, policy.sleep_base, policy.sleep_max) == (31, 30.0, 30.0)
    assert (policy.connect_pauses, policy.connect_timeout_retries) == ((1.0,) * 10, 45)
    ha = RetryPolicy.from_conf({"yarn.resourcemanager.ha.enabled": "true"}, "yarn")
    assert (ha.max_attempts, ha.connect_pauses, ha.connect_timeout_retries) == (31, (), 0)
    assert RetryPolicy.from_conf({}, "yarn", ha=True) == ha
    short = RetryPolicy.from_conf({"yarn.resourcemanager.connect.max-wait.ms": "999",
                                   "yarn.resourcemanager.connect.retry-interval.ms": "1000"}, "yarn")
    assert short.max_attempts == 1  # "Only try connect once."
    forever = RetryPolicy.from_conf({"yarn.resourcemanager.connect.max-wait.ms": "-1"}, "yarn")
    assert forever.max_attempts == 2 ** 31  # Integer.MAX_VALUE failovers
    explicit = RetryPolicy.from_conf({"yarn.client.failover-max-attempts": "2",
                                      "yarn.client.failover-sleep-base-ms": "10",
                                      "ipc.client.connect.max.retries": "3",
                                      "ipc.client.connect.retry.interval": "20"}, "yarn")
    assert (explicit.max_attempts, explicit.sleep_base, explicit.connect_pauses) == (3, 0.01, (0.02,) * 3)


@pytest.mark.parametrize("key, value", [("yarn.resourcemanager.connect.max-wait.ms", "-2"),
                                        ("yarn.resourcemanager.connect.retry-interval.ms", "-1"),
                                        ("ipc.client.connect.max.retries", "-1"),
                                        ("dfs.client.failover.sleep.base.millis", "-5")])
def test_bad_retry_values_name_their_key(key, value):
    service = "hdfs" if key.startswith("dfs.") else "yarn"
    with pytest.raises(ValueError, match=key):
        RetryPolicy.from_conf({key: value}, service)


def test_bad_retry_value_in_a_configuration_names_file_and_key():
    conf = Configuration({"ipc.client.connect.max.retries": "-1"})
    with pytest.raises(ConfigError, match="ipc.client.connect.max.retries"):
        RetryPolicy.from_conf(conf, "yarn")


def test_retry_fallbacks_are_hadoops_defaults():
    """What from_conf falls back on for a plain mapping is what a Configuration holds."""
    for key, value in RETRY_DEFAULTS.items():
        assert DEFAULTS.get(key, value) == value, key
    for service in ("hdfs", "yarn"):
        for ha in (False, True):
            assert RetryPolicy.from_conf(Configuration(), service, ha=ha) == \
                RetryPolicy.from_conf({}, service, ha=ha)


# ------------------------------------------------------------------ against real sockets


def test_refused_connections_are_retried_per_attempt_then_the_attempts_end(quick_client):
    addresses = [closed_port(), closed_port()]
    sleeps = Sleeps()
    policy = RetryPolicy(max_attempts=3, sleep_base=0.5, sleep_max=0.5, jitter=0, connect_pauses=(0.01, 0.02))
    proxy = FailoverProxy(quick_client, addresses, TEST_PROTOCOL, policy=policy, sleep=sleeps)
    with pytest.raises(FailoverExhaustedError) as info:
        proxy.call("echo", Req(renewer="x"))
    error = info.value
    assert [a for a, _ in error.attempts] == [addresses[0], addresses[1], addresses[0]]
    assert all(isinstance(e, ConnectFailedError) and str(e).endswith("(3 connection attempts)")
               and a in str(e) and "refused" in str(e) for a, e in error.attempts)
    # Three connections per attempt, two pauses between them; the first failover is immediate.
    assert sleeps == [0.01, 0.02] + [0.01, 0.02] + [0.5, 0.01, 0.02]
    assert str(error).startswith("echo: all 3 attempt(s) failed")


def test_one_connection_per_attempt_by_default(quick_client):
    address = closed_port()
    sleeps = Sleeps()
    proxy = FailoverProxy(quick_client, [address], TEST_PROTOCOL,
                          policy=RetryPolicy.from_conf({}, "hdfs", ha=False), sleep=sleeps)
    with pytest.raises(FailoverExhaustedError) as info:
        proxy.call("echo", Req(renewer="x"))
    ((tried, error),) = info.value.attempts
    assert tried == address and "connection attempts" not in str(error) and sleeps == []


def test_an_unresolvable_name_is_not_connected_again(quick_client):
    sleeps = Sleeps()
    proxy = FailoverProxy(quick_client, ["no-such-host.invalid:8020"], TEST_PROTOCOL,
                          policy=RetryPolicy(max_attempts=1, connect_pauses=(0.01,) * 5), sleep=sleeps)
    with pytest.raises(FailoverExhaustedError, match="no-such-host.invalid:8020"):
        proxy.call("echo", Req(renewer="x"))
    assert sleeps == []


def test_a_silent_server_gets_one_attempt_from_a_single_namenode_policy(quick_client):
    sleeps = Sleeps()
    with SilentServer() as silent:
        proxy = FailoverProxy(quick_client, [silent.address], TEST_PROTOCOL,
                              policy=RetryPolicy.from_conf({}, "hdfs", ha=False), sleep=sleeps)
        with pytest.raises(FailoverExhaustedError) as info:
            proxy.call("echo", Req(renewer="x"))  # idempotent
        ((tried, error),) = info.value.attempts
        assert tried == silent.address and isinstance(error, RpcTimeoutError)
        assert len(silent.connections) == 1
        with pytest.raises(RpcTimeoutError, match=silent.address):
            proxy.call("create", Req(renewer="x"))  # not retry-safe: raised as is
    assert sleeps == []


def test_silent_servers_of_a_group_get_every_attempt_and_then_it_ends(quick_client):
    sleeps = Sleeps()
    with SilentServer() as first, SilentServer() as second:
        policy = RetryPolicy(max_attempts=4, sleep_base=0.01, sleep_max=0.01, jitter=0)
        proxy = FailoverProxy(quick_client, [first.address, second.address], TEST_PROTOCOL, policy=policy,
                              sleep=sleeps)
        with pytest.raises(FailoverExhaustedError) as info:
            proxy.call("echo", Req(renewer="x"))
        assert [a for a, _ in info.value.attempts] == [first.address, second.address] * 2
        assert all(isinstance(e, RpcTimeoutError) for _, e in info.value.attempts)
    assert sleeps == [0.01, 0.01]


@pytest.fixture
def full_backlog():
    """A listener that accepts nothing and whose backlog is full: connects to it time out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    address = listener.getsockname()
    fillers = []
    for _ in range(4):
        sock = socket.socket()
        sock.setblocking(False)
        try:
            sock.connect(address)
        except BlockingIOError:
            pass
        fillers.append(sock)
    threading.Event().wait(0.1)
    yield f"127.0.0.1:{address[1]}"
    for sock in fillers:
        sock.close()
    listener.close()


def test_connect_timeouts_are_retried_per_their_own_count(full_backlog):
    sleeps = Sleeps()
    with RpcClient(IpcSettings(connect_timeout=0.1)) as client:
        policy = RetryPolicy(max_attempts=1, connect_pauses=(5.0,), connect_timeout_retries=2)
        proxy = FailoverProxy(client, [full_backlog], TEST_PROTOCOL, policy=policy, sleep=sleeps)
        with pytest.raises(FailoverExhaustedError) as info:
            proxy.call("echo", Req(renewer="x"))
    ((tried, error),) = info.value.attempts
    assert tried == full_backlog and str(error).endswith("(3 connection attempts)")
    assert sleeps == []  # Java reconnects at once after a timeout


def test_resourcemanager_client_follows_the_configured_policy():
    address = closed_port()
    conf = Configuration({"yarn.resourcemanager.address": address,
                          "yarn.resourcemanager.connect.max-wait.ms": "20",
                          "yarn.resourcemanager.connect.retry-interval.ms": "10",
                          "ipc.client.connect.max.retries": "2",
                          "ipc.client.connect.retry.interval": "1"})
    with ResourceManagerClient.from_conf(conf, user=None) as rm:
        assert rm.proxy.policy.max_attempts == 3 and rm.proxy.policy.connect_pauses == (0.001, 0.001)
        with pytest.raises(FailoverExhaustedError) as info:
            rm.get_cluster_metrics()
    attempts = info.value.attempts
    assert [a for a, _ in attempts] == [address] * 3
    assert all(str(e).endswith("(3 connection attempts)") for _, e in attempts)
