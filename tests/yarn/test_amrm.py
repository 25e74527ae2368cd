"""AMRMClient: the request table alone, then the client against a scheduler served by pyarn's IpcServer."""
from __future__ import annotations

import hashlib
import hmac
import threading
from typing import List

import pytest

from hadoop_protos import yarn_records_pb2 as pb
from hadoop_protos import yarn_service_pb2 as rpc
from hadoop_protos.yarn_protocols_rpc import APPLICATION_MASTER_PROTOCOL
from pyarn.errors import (
    ApplicationMasterNotRegisteredError,
    InvalidApplicationMasterRequestError,
    RemoteError,
    SaslError,
)
from pyarn.ipc import IpcServer, IpcSettings, RetryPolicy, ServerAuth
from pyarn.ipc.auth import SecretManager
from pyarn.ipc.constants import AuthMethod
from pyarn.security.credentials import Credentials
from pyarn.security.tokens import AMRM_TOKEN_KIND, Token
from pyarn.yarn.amrm import ANY, DEFAULT_RACK, AMRMClient, ContainerRequest, RequestTable, amrm_token_service
from pyarn.yarn.ids import ApplicationAttemptId, ContainerId, NodeId
from pyarn.yarn.records import FinalStatus, Resource

ATTEMPT = ApplicationAttemptId.parse("appattempt_1700000000000_0007_000001")
SMALL = Resource(256, 1)
FAST = IpcSettings(connect_timeout=2.0, rpc_timeout=5.0)
ONCE = RetryPolicy(max_attempts=1)


def rows(request: rpc.AllocateRequestProto):
    return {(a.priority.priority, a.resource_name): (a.num_containers, a.relax_locality,
                                                     a.node_label_expression or None)
            for a in request.ask}


# --------------------------------------------------------------- the table


def test_a_request_counts_at_each_location():
    table = RequestTable()
    table.add(ContainerRequest(SMALL, 1, nodes=["n1", "n2", "n1"], node_label="gpu"))
    assert rows(table.take()) == {(1, "n1"): (1, True, None), (1, "n2"): (1, True, None),
                                  (1, DEFAULT_RACK): (1, True, None), (1, ANY): (1, True, "gpu")}
    assert table.take().ask == []  # nothing changed since


def test_strict_locality_relaxes_only_the_named_places():
    table = RequestTable(rack_of=lambda node: "/r9")
    table.add(ContainerRequest(SMALL, 2, nodes=["n1"], racks=["/r1"], relax_locality=False))
    assert rows(table.take()) == {(2, "n1"): (1, True, None), (2, "/r1"): (1, True, None),
                                  (2, "/r9"): (1, False, None), (2, ANY): (1, False, None)}
    with pytest.raises(ValueError):
        ContainerRequest(SMALL, 2, relax_locality=False)


def test_removing_requests_counts_down_and_cancels_with_zero():
    table = RequestTable()
    first, second = ContainerRequest(SMALL, 1), ContainerRequest(SMALL, 1)
    table.add(first)
    table.add(second)
    assert rows(table.take()) == {(1, ANY): (2, True, None)}
    assert table.outstanding(1) == [first, second] and table.count(1) == 2
    table.remove(first)
    assert rows(table.take()) == {(1, ANY): (1, True, None)}
    table.remove(second)
    assert rows(table.take()) == {(1, ANY): (0, True, None)}
    assert not table.has_requests and table.outstanding(1) == []
    table.remove(second)  # spurious removals are ignored
    assert table.take().ask == []


def test_different_capabilities_are_different_rows():
    table = RequestTable()
    table.add(ContainerRequest(SMALL, 1))
    table.add(ContainerRequest(Resource(512, 2, {"yarn.io/gpu": 1}), 1))
    sent = table.take()
    assert sorted((a.capability.memory, a.num_containers) for a in sent.ask) == [(256, 1), (512, 1)]


def test_restore_keeps_newer_changes():
    table = RequestTable()
    request = ContainerRequest(SMALL, 1)
    table.add(request)
    table.release(ContainerId.from_parts(ATTEMPT, 5))
    table.update_blacklist(["bad"])
    sent = table.take()
    table.add(ContainerRequest(SMALL, 1))  # changed while the call was out
    table.restore(sent)
    again = table.take()
    assert rows(again) == {(1, ANY): (2, True, None)}  # the newer count, not the one that failed
    assert [c.id for c in again.release] == [5]
    assert list(again.blacklist_request.blacklist_additions) == ["bad"]


def test_releases_blacklist_and_resync():
    table = RequestTable()
    table.add(ContainerRequest(SMALL, 3))
    one, two = ContainerId.from_parts(ATTEMPT, 1), ContainerId.from_parts(ATTEMPT, 2)
    table.release(one)
    table.release(two)
    table.update_blacklist(["a", "b"])
    table.update_blacklist(removals=["b"])
    sent = table.take()
    assert list(sent.blacklist_request.blacklist_additions) == ["a"]
    assert list(sent.blacklist_request.blacklist_removals) == ["b"]
    table.completed([one])
    table.resync()
    again = table.take()
    assert rows(again) == {(3, ANY): (1, True, None)}
    assert [c.id for c in again.release] == [2]
    assert list(again.blacklist_request.blacklist_additions) == ["a"]


def test_token_service_names_every_scheduler():
    assert amrm_token_service(["localhost:8030", ("127.0.0.2", 8030)]) == "127.0.0.1:8030,127.0.0.2:8030"


# ---------------------------------------------------- against a scheduler

KEY = b"master key"


def amrm_token(identifier: bytes = b"attempt-1") -> Token:
    return Token(identifier, hmac.new(KEY, identifier, hashlib.sha256).digest(), AMRM_TOKEN_KIND)


class Keys(SecretManager):
    def retrieve_password(self, identifier: bytes) -> bytes:
        return amrm_token(identifier).password


class FakeScheduler:
    """ApplicationMasterProtocol as the RM serves it, reduced to what the client relies on."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.registered = 0
        self.last_id = None
        self.last_response = None
        self.requests: List[rpc.AllocateRequestProto] = []
        self.identifiers: List[bytes] = []
        self.script: List[object] = []  # per allocate: a response to send, or an exception
        self.unregister_after = 1
        self.finishes = 0
        self.forgetful = False  # never keeps a registration: every allocate is refused
        self.refused = 0

    def registerApplicationMaster(self, request, ctx):
        with self.lock:
            self.registered += 1
            self.last_id = 0
            self.identifiers.append(ctx.token_identifier)
        token = amrm_token(b"previous").to_proto()
        return rpc.RegisterApplicationMasterResponseProto(
            maximumCapability=Resource(4096, 4).to_proto(), queue="default",
            nm_tokens_from_previous_attempts=[rpc.NMTokenProto(nodeId=pb.NodeIdProto(host="old", port=1),
                                                               token=token)])

    def allocate(self, request, ctx):
        with self.lock:
            self.identifiers.append(ctx.token_identifier)
            if self.last_id is None or self.forgetful:
                self.refused += 1
                raise ApplicationMasterNotRegisteredError("AM is not registered")
            if (request.response_id + 1) & 0x7FFFFFFF == self.last_id and self.last_response is not None:
                return self.last_response
            if request.response_id != self.last_id:
                raise InvalidApplicationMasterRequestError("response id out of sync")
            self.requests.append(request)
            scripted = self.script.pop(0) if self.script else rpc.AllocateResponseProto()
            if isinstance(scripted, BaseException):
                raise scripted
            response = rpc.AllocateResponseProto()
            response.CopyFrom(scripted)
            self.last_id = (self.last_id + 1) & 0x7FFFFFFF
            response.response_id = self.last_id
            self.last_response = response
            return response

    def finishApplicationMaster(self, request, ctx):
        with self.lock:
            self.finishes += 1
            self.final = request
            done = self.finishes >= self.unregister_after
            return rpc.FinishApplicationMasterResponseProto(isUnregistered=done)


@pytest.fixture
def scheduler():
    return FakeScheduler()


@pytest.fixture
def client(scheduler):
    auth = ServerAuth(methods=(AuthMethod.TOKEN,), secret_manager=Keys())
    with IpcServer(auth=auth, idle_timeout=5.0) as server:
        server.register(APPLICATION_MASTER_PROTOCOL, scheduler)
        with AMRMClient([server.address_string], amrm_token(), settings=FAST, policy=ONCE) as amrm:
            yield amrm


def allocation(seq: int, priority: int, node: str = "n1") -> pb.ContainerProto:
    return pb.ContainerProto(
        id=ContainerId.from_parts(ATTEMPT, seq).to_proto(), nodeId=pb.NodeIdProto(host=node, port=8041),
        node_http_address=f"{node}:8042", resource=SMALL.to_proto(),
        priority=pb.PriorityProto(priority=priority),
        container_token=Token(b"ct", b"pw", "ContainerToken").to_proto())


def test_register_allocate_and_decrement(client, scheduler):
    registration = client.register("am-host", 4242, "")
    assert registration.maximum_capability == Resource(4096, 4) and registration.queue == "default"
    assert client.nm_token(NodeId("old", 1)).identifier == b"previous"
    first, second = ContainerRequest(SMALL, 1), ContainerRequest(SMALL, 1)
    client.add_container_request(first)
    client.add_container_request(second)
    assert client.has_requests
    nm_token = Token(b"nm", b"pw", "NMToken").to_proto()
    scheduler.script.append(rpc.AllocateResponseProto(
        allocated_containers=[allocation(2, 1)], num_cluster_nodes=3,
        nm_tokens=[rpc.NMTokenProto(nodeId=pb.NodeIdProto(host="n1", port=8041), token=nm_token)]))
    result = client.allocate(0.5)
    sent = scheduler.requests[0]
    assert sent.response_id == 0 and sent.progress == 0.5 and rows(sent) == {(1, ANY): (2, True, None)}
    (container,) = result.allocated
    assert container.id == ContainerId.from_parts(ATTEMPT, 2) and container.priority == 1
    assert container.node_id == NodeId("n1", 8041) and container.token.kind == "ContainerToken"
    assert result.num_cluster_nodes == 3 and client.response_id == 1
    token = client.nm_token(NodeId("n1", 8041))
    assert token.identifier == b"nm" and token.service == "n1:8041"
    client.remove_container_request(client.outstanding(1)[0])  # matched to the allocation
    client.allocate()
    assert scheduler.requests[1].response_id == 1
    assert rows(scheduler.requests[1]) == {(1, ANY): (1, True, None)}


def test_completed_containers_and_releases(client, scheduler):
    client.register()
    gone = ContainerId.from_parts(ATTEMPT, 9)
    client.release_assigned_container(gone)
    scheduler.script.append(rpc.AllocateResponseProto(completed_container_statuses=[pb.ContainerStatusProto(
        container_id=gone.to_proto(), state=pb.C_COMPLETE, exit_status=-100, diagnostics="released")]))
    result = client.allocate()
    assert [c.id for c in scheduler.requests[0].release] == [9]
    (completed,) = result.completed
    assert (completed.id, completed.exit_status, completed.diagnostics) == (gone, -100, "released")


def test_a_failed_heartbeat_is_sent_again(client, scheduler):
    client.register()
    client.add_container_request(ContainerRequest(SMALL, 4))
    client.release_assigned_container(ContainerId.from_parts(ATTEMPT, 3))
    scheduler.script.append(RemoteError("boom", "java.io.IOException"))
    with pytest.raises(RemoteError):
        client.allocate()
    client.allocate()
    retried = scheduler.requests[1]
    assert rows(retried) == {(4, ANY): (1, True, None)} and [c.id for c in retried.release] == [3]
    assert retried.response_id == 0


def test_the_rolled_over_amrm_token_is_used(client, scheduler):
    client.register()
    fresh = amrm_token(b"attempt-1-key-2")
    scheduler.script.append(rpc.AllocateResponseProto(am_rm_token=fresh.to_proto()))
    client.allocate()
    assert client.token.identifier == b"attempt-1-key-2" and client.token.service
    client.allocate()
    assert scheduler.identifiers[-1] == b"attempt-1-key-2"
    assert scheduler.identifiers[0] == b"attempt-1"


def test_resync_registers_again_and_resends_everything(client, scheduler):
    client.register("h", 1, "")
    client.add_container_request(ContainerRequest(SMALL, 1))
    client.allocate()
    scheduler.last_id = None  # the RM restarted and forgot the attempt
    client.add_container_request(ContainerRequest(SMALL, 2))
    client.allocate()
    assert scheduler.registered == 2
    assert rows(scheduler.requests[-1]) == {(1, ANY): (1, True, None), (2, ANY): (1, True, None)}
    assert scheduler.requests[-1].response_id == 0


def test_an_rm_that_keeps_forgetting_the_attempt_is_an_error_not_a_loop(client, scheduler):
    client.register("h", 1, "")
    client.add_container_request(ContainerRequest(SMALL, 1))
    scheduler.forgetful = True
    with pytest.raises(ApplicationMasterNotRegisteredError):
        client.allocate()
    assert (scheduler.registered, scheduler.refused) == (2, 2)  # one registration again, then it gives up
    with pytest.raises(ApplicationMasterNotRegisteredError):
        client.allocate()  # each heartbeat tries once more, no more
    assert (scheduler.registered, scheduler.refused) == (3, 4)
    scheduler.forgetful = False
    client.allocate()  # nothing was lost meanwhile
    assert rows(scheduler.requests[-1]) == {(1, ANY): (1, True, None)}
    assert scheduler.requests[-1].response_id == 0


def test_finish_waits_until_unregistered(client, scheduler):
    client.register()
    scheduler.unregister_after = 3
    client.finish(FinalStatus.FAILED, "it broke")
    assert scheduler.finishes == 3
    assert scheduler.final.final_application_status == pb.APP_FAILED
    assert scheduler.final.diagnostics == "it broke"


def test_from_conf_needs_the_amrm_token():
    from pyarn.conf import Configuration
    from pyarn.errors import PyarnError

    with pytest.raises(PyarnError, match="YARN_AM_RM_TOKEN"):
        AMRMClient.from_conf(Configuration(), Credentials())
    creds = Credentials()
    creds.add_token("", amrm_token())
    conf = Configuration({"yarn.resourcemanager.scheduler.address": "127.0.0.1:18030"})
    with AMRMClient.from_conf(conf, creds) as amrm:
        assert amrm.proxy.addresses == (("127.0.0.1", 18030),) and amrm.token.service == "127.0.0.1:18030"


def test_a_wrong_token_is_refused(scheduler):
    auth = ServerAuth(methods=(AuthMethod.TOKEN,), secret_manager=Keys())
    with IpcServer(auth=auth, idle_timeout=5.0) as server:
        server.register(APPLICATION_MASTER_PROTOCOL, scheduler)
        bad = Token(b"attempt-1", b"wrong", AMRM_TOKEN_KIND)
        with AMRMClient([server.address_string], bad, settings=FAST, policy=ONCE) as amrm:
            with pytest.raises(SaslError, match="Mismatched response"):
                amrm.register()
