"""The mini cluster's token secret managers.

Every YARN token password is ``HmacSHA1(master key, identifier bytes)``
(Hadoop's ``SecretManager.createPassword``). The ResourceManager holds three
master keys: one for AMRMTokens (checked by its scheduler port), one for
NMTokens and one for container tokens (both checked by the NodeManagers, which
get the keys from the RM, in-process here). The exception classes and messages
are those of ``AMRMTokenSecretManager``, ``NMTokenSecretManagerInNM`` and
``NMContainerTokenSecretManager``.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets as _random
import threading
from typing import Dict, Optional, Set

import attrs
from google.protobuf.message import DecodeError

from hadoop_protos import yarn_records_pb2 as pb
from hadoop_protos import yarn_tokens_pb2 as tpb

from ..errors import InvalidTokenError
from ..ipc import SecretManager
from ..security.tokens import AMRM_TOKEN_KIND, CONTAINER_TOKEN_KIND, NM_TOKEN_KIND, Token
from ..yarn.ids import ApplicationAttemptId, ContainerId, NodeId

#: Hadoop's HmacSHA1 key generator makes 64-byte keys.
KEY_BYTES = 64


@attrs.frozen(repr=False)
class MasterKey:
    """A numbered secret key; ``password(identifier)`` signs a token identifier."""

    key_id: int
    secret: bytes

    def __repr__(self) -> str:
        return f"MasterKey(key_id={self.key_id})"

    @classmethod
    def generate(cls) -> MasterKey:
        """A fresh random key with a random positive 31-bit id."""
        return cls(_random.randbelow(2**31 - 1) + 1, _random.token_bytes(KEY_BYTES))

    def password(self, identifier: bytes) -> bytes:
        """``HmacSHA1(secret, identifier)``: the 20-byte token password."""
        return hmac.new(self.secret, identifier, hashlib.sha1).digest()


def _parse(message_type, identifier: bytes, kind: str):
    try:
        return message_type.FromString(identifier)
    except DecodeError:
        raise InvalidTokenError(f"Can't de-serialize {kind} tokenIdentifier") from None


class AMRMTokenSecretManager(SecretManager):
    """Issues AMRMTokens and checks them on the scheduler port.

    Only attempts that are registered (between launch and finish) are
    accepted, as in YARN: a token of a finished attempt stops working.
    """

    def __init__(self) -> None:
        self.master_key = MasterKey.generate()
        self._attempts: Set[ApplicationAttemptId] = set()
        self._lock = threading.Lock()

    def create_token(self, attempt_id: ApplicationAttemptId) -> Token:
        """Register ``attempt_id`` and return its AMRMToken (empty service, as the RM issues it)."""
        with self._lock:
            self._attempts.add(attempt_id)
        identifier = tpb.AMRMTokenIdentifierProto(appAttemptId=attempt_id.to_proto(),
                                                  keyId=self.master_key.key_id).SerializeToString()
        return Token(identifier, self.master_key.password(identifier), AMRM_TOKEN_KIND, "")

    def unregister(self, attempt_id: ApplicationAttemptId) -> None:
        """Stop accepting ``attempt_id``'s token."""
        with self._lock:
            self._attempts.discard(attempt_id)

    def attempt_of(self, identifier: bytes) -> ApplicationAttemptId:
        """The attempt an AMRMToken identifier names."""
        proto = _parse(tpb.AMRMTokenIdentifierProto, identifier, "AMRMToken")
        return ApplicationAttemptId.from_proto(proto.appAttemptId)

    def retrieve_password(self, identifier: bytes) -> bytes:
        proto = _parse(tpb.AMRMTokenIdentifierProto, identifier, "AMRMToken")
        attempt = ApplicationAttemptId.from_proto(proto.appAttemptId)
        with self._lock:
            known = attempt in self._attempts
        if not known:
            raise InvalidTokenError(f"{attempt} not found in AMRMTokenSecretManager.")
        if proto.keyId != self.master_key.key_id:
            raise InvalidTokenError(f"Invalid AMRMToken from {attempt}")
        return self.master_key.password(identifier)

    def user_of(self, identifier: bytes) -> Optional[str]:
        return str(self.attempt_of(identifier))


def token_service(node_id: NodeId, ip: str = "127.0.0.1") -> str:
    """The service of a token for a NodeManager: ``ip:port`` (``hadoop.security.token.service.use_ip``)."""
    return f"{ip}:{node_id.port}"


class NMTokenSecretManager:
    """The RM's NMToken key and the tokens it issues.

    ``sent`` remembers, per attempt, the nodes whose NMToken the AM already
    has, so that ``allocate`` sends a token only for new nodes (YARN's
    ``NMTokenSecretManagerInRM``).
    """

    def __init__(self) -> None:
        self.master_key = MasterKey.generate()
        self._sent: Dict[ApplicationAttemptId, Set[NodeId]] = {}
        self._lock = threading.Lock()

    def create_token(self, attempt_id: ApplicationAttemptId, node_id: NodeId, submitter: str) -> Token:
        identifier = tpb.NMTokenIdentifierProto(
            appAttemptId=attempt_id.to_proto(), nodeId=node_id.to_proto(), appSubmitter=submitter,
            keyId=self.master_key.key_id).SerializeToString()
        return Token(identifier, self.master_key.password(identifier), NM_TOKEN_KIND, token_service(node_id))

    def token_if_new(self, attempt_id: ApplicationAttemptId, node_id: NodeId, submitter: str,
                     issued_to: Optional[ApplicationAttemptId] = None) -> Optional[Token]:
        """A token for ``node_id`` unless ``attempt_id`` was already given one.

        The token names ``issued_to`` (default ``attempt_id``): for a container
        carried over from an earlier attempt, YARN names the container's own
        attempt (``NMTokenSecretManagerInRM.createAndGetNMToken``).
        """
        with self._lock:
            nodes = self._sent.setdefault(attempt_id, set())
            if node_id in nodes:
                return None
            nodes.add(node_id)
        return self.create_token(issued_to or attempt_id, node_id, submitter)

    def forget(self, attempt_id: ApplicationAttemptId) -> None:
        """Forget which nodes ``attempt_id`` has tokens for (``clearNodeSetForAttempt``)."""
        with self._lock:
            self._sent.pop(attempt_id, None)


class ContainerTokenSecretManager:
    """The RM's container-token key: signs each allocated container."""

    def __init__(self, rm_identifier: int) -> None:
        self.master_key = MasterKey.generate()
        self.rm_identifier = rm_identifier

    def create_token(self, container_id: ContainerId, node_id: NodeId, submitter: str,
                     resource: pb.ResourceProto, priority: int, creation_time: int, expiry_time: int,
                     am: bool, allocation_request_id: int = -1) -> Token:
        identifier = tpb.ContainerTokenIdentifierProto(
            containerId=container_id.to_proto(), nmHostAddr=str(node_id), appSubmitter=submitter,
            resource=resource, expiryTimeStamp=expiry_time, masterKeyId=self.master_key.key_id,
            rmIdentifier=self.rm_identifier, priority=pb.PriorityProto(priority=priority),
            creationTime=creation_time, nodeLabelExpression="",
            containerType=pb.APPLICATION_MASTER if am else pb.TASK, executionType=pb.GUARANTEED,
            version=0, allocation_request_id=allocation_request_id).SerializeToString()
        return Token(identifier, self.master_key.password(identifier), CONTAINER_TOKEN_KIND,
                     token_service(node_id))


class NodeTokenVerifier(SecretManager):
    """A NodeManager's checks of NMTokens (its IPC secret manager) and container tokens."""

    def __init__(self, node_id: NodeId, nm_tokens: NMTokenSecretManager,
                 container_tokens: ContainerTokenSecretManager) -> None:
        self.node_id = node_id
        self._nm_key = nm_tokens.master_key
        self._container_key = container_tokens.master_key
        self.rm_identifier = container_tokens.rm_identifier

    # -- NMTokens (SASL on the NM port) ---------------------------------------------------------

    def nm_token_identifier(self, identifier: bytes) -> tpb.NMTokenIdentifierProto:
        return _parse(tpb.NMTokenIdentifierProto, identifier, "NMToken")

    def retrieve_password(self, identifier: bytes) -> bytes:
        proto = self.nm_token_identifier(identifier)
        if proto.keyId != self._nm_key.key_id:
            attempt = ApplicationAttemptId.from_proto(proto.appAttemptId)
            raise InvalidTokenError(f"Given NMToken for application : {attempt} seems to have been "
                                    "generated illegally.")
        return self._nm_key.password(identifier)

    def user_of(self, identifier: bytes) -> Optional[str]:
        return str(ApplicationAttemptId.from_proto(self.nm_token_identifier(identifier).appAttemptId))

    # -- container tokens (startContainers) -------------------------------------------------------

    def verify_container_token(self, token) -> tpb.ContainerTokenIdentifierProto:
        """The identifier of a ``TokenProto`` container token whose password checks out."""
        identifier = bytes(token.identifier)
        proto = _parse(tpb.ContainerTokenIdentifierProto, identifier, "ContainerToken")
        container_id = ContainerId.from_proto(proto.containerId)
        if proto.nmHostAddr != str(self.node_id):
            raise InvalidTokenError(f"Given Container {container_id} identifier is not valid for current "
                                    f"Node manager. Expected : {self.node_id} Found : {proto.nmHostAddr}")
        if proto.masterKeyId != self._container_key.key_id:
            raise InvalidTokenError(f"Given Container {container_id} seems to have an illegally generated "
                                    "token.")
        expected = self._container_key.password(identifier)
        if not hmac.compare_digest(expected, bytes(token.password)):
            raise InvalidTokenError("Invalid container token used for starting container on : "
                                    f"{self.node_id}")
        return proto
