"""The environment contracts of ``pyarn-am``: what it reads in its container, what it gives to others.

Read by the AM (set by the NodeManager, the ResourceManager, or the submitter):

======================== =========================================================
``CONTAINER_ID``         the AM's container; the attempt and application ids come from it
``NM_HOST``, ``NM_PORT`` the NodeManager running the AM (``NM_HOST`` is the host it
                         registers for clients to reach its RPC server)
``NM_HTTP_PORT``         that NodeManager's web port
``LOCAL_DIRS``           comma-separated local directories
``LOG_DIRS``             comma-separated log directories (the first one gets the AM's logs)
``HADOOP_TOKEN_FILE_LOCATION`` the AM's credentials: the AMRM token, the
                         application secret (alias ``pyarn.app.secret``) and delegation tokens
``APP_SUBMIT_TIME_ENV``  submit time in ms
``USER``                 the submitting user
``PYARN_STAGING_DIR``    (submitter) the application's staging directory URL, deleted when the
                         application ends; the AM keeps its journal there, in ``.pyarn.journal``
                         (:data:`JOURNAL_DIR`), for its next attempts
``HADOOP_CONF_DIR``,
``YARN_CONF_DIR``        where to find the cluster's configuration (scheduler address, ...)
======================== =========================================================

Given by the AM to each service container (and to the master script, with the
service and container names empty), as in Skein's ``SKEIN_*`` variables:

========================== ====================================================
``PYARN_APPLICATION_ID``   the application id
``PYARN_AM_ADDRESS``       ``host:port`` of the AM's RPC server
``PYARN_SERVICE_NAME``     the container's service
``PYARN_CONTAINER_ID``     ``<service>_<instance>``, e.g. ``worker_0`` (the owner name for keys)
``PYARN_RESOURCE_MEMORY``  the container's memory in MiB
``PYARN_RESOURCE_VCORES``  its virtual cores
``SKEIN_*``                the same values under Skein's names (``SKEIN_APPLICATION_ID``,
                           ``SKEIN_CONTAINER_ID``, ``SKEIN_RESOURCE_MEMORY``,
                           ``SKEIN_RESOURCE_VCORES``) for scripts written for Skein
``HADOOP_USER_NAME``       the submitting user, on clusters without Kerberos
========================== ====================================================

The containers' credentials (``HADOOP_TOKEN_FILE_LOCATION``) hold the
``PYARN_APP_TOKEN`` under alias ``pyarn.app.token``, with the AM's delegation
tokens, but neither the AMRM token nor the application secret.
"""
from __future__ import annotations

import os
import socket
from typing import Mapping, Optional, Tuple

import attrs

from ..errors import PyarnError
from ..yarn.ids import ApplicationAttemptId, ApplicationId, ContainerId, InvalidIdError

__all__ = [
    "SPEC_FILE", "JOURNAL_DIR", "STAGING_DIR_ENV", "APPLICATION_ID_ENV", "AM_ADDRESS_ENV", "SERVICE_NAME_ENV",
    "CONTAINER_ID_ENV", "RESOURCE_MEMORY_ENV", "RESOURCE_VCORES_ENV", "AmEnvironment", "AmEnvironmentError",
]

#: The application spec the submitter stages into the AM's working directory (``ApplicationSpec.to_json()``,
#: with each file's ``size`` and ``timestamp`` filled in).
SPEC_FILE = ".pyarn.spec.json"
#: The AM's journal (:mod:`pyarn.am.recovery`) in the staging directory: a name staged files must not take.
JOURNAL_DIR = ".pyarn.journal"
STAGING_DIR_ENV = "PYARN_STAGING_DIR"
APPLICATION_ID_ENV = "PYARN_APPLICATION_ID"
AM_ADDRESS_ENV = "PYARN_AM_ADDRESS"
SERVICE_NAME_ENV = "PYARN_SERVICE_NAME"
CONTAINER_ID_ENV = "PYARN_CONTAINER_ID"
RESOURCE_MEMORY_ENV = "PYARN_RESOURCE_MEMORY"
RESOURCE_VCORES_ENV = "PYARN_RESOURCE_VCORES"
#: Skein's names for the same values.
SKEIN_ALIASES = {
    APPLICATION_ID_ENV: "SKEIN_APPLICATION_ID",
    CONTAINER_ID_ENV: "SKEIN_CONTAINER_ID",
    RESOURCE_MEMORY_ENV: "SKEIN_RESOURCE_MEMORY",
    RESOURCE_VCORES_ENV: "SKEIN_RESOURCE_VCORES",
}


class AmEnvironmentError(PyarnError):
    """The AM's container environment lacks something it needs; names the variable."""


def _split(value: Optional[str]) -> Tuple[str, ...]:
    return tuple(p for p in (value or "").split(",") if p)


@attrs.frozen
class AmEnvironment:
    """What ``pyarn-am`` learns from its container's environment."""

    container_id: ContainerId
    nm_host: str
    nm_port: Optional[int] = None
    nm_http_port: Optional[int] = None
    local_dirs: Tuple[str, ...] = ()
    log_dirs: Tuple[str, ...] = ()
    token_file: Optional[str] = None
    submit_time: Optional[int] = None
    user: Optional[str] = None
    staging_dir: Optional[str] = None
    working_dir: str = "."

    @property
    def attempt_id(self) -> ApplicationAttemptId:
        return self.container_id.application_attempt_id

    @property
    def app_id(self) -> ApplicationId:
        return self.container_id.application_id

    @property
    def log_dir(self) -> str:
        """Where the AM's own log files go (the working directory when there is no log dir)."""
        return self.log_dirs[0] if self.log_dirs else self.working_dir

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> AmEnvironment:
        """Read the environment; AmEnvironmentError naming the variable when one is missing or bad."""
        env = os.environ if env is None else env
        raw = env.get("CONTAINER_ID")
        if not raw:
            raise AmEnvironmentError("CONTAINER_ID is not set: pyarn-am runs inside a YARN container, "
                                   "started by the ResourceManager")
        try:
            container_id = ContainerId.parse(raw)
        except InvalidIdError as exc:
            raise AmEnvironmentError(f"CONTAINER_ID: {exc}") from None
        return cls(
            container_id=container_id,
            nm_host=env.get("NM_HOST") or socket.getfqdn(),
            nm_port=_int(env, "NM_PORT"),
            nm_http_port=_int(env, "NM_HTTP_PORT"),
            local_dirs=_split(env.get("LOCAL_DIRS")),
            log_dirs=_split(env.get("LOG_DIRS")),
            token_file=env.get("HADOOP_TOKEN_FILE_LOCATION") or None,
            submit_time=_int(env, "APP_SUBMIT_TIME_ENV"),
            user=env.get("USER") or env.get("LOGNAME") or None,
            staging_dir=env.get(STAGING_DIR_ENV) or None,
            working_dir=os.getcwd(),
        )


def _int(env: Mapping[str, str], name: str) -> Optional[int]:
    value = env.get(name)
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise AmEnvironmentError(f"{name}: expected an integer, got {value!r}") from None
