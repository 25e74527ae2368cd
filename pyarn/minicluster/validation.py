"""Checks of what clients and AMs ask the mini ResourceManager for.

Exception classes and messages are those of Hadoop 3.3's ``SchedulerUtils``,
``RMServerUtils`` and ``RMAppManager``. pyarn has no Python class for some of
these Java exceptions yet; they travel as :class:`~pyarn.errors.YarnError`
carrying the Java class name.
"""
from __future__ import annotations

from typing import Iterable

from hadoop_protos import yarn_records_pb2 as pb

from ..errors import RemoteError, YarnError
from ..yarn.ids import ApplicationAttemptId, ContainerId
from .diagnostics import resource_text

INVALID_RESOURCE_REQUEST = "org.apache.hadoop.yarn.exceptions.InvalidResourceRequestException"
INVALID_BLACKLIST_REQUEST = "org.apache.hadoop.yarn.exceptions.InvalidResourceBlacklistRequestException"
INVALID_CONTAINER_RELEASE = "org.apache.hadoop.yarn.exceptions.InvalidContainerReleaseException"
INVALID_CONTAINER = "org.apache.hadoop.yarn.exceptions.InvalidContainerException"

ANY = "*"


def validate_resource(resource: pb.ResourceProto, max_memory: int, max_vcores: int) -> None:
    """Reject a negative or too large container request (``SchedulerUtils.validateResourceRequest``)."""
    requested = resource_text(resource.memory, resource.virtual_cores)
    maximum = resource_text(max_memory, max_vcores)
    for name, value, limit in (("memory-mb", resource.memory, max_memory),
                               ("vcores", resource.virtual_cores, max_vcores)):
        if value < 0:
            raise YarnError("Invalid resource request! Cannot allocate containers as requested resource is "
                            f"less than 0! Requested resource type=[{name}], Requested resource={requested}",
                            INVALID_RESOURCE_REQUEST)
        if value > limit:
            raise YarnError(
                "Invalid resource request! Cannot allocate containers as requested resource is greater than "
                f"maximum allowed allocation. Requested resource type=[{name}], Requested "
                f"resource={requested}, maximum allowed allocation={maximum}, please note that maximum "
                "allowed allocation is calculated by scheduler based on maximum resource of registered "
                f"NodeManagers, which might be less than configured maximum allocation={maximum}",
                INVALID_RESOURCE_REQUEST)


def validate_submission(context: pb.ApplicationSubmissionContextProto, max_memory: int,
                        max_vcores: int) -> pb.ApplicationSubmissionContextProto:
    """Check a submission; returns it with ``resource`` filled from the AM's resource request.

    A managed AM needs resources (``resource`` or ``am_container_resource_request``)
    within the maximum allocation.
    """
    if context.unmanaged_am:
        return context
    if not context.HasField("am_container_spec"):
        raise RemoteError('Cannot invoke "org.apache.hadoop.yarn.api.records.ContainerLaunchContext.'
                          'getTokensConf()" because the return value of "org.apache.hadoop.yarn.api.records.'
                          'ApplicationSubmissionContext.getAMContainerSpec()" is null',
                          "java.lang.NullPointerException")
    if context.am_container_resource_request:
        capability = context.am_container_resource_request[0].capability
    elif context.HasField("resource"):
        capability = context.resource
    else:
        raise YarnError("Invalid resource request, no resources requested", INVALID_RESOURCE_REQUEST)
    validate_resource(capability, max_memory, max_vcores)
    checked = pb.ApplicationSubmissionContextProto()
    checked.CopyFrom(context)
    checked.resource.CopyFrom(capability)
    return checked


def validate_asks(asks: Iterable[pb.ResourceRequestProto], max_memory: int, max_vcores: int) -> None:
    for ask in asks:
        validate_resource(ask.capability, max_memory, max_vcores)


def validate_blacklist(additions: Iterable[str]) -> None:
    if ANY in additions:
        raise YarnError("Cannot add * to the blacklist!", INVALID_BLACKLIST_REQUEST)


def validate_releases(releases: Iterable[pb.ContainerIdProto], attempt_id: ApplicationAttemptId) -> None:
    for proto in releases:
        container_id = ContainerId.from_proto(proto)
        if container_id.application_attempt_id != attempt_id:
            raise YarnError(f"Cannot release container : {container_id} not belonging to this application "
                            f"attempt : {attempt_id}", INVALID_CONTAINER_RELEASE)
