"""ApplicationMasterProtocol's rules: registration, response ids, asks, releases, blacklists.

Messages are those of a Hadoop 3.3.6 ResourceManager for the same calls.
"""
from __future__ import annotations

import pytest

from hadoop_protos import yarn_records_pb2 as pb
from hadoop_protos import yarn_service_pb2 as spb
from pyarn.errors import (
    ApplicationAttemptNotFoundError,
    ApplicationMasterNotRegisteredError,
    InvalidApplicationMasterRequestError,
    RemoteError,
)
from pyarn.yarn.ids import ApplicationId, ContainerId

from .rawam import log_dir_command, wait_for


def _ask(memory=128, vcores=1, count=1, priority=1, name="*", relax=True) -> pb.ResourceRequestProto:
    return pb.ResourceRequestProto(priority=pb.PriorityProto(priority=priority), resource_name=name,
                                   capability=pb.ResourceProto(memory=memory, virtual_cores=vcores),
                                   num_containers=count, relax_locality=relax)


@pytest.fixture
def am(cluster):
    am = cluster.submit_unmanaged("am-rules")
    yield am
    am.close()
    cluster.kill(am.app_id)


def test_calls_before_register(am):
    with pytest.raises(ApplicationMasterNotRegisteredError) as info:
        am.allocate()
    assert str(info.value) == (f"AM is not registered for known application attempt: {am.attempt_id} or RM "
                               "had restarted after AM registered.  AM should re-register.")
    with pytest.raises(ApplicationMasterNotRegisteredError) as info:
        am.scheduler.call("finishApplicationMaster", spb.FinishApplicationMasterRequestProto(
            final_application_status=pb.APP_SUCCEEDED))
    app = ApplicationId.from_proto(am.app_id)
    assert str(info.value) == f"Application Master is trying to unregister before registering for: {app}"


def test_register_twice(am):
    am.register()
    with pytest.raises(InvalidApplicationMasterRequestError) as info:
        am.register()
    app = ApplicationId.from_proto(am.app_id)
    assert str(info.value) == f"Application Master is already registered : {app}"


def test_response_id_rules(am):
    am.register()
    first = am.allocate()
    assert first.response_id == 1
    am.response_id = 0  # a retried heartbeat gets the very same answer back
    assert am.allocate() == first
    assert am.allocate().response_id == 2
    for stale in (0, 7):
        am.response_id = stale
        with pytest.raises(InvalidApplicationMasterRequestError) as info:
            am.allocate()
        assert str(info.value) == (f"Invalid responseId in AllocateRequest from application attempt: "
                                   f"{am.attempt_id} expect responseId to be 2 but get {stale}")


def test_invalid_asks(cluster, am):
    am.register()
    am.allocate()
    with pytest.raises(RemoteError) as info:
        am.allocate([_ask(memory=99999)])
    assert info.value.java_class == "org.apache.hadoop.yarn.exceptions.InvalidResourceRequestException"
    assert str(info.value) == (
        "Invalid resource request! Cannot allocate containers as requested resource is greater than "
        "maximum allowed allocation. Requested resource type=[memory-mb], Requested "
        "resource=<memory:99999, vCores:1>, maximum allowed allocation=<memory:2048, vCores:4>, please note "
        "that maximum allowed allocation is calculated by scheduler based on maximum resource of registered "
        "NodeManagers, which might be less than configured maximum allocation=<memory:2048, vCores:4>")
    with pytest.raises(RemoteError, match=r"less than 0! Requested resource type=\[memory-mb\], "
                                        r"Requested resource=<memory:-5, vCores:1>$"):
        am.allocate([_ask(memory=-5)])
    with pytest.raises(RemoteError, match=r"Requested resource type=\[vcores\]"):
        am.allocate([_ask(vcores=99)])
    with pytest.raises(RemoteError) as info:
        am.allocate(blacklist=["*"])
    assert info.value.java_class == \
        "org.apache.hadoop.yarn.exceptions.InvalidResourceBlacklistRequestException"
    assert str(info.value) == "Cannot add * to the blacklist!"
    foreign = ContainerId.parse("container_1_9999_01_000005")
    with pytest.raises(RemoteError) as info:
        am.allocate(releases=[foreign])
    assert info.value.java_class == "org.apache.hadoop.yarn.exceptions.InvalidContainerReleaseException"
    assert str(info.value) == (f"Cannot release container : {foreign} not belonging to this application "
                               f"attempt : {am.attempt_id}")
    # A rejected heartbeat does not consume the response id.
    assert am.allocate().response_id == 2


def test_asks_are_normalized_and_replaced(am):
    am.register()
    response = am.allocate([_ask(memory=200, count=2)])  # rounded up to the 128 MiB minimum allocation
    got = list(response.allocated_containers)
    assert [c.resource.memory for c in got] == [256, 256]
    assert response.num_cluster_nodes == 2
    # A new ask under the same key replaces the outstanding count (here: nothing left to replace).
    response = am.allocate([_ask(memory=200, count=0)])
    assert not response.allocated_containers


def test_release_gives_back_the_container(am):
    am.register()
    container = am.allocate_containers(1)[0]
    before = am.allocate().limit.memory
    container_id = ContainerId.from_proto(container.id)
    response = am.allocate(releases=[container_id])
    status = next(s for s in response.completed_container_statuses if s.container_id == container.id)
    assert status.exit_status == -100 and status.diagnostics == "Container released by application"
    assert am.allocate().limit.memory == before + 128


def test_release_of_a_running_container_kills_it(minicluster, am):
    am.register()
    container = am.allocate_containers(1)[0]
    am.start(container, [log_dir_command("sleep 30")])
    nm = next(n for n in minicluster.node_managers if n.node_id.port == container.nodeId.port)
    container_id = ContainerId.from_proto(container.id)
    process = wait_for(lambda: nm.containers[container_id].process, 10, "the sleep to start")
    am.allocate(releases=[container_id])
    wait_for(lambda: process.popen.poll() is not None, 10, "the released container's process to end")


def test_blacklisted_host_gets_nothing(am):
    am.register()
    response = am.allocate([_ask(count=1)], blacklist=["localhost"])
    assert not response.allocated_containers
    assert not am.allocate().allocated_containers
    response = am.scheduler.call("allocate", spb.AllocateRequestProto(
        response_id=am.response_id, blacklist_request=pb.ResourceBlacklistRequestProto(
            blacklist_removals=["localhost"])))
    assert len(response.allocated_containers) == 1


def test_pinned_to_one_node(minicluster, am):
    am.register()
    target = minicluster.node_managers[1].node_id
    # YARN's way to pin: the node asked for by name, no relaxing past the rack nor past the node.
    am.allocate([_ask(count=20, relax=False), _ask(count=20, name=str(target)),
                 _ask(count=20, name="/default-rack", relax=False)])
    got = list(am.containers.values())
    assert len(got) == 4, "the node's 4 vcores hold 4 one-vcore containers; the other node gets none"
    assert {c.nodeId.port for c in got} == {target.port}
    assert not am.allocate().allocated_containers


def test_allocate_after_the_attempt_ended(cluster, am):
    am.register()
    am.allocate()
    cluster.kill(am.app_id)
    with pytest.raises(ApplicationAttemptNotFoundError) as info:
        am.allocate()
    assert str(info.value) == (f"Application attempt {am.attempt_id} doesn't exist in "
                               "ApplicationMasterService cache.")


def test_unregister_is_repeatable_once_done(am):
    am.register()
    assert am.finish(pb.APP_FAILED, "boom").isUnregistered
    again = am.scheduler.call("finishApplicationMaster", spb.FinishApplicationMasterRequestProto(
        final_application_status=pb.APP_FAILED))
    assert again.isUnregistered
    report = am.cluster.wait_final(am.app_id)
    assert (report.yarn_application_state, report.final_application_status, report.diagnostics) == (
        pb.FINISHED, pb.APP_FAILED, "boom")
