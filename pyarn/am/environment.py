"""What ``pyarn-am`` reads in its container's environment.

Set by the NodeManager, the ResourceManager, or the submitter:

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
``PYARN_STAGING_DIR``    (submitter) the application's staging directory URL (see
                         :mod:`pyarn.application.environment`)
``HADOOP_CONF_DIR``,
``YARN_CONF_DIR``        where to find the cluster's configuration (scheduler address, ...)
======================== =========================================================

What the AM gives its containers and the master script is part of the
application protocol: :mod:`pyarn.application.environment`.
"""
from __future__ import annotations

import os
import socket
from typing import Mapping, Optional, Tuple

import attrs

from ..application.environment import STAGING_DIR_ENV
from ..errors import PyarnError
from ..yarn.ids import ApplicationAttemptId, ApplicationId, ContainerId, InvalidIdError

__all__ = ["AmEnvironment", "AmEnvironmentError"]


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
