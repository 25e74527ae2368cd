"""The ``ContainerLaunchContext`` of a service container: files, environment, command, tokens.

The service's bash script travels base64-encoded in the environment variable
``PYARN_SCRIPT_B64`` (the NodeManager writes commands and environment into
its launch script unescaped, so a script containing quotes or ``$`` could not
travel there as is); the command decodes it to ``.pyarn.sh`` and runs it
with its output in the container's log directory::

    printf %s $PYARN_SCRIPT_B64 | base64 -d > .pyarn.sh && exec bash .pyarn.sh \\
        1><LOG_DIR>/stdout 2><LOG_DIR>/stderr

(``<LOG_DIR>`` is expanded by the NodeManager). Linux caps one environment
string at 128 KiB, so a script may have up to :data:`MAX_SCRIPT_BYTES`.
Files come from the spec:
each :class:`~pyarn.spec.File` carries the URL, size and modification time
of its staged copy; a ``file://`` source whose size and time are unknown (0)
is looked up on the local disk.
"""
from __future__ import annotations

import base64
import logging
from typing import Dict, Mapping, Optional

import attrs

from hadoop_protos import yarn_records_pb2 as pb

from ..application.environment import (
    AM_ADDRESS_ENV,
    APPLICATION_ID_ENV,
    CONF_DIR,
    CONF_DIR_ENV,
    CONTAINER_ID_ENV,
    RESOURCE_MEMORY_ENV,
    RESOURCE_VCORES_ENV,
    SERVICE_NAME_ENV,
    SKEIN_ALIASES,
)
from ..errors import PyarnError
from ..security.credentials import Credentials
from ..spec import ApplicationSpec, File
from ..staging import local_status
from ..yarn.ids import ApplicationId
from ..yarn.nodemanager import launch_context
from ..yarn.records import Resource
from ..yarn.resourcemanager import _acl_type, local_resource_proto

log = logging.getLogger(__name__)

__all__ = ["LaunchContextBuilder", "SCRIPT_ENV", "SCRIPT_FILE", "COMMAND", "MAX_SCRIPT_BYTES", "pyarn_env"]

SCRIPT_ENV = "PYARN_SCRIPT_B64"
#: The longest service script (its base64 form must fit Linux's 128 KiB limit per environment string).
MAX_SCRIPT_BYTES = 96 * 1024
SCRIPT_FILE = ".pyarn.sh"
COMMAND = (f"printf %s ${SCRIPT_ENV} | base64 -d > {SCRIPT_FILE} && "
           f"exec bash {SCRIPT_FILE} 1><LOG_DIR>/stdout 2><LOG_DIR>/stderr")


def pyarn_env(app_id: ApplicationId, am_address: str, service: str = "", container_id: str = "",
              resource: Optional[Resource] = None) -> Dict[str, str]:
    """The ``PYARN_*`` (and Skein alias) variables of a container (see
    :mod:`pyarn.application.environment`)."""
    env = {APPLICATION_ID_ENV: str(app_id), AM_ADDRESS_ENV: am_address, SERVICE_NAME_ENV: service,
           CONTAINER_ID_ENV: container_id}
    if resource is not None:
        env[RESOURCE_MEMORY_ENV] = str(resource.memory)
        env[RESOURCE_VCORES_ENV] = str(resource.vcores)
    env.update({alias: env[name] for name, alias in SKEIN_ALIASES.items() if name in env})
    return env


def _with_local_stat(file: File) -> File:
    path = file.local_path
    if path is None or (file.size and file.timestamp):
        return file
    try:
        size, timestamp = local_status(path)
    except OSError as exc:
        log.warning("cannot stat %s to localize it: %s", path, exc)
        return file
    return attrs.evolve(file, size=size, timestamp=timestamp)


@attrs.define
class LaunchContextBuilder:
    """Builds launch contexts for the services of ``spec``.

    ``credentials`` go to every container as they are (give them without the
    AMRM token and the secret); ``user`` becomes ``HADOOP_USER_NAME`` unless
    ``secure``. ``conf_archive``, the staged configuration archive, is
    unpacked in every container as ``.pyarn_conf`` (``PYARN_CONF_DIR``),
    unless the service has a file of that name.
    """

    spec: ApplicationSpec
    app_id: ApplicationId
    am_address: str
    credentials: Credentials
    user: Optional[str] = None
    secure: bool = False
    conf_archive: Optional[File] = None
    _resources: Dict[str, Dict[str, pb.LocalResourceProto]] = attrs.field(factory=dict, init=False)

    def __attrs_post_init__(self) -> None:
        for name, service in self.spec.services.items():
            size = len(service.script.encode("utf-8"))
            if size > MAX_SCRIPT_BYTES:
                raise PyarnError(f"services.{name}.script: {size} bytes, more than the {MAX_SCRIPT_BYTES} "
                                 "pyarn can pass to a container; ship a file and run it instead")

    def local_resources(self, service: str) -> Dict[str, pb.LocalResourceProto]:
        """The service's files as LocalResources (computed once per service)."""
        cached = self._resources.get(service)
        if cached is None:
            files = dict(self.spec.services[service].files)
            if self.conf_archive is not None:
                files.setdefault(CONF_DIR, self.conf_archive)
            cached = self._resources[service] = {
                name: local_resource_proto(_with_local_stat(file)) for name, file in files.items()}
        return cached

    def environment(self, service: str, container_id: str, resource: Resource,
                    overrides: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
        """The service's env, then ``overrides``, then pyarn's variables."""
        spec = self.spec.services[service]
        env = dict(spec.env)
        env.update(overrides or {})
        env.update(pyarn_env(self.app_id, self.am_address, service, container_id, resource))
        if self.user and not self.secure:
            env["HADOOP_USER_NAME"] = self.user
        if self.conf_archive is not None and CONF_DIR not in spec.files:
            env[CONF_DIR_ENV] = f"{{{{PWD}}}}/{CONF_DIR}"  # the NodeManager expands {{PWD}}
        env[SCRIPT_ENV] = base64.b64encode(spec.script.encode("utf-8")).decode("ascii")
        return env

    def build(self, service: str, container_id: str, resource: Resource,
              overrides: Optional[Mapping[str, str]] = None) -> pb.ContainerLaunchContextProto:
        """The launch context of container ``container_id`` of ``service``."""
        return launch_context(commands=[COMMAND],
                              environment=self.environment(service, container_id, resource, overrides),
                              local_resources=self.local_resources(service), credentials=self.credentials,
                              acls={_acl_type(kind): acl for kind, acl in self.spec.acls.to_yarn().items()})
