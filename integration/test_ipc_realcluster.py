"""pyarn's IPC client against a real ResourceManager.

Runs when ``PYARN_TEST_HADOOP_CONF_DIR`` names the cluster's client
configuration (``../shared/realcluster/realcluster.sh conf-dir``). The RM
addresses come from that folder's ``yarn-site.xml`` with a small local read,
so this test depends on nothing but :mod:`pyarn.ipc`.
"""
from __future__ import annotations

import os
import socket
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Dict

import pytest

from hadoop_protos import security_pb2, yarn_records_pb2
from hadoop_protos import yarn_service_pb2 as ys
from hadoop_protos.protocol import RetrySafety, RpcMethod, RpcProtocol
from hadoop_protos.yarn_protocols_rpc import APPLICATION_CLIENT_PROTOCOL, APPLICATION_MASTER_PROTOCOL
from pyarn.errors import AccessControlError, InvalidTokenError, NoSuchMethodError, SaslError
from pyarn.ipc import FailoverProxy, IpcSettings, RetryPolicy, RpcClient
from pyarn.security.tokens import AMRM_TOKEN_KIND, Token
from pyarn.security.user import User

from .conftest import ENV, requires_real_cluster

pytestmark = [pytest.mark.realcluster, requires_real_cluster()]

SETTINGS = IpcSettings(connect_timeout=10.0, rpc_timeout=30.0)
METRICS = ys.GetClusterMetricsRequestProto()


def _site(name: str) -> Dict[str, str]:
    """The name -> value pairs of one ``*-site.xml`` (no ``${var}`` expansion)."""
    path = Path(os.environ[ENV]) / name
    if not path.is_file():
        return {}
    properties = {}
    for prop in ElementTree.parse(path).getroot().iter("property"):
        key, value = prop.findtext("name"), prop.findtext("value")
        if key:
            properties[key.strip()] = (value or "").strip()
    return properties


def _rm_address(key: str, port: int) -> str:
    yarn = _site("yarn-site.xml")
    if "${" not in yarn.get(key, "${"):
        return yarn[key]
    return f"{yarn.get('yarn.resourcemanager.hostname', '0.0.0.0')}:{port}"


@pytest.fixture(scope="module")
def rm_address() -> str:
    if _site("core-site.xml").get("hadoop.security.authentication", "simple").lower() != "simple":
        pytest.skip("the cluster uses Kerberos; pyarn's IPC client has no GSSAPI yet")
    return _rm_address("yarn.resourcemanager.address", 8032)


@pytest.fixture(scope="module")
def client():
    with RpcClient(SETTINGS) as c:
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


def test_scheduler_port_accepts_only_tokens(client, rm_address):
    scheduler = _rm_address("yarn.resourcemanager.scheduler.address", 8030)
    register = APPLICATION_MASTER_PROTOCOL.methods["registerApplicationMaster"].request(host="h", rpc_port=1)
    refusal = r"SIMPLE authentication is not enabled.  Available:\[TOKEN\]"
    with pytest.raises(AccessControlError, match=refusal):
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
