"""ApplicationMasterProtocol of the mini ResourceManager (``ApplicationMasterService``).

The scheduler port only accepts SASL with an AMRMToken (see
:class:`~pyarn.minicluster.secrets.AMRMTokenSecretManager`); the attempt a
call speaks for is the one in the caller's token identifier.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

from hadoop_protos import yarn_records_pb2 as pb
from hadoop_protos import yarn_service_pb2 as spb

from ..errors import (
    ApplicationAttemptNotFoundError,
    ApplicationMasterNotRegisteredError,
    InvalidApplicationMasterRequestError,
    YarnError,
)
from ..ipc import CallContext
from ..yarn.ids import ContainerId
from ..yarn.records import ApplicationAttemptState, FinalStatus, Resource
from .state import RESOURCE_TYPES, RMAttempt, now_ms
from .validation import validate_asks, validate_blacklist, validate_releases

if TYPE_CHECKING:
    from .rm import ResourceManager

RESPONSE_ID_MASK = 0x7FFFFFFF


class ApplicationMasterService:
    """Serves ``ApplicationMasterProtocolPB`` for one :class:`~pyarn.minicluster.rm.ResourceManager`."""

    def __init__(self, rm: ResourceManager) -> None:
        self.rm = rm

    def _attempt(self, ctx: CallContext, allocated_ok: bool = False) -> RMAttempt:
        """The caller's attempt (``YarnServerSecurityUtils.authorizeRequest``), still known to the RM.

        With ``allocated_ok`` an AM that registers before the RM saw its launch
        complete counts as launched.
        """
        attempt_id = self._known_attempt_id(ctx)
        app = self.rm.apps.get(attempt_id.application_id)
        attempt = app.attempts.get(attempt_id) if app is not None else None
        if attempt is not None and allocated_ok and attempt.state is ApplicationAttemptState.ALLOCATED:
            self.rm.launched(attempt)
        if attempt is None or not attempt.live:
            raise InvalidApplicationMasterRequestError(f"Application doesn't exist in cache {attempt_id}")
        return attempt

    def registerApplicationMaster(self, request: spb.RegisterApplicationMasterRequestProto,
                                  ctx: CallContext) -> spb.RegisterApplicationMasterResponseProto:
        with self.rm.lock:
            attempt = self._attempt(ctx, allocated_ok=True)
            if attempt.registered:
                raise InvalidApplicationMasterRequestError(
                    f"Application Master is already registered : {attempt.attempt_id.application_id}")
            attempt.last_ping = now_ms()
            attempt.last_response = spb.AllocateResponseProto(response_id=0)
            self.rm.registered(attempt, request.host, request.rpc_port, request.tracking_url)
            app = attempt.app
            response = spb.RegisterApplicationMasterResponseProto(
                maximumCapability=self.rm.maximum_resource_proto(),
                application_ACLs=list(app.context.am_container_spec.application_ACLs),
                queue=app.queue, scheduler_resource_types=[spb.MEMORY], resource_types=RESOURCE_TYPES)
            if attempt.client_token_key is not None:
                response.client_to_am_token_master_key = attempt.client_token_key
            if app.context.keep_containers_across_application_attempts:
                self._previous_containers(attempt, response)
            return response

    def _previous_containers(self, attempt: RMAttempt,
                             response: spb.RegisterApplicationMasterResponseProto) -> None:
        """Work-preserving AM restart: the containers ``attempt`` took over from earlier attempts,
        and an NMToken for each of their nodes (``DefaultAMSProcessor.registerApplicationMaster``).

        As in YARN, each token names the attempt that allocated the container, and
        the nodes count as served: ``allocate`` sends no second token for them.
        """
        carried = [c for c in attempt.containers.values() if c.live and c is not attempt.am_container]
        if not carried:
            return
        response.containers_from_previous_attempts.extend(c.proto() for c in carried)
        secrets = self.rm.nm_secrets
        secrets.forget(attempt.attempt_id)
        for container in carried:
            node_id = container.node.node_id
            token = secrets.token_if_new(attempt.attempt_id, node_id, attempt.app.user,
                                         issued_to=container.container_id.application_attempt_id)
            if token is not None:
                response.nm_tokens_from_previous_attempts.add(nodeId=node_id.to_proto(),
                                                              token=token.to_proto())

    def allocate(self, request: spb.AllocateRequestProto, ctx: CallContext) -> spb.AllocateResponseProto:
        with self.rm.lock:
            attempt_id = self._known_attempt_id(ctx)
            app = self.rm.apps.get(attempt_id.application_id)
            attempt = app.attempts.get(attempt_id) if app is not None else None
            if app is None or attempt is None or not attempt.live:
                raise ApplicationAttemptNotFoundError(
                    f"Application attempt {attempt_id} doesn't exist in ApplicationMasterService cache.")
            attempt.last_ping = now_ms()
            last = attempt.last_response
            if last is None:
                raise ApplicationMasterNotRegisteredError(
                    f"AM is not registered for known application attempt: {attempt_id} or RM had restarted "
                    "after AM registered.  AM should re-register.")
            if (request.response_id + 1) & RESPONSE_ID_MASK == last.response_id:
                return last  # a retried heartbeat gets the same answer
            if request.response_id != last.response_id:
                raise InvalidApplicationMasterRequestError(
                    f"Invalid responseId in AllocateRequest from application attempt: {attempt_id} expect "
                    f"responseId to be {last.response_id} but get {request.response_id}")
            memory, vcores = self.rm.maximum_capability()
            try:
                validate_asks(request.ask, memory, vcores)
            except YarnError as exc:
                attempt.diagnostics = exc.message
                raise
            validate_blacklist(request.blacklist_request.blacklist_additions)
            if not app.context.keep_containers_across_application_attempts:
                validate_releases(request.release, attempt_id)
            response = self._allocate(attempt, request)
            response.response_id = (last.response_id + 1) & RESPONSE_ID_MASK
            attempt.last_response = response
            return response

    def _known_attempt_id(self, ctx: CallContext):
        if ctx.token_identifier is None:
            raise YarnError(f"No AMRMToken found for user {ctx.user.name}")
        return self.rm.amrm_secrets.attempt_of(ctx.token_identifier)

    def _allocate(self, attempt: RMAttempt, request: spb.AllocateRequestProto) -> spb.AllocateResponseProto:
        app = attempt.app
        progress = request.progress
        if math.isnan(progress) or progress < 0:
            progress = 0.0
        attempt.progress = min(progress, 1.0)
        if request.HasField("tracking_url"):
            attempt.tracking_url = request.tracking_url or None
        if not app.state.final_stored:
            self.rm.scheduler.update(attempt.attempt_id, request.ask,
                                     request.blacklist_request.blacklist_additions,
                                     request.blacklist_request.blacklist_removals)
            for proto in request.release:
                self.rm.release(attempt, ContainerId.from_proto(proto))
            self.rm.schedule()
        allocated, attempt.new_containers = attempt.new_containers, []
        nm_tokens = []
        for container in allocated:
            container.state = "ACQUIRED"
            token = self.rm.nm_secrets.token_if_new(attempt.attempt_id, container.node.node_id, app.user)
            if token is not None:
                nm_tokens.append(spb.NMTokenProto(nodeId=container.node.node_id.to_proto(),
                                                  token=token.to_proto()))
        completed, attempt.finished_statuses = attempt.finished_statuses, []
        free_memory, free_vcores = self.rm.scheduler.available()
        return spb.AllocateResponseProto(
            allocated_containers=[c.proto() for c in allocated], completed_container_statuses=completed,
            limit=Resource(free_memory, free_vcores).to_proto(), num_cluster_nodes=len(self.rm.nodes),
            nm_tokens=nm_tokens, application_priority=pb.PriorityProto(priority=app.priority))

    def finishApplicationMaster(self, request: spb.FinishApplicationMasterRequestProto,
                                ctx: CallContext) -> spb.FinishApplicationMasterResponseProto:
        with self.rm.lock:
            attempt_id = self._known_attempt_id(ctx)
            app = self.rm.apps.get(attempt_id.application_id)
            if app is not None and app.state.final_stored:
                return spb.FinishApplicationMasterResponseProto(isUnregistered=True)
            attempt = app.attempts.get(attempt_id) if app is not None else None
            if app is None or attempt is None or not attempt.live:
                raise InvalidApplicationMasterRequestError(f"Application doesn't exist in cache {attempt_id}")
            if not attempt.registered:
                raise ApplicationMasterNotRegisteredError(
                    "Application Master is trying to unregister before registering for: "
                    f"{attempt_id.application_id}")
            attempt.last_ping = now_ms()
            final_status = (FinalStatus.from_proto(request.final_application_status)
                            if request.HasField("final_application_status") else FinalStatus.UNDEFINED)
            self.rm.unregistered(attempt, final_status, request.diagnostics, request.tracking_url)
            return spb.FinishApplicationMasterResponseProto(isUnregistered=app.unmanaged)
