"""Work-preserving AM restart: ``keep_containers_across_application_attempts``.

Each attempt's AM container runs rawam's stand-in (it hands its token file and
pid to the test, then waits); the test process speaks for each attempt with the
raw AM helpers, crashes an attempt by killing its stand-in, and lets the
stand-in exit once its attempt has unregistered. What is checked was observed
on a real YARN 3.3.6 with the same steps: a failed attempt's running containers
live on into the next attempt, which gets them (and NMTokens naming the attempt
that allocated them) when it registers, stops or releases them, and sees their
completions; containers allocated but never started end with the attempt,
their completions going to the next one, as do those of the old AM's last
heartbeat; the blacklist carries over; a client's ``failApplicationAttempt``
leaves the old AM container running and hands it over as well. (The expired-AM
case follows Hadoop's sources: ``AMLauncher`` stops the AM container, the
others stay.)
"""
from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest

from hadoop_protos import yarn_records_pb2 as pb
from hadoop_protos import yarn_service_pb2 as spb
from hadoop_protos import yarn_tokens_pb2 as tpb
from pyarn.minicluster import MiniCluster
from pyarn.security.credentials import Credentials
from pyarn.security.tokens import AMRM_TOKEN_KIND, Token
from pyarn.yarn.ids import ApplicationAttemptId, ContainerId

from .rawam import AppMaster, Cluster, wait_for

KILLED_BY_APPMASTER, ABORTED = -105, -100


def _submit(cluster: Cluster, directory: Path, keep: bool = True, attempts: int = 2) -> AppMaster:
    """The AM of attempt 1 of an application whose AM containers are stand-ins (handing over in
    ``directory``)."""
    return cluster.submit_managed("keep-containers", directory, maxAppAttempts=attempts,
                                  keep_containers_across_application_attempts=keep)


def _next_attempt(cluster: Cluster, previous: AppMaster, directory: Path) -> AppMaster:
    """The AM of the attempt after ``previous``, with the AMRMToken its stand-in hands over."""
    attempt = ApplicationAttemptId(previous.attempt_id.application_id, previous.attempt_id.attempt_id + 1)
    am_container = ContainerId.from_parts(attempt, 1)
    tokens = directory / f"{am_container}.tokens"
    wait_for(tokens.exists, 30, f"the token file of {am_container}")
    token = Credentials.read_file(tokens).find_token(AMRM_TOKEN_KIND)
    assert token is not None, f"{tokens} holds no {AMRM_TOKEN_KIND}"
    return AppMaster(cluster, previous.app_id, token.to_proto(), release=directory / f"{am_container}.done")


def _pid(am: AppMaster, directory: Path) -> int:
    """The pid of ``am``'s stand-in AM container (written before its token file)."""
    return int((directory / f"{ContainerId.from_parts(am.attempt_id, 1)}.pid").read_text())


def _running_on_the_rm(minicluster: MiniCluster, containers: List[pb.ContainerProto]) -> bool:
    """The NodeManagers have told the RM these containers run (YARN's RMContainer RUNNING)."""
    rm = minicluster.resource_manager
    with rm.lock:
        found = [rm.find_container(ContainerId.from_proto(c.id)) for c in containers]
        return all(c is not None and c.state == "RUNNING" for c in found)


def _start_sleepers(minicluster: MiniCluster, am: AppMaster, count: int,
                    unstarted: int = 0) -> Tuple[List[pb.ContainerProto], List[pb.ContainerProto]]:
    """``count`` containers running ``sleep`` (the RM knows they run), and ``unstarted`` ones."""
    containers = am.allocate_containers(count + unstarted)
    started, idle = containers[:count], containers[count:]
    for container in started:
        assert len(am.start(container, ["sleep 600"]).succeeded_requests) == 1
    wait_for(lambda: am.allocate() and _running_on_the_rm(minicluster, started), 30, "running sleepers")
    return started, idle


def _ids(containers) -> Set[ContainerId]:
    return {ContainerId.from_proto(c.id) for c in containers}


def _containers_of(cluster: Cluster, attempt: ApplicationAttemptId) -> Set[ContainerId]:
    response = cluster.rm.call("getContainers", spb.GetContainersRequestProto(
        application_attempt_id=attempt.to_proto()))
    return {ContainerId.from_proto(c.container_id) for c in response.containers}


def _use_nm_tokens(am: AppMaster, registered: spb.RegisterApplicationMasterResponseProto) -> None:
    for nm_token in registered.nm_tokens_from_previous_attempts:
        am.nm_tokens[f"{nm_token.nodeId.host}:{nm_token.nodeId.port}"] = Token.from_proto(nm_token.token)


def _finish(cluster: Cluster, am: AppMaster) -> pb.ApplicationReportProto:
    am.finish(pb.APP_SUCCEEDED, "done")  # then the stand-in exits: its attempt is FINISHED
    return cluster.wait_final(am.app_id)


def test_a_crashed_am_hands_its_running_containers_to_the_next_attempt(minicluster, cluster, tmp_path):
    one = _submit(cluster, tmp_path)
    app_id = one.app_id
    with one:
        one.register()
        sleepers, (idle,) = _start_sleepers(minicluster, one, 2, unstarted=1)
        os.kill(_pid(one, tmp_path), signal.SIGKILL)

    two = _next_attempt(cluster, one, tmp_path)
    with two:
        registered = two.register()
        carried = {ContainerId.from_proto(c.id): c for c in registered.containers_from_previous_attempts}
        assert set(carried) == _ids(sleepers), "the running ones, under their own ids; not the AM's"
        for container in sleepers:
            same = carried[ContainerId.from_proto(container.id)]
            assert (same.nodeId, same.resource, same.priority, same.container_token) == (
                container.nodeId, container.resource, container.priority, container.container_token)
        nodes = {(c.nodeId.host, c.nodeId.port) for c in sleepers}
        tokens = registered.nm_tokens_from_previous_attempts
        assert sorted((t.nodeId.host, t.nodeId.port) for t in tokens) == sorted(nodes)
        for nm_token in tokens:  # as YARN: the token names the attempt that allocated the containers
            identifier = tpb.NMTokenIdentifierProto.FromString(nm_token.token.identifier)
            assert ApplicationAttemptId.from_proto(identifier.appAttemptId) == one.attempt_id
        _use_nm_tokens(two, registered)

        am2_container = ContainerId.from_parts(two.attempt_id, 1)
        usage = cluster.report(app_id).app_resource_Usage
        assert usage.num_used_containers == 3, "both sleepers and the new AM"
        assert usage.used_resources.memory == sum(c.resource.memory for c in sleepers) + 128
        # As YARN's scheduler: any attempt id answers with the current attempt's containers.
        assert _containers_of(cluster, two.attempt_id) == _containers_of(cluster, one.attempt_id) == \
            _ids(sleepers) | {am2_container}

        first, second = sleepers
        response = two.allocate()
        assert [(ContainerId.from_proto(s.container_id), s.exit_status, s.diagnostics)
                for s in response.completed_container_statuses] == [
            (ContainerId.from_proto(idle.id), ABORTED, "Container of a completed application")]
        assert not response.nm_tokens, "the nodes of the carried containers count as served"

        assert len(two.stop(first).succeeded_requests) == 1
        status = two.wait_completed([ContainerId.from_proto(first.id)])[ContainerId.from_proto(first.id)]
        assert status.exit_status == KILLED_BY_APPMASTER
        assert "Container killed by the ApplicationMaster." in status.diagnostics
        assert two.statuses(second).status[0].state == pb.C_RUNNING

        second_id = ContainerId.from_proto(second.id)
        two.allocate(releases=[second_id])
        assert two.completed[second_id].diagnostics == "Container released by application"
        assert cluster.report(app_id).app_resource_Usage.num_used_containers == 1
        assert _containers_of(cluster, two.attempt_id) == {am2_container}
        report = _finish(cluster, two)
    assert (report.yarn_application_state, report.final_application_status) == (pb.FINISHED, pb.APP_SUCCEEDED)


def test_the_next_attempt_gets_the_last_heartbeat_again_and_the_blacklist(minicluster, cluster, tmp_path):
    one = _submit(cluster, tmp_path)
    with one:
        one.register()
        _, (idle,) = _start_sleepers(minicluster, one, 1, unstarted=1)
        idle_id = ContainerId.from_proto(idle.id)
        one.allocate(releases=[idle_id], blacklist=["localhost"])
        while idle_id not in one.completed:  # no heartbeat after the one that told of the release
            one.allocate()
        # the AM crashes, maybe before it took in its last heartbeat's answer
        os.kill(_pid(one, tmp_path), signal.SIGKILL)

    two = _next_attempt(cluster, one, tmp_path)
    with two:
        two.register()
        assert [(ContainerId.from_proto(s.container_id), s.diagnostics)
                for s in two.allocate().completed_container_statuses] == [
            (idle_id, "Container released by application")], "sent again, as YARN does"
        capability = pb.ResourceProto(memory=128, virtual_cores=1)
        ask = pb.ResourceRequestProto(priority=pb.PriorityProto(priority=1), resource_name="*",
                                      num_containers=1, capability=capability)
        assert not two.allocate([ask]).allocated_containers and not two.allocate().allocated_containers, \
            "attempt 1's blacklist holds for attempt 2"
        request = spb.AllocateRequestProto(response_id=two.response_id, progress=0.5)
        request.blacklist_request.blacklist_removals.append("localhost")
        response = two.scheduler.call("allocate", request)
        two.response_id = response.response_id
        assert response.allocated_containers or wait_for(lambda: two.allocate().allocated_containers, 10,
                                                         "a container once the blacklist is lifted")
        report = _finish(cluster, two)
    assert report.final_application_status == pb.APP_SUCCEEDED


def test_a_failed_attempt_hands_over_its_am_container_too(minicluster, cluster, tmp_path):
    one = _submit(cluster, tmp_path)
    app_id, pid1 = one.app_id, _pid(one, tmp_path)
    with one:
        one.register()
        sleepers, _ = _start_sleepers(minicluster, one, 2)
        cluster.rm.call("failApplicationAttempt", spb.FailApplicationAttemptRequestProto(
            application_attempt_id=one.attempt_id.to_proto()))
        old_am = ContainerId.from_parts(one.attempt_id, 1)
        two = _next_attempt(cluster, one, tmp_path)
        with two:
            registered = two.register()
            carried = {ContainerId.from_proto(c.id): c for c in registered.containers_from_previous_attempts}
            assert set(carried) == _ids(sleepers) | {old_am}, "YARN 3.3.6 leaves the old AM running"
            _use_nm_tokens(two, registered)
            assert cluster.report(app_id).app_resource_Usage.num_used_containers == 4
            assert len(two.stop(carried[old_am]).succeeded_requests) == 1
            wait_for(lambda: _gone(pid1), 10, "the old AM process to end")
            status = two.wait_completed([old_am])[old_am]
            assert status.exit_status == KILLED_BY_APPMASTER
            assert all(two.statuses(c).status[0].state == pb.C_RUNNING for c in sleepers)
            report = _finish(cluster, two)
        wait_for(lambda: set(_nm_states(one, sleepers).values()) == {pb.C_COMPLETE}, 10,
                 "the sleepers to end with the application")
    assert (report.yarn_application_state, report.final_application_status) == (pb.FINISHED, pb.APP_SUCCEEDED)


def _gone(pid: int) -> bool:
    """The process has ended (a zombie not yet reaped counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def _nm_states(am: AppMaster, containers: List[pb.ContainerProto]) -> Dict[ContainerId, int]:
    return {ContainerId.from_proto(c.id): am.statuses(c).status[0].state for c in containers}


@pytest.mark.parametrize("keep, attempts", [(False, 2), (True, 1)], ids=["without-keep", "last-attempt"])
def test_otherwise_the_containers_end_with_the_attempt(minicluster, cluster, tmp_path, keep, attempts):
    one = _submit(cluster, tmp_path, keep=keep, attempts=attempts)
    app_id = one.app_id
    with one:
        one.register()
        sleepers, _ = _start_sleepers(minicluster, one, 2)
        os.kill(_pid(one, tmp_path), signal.SIGKILL)
        wait_for(lambda: set(_nm_states(one, sleepers).values()) == {pb.C_COMPLETE}, 10, "killed sleepers")
    if attempts == 1:
        report = cluster.wait_final(app_id)
        assert report.yarn_application_state == pb.FAILED
        return
    two = _next_attempt(cluster, one, tmp_path)
    with two:
        registered = two.register()
        assert not registered.containers_from_previous_attempts
        assert not registered.nm_tokens_from_previous_attempts
        assert not two.allocate().completed_container_statuses, "nothing of attempt 1 reaches attempt 2"
        assert _containers_of(cluster, one.attempt_id) == {ContainerId.from_parts(two.attempt_id, 1)}
        assert cluster.report(app_id).app_resource_Usage.num_used_containers == 1
        report = _finish(cluster, two)
    assert report.final_application_status == pb.APP_SUCCEEDED


def test_an_expired_am_container_is_stopped_and_the_others_kept(tmp_path):
    settings = {"yarn.am.liveness-monitor.expiry-interval-ms": "2000"}
    with MiniCluster(nodes=1, memory_mb=2048, vcores=4, conf=settings) as mc, Cluster(mc.conf_dir) as cluster:
        one = _submit(cluster, tmp_path)
        pid1 = _pid(one, tmp_path)
        with one:  # open until the end: closing it would let its stand-in exit before the attempt expires
            one.register()
            sleepers, _ = _start_sleepers(mc, one, 1)
            # attempt 1 falls silent and expires: YARN stops its AM container through the NodeManager
            two = _next_attempt(cluster, one, tmp_path)
            with two:
                registered = two.register()
                carried = _ids(registered.containers_from_previous_attempts)
                old_am = ContainerId.from_parts(one.attempt_id, 1)
                assert _ids(sleepers) <= carried <= _ids(sleepers) | {old_am}
                status = two.wait_completed([old_am])[old_am]
                assert status.exit_status == KILLED_BY_APPMASTER
                assert _gone(pid1)
                assert _containers_of(cluster, two.attempt_id) == _ids(sleepers) | {ContainerId.from_parts(
                    two.attempt_id, 1)}
                report = _finish(cluster, two)
        assert report.final_application_status == pb.APP_SUCCEEDED
