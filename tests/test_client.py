"""pyarn.Client against a real IPC server speaking ApplicationClientProtocol.

``FakeResourceManager`` is a small in-memory RM served by pyarn's own
IpcServer on loopback: calls go through sockets, Hadoop IPC framing, the
failover proxy and the record conversions, and the handler keeps every request
it receives so tests can check what went on the wire.
"""
from __future__ import annotations

import socket
import threading
from datetime import datetime, timedelta, timezone
from typing import Dict, Iterator, List, Optional, Tuple

import pytest

from hadoop_protos import yarn_records_pb2 as pb
from hadoop_protos import yarn_service_pb2 as rpc
from hadoop_protos.yarn_protocols_rpc import APPLICATION_CLIENT_PROTOCOL
from pyarn import Client
from pyarn.client import WaitTimeoutError
from pyarn.conf import Configuration
from pyarn.errors import (
    ApplicationNotFoundError,
    FailoverExhaustedError,
    PyarnError,
    StandbyError,
    YarnError,
)
from pyarn.ipc import IpcServer, RetryPolicy
from pyarn.security.credentials import Credentials
from pyarn.security.tokens import Token
from pyarn.spec import File
from pyarn.yarn import (
    ApplicationAttemptId,
    ApplicationAttemptReport,
    ApplicationAttemptState,
    ApplicationId,
    ApplicationReport,
    ApplicationState,
    ClusterMetrics,
    ContainerId,
    ContainerReport,
    ContainerState,
    FinalStatus,
    InvalidIdError,
    NodeId,
    NodeReport,
    NodeState,
    Queue,
    QueueNotFoundError,
    QueueState,
    QueueStatistics,
    Resource,
    ResourceManagerClient,
    ResourceUsageReport,
)

UTC = timezone.utc  # noqa: UP017 (datetime.UTC is 3.11+)
CLUSTER_TS = 1700000000000
T0 = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)  # CLUSTER_TS
#: Retry quickly in tests.
FAST_POLICY = RetryPolicy(max_attempts=4, sleep_base=0.01, sleep_max=0.02)
FAST_POLL = {"yarn.client.application-client-protocol.poll-interval-ms": "5"}


def app_id(n: int) -> ApplicationId:
    return ApplicationId(CLUSTER_TS, n)


def attempt_id(app: int, n: int = 1) -> ApplicationAttemptId:
    return ApplicationAttemptId(app_id(app), n)


def _queue(name: str, children=(), capacity: float = 50.0, running: int = 0) -> Queue:
    return Queue(name=name, state=QueueState.RUNNING, capacity=capacity, max_capacity=100.0,
                 percent_used=12.5, node_labels={"*"}, child_queues=children,
                 statistics=QueueStatistics(num_apps_running=running, num_apps_pending=1,
                                            available_memory=4096, available_vcores=4))


class FakeResourceManager:
    """ApplicationClientProtocol over in-memory state, as the real RM answers it.

    ``requests`` lists ``(method, request)`` in arrival order. ``kill_rounds``
    is how many ``forceKillApplication`` calls answer "not yet" before the
    kill completes; ``lose_submissions`` drops that many submissions (as an
    RM failover can); ``saving_reports`` is how many reports of a new
    application still say NEW_SAVING.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: List[Tuple[str, object]] = []
        self.next_id = 1
        self.kill_rounds = 0
        self.lose_submissions = 0
        self.saving_reports = 0
        self.max_priority = 5
        self.apps: Dict[ApplicationId, ApplicationReport] = {}
        self.contexts: Dict[ApplicationId, pb.ApplicationSubmissionContextProto] = {}
        self.attempts: Dict[ApplicationId, List[ApplicationAttemptReport]] = {}
        self.containers: Dict[ApplicationAttemptId, List[ContainerReport]] = {}
        self.nodes = [
            NodeReport(id=NodeId("node2", 8041), http_address="node2:8042", rack_name="/rack",
                       state=NodeState.LOST, total_resources=Resource(4096, 4)),
            NodeReport(id=NodeId("node1", 8041), http_address="node1:8042", rack_name="/rack",
                       state=NodeState.RUNNING, labels={"gpu"}, num_containers=2,
                       total_resources=Resource(8192, 8, {"yarn.io/gpu": 2}),
                       used_resources=Resource(2048, 2)),
        ]
        self.root = _queue("root", capacity=100.0, children=[
            _queue("default", running=2),
            _queue("prod", children=[_queue("etl"), _queue("adhoc")]),
        ])
        for n, (name, user, queue, state, tags, started) in enumerate([
            ("etl-nightly", "alice", "etl", ApplicationState.FINISHED, {"nightly"}, T0),
            ("shell", "bob", "default", ApplicationState.RUNNING, set(), T0 + timedelta(hours=1)),
            ("shell", "alice", "default", ApplicationState.ACCEPTED, {"adhoc", "x"}, T0 + timedelta(hours=2)),
            ("broken", "carol", "adhoc", ApplicationState.FAILED, set(), T0 + timedelta(hours=3)),
        ], start=1):
            finished = started + timedelta(minutes=30) if state in (ApplicationState.FINISHED,
                                                                    ApplicationState.FAILED) else None
            self.add_app(ApplicationReport(
                id=app_id(n), name=name, user=user, queue=queue, state=state, tags=tags, start_time=started,
                finish_time=finished, application_type="PYARN" if n % 2 else "MAPREDUCE",
                final_status=FinalStatus.SUCCEEDED if finished else FinalStatus.UNDEFINED, priority=0,
                progress=1.0 if finished else 0.5, current_attempt_id=attempt_id(n), host="node1",
                port=4000 + n,
                usage=ResourceUsageReport(num_used_containers=2, used_resources=Resource(2048, 2)),
                client_to_am_token=Token(b"id", b"secret", "YARN_CLIENT_TOKEN")))
        self.attempts[app_id(2)] = [
            ApplicationAttemptReport(id=attempt_id(2, 2), state=ApplicationAttemptState.RUNNING, host="node1",
                                     port=4002, am_container_id=ContainerId.from_parts(attempt_id(2, 2), 1)),
            ApplicationAttemptReport(id=attempt_id(2, 1), state=ApplicationAttemptState.FAILED,
                                     diagnostics="lost node", start_time=T0, finish_time=T0 + timedelta(1)),
        ]
        self.containers[attempt_id(2, 2)] = [
            ContainerReport(id=ContainerId.from_parts(attempt_id(2, 2), n, epoch=1),
                            resource=Resource(1024, 1), node_id=NodeId("node1", 8041),
                            state=ContainerState.RUNNING, start_time=T0)
            for n in (2, 1)]

    def add_app(self, report: ApplicationReport) -> None:
        self.apps[report.id] = report
        self.next_id = max(self.next_id, report.id.id + 1)

    def _record(self, ctx, request) -> None:
        with self.lock:
            self.requests.append((ctx.method, request))

    def last(self, method: str):
        """The last request of ``method``."""
        return [r for m, r in self.requests if m == method][-1]

    def count(self, method: str) -> int:
        return sum(1 for m, _ in self.requests if m == method)

    def _app(self, proto) -> ApplicationReport:
        app = ApplicationId.from_proto(proto)
        if app not in self.apps:
            raise ApplicationNotFoundError(f"Application with id '{app}' doesn't exist in RM.")
        return self.apps[app]

    def _replace(self, report: ApplicationReport, **changes) -> None:
        import attrs

        self.apps[report.id] = attrs.evolve(report, **changes)

    # ---------------------------------------------------------------- protocol

    def getNewApplication(self, request, ctx):
        self._record(ctx, request)
        with self.lock:
            new, self.next_id = ApplicationId(CLUSTER_TS, self.next_id), self.next_id + 1
        return rpc.GetNewApplicationResponseProto(application_id=new.to_proto(),
                                                  maximumCapability=Resource(8192, 8).to_proto())

    def submitApplication(self, request, ctx):
        self._record(ctx, request)
        context = request.application_submission_context
        if self.lose_submissions:
            self.lose_submissions -= 1
            return rpc.SubmitApplicationResponseProto()
        new = ApplicationId.from_proto(context.application_id)
        self.contexts[new] = context
        self.add_app(ApplicationReport(id=new, name=context.application_name, queue=context.queue,
                                       user=ctx.user.name, state=ApplicationState.NEW_SAVING,
                                       tags=context.applicationTags,
                                       application_type=context.applicationType))
        return rpc.SubmitApplicationResponseProto()

    def getApplicationReport(self, request, ctx):
        self._record(ctx, request)
        report = self._app(request.application_id)
        if report.state is ApplicationState.NEW_SAVING:
            if self.saving_reports > 0:
                self.saving_reports -= 1
            else:
                self._replace(report, state=ApplicationState.ACCEPTED)
                report = self.apps[report.id]
        return rpc.GetApplicationReportResponseProto(application_report=report_proto(report))

    def getApplications(self, request, ctx):
        self._record(ctx, request)
        states = {ApplicationState.from_proto(s) for s in request.application_states}
        types = {t.lower() for t in request.application_types}
        begin = request.start_begin if request.HasField("start_begin") else 0
        end = request.start_end if request.HasField("start_end") else 2**63 - 1
        f_begin = request.finish_begin if request.HasField("finish_begin") else 0
        f_end = request.finish_end if request.HasField("finish_end") else 2**63 - 1
        out = []
        for report in self.apps.values():
            proto = report_proto(report)
            if ((states and report.state not in states)
                    or (request.users and report.user not in request.users)
                    or (request.queues and report.queue not in request.queues)
                    or (types and report.application_type.lower() not in types)
                    or (request.applicationTags and not report.tags & set(request.applicationTags))
                    or (request.HasField("name") and report.name != request.name)
                    or not begin <= proto.startTime <= end or not f_begin <= proto.finishTime <= f_end):
                continue
            out.append(proto)
        return rpc.GetApplicationsResponseProto(applications=reversed(out))

    def forceKillApplication(self, request, ctx):
        self._record(ctx, request)
        report = self._app(request.application_id)
        if self.kill_rounds > 0:
            self.kill_rounds -= 1
            return rpc.KillApplicationResponseProto(is_kill_completed=False)
        if report.state not in (ApplicationState.FINISHED, ApplicationState.FAILED, ApplicationState.KILLED):
            self._replace(report, state=ApplicationState.KILLED, final_status=FinalStatus.KILLED,
                          diagnostics=f"Application {report.id} was killed by user {ctx.user.name}"
                                      f" with diagnostic message: {request.diagnostics}")
        return rpc.KillApplicationResponseProto(is_kill_completed=True)

    def moveApplicationAcrossQueues(self, request, ctx):
        self._record(ctx, request)
        report = self._app(request.application_id)
        if self._find_queue(request.target_queue) is None:
            raise YarnError(f"Failed to move {report.id} to queue {request.target_queue}: no such queue")
        self._replace(report, queue=request.target_queue)
        return rpc.MoveApplicationAcrossQueuesResponseProto()

    def updateApplicationPriority(self, request, ctx):
        self._record(ctx, request)
        report = self._app(request.applicationId)
        priority = min(request.applicationPriority.priority, self.max_priority)
        self._replace(report, priority=priority)
        return rpc.UpdateApplicationPriorityResponseProto(
            applicationPriority=pb.PriorityProto(priority=priority))

    def updateApplicationTimeouts(self, request, ctx):
        self._record(ctx, request)
        self._app(request.applicationId)
        return rpc.UpdateApplicationTimeoutsResponseProto(application_timeouts=request.application_timeouts)

    def getApplicationAttempts(self, request, ctx):
        self._record(ctx, request)
        report = self._app(request.application_id)
        return rpc.GetApplicationAttemptsResponseProto(
            application_attempts=[a.to_proto() for a in self.attempts.get(report.id, [])])

    def getApplicationAttemptReport(self, request, ctx):
        self._record(ctx, request)
        wanted = ApplicationAttemptId.from_proto(request.application_attempt_id)
        for attempt in self.attempts.get(wanted.application_id, []):
            if attempt.id == wanted:
                return rpc.GetApplicationAttemptReportResponseProto(
                    application_attempt_report=attempt.to_proto())
        raise remote("ApplicationAttemptNotFoundException", f"attempt {wanted} not found")

    def getContainers(self, request, ctx):
        self._record(ctx, request)
        attempt = ApplicationAttemptId.from_proto(request.application_attempt_id)
        self._app(attempt.application_id.to_proto())
        containers = self.containers.get(attempt, [])
        return rpc.GetContainersResponseProto(containers=[c.to_proto() for c in containers])

    def getContainerReport(self, request, ctx):
        self._record(ctx, request)
        wanted = ContainerId.from_proto(request.container_id)
        for container in self.containers.get(wanted.application_attempt_id, []):
            if container.id == wanted:
                return rpc.GetContainerReportResponseProto(container_report=container.to_proto())
        raise remote("ContainerNotFoundException", f"container {wanted} not found")

    def getClusterMetrics(self, request, ctx):
        self._record(ctx, request)
        active = sum(1 for n in self.nodes if n.state is NodeState.RUNNING)
        lost = sum(1 for n in self.nodes if n.state is NodeState.LOST)
        metrics = ClusterMetrics(num_node_managers=active, num_active_nms=active, num_lost_nms=lost)
        return rpc.GetClusterMetricsResponseProto(cluster_metrics=metrics.to_proto())

    def getClusterNodes(self, request, ctx):
        self._record(ctx, request)
        states = {NodeState.from_proto(s) for s in request.nodeStates}
        return rpc.GetClusterNodesResponseProto(
            nodeReports=[n.to_proto() for n in self.nodes if not states or n.state in states])

    def _find_queue(self, name: str) -> Optional[Queue]:
        stack = [self.root]
        while stack:
            queue = stack.pop()
            if queue.name == name:
                return queue
            stack.extend(queue.child_queues)
        return None

    def getQueueInfo(self, request, ctx):
        import attrs

        self._record(ctx, request)
        queue = self._find_queue(request.queueName)
        if queue is None:  # the real RM logs the error and answers with no queue at all
            return rpc.GetQueueInfoResponseProto()

        def shape(q: Queue, depth: int) -> Queue:
            keep = request.includeChildQueues and (depth == 0 or request.recursive)
            apps = [a for a in self.apps.values() if a.queue == q.name] if request.includeApplications else []
            return attrs.evolve(q, child_queues=[shape(c, depth + 1) for c in q.child_queues] if keep else [],
                                applications=apps)

        return rpc.GetQueueInfoResponseProto(queueInfo=shape(queue, 0).to_proto())


def report_proto(report: ApplicationReport) -> pb.ApplicationReportProto:
    """The report as the real RM sends it: with attempt number -1 when there is no attempt yet."""
    proto = report.to_proto()
    if report.current_attempt_id is None:
        proto.currentApplicationAttemptId.CopyFrom(
            pb.ApplicationAttemptIdProto(application_id=report.id.to_proto(), attemptId=-1))
    return proto


def remote(short_class: str, message: str):
    from pyarn.errors import remote_error

    return remote_error(f"org.apache.hadoop.yarn.exceptions.{short_class}", message)


class StandbyResourceManager:
    """Answers every call with StandbyException, as a standby RM does."""

    def __init__(self) -> None:
        self.calls = 0

    def __getattr__(self, method: str):
        def standby(request, ctx):
            self.calls += 1
            raise StandbyError(f"Operation category READ is not supported in state standby ({method})")
        return standby


def serve(handler) -> IpcServer:
    server = IpcServer(idle_timeout=5.0)
    server.register(APPLICATION_CLIENT_PROTOCOL, handler)
    return server.start()


def closed_port() -> str:
    """A loopback address where nothing listens (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


def rm_conf(*addresses: str, **extra: str) -> Configuration:
    """A configuration naming ``addresses`` as the RMs (HA when there are several)."""
    values = dict(FAST_POLL)
    if len(addresses) == 1:
        values["yarn.resourcemanager.address"] = addresses[0]
    else:
        ids = [f"rm{i}" for i in range(1, len(addresses) + 1)]
        values.update({"yarn.resourcemanager.ha.enabled": "true",
                       "yarn.resourcemanager.ha.rm-ids": ",".join(ids)})
        values.update({f"yarn.resourcemanager.address.{i}": a for i, a in zip(ids, addresses)})
    values.update(extra)
    return Configuration(values)


@pytest.fixture
def rm() -> FakeResourceManager:
    return FakeResourceManager()


@pytest.fixture
def rm_server(rm) -> Iterator[IpcServer]:
    server = serve(rm)
    yield server
    server.stop()


@pytest.fixture
def client(rm_server) -> Iterator[Client]:
    with Client(conf=rm_conf(rm_server.address_string), user="alice", retry_policy=FAST_POLICY) as c:
        yield c


# ----------------------------------------------------------------- applications


def test_get_applications_defaults_to_active_states_sorted_by_id(client, rm):
    reports = client.get_applications()
    assert [r.id for r in reports] == [app_id(2), app_id(3)]
    request = rm.last("getApplications")
    assert [ApplicationState.from_proto(s) for s in request.application_states] == [
        ApplicationState.SUBMITTED, ApplicationState.ACCEPTED, ApplicationState.RUNNING]
    assert not request.users and not request.queues and not request.applicationTags
    assert not request.HasField("name") and not request.HasField("start_begin")


def test_get_applications_converts_reports(client):
    (report,) = client.get_applications(states=["running"])
    assert report.id == app_id(2)
    assert (report.name, report.user, report.queue) == ("shell", "bob", "default")
    assert report.state is ApplicationState.RUNNING and report.final_status is FinalStatus.UNDEFINED
    assert report.start_time == T0 + timedelta(hours=1) and report.finish_time is None
    assert report.usage.used_resources == Resource(2048, 2)
    assert report.current_attempt_id == attempt_id(2)
    assert (report.host, report.port, report.progress) == ("node1", 4002, 0.5)


def test_get_applications_filters_go_on_the_wire(client, rm):
    reports = client.get_applications(states=list(ApplicationState), name="shell", user="alice",
                                      queue="default", tags=["Adhoc"], started_begin="2023-11-14 23:00",
                                      started_end=T0 + timedelta(hours=5))
    assert [r.id for r in reports] == [app_id(3)]
    request = rm.last("getApplications")
    assert len(request.application_states) == len(ApplicationState)
    assert (request.name, list(request.users), list(request.queues)) == ("shell", ["alice"], ["default"])
    assert list(request.applicationTags) == ["adhoc"]  # lower-cased, as Hadoop's client sends tags
    assert request.start_begin == int(datetime(2023, 11, 14, 23, 0, tzinfo=UTC).timestamp() * 1000)
    assert request.start_end == CLUSTER_TS + 5 * 3600 * 1000
    assert not request.HasField("finish_begin") and not request.HasField("finish_end")


def test_get_applications_finished_range_and_naive_datetimes_are_utc(client, rm):
    reports = client.get_applications(states=["FINISHED", "FAILED"],
                                      finished_begin=datetime(2023, 11, 14, 22, 43, 20),
                                      finished_end="2023-11-15")
    assert [r.id for r in reports] == [app_id(1)]
    request = rm.last("getApplications")
    assert request.finish_begin == CLUSTER_TS + 30 * 60 * 1000
    assert request.finish_end == int(datetime(2023, 11, 15, tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize("value", ["yesterday", "2023-13-01", "25:00"])
def test_get_applications_rejects_unreadable_times(client, rm, value):
    with pytest.raises(ValueError, match="started_begin"):
        client.get_applications(started_begin=value)
    assert rm.count("getApplications") == 0


def test_time_of_day_means_today_utc(client, rm):
    client.get_applications(started_begin="06:30")
    today = datetime.now(UTC).date()
    expected = datetime(today.year, today.month, today.day, 6, 30, tzinfo=UTC)
    assert rm.last("getApplications").start_begin == int(expected.timestamp() * 1000)


def test_one_state_name_alone(client, rm):
    assert [r.id for r in client.get_applications(states="failed")] == [app_id(4)]
    assert [n.id.host for n in client.get_nodes(states="RUNNING")] == ["node1"]


def test_bad_state_names_are_refused_locally(client, rm):
    with pytest.raises(ValueError):
        client.get_applications(states=["SLEEPING"])
    assert rm.count("getApplications") == 0


def test_application_report(client, rm):
    report = client.application_report(f"application_{CLUSTER_TS}_0001")
    assert report.id == app_id(1) and report.tags == {"nightly"}
    assert report.client_to_am_token == Token(b"id", b"secret", "YARN_CLIENT_TOKEN")
    assert ApplicationId.from_proto(rm.last("getApplicationReport").application_id) == app_id(1)


def test_unknown_application_raises_application_not_found(client):
    with pytest.raises(ApplicationNotFoundError, match="doesn't exist") as info:
        client.application_report(app_id(99))
    assert info.value.java_class == "org.apache.hadoop.yarn.exceptions.ApplicationNotFoundException"


@pytest.mark.parametrize("bad", ["application_1", "appattempt_1_0001_000001", "application_x_1", ""])
def test_malformed_application_ids_fail_before_any_call(client, rm, bad):
    with pytest.raises(InvalidIdError):
        client.application_report(bad)
    with pytest.raises(InvalidIdError):
        client.kill_application(bad)
    assert rm.requests == []


def test_kill_application_polls_until_the_kill_completes(client, rm):
    rm.kill_rounds = 2
    client.kill_application(app_id(2), diagnostics="enough")
    assert rm.count("forceKillApplication") == 3
    request = rm.last("forceKillApplication")
    assert (ApplicationId.from_proto(request.application_id), request.diagnostics) == (app_id(2), "enough")
    report = client.application_report(app_id(2))
    assert report.state is ApplicationState.KILLED
    assert report.diagnostics.endswith("killed by user alice with diagnostic message: enough")


def test_kill_without_diagnostics_sends_none(client, rm):
    client.kill_application(app_id(3))
    assert not rm.last("forceKillApplication").HasField("diagnostics")


def test_kill_gives_up_after_the_poll_timeout(rm_server, rm):
    rm.kill_rounds = 10**6
    conf = rm_conf(rm_server.address_string,
                   **{"yarn.client.application-client-protocol.poll-timeout-ms": "50"})
    with Client(conf=conf, retry_policy=FAST_POLICY) as c:
        with pytest.raises(WaitTimeoutError, match="killed"):
            c.kill_application(app_id(2))
    assert isinstance(WaitTimeoutError("x"), PyarnError)


def test_move_application(client, rm):
    client.move_application(app_id(2), "etl")
    request = rm.last("moveApplicationAcrossQueues")
    assert (ApplicationId.from_proto(request.application_id), request.target_queue) == (app_id(2), "etl")
    assert client.application_report(app_id(2)).queue == "etl"
    with pytest.raises(YarnError, match="no such queue"):
        client.move_application(app_id(2), "nowhere")


def test_update_priority_returns_what_the_rm_set(client, rm):
    assert client.update_priority(app_id(2), 9) == 5
    request = rm.last("updateApplicationPriority")
    assert ApplicationId.from_proto(request.applicationId) == app_id(2)
    assert request.applicationPriority.priority == 9


def test_update_timeout_sends_an_iso8601_lifetime(client, rm):
    expiry = datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    assert client.update_timeout(app_id(2), expiry) == expiry
    (timeout,) = rm.last("updateApplicationTimeouts").application_timeouts
    assert timeout.expire_time == "2030-01-02T03:04:05.678+0000"
    assert timeout.application_timeout_type == pb.APP_TIMEOUT_LIFETIME


def test_update_timeout_in_seconds_from_now(client, rm):
    before = datetime.now(UTC)
    result = client.update_timeout(app_id(2), 600)
    assert before + timedelta(seconds=599) <= result <= datetime.now(UTC) + timedelta(seconds=600)


def test_attempts_and_containers_sorted_by_id(client, rm):
    attempts = client.get_attempts(app_id(2))
    assert [a.id for a in attempts] == [attempt_id(2, 1), attempt_id(2, 2)]
    assert attempts[0].state is ApplicationAttemptState.FAILED and attempts[0].diagnostics == "lost node"
    assert attempts[1].am_container_id == ContainerId.from_parts(attempt_id(2, 2), 1)
    containers = client.get_containers(str(attempt_id(2, 2)))
    assert [str(c.id) for c in containers] == [f"container_e01_{CLUSTER_TS}_0002_02_000001",
                                               f"container_e01_{CLUSTER_TS}_0002_02_000002"]
    assert containers[0].resource == Resource(1024, 1) and containers[0].state is ContainerState.RUNNING
    request = rm.last("getContainers")
    assert ApplicationAttemptId.from_proto(request.application_attempt_id) == attempt_id(2, 2)
    with pytest.raises(InvalidIdError):
        client.get_containers("container_1_0001_01_000001")


def test_single_attempt_and_container_reports(rm_server, rm):
    with ResourceManagerClient([rm_server.address_string], policy=FAST_POLICY) as rm_client:
        assert rm_client.get_application_attempt_report(attempt_id(2, 1)).diagnostics == "lost node"
        container = ContainerId.from_parts(attempt_id(2, 2), 2, epoch=1)
        assert rm_client.get_container_report(str(container)).id == container
        with pytest.raises(PyarnError, match="not found") as info:
            rm_client.get_container_report(ContainerId.from_parts(attempt_id(2, 2), 7))
        assert info.value.java_class.endswith("ContainerNotFoundException")


# ------------------------------------------------------------------ submission


def test_new_application(client, rm):
    new = client.new_application()
    assert new.id == app_id(5) and new.max_resource == Resource(8192, 8)


def test_submit_context_builds_the_whole_context(client, rm, tmp_path):
    credentials = Credentials()
    credentials.add_secret("app.secret", b"s3cret")
    new = client.new_application()
    submitted = client.submit_context(
        application_id=str(new.id), name="sleeper", queue="prod", commands=["sleep", "30"],
        environment={"PYARN_X": "1"}, resource=Resource(256, 1), max_attempts=2, tags=["Demo", "demo", "b"],
        application_type="PYARN-TEST", tokens=credentials, priority=3, node_label="gpu",
        acls={"VIEW_APP": "alice ops", "modify_app": "alice"}, keep_containers=True,
        lifetime=timedelta(hours=1),
        local_resources={
            "env.zip": File("hdfs://nn.Example.com:8020/user/alice/env%20v1.zip", size=10, timestamp=20),
            "conf.yaml": File(str(tmp_path / "conf.yaml"), visibility="private"),
        })
    assert submitted == new.id
    context = rm.contexts[new.id]
    assert ApplicationId.from_proto(context.application_id) == new.id
    assert (context.application_name, context.queue) == ("sleeper", "prod")
    assert context.applicationType == "PYARN-TEST"
    assert list(context.applicationTags) == ["b", "demo"]
    assert (context.maxAppAttempts, context.priority.priority, context.node_label_expression) == (2, 3, "gpu")
    assert Resource.from_proto(context.resource) == Resource(256, 1)
    assert context.keep_containers_across_application_attempts and not context.unmanaged_am
    assert [(t.application_timeout_type, t.timeout) for t in context.application_timeouts] == [
        (pb.APP_TIMEOUT_LIFETIME, 3600)]
    launch = context.am_container_spec
    assert list(launch.command) == ["sleep", "30"]
    assert {e.key: e.value for e in launch.environment} == {"PYARN_X": "1"}
    assert Credentials.from_bytes(launch.tokens).get_secret("app.secret") == b"s3cret"
    assert {(a.accessType, a.acl) for a in launch.application_ACLs} == {
        (pb.APPACCESS_VIEW_APP, "alice ops"), (pb.APPACCESS_MODIFY_APP, "alice")}
    resources = {r.key: r.value for r in launch.localResources}
    env = resources["env.zip"]
    assert (env.resource.scheme, env.resource.host, env.resource.port, env.resource.file) == (
        "hdfs", "nn.Example.com", 8020, "/user/alice/env v1.zip")
    assert (env.size, env.timestamp, env.type, env.visibility) == (10, 20, pb.ARCHIVE, pb.APPLICATION)
    conf_file = resources["conf.yaml"]
    assert (conf_file.resource.scheme, conf_file.resource.port) == ("file", -1)
    assert not conf_file.resource.HasField("host")
    assert conf_file.resource.file == str(tmp_path / "conf.yaml")
    assert (conf_file.type, conf_file.visibility) == (pb.FILE, pb.PRIVATE)
    report = client.application_report(new.id)
    assert report.user == "alice" and report.state is ApplicationState.ACCEPTED


def test_submit_context_defaults(client, rm):
    submitted = client.submit_context(commands="sleep 30")
    context = rm.contexts[submitted]
    assert rm.count("getNewApplication") == 1
    assert (context.application_name, context.queue, context.applicationType) == ("pyarn", "default", "PYARN")
    assert list(context.am_container_spec.command) == ["sleep 30"]
    assert Resource.from_proto(context.resource) == Resource(512, 1)
    assert context.maxAppAttempts == 0 and not context.HasField("priority")
    assert not context.am_container_spec.HasField("tokens") and not context.application_timeouts


def test_submit_waits_until_the_rm_has_stored_the_application(client, rm):
    rm.saving_reports = 3
    submitted = client.submit_context(commands=["true"])
    assert rm.count("getApplicationReport") == 4
    assert rm.apps[submitted].state is ApplicationState.ACCEPTED
    assert client.application_report(submitted).current_attempt_id is None  # the RM sent attempt -1


def test_submit_resubmits_when_a_failover_lost_the_application(client, rm):
    rm.lose_submissions = 1
    submitted = client.submit_context(commands=["true"])
    assert rm.count("submitApplication") == 2
    assert submitted in rm.apps


@pytest.mark.parametrize("kwargs, match", [
    ({"commands": []}, "commands"),
    ({"commands": ["x"], "tags": ["ok", "bad\ttag"]}, "tag"),
    ({"commands": ["x"], "tags": [f"t{i}" for i in range(11)]}, "at most 10"),
    ({"commands": ["x"], "tags": ["x" * 101]}, "tag"),
    ({"commands": ["x"], "acls": {"DELETE_APP": "*"}}, "acls"),
    ({"commands": ["x"], "max_attempts": -1}, "max_attempts"),
    ({"commands": ["x"], "lifetime": 0}, "lifetime"),
])
def test_submit_context_rejects_bad_arguments_before_submitting(client, rm, kwargs, match):
    with pytest.raises(ValueError, match=match):
        client.submit_context(application_id=app_id(50), **kwargs)
    assert rm.count("submitApplication") == 0


def test_unmanaged_master_needs_no_command(client, rm):
    submitted = client.submit_context(unmanaged_am=True, name="uam")
    assert rm.contexts[submitted].unmanaged_am


# ------------------------------------------------------------ cluster and queues


def test_cluster_metrics(client):
    assert client.cluster_metrics() == ClusterMetrics(num_node_managers=1, num_active_nms=1, num_lost_nms=1)


def test_get_nodes_every_state_by_default_sorted(client, rm):
    nodes = client.get_nodes()
    assert [str(n.id) for n in nodes] == ["node1:8041", "node2:8041"]
    assert not rm.last("getClusterNodes").nodeStates
    assert nodes[0].total_resources == Resource(8192, 8, {"yarn.io/gpu": 2}) and nodes[0].labels == {"gpu"}
    assert nodes[0].used_resources == Resource(2048, 2) and nodes[0].num_containers == 2


def test_get_nodes_by_state(client, rm):
    assert [n.id.host for n in client.get_nodes(states=["lost"])] == ["node2"]
    assert list(rm.last("getClusterNodes").nodeStates) == [pb.NS_LOST]


def test_get_queue(client, rm):
    queue = client.get_queue("prod")
    assert (queue.name, queue.state) == ("prod", QueueState.RUNNING)
    assert (queue.capacity, queue.percent_used) == (50.0, 12.5)
    assert queue.child_queues == ()
    request = rm.last("getQueueInfo")
    assert request.queueName == "prod"
    assert not (request.includeChildQueues or request.recursive or request.includeApplications)


def test_unknown_queue(client):
    with pytest.raises(QueueNotFoundError, match="nowhere") as info:
        client.get_queue("nowhere")
    assert isinstance(info.value, PyarnError) and isinstance(info.value, LookupError)


def test_get_child_queues(client, rm):
    assert [q.name for q in client.get_child_queues("prod")] == ["etl", "adhoc"]
    request = rm.last("getQueueInfo")
    assert (request.queueName, request.includeChildQueues, request.recursive) == ("prod", True, False)
    assert client.get_child_queues("etl") == []


def test_get_all_queues_flattens_the_tree_below_root(client, rm):
    queues = client.get_all_queues()
    assert [q.name for q in queues] == ["default", "prod", "etl", "adhoc"]
    assert [q.name for q in queues[1].child_queues] == ["etl", "adhoc"]
    request = rm.last("getQueueInfo")
    assert (request.queueName, request.includeChildQueues, request.recursive) == ("root", True, True)


# ------------------------------------------------------------ connections, HA


def test_client_reads_the_environment_configuration(rm_server, tmp_path, monkeypatch):
    (tmp_path / "yarn-site.xml").write_text(
        "<configuration><property><name>yarn.resourcemanager.address</name>"
        f"<value>{rm_server.address_string}</value></property></configuration>")
    monkeypatch.delenv("YARN_CONF_DIR", raising=False)
    monkeypatch.setenv("HADOOP_CONF_DIR", str(tmp_path))
    monkeypatch.setenv("HADOOP_USER_NAME", "dora")
    with Client() as c:
        assert c.addresses == (rm_server.address_string,) and c.user.name == "dora"
        assert c.conf.source_dir == tmp_path
        assert c.cluster_metrics().num_active_nms == 1
    with Client(tmp_path, user="erin") as c:
        assert c.user.name == "erin"
    with pytest.raises(ValueError):
        Client(tmp_path, conf=Configuration())


def test_client_acts_as_its_user(client, rm):
    client.submit_context(commands=["true"])
    assert {r.user for r in rm.apps.values() if r.name == "pyarn"} == {"alice"}


def test_client_is_cheap_and_reuses_one_connection(rm_server, rm):
    c = Client(conf=rm_conf(rm_server.address_string), retry_policy=FAST_POLICY)
    assert c.rm.rpc.connection_count == 0  # nothing connects before the first call
    for _ in range(3):
        c.cluster_metrics()
        c.get_nodes()
    assert c.rm.rpc.connection_count == 1 and rm_server.connection_count == 1
    c.close()
    assert c.rm.rpc.connection_count == 0
    with pytest.raises(PyarnError):
        c.cluster_metrics()


def test_fails_over_from_a_standby_rm(rm_server, rm):
    standby = StandbyResourceManager()
    with serve(standby) as standby_server:
        conf = rm_conf(standby_server.address_string, rm_server.address_string)
        with Client(conf=conf, retry_policy=FAST_POLICY) as c:
            assert c.addresses == (standby_server.address_string, rm_server.address_string)
            assert [r.id for r in c.get_applications()] == [app_id(2), app_id(3)]
            assert standby.calls == 1
            c.application_report(app_id(1))
            assert standby.calls == 1  # the proxy stays with the active RM
    assert rm.count("getApplications") == 1


def test_fails_over_from_an_rm_that_refuses_connections(rm_server, rm):
    with Client(conf=rm_conf(closed_port(), rm_server.address_string), retry_policy=FAST_POLICY) as c:
        assert c.cluster_metrics().num_active_nms == 1
        c.kill_application(app_id(2))
    assert rm.apps[app_id(2)].state is ApplicationState.KILLED


def test_unreachable_rms_list_every_address_tried():
    first, second = closed_port(), closed_port()
    with Client(conf=rm_conf(first, second), retry_policy=FAST_POLICY) as c:
        with pytest.raises(FailoverExhaustedError) as info:
            c.get_applications()
    assert set(info.value.addresses) == {first, second}
    assert len(info.value.attempts) == FAST_POLICY.max_attempts
    assert "Connection refused" in str(info.value)


def test_every_rm_standby_is_exhausted(rm):
    with serve(StandbyResourceManager()) as one, serve(StandbyResourceManager()) as two:
        with Client(conf=rm_conf(one.address_string, two.address_string), retry_policy=FAST_POLICY) as c:
            with pytest.raises(FailoverExhaustedError) as info:
                c.cluster_metrics()
    assert all(isinstance(error, StandbyError) for _, error in info.value.attempts)


def test_retry_policy_comes_from_the_configuration(rm_server):
    conf = rm_conf(rm_server.address_string, **{"yarn.client.failover-max-attempts": "3",
                                                "yarn.client.failover-sleep-base-ms": "10"})
    with Client(conf=conf) as c:
        assert c.rm.proxy.policy.max_attempts == 4 and c.rm.proxy.policy.sleep_base == 0.01
