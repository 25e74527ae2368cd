"""ApplicationClientProtocol: submission checks, reports, filters, queues, nodes, unknown ids.

Messages are those a Hadoop 3.3.6 ResourceManager answers to the same requests.
"""
from __future__ import annotations

import pytest

from hadoop_protos import yarn_records_pb2 as pb
from hadoop_protos import yarn_service_pb2 as spb
from pyarn.errors import (
    ApplicationAttemptNotFoundError,
    ApplicationNotFoundError,
    ContainerNotFoundError,
    NoSuchMethodError,
    RemoteError,
    YarnError,
)
from pyarn.yarn.ids import ApplicationAttemptId, ApplicationId, ContainerId
from pyarn.yarn.records import ApplicationReport, NodeReport, Queue

from .rawam import wait_for


def _apps(cluster, **fields) -> set:
    response = cluster.rm.call("getApplications", spb.GetApplicationsRequestProto(**fields))
    return {ApplicationId.from_proto(r.applicationId) for r in response.applications}


def _unknown(cluster) -> pb.ApplicationIdProto:
    app = ApplicationId.from_proto(cluster.new_application().application_id)
    return ApplicationId(app.cluster_timestamp, 9999).to_proto()


def test_new_application_ids_count_up(cluster):
    first = cluster.new_application()
    second = cluster.new_application()
    assert second.application_id.id == first.application_id.id + 1
    assert second.application_id.cluster_timestamp == first.application_id.cluster_timestamp
    assert (first.maximumCapability.memory, first.maximumCapability.virtual_cores) == (2048, 4)


def test_submission_checks(cluster):
    with pytest.raises(RemoteError) as info:
        cluster.submit("too-big", commands=["true"], memory=99999)
    assert info.value.java_class == "org.apache.hadoop.yarn.exceptions.InvalidResourceRequestException"
    assert str(info.value).startswith("Invalid resource request! Cannot allocate containers as requested "
                                      "resource is greater than maximum allowed allocation. Requested "
                                      "resource type=[memory-mb], Requested resource=<memory:99999, "
                                      "vCores:1>")
    with pytest.raises(RemoteError, match="less than 0!"):
        cluster.submit("negative", commands=["true"], memory=-1)
    app_id = cluster.new_application().application_id
    context = pb.ApplicationSubmissionContextProto(application_id=app_id, application_name="no-resource",
                                                   am_container_spec=pb.ContainerLaunchContextProto(command=["x"]))
    with pytest.raises(RemoteError) as info:
        cluster.submit_context(context)
    assert str(info.value) == "Invalid resource request, no resources requested"
    context = pb.ApplicationSubmissionContextProto(application_id=app_id, application_name="no-spec",
                                                   resource=pb.ResourceProto(memory=128, virtual_cores=1))
    with pytest.raises(RemoteError) as info:
        cluster.submit_context(context)
    assert info.value.java_class == "java.lang.NullPointerException"


def test_unknown_queue_fails_the_application(cluster):
    app_id = cluster.submit("lost", unmanaged=True, queue="nope")
    report = cluster.wait_final(app_id)
    app = ApplicationId.from_proto(app_id)
    assert (report.yarn_application_state, report.final_application_status, report.queue) == (
        pb.FAILED, pb.APP_FAILED, "nope")
    assert report.diagnostics == f"Application {app} submitted by user {report.user} to unknown queue: nope"


def test_duplicate_submission_is_ignored(cluster):
    am = cluster.submit_unmanaged("dup")
    with am:
        cluster.submit_context(pb.ApplicationSubmissionContextProto(
            application_id=am.app_id, application_name="other-name", unmanaged_am=True))
        assert cluster.report(am.app_id).name == "dup"
    cluster.kill(am.app_id)


def test_unknown_ids(cluster):
    unknown = _unknown(cluster)
    app = ApplicationId.from_proto(unknown)
    not_found = (f"Application with id '{app}' doesn't exist in RM. Please check that the job submission was "
                 "successful.")
    for method, request in [
            ("getApplicationReport", spb.GetApplicationReportRequestProto(application_id=unknown)),
            ("getApplicationAttempts", spb.GetApplicationAttemptsRequestProto(application_id=unknown)),
            ("moveApplicationAcrossQueues", spb.MoveApplicationAcrossQueuesRequestProto(
                application_id=unknown, target_queue="default"))]:
        with pytest.raises(ApplicationNotFoundError) as info:
            cluster.rm.call(method, request)
        assert str(info.value) == not_found, method
    with pytest.raises(ApplicationNotFoundError) as info:
        cluster.kill(unknown)
    assert str(info.value) == f"Trying to kill an absent application {app}"

    am = cluster.submit_unmanaged("ids")
    with am:
        other_attempt = ApplicationAttemptId(am.attempt_id.application_id, 7)
        with pytest.raises(ApplicationAttemptNotFoundError) as info:
            cluster.rm.call("getApplicationAttemptReport", spb.GetApplicationAttemptReportRequestProto(
                application_attempt_id=other_attempt.to_proto()))
        assert str(info.value) == f"ApplicationAttempt with id '{other_attempt}' doesn't exist in RM."
        with pytest.raises(ApplicationAttemptNotFoundError):
            cluster.rm.call("getContainers", spb.GetContainersRequestProto(
                application_attempt_id=other_attempt.to_proto()))
        container = ContainerId.from_parts(am.attempt_id, 77)
        with pytest.raises(ContainerNotFoundError) as info:
            cluster.rm.call("getContainerReport",
                            spb.GetContainerReportRequestProto(container_id=container.to_proto()))
        assert str(info.value) == f"Container with id '{container}' doesn't exist in RM."
    cluster.kill(am.app_id)


def test_move_across_queues(cluster):
    am = cluster.submit_unmanaged("mover")
    with am:
        cluster.rm.call("moveApplicationAcrossQueues", spb.MoveApplicationAcrossQueuesRequestProto(
            application_id=am.app_id, target_queue="default"))
        with pytest.raises(YarnError) as info:
            cluster.rm.call("moveApplicationAcrossQueues", spb.MoveApplicationAcrossQueuesRequestProto(
                application_id=am.app_id, target_queue="nope"))
        assert info.value.java_class == "org.apache.hadoop.yarn.exceptions.YarnException"
        assert str(info.value) == "The specified Queue: nope doesn't exist"
    cluster.kill(am.app_id)
    with pytest.raises(YarnError) as info:
        cluster.rm.call("moveApplicationAcrossQueues", spb.MoveApplicationAcrossQueuesRequestProto(
            application_id=am.app_id, target_queue="default"))
    assert str(info.value) == "App in KILLED state cannot be moved."


def test_reports_attempts_and_containers(cluster):
    am = cluster.submit_unmanaged("reports", applicationTags=["Tag-A", "b"], applicationType="MyType")
    with am:
        report = ApplicationReport.from_proto(cluster.report(am.app_id))
        assert report.state.value == "ACCEPTED" and report.am_rm_token is not None
        assert report.diagnostics == "AM container is launched, waiting for AM container to Register with RM"
        assert report.tags == {"Tag-A", "b"} and report.application_type == "MyType"
        assert report.host == "N/A" and report.port == -1 and report.priority == 0
        assert report.timeouts[0].expiry_time == "UNLIMITED" and report.timeouts[0].remaining_time == -1
        am.register(host="am-host", rpc_port=4242, tracking_url="http://am-host:4243/")
        container = am.allocate_containers(1)[0]
        report = ApplicationReport.from_proto(cluster.report(am.app_id))
        assert (report.state.value, report.host, report.port, report.tracking_url) == (
            "RUNNING", "am-host", 4242, "http://am-host:4243/")
        assert report.usage.num_used_containers == 1 and report.usage.used_resources.memory == 128
        attempts = cluster.rm.call("getApplicationAttempts", spb.GetApplicationAttemptsRequestProto(
            application_id=am.app_id)).application_attempts
        assert [a.yarn_application_attempt_state for a in attempts] == [pb.APP_ATTEMPT_RUNNING]
        containers = cluster.rm.call("getContainers", spb.GetContainersRequestProto(
            application_attempt_id=am.attempt_id.to_proto())).containers
        assert [c.container_id for c in containers] == [container.id]
        single = cluster.rm.call("getContainerReport", spb.GetContainerReportRequestProto(
            container_id=container.id)).container_report
        assert single.container_state == pb.C_RUNNING, "YARN reports RUNNING from allocation on"
        assert single.node_id == container.nodeId and single.finish_time == 0
        am.finish()
    final = ApplicationReport.from_proto(cluster.wait_final(am.app_id))
    assert final.usage.num_used_containers == -1, "YARN's 'not known' for a finished application"
    assert final.progress == 1.0


def test_get_applications_filters(cluster):
    first = cluster.submit_unmanaged("filter-me", applicationTags=["blue"], applicationType="TYPE-X")
    second = cluster.submit_unmanaged("filter-me-too", applicationTags=["red"])
    with first, second:
        a, b = ApplicationId.from_proto(first.app_id), ApplicationId.from_proto(second.app_id)
        assert {a, b} <= _apps(cluster)
        assert {a, b} <= _apps(cluster, application_states=[pb.ACCEPTED])
        assert not {a, b} & _apps(cluster, application_states=[pb.FINISHED])
        assert _apps(cluster, name="filter-me") & {a, b} == {a}
        assert _apps(cluster, applicationTags=["red"]) & {a, b} == {b}
        assert not _apps(cluster, applicationTags=["RED"]) & {a, b}, "tags match exactly, as YARN's RPC does"
        assert _apps(cluster, application_types=["type-x"]) & {a, b} == {a}, "types match in any case"
        user = cluster.report(first.app_id).user
        assert {a, b} <= _apps(cluster, users=[user]) and not _apps(cluster, users=["nobody-at-all"])
        assert {a, b} <= _apps(cluster, queues=["default"]) and not _apps(cluster, queues=["DEFAULT"])
        assert len(_apps(cluster, limit=1)) == 1
        start = cluster.report(second.app_id).startTime
        assert b in _apps(cluster, start_begin=start) and a not in _apps(cluster, start_begin=start + 1)
        assert not {a, b} & _apps(cluster, finish_begin=1)
        assert {a, b} <= _apps(cluster, scope=spb.OWN)
    cluster.kill(first.app_id)
    cluster.kill(second.app_id)
    assert {a, b} <= _apps(cluster, application_states=[pb.KILLED])
    assert not {a, b} & _apps(cluster, queues=["default"]), "the scheduler forgets finished applications"


def test_cluster_metrics_and_nodes(minicluster, cluster):
    metrics = cluster.rm.call("getClusterMetrics", spb.GetClusterMetricsRequestProto()).cluster_metrics
    assert (metrics.num_node_managers, metrics.num_active_nms, metrics.num_lost_nms) == (2, 2, 0)
    nodes = [NodeReport.from_proto(n) for n in cluster.rm.call(
        "getClusterNodes", spb.GetClusterNodesRequestProto()).nodeReports]
    assert {n.id for n in nodes} == {nm.node_id for nm in minicluster.node_managers}
    for node in nodes:
        assert node.state.value == "RUNNING" and node.rack_name == "/default-rack"
        assert (node.total_resources.memory, node.total_resources.vcores) == (2048, 4)
    assert len(cluster.rm.call("getClusterNodes", spb.GetClusterNodesRequestProto(
        nodeStates=[pb.NS_RUNNING])).nodeReports) == 2
    assert not cluster.rm.call("getClusterNodes", spb.GetClusterNodesRequestProto(
        nodeStates=[pb.NS_DECOMMISSIONED])).nodeReports


def _used(cluster) -> dict:
    reports = cluster.rm.call("getClusterNodes", spb.GetClusterNodesRequestProto()).nodeReports
    return {n.nodeId.port: n.used.memory for n in reports}


def test_node_usage_follows_containers(minicluster, cluster):
    before = _used(cluster)
    am = cluster.submit_unmanaged("usage")
    with am:
        am.register()
        container = am.allocate_containers(1, memory=512)[0]
        port = container.nodeId.port
        assert _used(cluster)[port] == before[port] + 512
        report = cluster.report(am.app_id).app_resource_Usage
        assert report.queue_usage_percentage == pytest.approx(100 * 512 / 4096)
        am.finish()
    cluster.wait_final(am.app_id)
    wait_for(lambda: _used(cluster)[port] == before[port], 5, "the node's memory to come back")


def test_queues(cluster):
    am = cluster.submit_unmanaged("queued")
    with am:
        info = cluster.rm.call("getQueueInfo", spb.GetQueueInfoRequestProto(
            queueName="default", includeApplications=True))
        queue = Queue.from_proto(info.queueInfo)
        assert (queue.name, queue.state.value, queue.capacity, queue.max_capacity) == ("default", "RUNNING",
                                                                                      100.0, 100.0)
        assert queue.queue_path == "root.default" and queue.node_labels == {"*"}
        assert ApplicationId.from_proto(am.app_id) in {a.id for a in queue.applications}
        assert queue.statistics.num_apps_pending >= 1
        root = Queue.from_proto(cluster.rm.call("getQueueInfo", spb.GetQueueInfoRequestProto(
            queueName="root", includeChildQueues=True)).queueInfo)
        assert [q.name for q in root.child_queues] == ["default"]
        assert not cluster.rm.call("getQueueInfo", spb.GetQueueInfoRequestProto(
            queueName="nope")).HasField("queueInfo"), "YARN answers an empty response for an unknown queue"
        acls = cluster.rm.call("getQueueUserAcls", spb.GetQueueUserAclsInfoRequestProto()).queueUserAcls
        assert [(a.queueName, list(a.userAcls)) for a in acls] == [
            ("root", [pb.QACL_SUBMIT_APPLICATIONS, pb.QACL_ADMINISTER_QUEUE]),
            ("root.default", [pb.QACL_SUBMIT_APPLICATIONS, pb.QACL_ADMINISTER_QUEUE])]
    cluster.kill(am.app_id)


def test_priority_is_capped_by_the_cluster_maximum(cluster):
    am = cluster.submit_unmanaged("prio")
    with am:
        response = cluster.rm.call("updateApplicationPriority", spb.UpdateApplicationPriorityRequestProto(
            applicationId=am.app_id, applicationPriority=pb.PriorityProto(priority=3)))
        assert response.applicationPriority.priority == 0, "yarn.cluster.max-application-priority is 0"
    cluster.kill(am.app_id)
    response = cluster.rm.call("updateApplicationPriority", spb.UpdateApplicationPriorityRequestProto(
        applicationId=am.app_id, applicationPriority=pb.PriorityProto(priority=3)))
    assert response.applicationPriority.priority == 0


def test_resource_types_and_labels(cluster):
    response = cluster.rm.call("getResourceTypeInfo", spb.GetAllResourceTypeInfoRequestProto())
    types = response.resource_type_info
    assert [(t.name, t.units) for t in types] == [("memory-mb", "Mi"), ("vcores", "")]
    assert not cluster.rm.call("getClusterNodeLabels", spb.GetClusterNodeLabelsRequestProto()).nodeLabels


def test_unimplemented_method_is_no_such_method(cluster):
    with pytest.raises(NoSuchMethodError) as info:
        cluster.rm.call("getNewReservation", spb.GetNewReservationRequestProto())
    assert str(info.value) == ("Unknown method getNewReservation called on "
                               "org.apache.hadoop.yarn.api.ApplicationClientProtocolPB protocol.")
