"""The FIFO scheduler on its own: capacity, normalization, order, locality, blacklists."""
from __future__ import annotations

from hadoop_protos import yarn_records_pb2 as pb
from pyarn.minicluster.scheduler import FifoScheduler
from pyarn.minicluster.state import RMNode
from pyarn.yarn.ids import ApplicationAttemptId, NodeId
from pyarn.yarn.records import Resource


def _scheduler(nodes=2, memory=1024, vcores=2, am_percent=0.5) -> FifoScheduler:
    scheduler = FifoScheduler(128, 1, am_percent)
    for i in range(nodes):
        scheduler.add_node(RMNode(NodeId("localhost", 1000 + i), Resource(memory, vcores), "localhost:0",
                                  manager=None))
    return scheduler


def _attempt(n: int) -> ApplicationAttemptId:
    return ApplicationAttemptId.parse(f"appattempt_1_{n:04d}_000001")


def _ask(count, memory=128, vcores=1, priority=1, name="*", relax=True) -> pb.ResourceRequestProto:
    return pb.ResourceRequestProto(priority=pb.PriorityProto(priority=priority), resource_name=name,
                                   capability=pb.ResourceProto(memory=memory, virtual_cores=vcores),
                                   num_containers=count, relax_locality=relax)


def test_normalization_rounds_up_and_caps():
    scheduler = _scheduler()
    assert scheduler.normalize(1, 0) == (128, 1)
    assert scheduler.normalize(129, 2) == (256, 2)
    assert scheduler.normalize(5000, 9) == (1024, 2)


def test_capacity_is_memory_and_vcores():
    scheduler = _scheduler(nodes=2, memory=1024, vcores=2)
    scheduler.add_attempt(_attempt(1))
    scheduler.update(_attempt(1), [_ask(10, memory=128)])
    placed = scheduler.schedule()
    assert len(placed) == 4, "two vcores on each of two nodes"
    assert {p.node.node_id.port for p in placed} == {1000, 1001}, "spread over the nodes"
    assert scheduler.available() == (2048 - 512, 0)
    assert scheduler.pending(_attempt(1)) == (6 * 128, 6)
    scheduler.release(placed[0].node, 128, 1, False)
    assert len(scheduler.schedule()) == 1


def test_first_come_first_served_without_blocking():
    scheduler = _scheduler(nodes=1, memory=1024, vcores=8)
    for n in (1, 2, 3):
        scheduler.add_attempt(_attempt(n))
    scheduler.update(_attempt(1), [_ask(3, memory=256)])
    scheduler.update(_attempt(2), [_ask(1, memory=1024)])  # does not fit after the first: waits
    scheduler.update(_attempt(3), [_ask(1, memory=256)])
    placed = scheduler.schedule()
    assert [p.attempt_id for p in placed] == [_attempt(1)] * 3 + [_attempt(3)]


def test_priorities_and_replacement():
    scheduler = _scheduler(nodes=1, memory=4096, vcores=8)
    scheduler.add_attempt(_attempt(1))
    scheduler.update(_attempt(1), [_ask(2, priority=5), _ask(1, priority=0, memory=512)])
    placed = scheduler.schedule()
    assert [p.priority for p in placed] == [0, 5, 5]
    scheduler.update(_attempt(1), [_ask(4, priority=5)])
    scheduler.update(_attempt(1), [_ask(1, priority=5)])  # replaces the outstanding 4
    assert len(scheduler.schedule()) == 1


def test_am_containers_limited_to_a_share_of_the_cluster():
    scheduler = _scheduler(nodes=1, memory=1024, vcores=8, am_percent=0.5)
    for n in (1, 2, 3):
        scheduler.add_attempt(_attempt(n), am_memory=384)
    placed = scheduler.schedule()
    assert [p.attempt_id for p in placed] == [_attempt(1)], "a second 384 MiB AM would pass 50% of 1024 MiB"
    assert placed[0].is_am and placed[0].priority == 0


def test_blacklist_and_locality():
    scheduler = _scheduler(nodes=2)
    scheduler.add_attempt(_attempt(1))
    scheduler.update(_attempt(1), [_ask(1)], blacklist_add=["localhost"])
    assert scheduler.schedule() == []
    scheduler.update(_attempt(1), [], blacklist_remove=["localhost"])
    assert len(scheduler.schedule()) == 1
    scheduler.add_attempt(_attempt(2))
    scheduler.update(_attempt(2), [_ask(2, relax=False), _ask(2, name="localhost:1001"),
                                   _ask(2, name="/default-rack", relax=False)])
    placed = scheduler.schedule()
    assert [p.node.node_id.port for p in placed] == [1001, 1001]
