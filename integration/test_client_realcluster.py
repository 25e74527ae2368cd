"""pyarn.Client against a running ResourceManager, checked against the RM's REST API.

Every Client method is compared field by field with what ``/ws/v1/cluster/...``
reports for the same objects (those tests need a real Hadoop: set
``PYARN_TEST_HADOOP_CONF_DIR``). The lifecycle scenarios that need no REST
(submit a ``sleep 30`` master through ``submit_context``, watch it, kill it)
also run against pyarn's mini cluster.

The cluster may be shared with other users while the tests run, so values
that move (queue usage, running applications) are compared on a consistent
snapshot: RPC, then REST, then RPC again, retried until both RPC answers agree.
"""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest

from pyarn import Client
from pyarn.cli import main as pyarn_main
from pyarn.conf import rm_addresses
from pyarn.errors import ApplicationNotFoundError, YarnError
from pyarn.yarn import (
    ApplicationAttemptReport,
    ApplicationId,
    ApplicationReport,
    ApplicationState,
    ContainerReport,
    FinalStatus,
    InvalidIdError,
    NodeReport,
    Queue,
    QueueNotFoundError,
    Resource,
)

from .conftest import requires_real_cluster

UTC = timezone.utc  # noqa: UP017 (datetime.UTC is 3.11+)
TERMINAL = (ApplicationState.FINISHED, ApplicationState.FAILED, ApplicationState.KILLED)
ACTIVE = ("SUBMITTED", "ACCEPTED", "RUNNING")
TAG = "pyarn-it"


# ------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def client(hadoop_conf_dir) -> Iterator[Client]:
    with Client(hadoop_conf_dir) as c:
        yield c


@pytest.fixture(scope="module")
def rest(client) -> Callable[[str], Any]:
    """GET ``/ws/v1/cluster/<path>`` of the (first) RM as JSON."""
    _rm_id, host, port = rm_addresses(client.conf, "webapp.address")[0]
    base = f"http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}/ws/v1/cluster/"

    def get(path: str) -> Any:
        request = urllib.request.Request(base + path, headers={"Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            raise AssertionError(f"GET {base + path}: HTTP {error.code}: {error.read()[:500]!r}") from None
    return get


@pytest.fixture(scope="module")
def sleeper(client) -> Iterator[ApplicationId]:
    """An application whose master is ``sleep 30``, submitted through ``submit_context``,
    with its master container running; killed at the end if a test has not done it."""
    app = client.submit_context(
        name=f"pyarn-it-{uuid.uuid4().hex[:8]}", queue="default", commands=["sleep 30"],
        resource=Resource(memory=256, vcores=1), max_attempts=1, tags=[TAG, "Sleep"],
        application_type="PYARN-IT", environment={"PYARN_IT": "1"}, priority=0)
    try:
        wait_for(lambda: _am_container_running(client, app), "the master container to run")
        yield app
    finally:
        if client.application_report(app).state not in TERMINAL:
            client.kill_application(app, diagnostics="pyarn integration test teardown")


def _am_container_running(client: Client, app: ApplicationId) -> bool:
    attempt = client.application_report(app).current_attempt_id
    return attempt is not None and any(c.state is not None and c.state.value == "RUNNING"
                                       for c in client.get_containers(attempt))


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.25)


def consistent(rpc: Callable[[], Any], rest: Callable[[], Any], tries: int = 20) -> Tuple[Any, Any]:
    """``(rpc(), rest())`` from a moment when nothing changed: RPC, REST, RPC, until both RPC agree."""
    for _ in range(tries):
        before = rpc()
        from_rest = rest()
        after = rpc()
        if before == after:
            return after, from_rest
        time.sleep(0.3)
    pytest.fail("the cluster kept changing; no consistent snapshot")


def ms(moment: Optional[datetime]) -> int:
    return 0 if moment is None else round(moment.timestamp() * 1000)


# ----------------------------------------------------------------- projections
# Each pair maps an RPC record and the REST object for it onto the same keys.


def app_from_rpc(r: ApplicationReport) -> Dict[str, Any]:
    usage = r.usage
    fields = {
        "id": str(r.id), "clusterId": r.id.cluster_timestamp, "user": r.user, "name": r.name,
        "queue": r.queue, "state": r.state.value, "finalStatus": r.final_status.value,
        "progress": round(r.progress * 100, 3), "trackingUrl": r.tracking_url,
        "diagnostics": r.diagnostics or "", "applicationType": r.application_type,
        "applicationTags": sorted(r.tags), "priority": r.priority, "startedTime": ms(r.start_time),
        "launchTime": ms(r.launch_time), "finishedTime": ms(r.finish_time),
        "logAggregationStatus": _log_aggregation(r), "unmanagedApplication": r.unmanaged,
        "timeouts": [(t.type.value, t.expiry_time) for t in r.timeouts],
    }
    if usage is not None:
        fields.update({
            "allocatedMB": usage.used_resources.memory, "allocatedVCores": usage.used_resources.vcores,
            "reservedMB": usage.reserved_resources.memory, "reservedVCores": usage.reserved_resources.vcores,
            "runningContainers": usage.num_used_containers, "memorySeconds": usage.memory_seconds,
            "vcoreSeconds": usage.vcore_seconds,
            "queueUsagePercentage": round(usage.queue_usage_percentage, 3),
            "clusterUsagePercentage": round(usage.cluster_usage_percentage, 3),
            "preemptedMemorySeconds": usage.preempted_memory_seconds,
            "preemptedVcoreSeconds": usage.preempted_vcore_seconds,
        })
    return fields


def app_from_rest(a: Dict[str, Any], with_usage: bool = True) -> Dict[str, Any]:
    fields = {
        "id": a["id"], "clusterId": a["clusterId"], "user": a["user"], "name": a["name"], "queue": a["queue"],
        "state": a["state"], "finalStatus": a["finalStatus"], "progress": round(a["progress"], 3),
        "trackingUrl": _unprefixed(a.get("trackingUrl")), "diagnostics": a.get("diagnostics", ""),
        "applicationType": a["applicationType"],
        "applicationTags": sorted(t for t in a.get("applicationTags", "").split(",") if t),
        "priority": a["priority"], "startedTime": a["startedTime"], "launchTime": max(a["launchTime"], 0),
        "finishedTime": a["finishedTime"], "logAggregationStatus": a["logAggregationStatus"],
        "unmanagedApplication": a["unmanagedApplication"],
        "timeouts": [(t["type"], t["expiryTime"]) for t in a.get("timeouts", {}).get("timeout", [])],
    }
    if with_usage:
        fields.update({k: a[k] for k in (
            "allocatedMB", "allocatedVCores", "reservedMB", "reservedVCores", "runningContainers",
            "memorySeconds", "vcoreSeconds", "preemptedMemorySeconds", "preemptedVcoreSeconds")})
        fields["queueUsagePercentage"] = round(a["queueUsagePercentage"], 3)
        fields["clusterUsagePercentage"] = round(a["clusterUsagePercentage"], 3)
    return fields


def _log_aggregation(r: ApplicationReport) -> str:
    """An app rejected at submission has no status over RPC; REST shows DISABLED for it."""
    return r.log_aggregation_status.value if r.log_aggregation_status else "DISABLED"


def _unprefixed(url: Optional[str]) -> Optional[str]:
    """REST puts a scheme even before the RM's "N/A" (``http://N/A``); RPC sends it bare."""
    return "N/A" if url == "http://N/A" else url


def listed(value: Any) -> List[Any]:
    """Jersey's JSON turns a one-item list into the item itself."""
    return value if isinstance(value, list) else [] if value is None else [value]


def rest_apps(rest, query: str = "") -> List[Dict[str, Any]]:
    return (rest(f"apps{query}").get("apps") or {}).get("app", [])


def node_from_rpc(n: NodeReport) -> Dict[str, Any]:
    return {"id": str(n.id), "host": n.id.host, "http": n.http_address, "rack": n.rack_name,
            "state": n.state.value, "health": n.health_report or "",
            "healthTime": ms(n.last_health_report_time),
            "containers": n.num_containers, "usedMB": n.used_resources.memory,
            "usedVCores": n.used_resources.vcores, "totalMB": n.total_resources.memory,
            "totalVCores": n.total_resources.vcores, "labels": sorted(n.labels)}


def node_from_rest(n: Dict[str, Any]) -> Dict[str, Any]:
    return {"id": n["id"], "host": n["nodeHostName"], "http": n["nodeHTTPAddress"], "rack": n["rack"],
            "state": n["state"], "health": n["healthReport"], "healthTime": n["lastHealthUpdate"],
            "containers": n["numContainers"], "usedMB": n["usedMemoryMB"],
            "usedVCores": n["usedVirtualCores"],
            "totalMB": n["totalResource"]["memory"], "totalVCores": n["totalResource"]["vCores"],
            "labels": sorted(n.get("nodeLabels", []))}


def queue_from_rpc(q: Queue) -> Dict[str, Any]:
    stats = q.statistics
    fields = {"name": q.name, "capacity": round(q.capacity, 3),
              "maxCapacity": round(q.max_capacity, 3), "usedCapacity": round(q.percent_used, 3),
              "children": [c.name for c in q.child_queues]}
    if q.name != "root":  # REST tells less about the root queue
        fields["state"] = q.state.value
        # The scheduler's "active"/"pending" split differs from QueueMetrics'; their sum does not.
        fields.update({"labels": sorted(q.node_labels),
                       "apps": stats.num_apps_running + stats.num_apps_pending,
                       "usedMB": stats.allocated_memory,
                       "usedVCores": stats.allocated_vcores, "containers": stats.allocated_containers,
                       "pendingContainers": stats.pending_containers,
                       "reservedContainers": stats.reserved_containers})
    return fields


def queue_from_rest(q: Dict[str, Any], children: bool = True) -> Dict[str, Any]:
    kids = (q.get("queues") or {}).get("queue", [])
    fields = {"name": q["queueName"], "capacity": round(q["capacity"], 3),
              "maxCapacity": round(q["maxCapacity"], 3), "usedCapacity": round(q["usedCapacity"], 3),
              "children": [k["queueName"] for k in kids] if children else []}
    if q["queueName"] != "root":
        fields["state"] = q["state"]
        fields.update({"labels": sorted(q.get("nodeLabels", [])), "apps": q["numApplications"],
                       "usedMB": q["resourcesUsed"]["memory"],
                       "usedVCores": q["resourcesUsed"]["vCores"], "containers": q["allocatedContainers"],
                       "pendingContainers": q["pendingContainers"],
                       "reservedContainers": q["reservedContainers"]})
    return fields


def rest_queues(rest) -> Dict[str, Dict[str, Any]]:
    """Every queue of the capacity scheduler's tree by name, root included."""
    info = rest("scheduler")["scheduler"]["schedulerInfo"]
    if info.get("type") != "capacityScheduler":
        pytest.skip(f"the queue comparison knows the capacity scheduler, not {info.get('type')}")
    out, stack = {}, [info]
    while stack:
        queue = stack.pop()
        out[queue["queueName"]] = queue
        stack.extend((queue.get("queues") or {}).get("queue", []))
    return out


def attempt_from_rpc(a: ApplicationAttemptReport) -> Dict[str, Any]:
    return {"id": a.id.attempt_id, "appAttemptId": str(a.id), "startTime": ms(a.start_time),
            "finishedTime": ms(a.finish_time), "containerId": str(a.am_container_id or "")}


def attempt_from_rest(a: Dict[str, Any]) -> Dict[str, Any]:
    return {k: a[k] for k in ("id", "appAttemptId", "startTime", "finishedTime", "containerId")}


CONTAINER_KEYS = ("containerId", "allocatedMB", "allocatedVCores", "assignedNodeId", "priority",
                  "startedTime", "finishedTime", "containerState", "nodeHttpAddress", "logUrl",
                  "containerExitStatus")


def container_from_rpc(c: ContainerReport) -> Dict[str, str]:
    # ContainerInfo's JSON carries every value as a string: compare strings.
    fields = {"containerId": str(c.id), "allocatedMB": c.resource.memory,
              "allocatedVCores": c.resource.vcores, "assignedNodeId": str(c.node_id),
              "priority": c.priority, "startedTime": ms(c.start_time), "finishedTime": ms(c.finish_time),
              "containerState": c.state.value, "nodeHttpAddress": c.node_http_address,
              "logUrl": c.log_url, "containerExitStatus": c.exit_status}
    return {k: str(v) for k, v in fields.items()}


def container_from_rest(c: Dict[str, Any]) -> Dict[str, str]:
    return {k: str(c.get(k)) for k in CONTAINER_KEYS}


# -------------------------------------------------- REST comparisons (real RM)


@requires_real_cluster()
def test_cluster_metrics_match_rest(client, rest):
    metrics, info = consistent(client.cluster_metrics, lambda: rest("metrics")["clusterMetrics"])
    assert {
        "activeNodes": metrics.num_active_nms, "lostNodes": metrics.num_lost_nms,
        "unhealthyNodes": metrics.num_unhealthy_nms, "decommissionedNodes": metrics.num_decommissioned_nms,
        "decommissioningNodes": metrics.num_decommissioning_nms, "rebootedNodes": metrics.num_rebooted_nms,
        "shutdownNodes": metrics.num_shutdown_nms,
    } == {k: info[k] for k in ("activeNodes", "lostNodes", "unhealthyNodes", "decommissionedNodes",
                               "decommissioningNodes", "rebootedNodes", "shutdownNodes")}
    # numNodeManagers counts the RM's live node table: active, unhealthy and decommissioning nodes.
    live = info["activeNodes"] + info["unhealthyNodes"] + info["decommissioningNodes"]
    assert metrics.num_node_managers == live


@requires_real_cluster()
def test_nodes_match_rest(client, rest):
    nodes, from_rest = consistent(lambda: [node_from_rpc(n) for n in client.get_nodes()],
                                  lambda: rest("nodes")["nodes"]["node"])
    assert nodes == sorted((node_from_rest(n) for n in from_rest), key=lambda n: n["id"])
    running, from_rest = consistent(lambda: [node_from_rpc(n) for n in client.get_nodes(states=["RUNNING"])],
                                    lambda: rest("nodes?states=RUNNING")["nodes"]["node"])
    assert running == sorted((node_from_rest(n) for n in from_rest), key=lambda n: n["id"])


@requires_real_cluster()
def test_queues_match_rest(client, rest):
    queues, from_rest = consistent(lambda: [queue_from_rpc(q) for q in client.get_all_queues()],
                                   lambda: rest_queues(rest))
    # get_all_queues flattens the tree below root, parents first.
    assert [q["name"] for q in queues] == _preorder(from_rest["root"])[1:]
    assert queues == [queue_from_rest(from_rest[q["name"]]) for q in queues]

    root, from_rest = consistent(lambda: queue_from_rpc(client.get_queue("root")), lambda: rest_queues(rest))
    assert root == queue_from_rest(from_rest["root"], children=False)
    # The root queue's statistics are the cluster's application and resource totals.
    stats, metrics = consistent(lambda: client.get_queue("root").statistics,
                                lambda: rest("metrics")["clusterMetrics"])
    assert {rest_key: getattr(stats, field) for field, rest_key in ROOT_STATISTICS.items()} == {
        rest_key: metrics[rest_key] for rest_key in ROOT_STATISTICS.values()}
    leaf = next(name for name, q in from_rest.items() if "queues" not in q)
    one, from_rest = consistent(lambda: queue_from_rpc(client.get_queue(leaf)), lambda: rest_queues(rest))
    assert one == queue_from_rest(from_rest[leaf])
    children, from_rest = consistent(lambda: [queue_from_rpc(q) for q in client.get_child_queues("root")],
                                     lambda: rest_queues(rest))
    assert [c["name"] for c in children] == queue_from_rest(from_rest["root"])["children"]
    assert children == [queue_from_rest(from_rest[c["name"]], children=False) for c in children]


#: QueueStatistics field of the root queue -> the /metrics key with the same number.
ROOT_STATISTICS = {
    "num_apps_submitted": "appsSubmitted", "num_apps_completed": "appsCompleted",
    "num_apps_pending": "appsPending", "num_apps_running": "appsRunning",
    "num_apps_failed": "appsFailed", "num_apps_killed": "appsKilled",
    "allocated_memory": "allocatedMB", "available_memory": "availableMB",
    "pending_memory": "pendingMB", "reserved_memory": "reservedMB",
    "allocated_vcores": "allocatedVirtualCores", "available_vcores": "availableVirtualCores",
    "pending_vcores": "pendingVirtualCores", "reserved_vcores": "reservedVirtualCores",
    "allocated_containers": "containersAllocated", "pending_containers": "containersPending",
    "reserved_containers": "containersReserved",
}


def _preorder(queue: Dict[str, Any]) -> List[str]:
    names = [queue["queueName"]]
    for child in (queue.get("queues") or {}).get("queue", []):
        names.extend(_preorder(child))
    return names


@requires_real_cluster()
def test_application_lists_match_rest(client, rest, sleeper):
    every = [s.value for s in ApplicationState]
    ids, from_rest = consistent(lambda: [str(r.id) for r in client.get_applications(states=every)],
                                lambda: rest_apps(rest))
    assert ids == sorted(a["id"] for a in from_rest)
    assert str(sleeper) in ids
    active, from_rest = consistent(lambda: [str(r.id) for r in client.get_applications()],
                                   lambda: rest_apps(rest, f"?states={','.join(ACTIVE)}"))
    assert active == sorted(a["id"] for a in from_rest)
    # Finished applications do not change any more: compare every field of each.
    done = {str(r.id): r for r in client.get_applications(states=[s.value for s in TERMINAL])}
    by_id = {a["id"]: a for a in rest_apps(rest, "?states=FINISHED,FAILED,KILLED")}
    assert sorted(done) == sorted(by_id)
    for app_id, report in done.items():
        if report.current_attempt_id is None:
            # Rejected at submission (e.g. unknown queue): RPC reports usage -1 and
            # a proxy URL, REST zeros and no URL; only the common fields compare.
            assert (report.state.value, report.diagnostics) == (by_id[app_id]["state"],
                                                                by_id[app_id]["diagnostics"])
            continue
        assert app_from_rpc(report) == app_from_rest(by_id[app_id], with_usage=report.usage is not None)


@requires_real_cluster()
def test_application_filters_match_rest(client, rest, sleeper):
    report = client.application_report(sleeper)
    every = ",".join(s.value for s in ApplicationState)
    begin = report.start_time - timedelta(seconds=1)
    checks = [
        (dict(user=report.user), f"user={report.user}"),
        (dict(queue=report.queue), f"queue={report.queue}"),
        (dict(tags=[TAG]), f"applicationTags={TAG}"),
        (dict(started_begin=begin), f"startedTimeBegin={ms(begin)}"),
        (dict(started_end=begin), f"startedTimeEnd={ms(begin)}"),
        (dict(finished_begin=begin, states=[s.value for s in TERMINAL]),
         f"finishedTimeBegin={ms(begin)}&states=FINISHED,FAILED,KILLED"),
        (dict(name=report.name), f"name={report.name}"),
    ]
    for kwargs, query in checks:
        kwargs.setdefault("states", list(ApplicationState))
        query = query if "states=" in query else f"{query}&states={every}"
        ids, from_rest = consistent(lambda kw=kwargs: [str(r.id) for r in client.get_applications(**kw)],
                                    lambda q=query: rest_apps(rest, f"?{q}"))
        assert ids == sorted(a["id"] for a in from_rest), (kwargs, query)
    named = client.get_applications(name=report.name, states=list(ApplicationState))
    assert [r.id for r in named] == [sleeper]


@requires_real_cluster()
def test_submitted_application_matches_rest(client, rest, sleeper):
    report, from_rest = consistent(lambda: app_from_rpc(client.application_report(sleeper)),
                                   lambda: rest(f"apps/{sleeper}")["app"])
    # While the master has not registered, the RM hands RPC clients the proxy URL but
    # leaves the REST trackingUrl unset; every other field agrees.
    expected = app_from_rest(from_rest)
    assert expected.pop("trackingUrl") in (None, report.pop("trackingUrl"))
    assert report == expected
    assert (report["name"], report["applicationType"], report["queue"]) == (
        client.application_report(sleeper).name, "PYARN-IT", "default")
    assert report["applicationTags"] == [TAG, "sleep"]  # lower-cased like Hadoop's client does
    assert report["state"] in ACTIVE and report["finalStatus"] == "UNDEFINED"


@requires_real_cluster()
def test_attempts_and_containers_match_rest(client, rest, sleeper):
    attempts, from_rest = consistent(
        lambda: [attempt_from_rpc(a) for a in client.get_attempts(sleeper)],
        lambda: listed(rest(f"apps/{sleeper}/appattempts")["appAttempts"]["appAttempt"]))
    assert attempts == sorted((attempt_from_rest(a) for a in from_rest), key=lambda a: a["id"])
    attempt = client.get_attempts(sleeper)[-1]
    containers, from_rest = consistent(
        lambda: [container_from_rpc(c) for c in client.get_containers(attempt.id)],
        lambda: listed(rest(f"apps/{sleeper}/appattempts/{attempt.id}/containers").get("container")))
    assert containers == sorted((container_from_rest(c) for c in from_rest), key=lambda c: c["containerId"])
    assert [c["containerId"] for c in containers] == [str(attempt.am_container_id)]
    (master,) = client.get_containers(attempt.id)
    assert master.resource.memory >= 256 and master.resource.vcores == 1


@requires_real_cluster()
def test_new_application_matches_rest(client, rest):
    new = client.new_application()
    assert new.id.cluster_timestamp == rest("info")["clusterInfo"]["id"]
    latest = max((ApplicationId.parse(a["id"]) for a in rest_apps(rest)), default=None)
    assert latest is None or new.id > latest
    assert new.max_resource.memory == client.conf.get_int("yarn.scheduler.maximum-allocation-mb")
    assert new.max_resource.vcores == client.conf.get_int("yarn.scheduler.maximum-allocation-vcores")


@requires_real_cluster()
def test_priority_and_timeout_updates_match_rest(client, rest, sleeper, is_kerberized):
    applied = client.update_priority(sleeper, 0)
    assert applied == rest(f"apps/{sleeper}/priority")["priority"]
    assert applied == rest(f"apps/{sleeper}")["app"]["priority"]
    expiry = client.update_timeout(sleeper, timedelta(minutes=10))
    # The application's own REST object carries its timeouts for any caller. The dedicated
    # apps/{id}/timeouts endpoint refuses the default static web user (hadoop.http.staticuser.user,
    # dr.who) with 403 when the RM runs secure (RMWebServices.validateAppTimeoutRequest), and that
    # is every caller of an RM web app without an authentication filter (no SPNEGO; user.name is
    # then ignored), as on the Kerberized reference cluster.
    (timeout,) = rest(f"apps/{sleeper}")["app"]["timeouts"]["timeout"]
    if not is_kerberized:
        (alone,) = rest(f"apps/{sleeper}/timeouts")["timeouts"]["timeout"]
        assert (alone["type"], alone["expiryTime"]) == (timeout["type"], timeout["expiryTime"])
    assert timeout["type"] == "LIFETIME"
    assert datetime.strptime(timeout["expiryTime"], "%Y-%m-%dT%H:%M:%S.%f%z") == expiry
    (rpc_timeout,) = client.application_report(sleeper).timeouts
    assert rpc_timeout.expiry_time == timeout["expiryTime"]
    assert abs(rpc_timeout.remaining_time - timeout["remainingTimeInSeconds"]) <= 2


@requires_real_cluster()
def test_move_to_an_unknown_queue_is_refused_and_changes_nothing(client, rest, sleeper):
    with pytest.raises(YarnError):
        client.move_application(sleeper, "no-such-queue-pyarn")
    assert rest(f"apps/{sleeper}")["app"]["queue"] == client.application_report(sleeper).queue


@requires_real_cluster()
def test_kill_matches_rest(client, rest, sleeper):
    client.kill_application(sleeper, diagnostics="killed by the pyarn integration test")
    report = client.application_report(sleeper)
    assert (report.state, report.final_status) == (ApplicationState.KILLED, FinalStatus.KILLED)
    assert report.diagnostics.endswith("with diagnostic message: killed by the pyarn integration test")
    from_rest = rest(f"apps/{sleeper}")["app"]
    assert app_from_rpc(report) == app_from_rest(from_rest, with_usage=report.usage is not None)
    assert rest(f"apps/{sleeper}/state")["state"] == "KILLED"
    # The RPC report says a finished application has no time left; REST still counts down to the expiry.
    assert [t.remaining_time for t in report.timeouts] == [0]


@requires_real_cluster()
def test_cli_lists_what_rest_lists(client, rest, capsys, hadoop_conf_dir):
    def cli_ids() -> List[str]:
        assert pyarn_main(["--conf-dir", str(hadoop_conf_dir), "application", "ls", "--all", "--json"]) == 0
        return [a["id"] for a in json.loads(capsys.readouterr().out)]
    ids, from_rest = consistent(cli_ids, lambda: rest_apps(rest))
    assert ids == sorted(a["id"] for a in from_rest)


# ------------------------------------------- scenarios for any cluster (no REST)


def test_submit_and_kill_lifecycle(client):
    app = client.submit_context(name="pyarn-it-lifecycle", commands=["sleep 30"], resource=Resource(256, 1),
                                max_attempts=1, tags=[TAG])
    try:
        report = client.application_report(app)
        assert report.state.value in ACTIVE
        assert (report.name, report.application_type, report.tags) == ("pyarn-it-lifecycle", "PYARN", {TAG})
        assert report.user == client.user.name
        assert app in [r.id for r in client.get_applications(tags=[TAG])]
        attempt = wait_for(lambda: client.application_report(app).current_attempt_id, "an attempt")
        assert [a.id for a in client.get_attempts(app)] == [attempt]
    finally:
        client.kill_application(app, diagnostics="lifecycle done")
    report = client.application_report(app)
    assert (report.state, report.final_status) == (ApplicationState.KILLED, FinalStatus.KILLED)
    assert "lifecycle done" in report.diagnostics
    assert app not in [r.id for r in client.get_applications()]
    assert app in [r.id for r in client.get_applications(states=["KILLED"])]
    client.kill_application(app)  # killing a finished application is a no-op


def test_errors_from_the_cluster(client):
    with pytest.raises(ApplicationNotFoundError):
        client.application_report(ApplicationId(client.new_application().id.cluster_timestamp, 999999))
    with pytest.raises(QueueNotFoundError):
        client.get_queue("no-such-queue-pyarn")
    with pytest.raises(InvalidIdError):
        client.application_report("application_not_an_id")


def test_cluster_answers_every_query(client):
    assert client.cluster_metrics().num_active_nms >= 1
    assert all(n.total_resources.memory > 0 for n in client.get_nodes(states=["RUNNING"]))
    queues = client.get_all_queues()
    assert queues and all(q.name != "root" for q in queues)
    children = client.get_child_queues("root")
    assert children and {q.name for q in children} <= {q.name for q in queues}
