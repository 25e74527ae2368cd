"""What a new attempt recovers from the journal: the key-value store, the services, the containers."""
from __future__ import annotations

from typing import Sequence

import attrs

from hadoop_protos import pyarn_pb2 as pb
from pyarn.am.kvstore import KeyValueStore
from pyarn.am.recovery import Recovery, merge
from pyarn.am.scheduler import LOST_MESSAGE, ReleaseOwner
from pyarn.application.records import ContainerState
from pyarn.conf import Configuration
from pyarn.yarn.amrm import AllocatedContainer
from pyarn.yarn.ids import ContainerId
from pyarn.yarn.records import FinalStatus

from .support import local_client
from .test_scheduler import Cluster, make, service

SERVICES = {"web": service(1), "flaky": service(1, max_restarts=3)}


class Attempt:
    """One attempt's scheduler, store and journal, wired as the ApplicationMaster wires them."""

    def __init__(self, root, services=SERVICES, previous: Sequence[AllocatedContainer] = (), **spec) -> None:
        self.cluster = Cluster(make(services, **spec))
        self.scheduler = self.cluster.scheduler
        self.kv = KeyValueStore(owner_check=self.scheduler.owner_check)
        self.client = local_client(self.kv)
        self.recovery = Recovery.open(f"file://{root}", Configuration())
        self.progress = self.recovery.recover(self.kv, self.scheduler).get("progress")
        self.recovery.start(self.kv, self.scheduler, lambda: {"progress": self.progress})
        self.apply(self.scheduler.start(previous))

    def apply(self, actions) -> None:
        self.cluster.apply(actions)
        for action in actions:
            if isinstance(action, ReleaseOwner):
                self.kv.release_owner(action.container_id)

    def states(self):
        return self.cluster.states()

    def allocations(self, *container_ids: str):
        found = {c.id: c for c in self.scheduler.containers(states=list(ContainerState))}
        return [self.scheduler._by_yarn_id[self.cluster.yarn_ids[c]].allocation for c in container_ids
                if found[c].state is ContainerState.RUNNING]


def test_merge_updates_maps_adds_to_lists_and_replaces_the_rest():
    state = {"kv": {"revision": 1, "keys": {"a": [1], "b": [2]}, "retired": ["x_0"]}}
    merge(state, {"kv": {"revision": 3, "keys": {"a": None, "c": [3]}, "retired": ["y_0"]},
                  "master": {"progress": 0.5}})
    assert state == {"kv": {"revision": 3, "keys": {"b": [2], "c": [3]}, "retired": ["x_0", "y_0"]},
                     "master": {"progress": 0.5}}


def test_the_key_value_store_survives_with_its_revisions(tmp_path):
    one = Attempt(tmp_path)
    one.cluster.allocate_all()
    client = one.client
    client["a"] = b"1"
    client["a"] = b"2"
    client["b"] = b"\x00\xff binary"
    client.put("mine", b"owned", owner="web_0")
    client.put("gone", b"x")
    del client["gone"]
    one.kv.transaction(pb.TransactionRequestProto(
        conditions=[pb.ConditionProto(key="a", target=pb.ConditionProto.VALUE,
                                      operator=pb.ConditionProto.EQUAL, value=b"2")],
        on_success=[pb.RequestOpProto(put=pb.PutRequestProto(key="t1", value=b"1")),
                    pb.RequestOpProto(put=pb.PutRequestProto(key="t2", value=b"2"))]))
    before = one.kv.range(pb.RangeRequestProto())
    # the AM dies here: nothing is closed

    two = Attempt(tmp_path, previous=one.allocations("web_0", "flaky_0"))
    assert two.kv.range(pb.RangeRequestProto()) == before
    assert two.kv.revision == one.kv.revision == 7
    assert two.client.get("b") == b"\x00\xff binary"
    # a watch from before the restart is told its events are gone; new changes carry on
    stale = two.kv.watch(pb.WatchRequestProto(after_revision=3))
    assert stale.compacted
    assert two.kv.put(pb.PutRequestProto(key="c", value=b"3")).revision == 8
    # a completed owner stays retired
    two.apply(two.scheduler.kill("web_0"))
    assert "mine" not in two.client
    three = Attempt(tmp_path)
    assert three.kv.revision == 9 and "c" in three.client
    assert "web_0" in three.kv.dump()["retired"]


def test_the_services_desired_state_survives(tmp_path):
    one = Attempt(tmp_path)
    one.cluster.allocate_all()
    _, actions = one.scheduler.scale("web", count=3)
    one.apply(actions)
    one.cluster.allocate("web_1")  # web_2 stays requested
    one.apply(one.scheduler.kill("web_1"))
    one.cluster.exit("flaky_0", 1)  # a restart spent: flaky_1
    one.cluster.allocate("flaky_1")
    one.recovery.record_master(progress=0.25)
    running = one.allocations("web_0", "flaky_1")

    two = Attempt(tmp_path, previous=running)
    assert two.progress == 0.25
    assert two.states() == {"web_0": "RUNNING", "web_1": "KILLED", "web_2": "REQUESTED",
                            "flaky_0": "FAILED", "flaky_1": "RUNNING"}
    assert two.cluster.launched == []  # adopted, not started again
    assert list(two.cluster.requests) == ["web_2"]  # asked for again
    killed = two.scheduler.containers(["web"], states=["KILLED"])[0]
    assert killed.exit_message == "Killed by user request."
    assert two.scheduler._services["flaky"].restarted == 1
    two.apply(two.scheduler.settle())  # nothing was lost
    assert two.states()["web_0"] == "RUNNING"
    # the restarts spent still count: two more failures are allowed, the third fails the application
    two.cluster.yarn_ids.update(one.cluster.yarn_ids)
    for i in (1, 2, 3):
        two.cluster.exit(f"flaky_{i}", 1)
        if i < 3:
            two.cluster.allocate(f"flaky_{i + 1}")
    assert two.cluster.finish.status is FinalStatus.FAILED


def test_containers_lost_with_the_attempt_are_replaced_without_spending_restarts(tmp_path):
    one = Attempt(tmp_path, services={"web": service(2, max_restarts=0)})
    one.cluster.allocate_all()
    one.client.put("alive/web_0", b"1", owner="web_0")
    one.client.put("alive/web_1", b"1", owner="web_1")
    stranger = attrs.evolve(one.allocations("web_0")[0], priority=9,
                            id=ContainerId.parse("container_1700000000000_0001_01_000099"))

    # YARN hands back web_0 and a container the journal never heard of; web_1 is gone
    two = Attempt(tmp_path, services={"web": service(2, max_restarts=0)},
                  previous=one.allocations("web_0") + [stranger])
    assert two.cluster.released == [stranger.id]
    assert two.states() == {"web_0": "RUNNING", "web_1": "RUNNING"}
    two.apply(two.scheduler.settle())
    assert two.states() == {"web_0": "RUNNING", "web_1": "KILLED", "web_2": "REQUESTED"}
    lost = two.scheduler.containers(["web"], states=["KILLED"])[0]
    assert lost.exit_message == LOST_MESSAGE
    assert list(two.client.get_prefix("alive/")) == ["alive/web_0"]
    assert two.cluster.finish is None  # no restart was spent: max_restarts=0 still holds


def test_a_completion_reported_after_the_restart_counts_normally(tmp_path):
    one = Attempt(tmp_path, services={"job": service(1)})
    one.cluster.allocate_all()
    two = Attempt(tmp_path, services={"job": service(1)})  # not handed back ...
    two.cluster.yarn_ids.update(one.cluster.yarn_ids)
    two.cluster.exit("job_0", 0)  # ... but YARN reports it finished in the first heartbeat
    two.apply(two.scheduler.settle())
    assert two.states() == {"job_0": "SUCCEEDED"}
    assert two.cluster.finish.status is FinalStatus.SUCCEEDED


def test_keys_of_containers_that_ended_before_the_crash_are_deleted(tmp_path):
    one = Attempt(tmp_path)
    one.cluster.allocate_all()
    one.client.put("k", b"v", owner="flaky_0")
    one.cluster.scheduler.completed(one.cluster.yarn_ids["flaky_0"], 0)  # its ReleaseOwner never ran
    assert "k" in one.client
    two = Attempt(tmp_path, previous=one.allocations("web_0"))
    assert "k" not in two.client


def test_a_failed_application_keeps_its_keys_and_starts_its_services_afresh(tmp_path):
    one = Attempt(tmp_path, services={"flaky": service(1, max_restarts=0), "web": service(1)})
    one.cluster.allocate_all()
    one.client["config"] = b"kept"
    one.client.put("owned", b"x", owner="web_0")
    one.cluster.exit("flaky_0", 1)
    assert one.cluster.finish.status is FinalStatus.FAILED
    one.recovery.close(reset_services=True)

    two = Attempt(tmp_path, services={"flaky": service(1, max_restarts=0), "web": service(1)})
    assert two.states() == {"flaky_0": "REQUESTED", "web_0": "REQUESTED"}
    assert dict(two.client.get_prefix("")) == {"config": b"kept"}


def test_an_over_budget_state_left_by_a_crash_starts_afresh_too(tmp_path):
    one = Attempt(tmp_path, services={"flaky": service(1, max_restarts=0)})
    one.cluster.allocate_all()
    one.cluster.exit("flaky_0", 1)  # the AM dies before it can reset
    two = Attempt(tmp_path, services={"flaky": service(1, max_restarts=0)})
    assert two.states() == {"flaky_0": "REQUESTED"} and not two.scheduler.finished


def test_a_lasting_outcome_is_kept(tmp_path):
    one = Attempt(tmp_path)
    one.cluster.allocate_all()
    one.apply(one.scheduler.shutdown(FinalStatus.KILLED, "stop it", by_user=True))
    two = Attempt(tmp_path, previous=one.allocations("web_0", "flaky_0"))
    assert two.scheduler.finished
    outcome = two.scheduler.outcome
    assert (outcome.status, outcome.diagnostics) == (FinalStatus.KILLED, "stop it")
    two.apply(two.scheduler.stop_all())
    assert sorted(two.cluster.stopped) == ["flaky_0", "web_0"]


def test_a_journal_that_does_not_fit_the_spec_starts_the_services_afresh(tmp_path, caplog):
    one = Attempt(tmp_path, services={"old": service(1)})
    one.client["k"] = b"v"
    two = Attempt(tmp_path, services={"new": service(1)})
    assert "cannot recover the services" in caplog.text
    assert two.states() == {"new_0": "REQUESTED"} and two.client["k"] == b"v"
