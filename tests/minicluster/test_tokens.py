"""Tokens as YARN checks them: the scheduler port, the NodeManagers, the AM's token file.

The expected exception classes and messages are those a Hadoop 3.3.6 RM/NM
answered to the same requests (integration/test_am_protocol.py runs the
AMRMToken cases against a real cluster too).
"""
from __future__ import annotations

import hashlib
import hmac

import pytest

from hadoop_protos import security_pb2 as secpb
from hadoop_protos import yarn_records_pb2 as pb
from hadoop_protos import yarn_service_pb2 as spb
from hadoop_protos import yarn_tokens_pb2 as tpb
from hadoop_protos.yarn_protocols_rpc import APPLICATION_MASTER_PROTOCOL, CONTAINER_MANAGEMENT_PROTOCOL
from pyarn.errors import AccessControlError, InvalidTokenError, SaslError, YarnError
from pyarn.ipc import RpcClient
from pyarn.minicluster.secrets import AMRMTokenSecretManager, MasterKey
from pyarn.security.tokens import Token
from pyarn.security.user import User
from pyarn.yarn.ids import ApplicationAttemptId, ContainerId, NodeId

from .rawam import AppMaster, log_dir_command

REGISTER = spb.RegisterApplicationMasterRequestProto(host="localhost", rpc_port=-1)


def _forged(token: secpb.TokenProto, **changes) -> secpb.TokenProto:
    """A copy of an AMRMToken with its identifier or password changed."""
    identifier = tpb.AMRMTokenIdentifierProto.FromString(token.identifier)
    if "app_number" in changes:
        identifier.appAttemptId.application_id.id = changes["app_number"]
    if "key_id" in changes:
        identifier.keyId = changes["key_id"]
    return secpb.TokenProto(identifier=identifier.SerializeToString(),
                            password=changes.get("password", token.password), kind=token.kind, service="")


def _register_with(cluster, token: secpb.TokenProto):
    forged = Token.from_proto(token)
    with RpcClient(cluster.settings) as client:
        proxy = client.proxy(cluster.scheduler_address, APPLICATION_MASTER_PROTOCOL,
                             User("forger", tokens=[forged]), token=forged)
        return proxy.call("registerApplicationMaster", REGISTER)


@pytest.fixture
def am(cluster):
    am = cluster.submit_unmanaged("tokens")
    yield am
    am.close()
    cluster.kill(am.app_id)


def test_wrong_password_fails_sasl_like_yarn(cluster, am):
    with pytest.raises(SaslError) as info:
        _register_with(cluster, _forged(am.token.to_proto(), password=b"x" * 20))
    assert info.value.java_class == "javax.security.sasl.SaslException"
    assert str(info.value) == "DIGEST-MD5: digest response format violation. Mismatched response."


def test_token_of_an_unknown_attempt_is_invalid(cluster, am):
    forged = _forged(am.token.to_proto(), app_number=9999)
    with pytest.raises(InvalidTokenError) as info:
        _register_with(cluster, forged)
    attempt = tpb.AMRMTokenIdentifierProto.FromString(forged.identifier).appAttemptId
    assert info.value.java_class == "org.apache.hadoop.security.token.SecretManager$InvalidToken"
    ghost = f"appattempt_{attempt.application_id.cluster_timestamp}_9999_000001"
    assert str(info.value) == f"{ghost} not found in AMRMTokenSecretManager."


def test_token_of_another_master_key_is_invalid(cluster, am):
    with pytest.raises(InvalidTokenError) as info:
        _register_with(cluster, _forged(am.token.to_proto(), key_id=12345))
    assert str(info.value) == f"Invalid AMRMToken from {am.attempt_id}"


def test_scheduler_port_refuses_simple_auth(cluster):
    with RpcClient(cluster.settings) as client:
        proxy = client.proxy(cluster.scheduler_address, APPLICATION_MASTER_PROTOCOL, User("someone"))
        with pytest.raises(AccessControlError) as info:
            proxy.call("registerApplicationMaster", REGISTER)
    assert str(info.value) == "SIMPLE authentication is not enabled.  Available:[TOKEN]"


def test_token_stops_working_when_the_attempt_ends(cluster):
    am = cluster.submit_unmanaged("token-after-finish")
    with am:
        am.register()
        am.finish()
    with AppMaster(cluster, am.app_id, am.token.to_proto()) as again:
        with pytest.raises(InvalidTokenError, match="not found in AMRMTokenSecretManager"):
            again.register()


def test_password_is_hmac_sha1_of_the_identifier():
    manager = AMRMTokenSecretManager()
    attempt = ApplicationAttemptId.parse("appattempt_1_0001_000001")
    token = manager.create_token(attempt)
    assert token.password == hmac.new(manager.master_key.secret, token.identifier, hashlib.sha1).digest()
    assert manager.retrieve_password(token.identifier) == token.password
    assert manager.user_of(token.identifier) == "appattempt_1_0001_000001"
    assert len(MasterKey.generate().secret) == 64


# -- NodeManagers -------------------------------------------------------------------------------------------


@pytest.fixture
def allocated(cluster):
    """A registered AM holding one allocated (not started) container."""
    am = cluster.submit_unmanaged("nm-tokens")
    am.register()
    container = am.allocate_containers(1)[0]
    yield am, container
    am.close()
    cluster.kill(am.app_id)


def _nm_proxy(am, container, token: Token, client: RpcClient):
    address = f"{container.nodeId.host}:{container.nodeId.port}"
    user = User(str(am.attempt_id), tokens=[token])
    return client.proxy(address, CONTAINER_MANAGEMENT_PROTOCOL, user, token=token)


def _start_request(container, container_token=None):
    return spb.StartContainersRequestProto(start_container_request=[spb.StartContainerRequestProto(
        container_launch_context=pb.ContainerLaunchContextProto(command=["true"]),
        container_token=container_token if container_token is not None else container.container_token)])


def test_nm_refuses_a_wrong_nm_token_password(cluster, allocated):
    am, container = allocated
    real = am.nm_tokens[f"{container.nodeId.host}:{container.nodeId.port}"]
    forged = Token(real.identifier, b"y" * 20, real.kind, real.service)
    with RpcClient(cluster.settings) as client, pytest.raises(SaslError, match="Mismatched response"):
        _nm_proxy(am, container, forged, client).call("startContainers", _start_request(container))


def test_nm_refuses_a_forged_container_token(cluster, allocated):
    am, container = allocated
    token = container.container_token
    forged = secpb.TokenProto(identifier=token.identifier, password=b"z" * 20, kind=token.kind,
                              service=token.service)
    with pytest.raises(InvalidTokenError) as info:
        am.node(container).call("startContainers", _start_request(container, forged))
    assert str(info.value) == ("Invalid container token used for starting container on : "
                               f"{container.nodeId.host}:{container.nodeId.port}")


def test_nm_needs_a_container_token(cluster, allocated):
    am, container = allocated
    request = spb.StartContainersRequestProto(start_container_request=[spb.StartContainerRequestProto(
        container_launch_context=pb.ContainerLaunchContextProto(command=["true"]))])
    with pytest.raises(YarnError) as info:
        am.node(container).call("startContainers", request)
    assert info.value.java_class == "org.apache.hadoop.yarn.exceptions.YarnException"
    assert str(info.value) == "java.io.IOException: Invalid ContainerToken"


def test_nm_token_of_another_application_cannot_start_or_stop(minicluster, cluster, allocated):
    am, container = allocated
    other = cluster.submit_unmanaged("other-app")
    with other:
        other.register()
        other_container = other.allocate_containers(1)[0]
        address = f"{container.nodeId.host}:{container.nodeId.port}"
        if address not in other.nm_tokens:  # the other app landed on the other node: a token for ours
            other.nm_tokens[address] = minicluster.resource_manager.nm_secrets.create_token(
                other.attempt_id, NodeId.from_proto(container.nodeId), "someone")
        response = other.node(container).call("startContainers", _start_request(container))
        assert not response.succeeded_requests
        failure = response.failed_requests[0].exception
        assert failure.class_name == "org.apache.hadoop.yarn.exceptions.YarnException"
        assert failure.message == (
            "Unauthorized request to start container.\nNMToken for application attempt : "
            f"{other.attempt_id} was used for starting container with container token issued for "
            f"application attempt : {am.attempt_id}")
        stop = other.node(container).call("stopContainers",
                                          spb.StopContainersRequestProto(container_id=[container.id]))
        assert stop.failed_requests[0].exception.message.startswith(
            f"{other.attempt_id} attempted to stop non-application container : container_")
        assert other_container.id != container.id
    cluster.kill(other.app_id)


def test_container_cannot_be_started_twice(cluster, allocated):
    am, container = allocated
    first = am.start(container, [log_dir_command("sleep 30")])
    assert len(first.succeeded_requests) == 1
    second = am.start(container, ["true"])
    assert second.failed_requests[0].exception.message == (
        "Unauthorized request to start container.\n Attempt to relaunch the same container with id "
        f"{_cid(container)}.")
    am.stop(container)


def test_unknown_container_status_and_stop(cluster, allocated):
    am, container = allocated
    statuses = am.statuses(container)
    assert statuses.failed_requests[0].exception.message == \
        f"Container {_cid(container)} is not handled by this NodeManager"


def _cid(container) -> str:
    return str(ContainerId.from_proto(container.id))
