"""An ApplicationMaster written against the bare protocol, on any cluster.

The same scenario runs against pyarn's mini cluster (default) and a real
Hadoop (``PYARN_TEST_HADOOP_CONF_DIR``): an AM in this process registers,
allocates three containers, starts ``echo`` commands through the NodeManagers
with NMTokens, collects their exit codes and finishes SUCCEEDED. The checks of
tokens, diagnostics and error messages are written once and must hold on both.

Each scenario runs twice: as an unmanaged AM, which takes its AMRMToken from
the application report (as Hadoop's UnmanagedAMLauncher does), and for a
managed attempt, whose AM container hands this process the AMRMToken YARN gave
it (``rawam.stand_in_command``; that needs the NodeManagers on this machine).
A Kerberized cluster never gives this client an unmanaged AM's token
(``rawam.UNMANAGED_AM_RULE``), so there only the managed variants run.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from hadoop_protos import security_pb2 as secpb
from hadoop_protos import yarn_records_pb2 as pb
from hadoop_protos import yarn_service_pb2 as spb
from hadoop_protos import yarn_tokens_pb2 as tpb
from hadoop_protos.yarn_protocols_rpc import APPLICATION_MASTER_PROTOCOL
from pyarn.errors import (
    AccessControlError,
    AuthenticationError,
    InvalidApplicationMasterRequestError,
    InvalidTokenError,
    SaslError,
)
from pyarn.ipc import RpcClient
from pyarn.security.tokens import CONTAINER_TOKEN_KIND, NM_TOKEN_KIND, Token
from pyarn.security.user import User
from pyarn.yarn.ids import ApplicationId, ContainerId, NodeId
from tests.minicluster.rawam import (
    ECHO_EXIT_CODES,
    UNMANAGED_AM_RULE,
    AppMaster,
    Cluster,
    log_dir_command,
    run_echo_scenario,
    wait_for,
)

from .conftest import hadoop_classpath

STAMP = r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\]"
REGISTER = spb.RegisterApplicationMasterRequestProto(host="localhost", rpc_port=-1)


@pytest.fixture
def cluster(hadoop_conf_dir) -> Iterator[Cluster]:
    with Cluster(hadoop_conf_dir) as client:
        yield client


@pytest.fixture(params=["unmanaged", "managed"])
def managed(request, cluster) -> bool:
    """Whether the AM in this process speaks for a managed attempt (else it is an unmanaged AM)."""
    if request.param == "unmanaged" and cluster.settings.security_enabled:
        pytest.skip(f"no unmanaged AM on a Kerberized cluster: {UNMANAGED_AM_RULE}")
    return request.param == "managed"


@pytest.fixture
def am(cluster, managed) -> Iterator[AppMaster]:
    am = cluster.submit_managed("pyarn-it-am") if managed else cluster.submit_unmanaged("pyarn-it-am")
    yield am
    cluster.kill(am.app_id)  # first: a managed attempt whose AM container exits unregistered would fail
    am.close()


def failed_container_diagnostics(container_id: str, code: int, stderr: str) -> str:
    """The shape of a failed container's diagnostics (stderr redirected to the log dir)."""
    exited = (f"{STAMP}Container exited with a non-zero exit code {code}\\. Error file: prelaunch\\.err\\.\n"
              f"Last 4096 bytes of prelaunch\\.err :\nLast 4096 bytes of stderr :\n{re.escape(stderr)}\n\n")
    return (f"{STAMP}Exception from container-launch\\.\nContainer id: {container_id}\nExit code: {code}\n\n"
            f"{exited}{exited}")


def test_echo_scenario(cluster, managed, is_real_cluster):
    result = run_echo_scenario(cluster, managed=managed)
    containers = result["containers"]
    nodes = {NodeId.from_proto(c.nodeId) for c in containers}
    assert len(containers) == 3
    if not is_real_cluster:
        assert len(nodes) == 2, "the mini cluster's two NodeManagers share the containers"
    assert set(result["nm_tokens"]) == {str(n) for n in nodes}, "one NMToken per node"
    for token in result["nm_tokens"].values():
        assert token.kind == NM_TOKEN_KIND
        identifier = tpb.NMTokenIdentifierProto.FromString(token.identifier)
        assert identifier.appAttemptId == result["attempt_id"].to_proto()
    for container in containers:
        assert container.container_token.kind == CONTAINER_TOKEN_KIND
        assert container.container_token.service.endswith(f":{container.nodeId.port}")
        assert container.resource.memory == 128 and container.resource.virtual_cores == 1
    for response in result["started"].values():
        assert len(response.succeeded_requests) == 1 and not response.failed_requests

    for container_id, code in result["expected"].items():
        status = result["statuses"][container_id]
        assert status.state == pb.C_COMPLETE and status.exit_status == code
        if code == 0:
            assert status.diagnostics == ""
        else:
            expected = failed_container_diagnostics(str(container_id), code, "")
            assert re.fullmatch(expected, status.diagnostics), status.diagnostics

    registered = result["registered"]
    assert registered.queue == "default" and registered.maximumCapability.memory > 0
    running = result["running_report"]
    assert running.yarn_application_state == pb.RUNNING and not running.HasField("am_rm_token")
    # The RM answers an unmanaged AM "unregistered" at once, a managed one once the final state is stored.
    assert result["finish"].isUnregistered is not managed
    final = result["final"]
    assert (final.yarn_application_state, final.final_application_status) == (pb.FINISHED, pb.APP_SUCCEEDED)
    assert final.diagnostics == "all echoes done" and final.progress == 1.0
    assert final.unmanaged_application is not managed
    assert ECHO_EXIT_CODES == (0, 3, 5)


def _forged(token: Token, *, password: bytes = b"", app_number: int = 0) -> Token:
    identifier = tpb.AMRMTokenIdentifierProto.FromString(token.identifier)
    if app_number:
        identifier.appAttemptId.application_id.id = app_number
    return Token(identifier.SerializeToString(), password or token.password, token.kind, "")


def _register_as(cluster: Cluster, token: secpb.TokenProto):
    forged = Token.from_proto(token) if isinstance(token, secpb.TokenProto) else token
    with RpcClient(cluster.settings) as client:
        return client.proxy(cluster.scheduler_address, APPLICATION_MASTER_PROTOCOL,
                            User("forger", tokens=[forged]), token=forged).call("registerApplicationMaster",
                                                                                REGISTER)


def test_forged_amrm_tokens_are_rejected(cluster, am):
    with pytest.raises(SaslError) as info:
        _register_as(cluster, _forged(am.token, password=b"x" * 20))
    assert info.value.java_class == "javax.security.sasl.SaslException"
    assert str(info.value) == "DIGEST-MD5: digest response format violation. Mismatched response."

    ghost = _forged(am.token, app_number=9999)
    with pytest.raises(InvalidTokenError) as info:
        _register_as(cluster, ghost)
    attempt = tpb.AMRMTokenIdentifierProto.FromString(ghost.identifier).appAttemptId
    assert info.value.java_class == "org.apache.hadoop.security.token.SecretManager$InvalidToken"
    ghost_attempt = f"appattempt_{attempt.application_id.cluster_timestamp}_9999_000001"
    assert str(info.value) == f"{ghost_attempt} not found in AMRMTokenSecretManager."

    # Without a token: a SIMPLE client is refused by the server; a Kerberos client, which only
    # answers the server's list of methods, finds nothing it can use (Java's SaslRpcClient words).
    kerberos = cluster.settings.security_enabled
    expected = (AuthenticationError, "Client cannot authenticate via:[TOKEN]") if kerberos else (
        AccessControlError, "SIMPLE authentication is not enabled.  Available:[TOKEN]")
    with RpcClient(cluster.settings) as client, pytest.raises(expected[0]) as info:
        client.proxy(cluster.scheduler_address, APPLICATION_MASTER_PROTOCOL, User("nobody")).call(
            "registerApplicationMaster", REGISTER)
    assert str(info.value) == expected[1]

    am.register()  # the real token still works
    with pytest.raises(InvalidApplicationMasterRequestError) as info:
        am.register()
    app = ApplicationId.from_proto(am.app_id)
    assert str(info.value) == f"Application Master is already registered : {app}"


def test_failing_and_stopped_containers(cluster, am):
    am.register()
    failing, stopped = am.allocate_containers(2)
    am.start(failing, [log_dir_command("(echo something broke >&2; exit 7)")])
    am.start(stopped, ["exec sleep 60"])
    failing_id, stopped_id = ContainerId.from_proto(failing.id), ContainerId.from_proto(stopped.id)
    status = am.wait_completed([failing_id])[failing_id]
    assert (status.state, status.exit_status) == (pb.C_COMPLETE, 7)
    expected = failed_container_diagnostics(str(failing_id), 7, "something broke\n")
    assert re.fullmatch(expected, status.diagnostics), status.diagnostics

    def running() -> bool:
        return am.statuses(stopped).status[0].container_sub_state == pb.CSS_RUNNING

    wait_for(running, 30, "the sleep to run")
    assert len(am.stop(stopped).succeeded_requests) == 1
    status = am.wait_completed([stopped_id])[stopped_id]
    assert status.exit_status == -105
    assert re.fullmatch(f"{STAMP}Container killed by the ApplicationMaster\\.\n"
                        f"{STAMP}Container killed on request\\. Exit code is 143\n"
                        f"{STAMP}Container exited with a non-zero exit code 143\\. \n",
                        status.diagnostics), status.diagnostics


def test_response_ids_and_kill(cluster, am):
    am.register()
    first = am.allocate()
    am.response_id = first.response_id - 1
    assert am.allocate().response_id == first.response_id, "a repeated heartbeat gets the same answer"
    am.response_id = first.response_id + 5
    with pytest.raises(InvalidApplicationMasterRequestError) as info:
        am.allocate()
    assert str(info.value) == ("Invalid responseId in AllocateRequest from application attempt: "
                               f"{am.attempt_id} expect responseId to be {first.response_id} but get "
                               f"{first.response_id + 5}")
    # The RM answers a kill "completed" at once for an unmanaged AM, not while a master container runs.
    assert cluster.kill(am.app_id, "stop it") is not am.managed
    report = cluster.wait_final(am.app_id)
    assert (report.yarn_application_state, report.final_application_status) == (pb.KILLED, pb.APP_KILLED)
    app = ApplicationId.from_proto(am.app_id)
    assert report.diagnostics == (f"Application {app} was killed by user {report.user} at 127.0.0.1 with "
                                  "diagnostic message: stop it")


# -- Java's own client and ApplicationMaster on pyarn's mini cluster ---------------------------------------

def test_java_distributed_shell_runs_on_the_mini_cluster(is_real_cluster, tmp_path, monkeypatch):
    """Hadoop's DistributedShell (Java YarnClient; Java AM with AMRMClient and NMClient) on pyarn's RM
    and NMs."""
    if is_real_cluster:
        pytest.skip("checks the mini cluster against Java's clients")
    java = shutil.which("java")
    classpath = (hadoop_classpath() or "").split(os.pathsep)
    jar = next((e for e in classpath if "distributedshell" in e and e.endswith(".jar")), None)
    if java is None or jar is None:
        pytest.skip("needs java and a Hadoop 3 classpath with the distributed-shell jar")
    from pyarn.minicluster import MiniCluster

    workdir = tmp_path / "mini"
    conf_dir = workdir / "conf"
    jars = [e for e in classpath if e.endswith(".jar")]
    # The AM container's classpath: this cluster's conf dir, then Hadoop's jars.
    settings = {"yarn.application.classpath": ",".join([str(conf_dir), *jars])}
    java_home = os.environ.get("JAVA_HOME") or str(Path(os.path.realpath(java)).parent.parent)
    monkeypatch.setenv("JAVA_HOME", java_home)  # whitelisted: the NMs pass it to the AM container
    with MiniCluster(nodes=2, workdir=workdir, conf=settings) as cluster:
        logging_conf = [e for e in classpath if not e.endswith(".jar")]  # log4j.properties, if any
        command = [java, "--add-opens=java.base/java.lang=ALL-UNNAMED", "-Dhadoop.root.logger=INFO,console",
                   "-cp", os.pathsep.join([cluster.conf_dir, *jars, *logging_conf]),
                   "org.apache.hadoop.yarn.applications.distributedshell.Client", "-jar", jar,
                   "-shell_command", "echo", "-shell_args", "hello-from-java", "-num_containers", "2",
                   "-master_memory", "256", "-container_memory", "128", "-timeout", "60000"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        outputs = [p.read_text() for nm in cluster.node_managers for p in nm.log_dir.glob("*/*/stdout")]
        assert outputs.count("hello-from-java\n") == 2, outputs
