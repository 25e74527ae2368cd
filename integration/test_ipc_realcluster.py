"""pyarn's IPC client against a real ResourceManager.

Runs when ``PYARN_TEST_HADOOP_CONF_DIR`` names the cluster's client
configuration (``../shared/realcluster/realcluster.sh conf-dir``). The RM
addresses and the IPC settings (``hadoop.security.authentication``,
``hadoop.rpc.protection``, the server principals) come from that folder, so
the same checks run over SIMPLE on an unsecured cluster and over Kerberos
(GSSAPI, the ticket of ``KRB5CCNAME``) at the cluster's own protection on a
Kerberized one.
"""
from __future__ import annotations

import socket

import attrs
import pytest

from hadoop_protos import security_pb2, yarn_records_pb2
from hadoop_protos import yarn_service_pb2 as ys
from hadoop_protos.protocol import RetrySafety, RpcMethod, RpcProtocol
from hadoop_protos.yarn_protocols_rpc import APPLICATION_CLIENT_PROTOCOL, APPLICATION_MASTER_PROTOCOL
from pyarn.errors import (
    AccessControlError,
    AuthenticationError,
    InvalidTokenError,
    NoSuchMethodError,
    SaslError,
)
from pyarn.ipc import FailoverProxy, IpcSettings, RetryPolicy, RpcClient
from pyarn.security.tokens import AMRM_TOKEN_KIND, Token
from pyarn.security.user import User

from .conftest import requires_real_cluster

pytestmark = [pytest.mark.realcluster, requires_real_cluster()]

METRICS = ys.GetClusterMetricsRequestProto()


@pytest.fixture(scope="module")
def conf(hadoop_conf_dir):
    from pyarn.conf import Configuration

    return Configuration.load(hadoop_conf_dir)


def _rm_address(conf, service: str) -> str:
    from pyarn.conf import rm_addresses

    _, host, port = rm_addresses(conf, service)[0]
    return f"{host}:{port}"


@pytest.fixture(scope="module")
def settings(conf) -> IpcSettings:
    """The cluster's own IPC settings (Kerberos and protection included), with short timeouts."""
    return attrs.evolve(IpcSettings.from_conf(conf), connect_timeout=10.0, rpc_timeout=30.0)


@pytest.fixture(scope="module")
def rm_address(conf) -> str:
    return _rm_address(conf, "address")


@pytest.fixture(scope="module")
def client(settings):
    with RpcClient(settings) as c:
        yield c


@pytest.fixture(scope="module")
def rm(client, rm_address):
    return client.proxy(rm_address, APPLICATION_CLIENT_PROTOCOL, User.current())


def test_get_cluster_metrics(rm):
    metrics = rm.call("getClusterMetrics", ys.GetClusterMetricsRequestProto()).cluster_metrics
    assert metrics.HasField("num_node_managers")
    assert metrics.num_node_managers >= 1


def test_get_cluster_nodes(rm):
    active = rm.call("getClusterMetrics", ys.GetClusterMetricsRequestProto()).cluster_metrics.num_active_nms
    request = ys.GetClusterNodesRequestProto(nodeStates=[yarn_records_pb2.NS_RUNNING])
    reports = rm.call("getClusterNodes", request).nodeReports
    assert len(reports) == active
    for report in reports:
        assert report.nodeId.host and report.nodeId.port > 0
        assert report.capability.memory > 0


def test_unknown_method_returns_the_real_servers_exception(rm, client, rm_address):
    bogus = RpcProtocol(APPLICATION_CLIENT_PROTOCOL.name, 1, "bogus", (
        RpcMethod("noSuchMethod", ys.GetClusterMetricsRequestProto, ys.GetClusterMetricsResponseProto,
                  RetrySafety.IDEMPOTENT),))
    with pytest.raises(NoSuchMethodError) as info:
        client.proxy(rm_address, bogus, User.current()).call("noSuchMethod", METRICS)
    error = info.value
    assert error.java_class == "org.apache.hadoop.ipc.RpcNoSuchMethodException"
    assert error.message == ("Unknown method noSuchMethod called on "
                             "org.apache.hadoop.yarn.api.ApplicationClientProtocolPB protocol.")
    assert "\tat org.apache.hadoop.ipc." in error.java_text  # the server's stack trace is kept
    assert error.error_code == 2  # ERROR_NO_SUCH_METHOD: the connection stays usable
    assert rm.call("getClusterMetrics", METRICS).cluster_metrics.num_node_managers >= 1


def test_token_auth_with_an_rm_delegation_token(rm, client, rm_address):
    """DIGEST-MD5 against Java's SASL server: digest-uri, realm and rspauth must all agree."""
    user = User.current()
    request = security_pb2.GetDelegationTokenRequestProto(renewer=user.name)
    issued = rm.call("getDelegationToken", request).token
    token = Token.from_proto(issued)
    with_token = client.proxy(rm_address, APPLICATION_CLIENT_PROTOCOL, user, token=token)
    assert with_token.call("getClusterMetrics", METRICS).cluster_metrics.num_node_managers
    wrong = Token(token.identifier, b"not the password", token.kind, token.service)
    with pytest.raises(SaslError, match="Mismatched response"):
        client.proxy(rm_address, APPLICATION_CLIENT_PROTOCOL, user, token=wrong).call(
            "getClusterMetrics", ys.GetClusterMetricsRequestProto())


def test_scheduler_port_accepts_only_tokens(conf, client, is_kerberized):
    """Without an AMRM token: the unsecured RM refuses SIMPLE; a Kerberized RM offers only TOKEN,
    which a client with nothing but a Kerberos ticket cannot answer (Java's ``SaslRpcClient`` says
    the same words)."""
    scheduler = _rm_address(conf, "scheduler.address")
    register = APPLICATION_MASTER_PROTOCOL.methods["registerApplicationMaster"].request(host="h", rpc_port=1)
    if is_kerberized:
        error, refusal = AuthenticationError, r"^Client cannot authenticate via:\[TOKEN\]$"
    else:
        error, refusal = AccessControlError, r"SIMPLE authentication is not enabled.  Available:\[TOKEN\]"
    with pytest.raises(error, match=refusal):
        client.proxy(scheduler, APPLICATION_MASTER_PROTOCOL, User.current()).call(
            "registerApplicationMaster", register)
    forged = Token(b"\x0a\x00", b"password", AMRM_TOKEN_KIND, "")
    with pytest.raises(InvalidTokenError):
        client.proxy(scheduler, APPLICATION_MASTER_PROTOCOL, User.current(), token=forged).call(
            "registerApplicationMaster", register)


def test_failover_past_a_dead_address(client, rm_address):
    with socket.create_server(("127.0.0.1", 0)) as s:
        dead = f"127.0.0.1:{s.getsockname()[1]}"
    proxy = FailoverProxy(client, [dead, rm_address], APPLICATION_CLIENT_PROTOCOL, User.current(),
                          policy=RetryPolicy(max_attempts=3, sleep_base=0.05, sleep_max=0.1))
    assert proxy.call("getClusterMetrics", METRICS).cluster_metrics.num_node_managers
    assert proxy.current_address == proxy.addresses[1]
