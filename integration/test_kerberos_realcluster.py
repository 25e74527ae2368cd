"""pyarn's IPC client over Kerberos (SASL GSSAPI) against a real Kerberized Hadoop.

Runs only when ``PYARN_TEST_HADOOP_CONF_DIR`` names a cluster whose
``core-site.xml`` says ``hadoop.security.authentication=kerberos``, e.g.::

    ../shared/realcluster/realcluster.sh start all --kerberos --protection privacy
    eval "$(../shared/realcluster/realcluster.sh env)"   # KRB5_CONFIG, KRB5CCNAME, ...
    pytest integration/test_kerberos_realcluster.py

The ticket comes from ``KRB5CCNAME`` (``env`` prints it, already kinit'ed);
the keytab login test uses ``REALCLUSTER_KRB_PRINCIPAL`` / ``REALCLUSTER_KRB_KEYTAB``
when set. Everything runs at the cluster's own ``hadoop.rpc.protection``.
"""
from __future__ import annotations

import os
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Dict

import pytest

from hadoop_protos import client_namenode_pb2 as nn
from hadoop_protos import yarn_service_pb2 as ys
from hadoop_protos.client_namenode_rpc import CLIENT_NAMENODE_PROTOCOL
from hadoop_protos.yarn_protocols_rpc import APPLICATION_CLIENT_PROTOCOL
from pyarn.conf import Configuration, namenode_addresses, rm_addresses
from pyarn.ipc import IpcSettings, RpcClient
from pyarn.ipc.client import Connection
from pyarn.ipc.constants import AuthMethod, Qop
from pyarn.ipc.sasl import NoCommonProtectionError
from pyarn.security.kerberos import KerberosCredentials, NoTicketError, ServerPrincipalError
from pyarn.security.user import User

from .conftest import ENV

FAST = 2.0


def _core_site() -> Dict[str, str]:
    conf_dir = os.environ.get(ENV)
    path = Path(conf_dir) / "core-site.xml" if conf_dir else None
    if path is None or not path.is_file():
        return {}
    return {(p.findtext("name") or "").strip(): (p.findtext("value") or "").strip()
            for p in ElementTree.parse(path).getroot().iter("property")}


def _gssapi_missing() -> bool:
    try:
        import gssapi  # noqa: F401
    except ImportError:
        return True
    return False


pytestmark = [
    pytest.mark.realcluster,
    pytest.mark.skipif(_core_site().get("hadoop.security.authentication", "simple").lower() != "kerberos",
                       reason=f"needs a Kerberized Hadoop: set {ENV} to a cluster started with --kerberos "
                              "(../shared/realcluster/realcluster.sh start all --kerberos)"),
    pytest.mark.skipif(_gssapi_missing(), reason="needs the gssapi package: pip install 'pyarn[kerberos]'"),
]


@pytest.fixture(scope="module")
def conf() -> Configuration:
    if not os.environ.get("KRB5CCNAME"):
        pytest.skip("KRB5CCNAME is not set: eval \"$(../shared/realcluster/realcluster.sh env)\"")
    return Configuration.load(os.environ[ENV])


@pytest.fixture(scope="module")
def settings(conf) -> IpcSettings:
    return IpcSettings.from_conf(conf)


@pytest.fixture(scope="module")
def rm_address(conf) -> str:
    _, host, port = rm_addresses(conf)[0]
    return f"{host}:{port}"


@pytest.fixture(scope="module")
def nn_address(conf) -> str:
    _, host, port = namenode_addresses(conf).namenodes[0]
    return f"{host}:{port}"


@pytest.fixture(scope="module")
def client(settings):
    with RpcClient(settings) as c:
        yield c


def _user() -> User:
    return User.current()


def test_rm_cluster_metrics_and_nodes_over_gssapi(client, rm_address):
    rm = client.proxy(rm_address, APPLICATION_CLIENT_PROTOCOL, _user())
    metrics = rm.call("getClusterMetrics", ys.GetClusterMetricsRequestProto()).cluster_metrics
    assert metrics.num_node_managers >= 1
    nodes = rm.call("getClusterNodes", ys.GetClusterNodesRequestProto()).nodeReports
    assert len(nodes) >= 1 and nodes[0].nodeId.host


def test_namenode_file_info_of_root_over_gssapi(client, nn_address):
    namenode = client.proxy(nn_address, CLIENT_NAMENODE_PROTOCOL, _user())
    status = namenode.call("getFileInfo", nn.GetFileInfoRequestProto(src="/")).fs
    assert status.fileType == status.IS_DIR


@pytest.mark.parametrize("which", ["rm", "nn"])
def test_connections_use_kerberos_at_the_clusters_protection(settings, rm_address, nn_address, which):
    address, protocol = ((rm_address, APPLICATION_CLIENT_PROTOCOL) if which == "rm"
                         else (nn_address, CLIENT_NAMENODE_PROTOCOL))
    connection = Connection(address, protocol.name, _user(), client_id=b"K" * 16, settings=settings)
    with connection:
        assert connection.auth_method is AuthMethod.KERBEROS
        assert connection.qop is settings.qops[0]


def test_keytab_login(settings, rm_address):
    principal, keytab = os.environ.get("REALCLUSTER_KRB_PRINCIPAL"), os.environ.get("REALCLUSTER_KRB_KEYTAB")
    if not principal or not keytab:
        pytest.skip("REALCLUSTER_KRB_PRINCIPAL / REALCLUSTER_KRB_KEYTAB are not set")
    login = KerberosCredentials.from_keytab(principal, keytab)
    with RpcClient(settings, kerberos=login) as client:
        rm = client.proxy(rm_address, APPLICATION_CLIENT_PROTOCOL, _user())
        metrics = rm.call("getClusterMetrics", ys.GetClusterMetricsRequestProto()).cluster_metrics
        assert metrics.num_node_managers >= 1


def _fails_fast(settings, address, error, match):
    started = time.monotonic()
    with RpcClient(settings) as client, pytest.raises(error, match=match):
        client.proxy(address, APPLICATION_CLIENT_PROTOCOL, _user()).call(
            "getClusterMetrics", ys.GetClusterMetricsRequestProto())
    assert time.monotonic() - started < FAST


def test_no_ticket_fails_fast(settings, rm_address, monkeypatch, tmp_path):
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{tmp_path / 'no-ticket'}")
    _fails_fast(settings, rm_address, NoTicketError, "no Kerberos ticket")


def test_wrong_server_principal_fails_fast(conf, rm_address):
    realm = (conf.get("yarn.resourcemanager.principal") or "@PYARN.TEST").rpartition("@")[2]
    overrides = {"yarn.resourcemanager.principal": f"nn/_HOST@{realm}"}
    wrong = IpcSettings.from_conf(conf.with_overrides(overrides))
    _fails_fast(wrong, rm_address, ServerPrincipalError, "Server has invalid Kerberos principal")


def test_lower_protection_than_the_cluster_fails_fast(conf, settings, rm_address):
    if settings.qops == (Qop.AUTH,):
        pytest.skip("the cluster runs at authentication: nothing is lower")
    lower = IpcSettings.from_conf(conf.with_overrides({"hadoop.rpc.protection": "authentication"}))
    _fails_fast(lower, rm_address, NoCommonProtectionError, "No common protection layer")


def test_privacy_keeps_application_bytes_off_the_wire(settings, nn_address):
    from tests.ipc.test_qop_wire import MARKER, TcpRelay

    host, _, port = nn_address.rpartition(":")
    with TcpRelay((host, int(port))) as relay, RpcClient(settings) as client:
        namenode = client.proxy(relay.address, CLIENT_NAMENODE_PROTOCOL, _user())
        namenode.call("getFileInfo", nn.GetFileInfoRequestProto(src="/" + MARKER))
        client.close()
        captured = relay.captured()
    assert (MARKER.encode() in captured) is (settings.qops[0] is not Qop.AUTH_CONF)
