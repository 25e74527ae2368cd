"""The issue's main scenario over real sockets: an AM registers, runs three echoes on two NMs, succeeds."""
from __future__ import annotations

from pathlib import Path

from hadoop_protos import yarn_records_pb2 as pb
from hadoop_protos import yarn_service_pb2 as spb
from hadoop_protos import yarn_tokens_pb2 as tpb
from pyarn.security.tokens import CONTAINER_TOKEN_KIND, NM_TOKEN_KIND
from pyarn.yarn.ids import ApplicationId, ContainerId, NodeId

from .rawam import ECHO_EXIT_CODES, run_echo_scenario


def test_echo_scenario(minicluster, cluster):
    result = run_echo_scenario(cluster)

    registered = result["registered"]
    assert registered.queue == "default"
    assert (registered.maximumCapability.memory, registered.maximumCapability.virtual_cores) == (2048, 4)
    assert list(registered.scheduler_resource_types) == [spb.MEMORY]

    containers = result["containers"]
    nodes = {NodeId.from_proto(c.nodeId) for c in containers}
    assert len(containers) == 3 and len(nodes) == 2, "three containers spread over both NodeManagers"
    assert nodes == {nm.node_id for nm in minicluster.node_managers}
    for container in containers:
        assert container.resource.memory == 128 and container.resource.virtual_cores == 1
        assert container.container_token.kind == CONTAINER_TOKEN_KIND
        assert container.container_token.service == f"127.0.0.1:{container.nodeId.port}"
        identifier = tpb.ContainerTokenIdentifierProto.FromString(container.container_token.identifier)
        assert identifier.containerId == container.id
        assert identifier.nmHostAddr == f"{container.nodeId.host}:{container.nodeId.port}"

    # One NMToken per node, for this attempt, sent once.
    assert set(result["nm_tokens"]) == {str(n) for n in nodes}
    for address, token in result["nm_tokens"].items():
        assert token.kind == NM_TOKEN_KIND and token.service == "127.0.0.1:" + address.split(":")[1]
        identifier = tpb.NMTokenIdentifierProto.FromString(token.identifier)
        assert str(NodeId.from_proto(identifier.nodeId)) == address
        assert identifier.appAttemptId == result["attempt_id"].to_proto()

    for response in result["started"].values():
        assert len(response.succeeded_requests) == 1 and not response.failed_requests

    statuses = result["statuses"]
    for container_id, code in result["expected"].items():
        status = statuses[container_id]
        assert status.state == pb.C_COMPLETE and status.exit_status == code
        if code == 0:
            assert status.diagnostics == ""
        else:
            assert f"Exception from container-launch.\nContainer id: {container_id}\nExit code: {code}\n" \
                in status.diagnostics
            assert f"Container exited with a non-zero exit code {code}. Error file: prelaunch.err." \
                in status.diagnostics

    # Each container wrote its line to its own log dir.
    app = ApplicationId.from_proto(result["app_id"])
    for k, container in enumerate(containers):
        container_id = ContainerId.from_proto(container.id)
        nm = next(n for n in minicluster.node_managers if n.node_id == NodeId.from_proto(container.nodeId))
        stdout = Path(nm.log_dir, str(app), str(container_id), "stdout")
        assert stdout.read_text() == f"hello from container {k}\n"

    running = result["running_report"]
    assert running.yarn_application_state == pb.RUNNING and running.host == "localhost"
    assert not running.HasField("am_rm_token"), "the AMRMToken is only shown before the AM registers"
    assert result["finish"].isUnregistered

    final = result["final"]
    assert final.yarn_application_state == pb.FINISHED
    assert final.final_application_status == pb.APP_SUCCEEDED
    assert final.diagnostics == "all echoes done"
    assert final.progress == 1.0 and final.finishTime >= final.startTime > 0
    assert final.unmanaged_application and final.user and final.queue == "default"
    assert ECHO_EXIT_CODES == (0, 3, 5)
