"""The services' state machine: depends, restarts, scaling, failures and the final status."""
from __future__ import annotations

import itertools
from typing import List, Optional

import pytest

from pyarn.am.scheduler import (
    KILLED_BY_APPMASTER,
    CancelRequest,
    Finish,
    LaunchContainer,
    ReleaseContainer,
    ReleaseOwner,
    RequestContainer,
    Scheduler,
    StopContainer,
)
from pyarn.application.errors import InvalidRequestError
from pyarn.application.records import ContainerState
from pyarn.spec import ApplicationSpec
from pyarn.yarn.amrm import AllocatedContainer
from pyarn.yarn.ids import ApplicationAttemptId, ContainerId, NodeId
from pyarn.yarn.records import FinalStatus, Resource

ATTEMPT = ApplicationAttemptId.parse("appattempt_1700000000000_0001_000001")
NODE = NodeId("node1", 8041)


def service(instances=1, **extra):
    return {"instances": instances, "resources": {"memory": 256, "vcores": 1}, "script": "echo hi", **extra}


def make(services, master_script="", **spec_extra) -> Scheduler:
    obj = {"services": services, "master": {"script": master_script}, **spec_extra}
    spec = ApplicationSpec.from_dict(obj, check_files=False)
    return Scheduler(spec, clock=itertools.count(1000).__next__)


class Cluster:
    """Plays the ResourceManager: allocates what the scheduler requests."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self.requests: dict = {}  # container id -> request
        self.yarn_ids: dict = {}  # container id -> yarn id
        self.launched: List[str] = []
        self.stopped: List[str] = []
        self.released: List[ContainerId] = []
        self.owners_released: List[str] = []
        self.finish: Optional[Finish] = None
        self._seq = itertools.count(2)

    def apply(self, actions) -> None:
        for action in actions:
            if isinstance(action, RequestContainer):
                self.requests[action.container_id] = action.request
            elif isinstance(action, CancelRequest):
                assert self.requests.pop(action.container_id) is action.request
            elif isinstance(action, LaunchContainer):
                self.launched.append(action.container_id)
            elif isinstance(action, StopContainer):
                self.stopped.append(action.container_id)
            elif isinstance(action, ReleaseContainer):
                self.released.append(action.yarn_container_id)
            elif isinstance(action, ReleaseOwner):
                self.owners_released.append(action.container_id)
            elif isinstance(action, Finish):
                assert self.finish is None
                self.finish = action

    def start(self) -> Cluster:
        self.apply(self.scheduler.start())
        return self

    def allocate(self, container_id: str, memory: int = 256) -> ContainerId:
        request = self.requests[container_id]
        yarn_id = ContainerId.from_parts(ATTEMPT, next(self._seq))
        self.yarn_ids[container_id] = yarn_id
        self.apply(self.scheduler.allocated(AllocatedContainer(
            yarn_id, NODE, "node1:8042", Resource(memory, 1), request.priority, None)))
        return yarn_id

    def allocate_all(self) -> None:
        for container_id in list(self.requests):
            self.allocate(container_id)

    def exit(self, container_id: str, status: int, diagnostics: str = "") -> None:
        self.apply(self.scheduler.completed(self.yarn_ids[container_id], status, diagnostics))

    def states(self, svc: Optional[str] = None):
        return {c.id: c.state.value for c in self.scheduler.containers(
            [svc] if svc else None, states=list(ContainerState))}


def test_hello_world_succeeds():
    cluster = Cluster(make({"hello": service()})).start()
    assert list(cluster.requests) == ["hello_0"]
    cluster.allocate_all()
    assert cluster.launched == ["hello_0"] and not cluster.requests
    assert cluster.states() == {"hello_0": "RUNNING"}
    cluster.exit("hello_0", 0)
    assert cluster.finish == Finish(FinalStatus.SUCCEEDED, "Application completed successfully.")
    (container,) = cluster.scheduler.containers(states=["succeeded"])
    assert container.exit_message == "Completed successfully." and container.exit_status == 0
    assert container.start_time is not None and container.finish_time is not None
    assert cluster.owners_released == ["hello_0"]


def test_depends_waits_until_every_instance_runs():
    cluster = Cluster(make({"db": service(2), "web": service(3, depends=["db"])})).start()
    assert cluster.states() == {"db_0": "REQUESTED", "db_1": "REQUESTED",
                                "web_0": "WAITING", "web_1": "WAITING", "web_2": "WAITING"}
    cluster.allocate("db_0")
    assert set(cluster.requests) == {"db_1"}  # web still waits: db_1 is not running
    cluster.allocate("db_1")
    assert set(cluster.requests) == {"web_0", "web_1", "web_2"}
    priorities = [cluster.requests[f"web_{i}"].priority for i in range(3)]
    assert len(set(priorities)) == 3 and priorities == sorted(priorities)
    cluster.allocate_all()
    assert cluster.states("web") == {f"web_{i}": "RUNNING" for i in range(3)}


def test_chain_of_dependencies_and_zero_instances():
    cluster = Cluster(make({"a": service(0), "b": service(1, depends=["a"]),
                            "c": service(1, depends=["b"])})).start()
    assert cluster.states() == {"b_0": "REQUESTED", "c_0": "WAITING"}
    cluster.allocate("b_0")
    assert cluster.states()["c_0"] == "REQUESTED"
    # readiness is latched: a dependency failing later does not hold back new containers
    cluster.exit("b_0", 0)
    cluster.scheduler.add_container("c")


def test_restarts_up_to_the_budget_then_fail():
    cluster = Cluster(make({"flaky": service(max_restarts=2)})).start()
    for attempt in range(3):
        cluster.allocate(f"flaky_{attempt}")
        cluster.exit(f"flaky_{attempt}", 3)
    assert cluster.finish == Finish(FinalStatus.FAILED,
                                    "Failure in service flaky, see logs for more information.")
    states = cluster.states()
    assert states == {"flaky_0": "FAILED", "flaky_1": "FAILED", "flaky_2": "FAILED"}
    (first,) = cluster.scheduler.containers(["flaky"], ["FAILED"])[:1]
    assert "exit code 3" in first.exit_message


def test_unlimited_restarts():
    cluster = Cluster(make({"s": service(max_restarts=-1)})).start()
    for attempt in range(5):
        cluster.allocate(f"s_{attempt}")
        cluster.exit(f"s_{attempt}", 1)
    assert cluster.finish is None and "s_5" in cluster.requests


def test_allow_failures_keeps_the_application_going():
    cluster = Cluster(make({"best": service(2, allow_failures=True), "main": service(1)})).start()
    cluster.allocate_all()
    cluster.exit("best_0", 1)
    assert cluster.finish is None
    cluster.exit("best_1", -100, "Container released on a *lost* node")
    assert cluster.finish is None
    assert cluster.scheduler.containers(["best"], ["FAILED"])[1].exit_message == \
        "Container released on a *lost* node"
    cluster.exit("main_0", 0)
    assert cluster.finish.status is FinalStatus.SUCCEEDED


def test_memory_limit_message():
    cluster = Cluster(make({"s": service()})).start()
    cluster.allocate_all()
    cluster.exit("s_0", -104, "is running beyond physical memory limits")
    (container,) = cluster.scheduler.containers(states=["FAILED"])
    assert "physical memory" in container.exit_message


def test_scale_up_and_down():
    cluster = Cluster(make({"w": service(2)})).start()
    cluster.allocate("w_0")
    added, _ = cluster.scheduler.scale("w", count=4)
    cluster.apply(_)
    assert [c.id for c in added] == ["w_2", "w_3"]
    assert set(cluster.requests) == {"w_1", "w_2", "w_3"}
    killed, actions = cluster.scheduler.scale("w", delta=-2)
    cluster.apply(actions)
    assert [c.id for c in killed] == ["w_1", "w_2"]  # requested ones first, oldest first
    assert set(cluster.requests) == {"w_3"}
    assert all(c.state is ContainerState.KILLED for c in killed)
    cluster.allocate("w_3")
    killed, actions = cluster.scheduler.scale("w", delta=-10)  # beyond the count: down to 0
    cluster.apply(actions)
    assert [c.id for c in killed] == ["w_0", "w_3"] and cluster.stopped == ["w_0", "w_3"]
    assert cluster.finish.status is FinalStatus.SUCCEEDED
    # the RM later reports the stopped containers: nothing changes
    cluster.exit("w_0", KILLED_BY_APPMASTER)
    assert cluster.states()["w_0"] == "KILLED"


def test_scale_argument_checks():
    scheduler = make({"w": service()})
    with pytest.raises(InvalidRequestError):
        scheduler.scale("w")
    with pytest.raises(InvalidRequestError):
        scheduler.scale("w", count=1, delta=1)
    with pytest.raises(InvalidRequestError):
        scheduler.scale("w", count=-1)
    with pytest.raises(InvalidRequestError, match="unknown service 'x'"):
        scheduler.scale("x", count=1)


def test_kill_and_add_container():
    cluster = Cluster(make({"w": service(1)}, master_script="sleep 100")).start()
    cluster.allocate("w_0")
    cluster.apply(cluster.scheduler.kill("w_0"))
    assert cluster.stopped == ["w_0"] and cluster.states() == {"w_0": "KILLED"}
    assert cluster.finish is None  # a master script decides when the application ends
    cluster.apply(cluster.scheduler.kill("w_0"))  # killing an ended container does nothing
    container, actions = cluster.scheduler.add_container("w", {"EXTRA": "1"})
    cluster.apply(actions)
    assert container.id == "w_1" and container.state is ContainerState.REQUESTED
    cluster.allocate("w_1")
    launch = [a for a in cluster.scheduler.allocated(AllocatedContainer(
        ContainerId.from_parts(ATTEMPT, 99), NODE, None, Resource(256, 1), 12345, None))]
    assert launch == [ReleaseContainer(ContainerId.from_parts(ATTEMPT, 99))]  # nobody asked for it
    with pytest.raises(InvalidRequestError):
        cluster.scheduler.kill("w_7")
    with pytest.raises(InvalidRequestError):
        cluster.scheduler.kill("bogus")


def test_restarted_container_keeps_its_env():
    cluster = Cluster(make({"w": service(0, max_restarts=1)})).start()
    _, actions = cluster.scheduler.add_container("w", {"ROLE": "special"})
    cluster.apply(actions)
    cluster.allocate("w_0")
    cluster.exit("w_0", 1)
    priority = cluster.requests["w_1"].priority
    actions = cluster.scheduler.allocated(AllocatedContainer(
        ContainerId.from_parts(ATTEMPT, 50), NODE, None, Resource(256, 1), priority, None))
    (launch,) = [a for a in actions if isinstance(a, LaunchContainer)]
    assert launch.container_id == "w_1" and launch.env == {"ROLE": "special"}


def test_small_allocation_is_released():
    cluster = Cluster(make({"w": service()})).start()
    cluster.allocate("w_0", memory=128)
    assert cluster.released and cluster.states() == {"w_0": "REQUESTED"}


def test_launch_failure_counts_as_a_failure():
    cluster = Cluster(make({"w": service(max_restarts=1)})).start()
    cluster.allocate("w_0")
    cluster.apply(cluster.scheduler.launch_failed("w_0", "NM said no"))
    assert cluster.states()["w_0"] == "FAILED" and "w_1" in cluster.requests
    assert cluster.stopped == ["w_0"]


def test_driver_decides_the_outcome():
    cluster = Cluster(make({"w": service()}, master_script="python driver.py")).start()
    cluster.allocate_all()
    cluster.exit("w_0", 0)
    assert cluster.finish is None
    cluster.apply(cluster.scheduler.driver_exited(3))
    assert cluster.finish.status is FinalStatus.FAILED and "exit code 3" in cluster.finish.diagnostics


def test_driver_only_application():
    scheduler = make({}, master_script="echo hi")
    assert scheduler.start() == []
    assert scheduler.driver_exited(0)[0].status is FinalStatus.SUCCEEDED


def test_shutdown_wins_once_and_stops_everything():
    cluster = Cluster(make({"w": service(2)})).start()
    cluster.allocate("w_0")
    cluster.apply(cluster.scheduler.shutdown(FinalStatus.KILLED, "bye", by_user=True))
    assert cluster.finish == Finish(FinalStatus.KILLED, "bye", True)
    assert cluster.scheduler.shutdown(FinalStatus.FAILED, "later") == []
    cluster.apply(cluster.scheduler.stop_all())
    assert cluster.stopped == ["w_0"] and not cluster.requests
    assert set(cluster.states().values()) == {"KILLED"}
    actions = cluster.scheduler.allocated(AllocatedContainer(
        ContainerId.from_parts(ATTEMPT, 77), NODE, None, Resource(256, 1), 1, None))
    assert actions == [ReleaseContainer(ContainerId.from_parts(ATTEMPT, 77))]


def test_locality_and_labels():
    cluster = Cluster(make({"w": service(nodes=["n1"], relax_locality=False, node_label="gpu"),
                            "x": service(racks=["/r1"]), "y": service()}, node_label="default")).start()
    w, x, y = cluster.requests["w_0"], cluster.requests["x_0"], cluster.requests["y_0"]
    assert (w.nodes, w.relax_locality, w.node_label) == (("n1",), False, "gpu")
    assert (x.racks, x.relax_locality, x.node_label) == (("/r1",), False, "default")
    assert (y.relax_locality, y.node_label) == (True, "default")
    assert w.capability == Resource(256, 1)


def test_owner_check():
    cluster = Cluster(make({"w": service()})).start()
    assert cluster.scheduler.owner_check("w_0") is None
    assert "no instance" in cluster.scheduler.owner_check("w_5")
    assert "no service" in cluster.scheduler.owner_check("v_0")
    assert "expected" in cluster.scheduler.owner_check("nonsense")
    cluster.allocate_all()
    cluster.exit("w_0", 0)
    assert cluster.scheduler.owner_check("w_0") == "it has completed"


def test_containers_listing_filters():
    cluster = Cluster(make({"a": service(2), "b": service()})).start()
    cluster.allocate("a_0")
    assert [c.id for c in cluster.scheduler.containers()] == ["a_0", "a_1", "b_0"]
    assert [c.id for c in cluster.scheduler.containers(["b"])] == ["b_0"]
    assert [c.id for c in cluster.scheduler.containers(states=["RUNNING"])] == ["a_0"]
    running = cluster.scheduler.containers(states=["RUNNING"])[0]
    assert running.yarn_container_id == str(cluster.yarn_ids["a_0"]) and running.yarn_node_id == "node1:8041"
    with pytest.raises(InvalidRequestError):
        cluster.scheduler.containers(["zzz"])
