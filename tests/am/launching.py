"""Helpers of the end-to-end tests: submissions, waits, and the AM's process.

The tests submit with ``Client.submit``, as users do. :func:`submit_by_hand`
builds the AM's launch context from the contract alone (:mod:`pyarn.application`):
the spec as ``.pyarn.spec.json``, a fresh secret in the AM's credentials,
``PYARN_STAGING_DIR`` and ``python -m pyarn.am``, nothing else. It checks that the
AM needs no more than the contract says, and submits what ``Client.submit``
never does (without ``keep_containers_across_application_attempts``).
:func:`am_pid` finds the AM's process (the clusters run their containers on
this host).
"""
from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path
from typing import Iterator, Optional, Tuple, Union

import attrs

from pyarn.app_client import ApplicationClient
from pyarn.application.environment import SPEC_FILE, STAGING_DIR_ENV
from pyarn.application.security import SECRET_ALIAS, new_secret
from pyarn.client import Client
from pyarn.security.credentials import Credentials
from pyarn.spec import ApplicationSpec, File
from pyarn.staging import local_status
from pyarn.yarn.ids import ApplicationId
from pyarn.yarn.records import ApplicationReport, ApplicationState

#: Names the configuration directory of a real cluster to run the end-to-end tests on.
REAL_ENV = "PYARN_TEST_HADOOP_CONF_DIR"
FINAL_STATES = (ApplicationState.FINISHED, ApplicationState.FAILED, ApplicationState.KILLED)
PYTHON = sys.executable


def submit_by_hand(client: Client, spec: Union[ApplicationSpec, dict], staging_root: Path,
                   conf_dir: Union[str, os.PathLike], *, keep_containers: bool = False
                   ) -> Tuple[ApplicationId, bytes, Path]:
    """Submit ``spec`` with a launch context made from the contract alone; returns the
    application id, its secret and its (local) staging directory."""
    spec = _with_file_stats(ApplicationSpec.coerce(spec))
    app_id = client.new_application().id
    staging = staging_root / str(app_id)
    staging.mkdir(parents=True)
    spec_path = staging / SPEC_FILE
    spec_path.write_text(spec.to_json(), encoding="utf-8")
    stat = spec_path.stat()
    spec_file = File(source=f"file://{spec_path}", size=stat.st_size, timestamp=stat.st_mtime_ns // 1_000_000)
    secret = new_secret()
    credentials = Credentials()
    credentials.add_secret(SECRET_ALIAS, secret)
    env = {STAGING_DIR_ENV: f"file://{staging}", "HADOOP_CONF_DIR": str(conf_dir), "PYTHONUNBUFFERED": "1"}
    client.submit_context(
        application_id=app_id, commands=[f"{PYTHON} -m pyarn.am 1><LOG_DIR>/stdout 2><LOG_DIR>/stderr"],
        name=spec.name, queue=spec.queue, environment=env, local_resources={SPEC_FILE: spec_file},
        resource=spec.master.resources.to_yarn(), max_attempts=spec.max_attempts, tokens=credentials,
        application_type="PYARN", keep_containers=keep_containers)
    return app_id, secret, staging


def _with_file_stats(spec: ApplicationSpec) -> ApplicationSpec:
    """The services' local files with their size and modification time, as staging records them."""
    for service in spec.services.values():
        for name, file in service.files.items():
            if file.local_path is not None:
                size, timestamp = local_status(file.local_path)
                service.files[name] = attrs.evolve(file, size=size, timestamp=timestamp)
    return spec


def wait_running(client: Client, app_id: ApplicationId, timeout: float = 60.0) -> ApplicationReport:
    """The report once the AM has registered its address (or the application ended)."""
    deadline = time.monotonic() + timeout
    while True:
        report = client.application_report(app_id)
        if report.state in FINAL_STATES or (report.state is ApplicationState.RUNNING and report.port > 0):
            return report
        if time.monotonic() > deadline:
            raise AssertionError(f"{app_id} did not start within {timeout} s: {report.state}, "
                                 f"{report.diagnostics}")
        time.sleep(0.2)


def connect_by_hand(client: Client, app_id: ApplicationId, secret: bytes, timeout: float = 60.0
                    ) -> ApplicationClient:
    """A client of an application :func:`submit_by_hand` submitted (no saved secret, no lookups)."""
    report = wait_running(client, app_id, timeout)
    assert report.state is ApplicationState.RUNNING, (report.state, report.diagnostics)
    return ApplicationClient(f"{report.host}:{report.port}", app_id, secret)


def kill_if_running(client: Client, app_id: ApplicationId) -> None:
    """Kill the application unless it has ended (a failed test leaves nothing running)."""
    if client.application_report(app_id).state not in FINAL_STATES:
        client.kill_application(app_id, "pyarn tests: the test is over")


def wait_final(client: Client, app_id: ApplicationId, timeout: float = 90.0) -> ApplicationReport:
    return client.wait_for_completion(app_id, timeout=timeout)


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.2):
    """Poll ``predicate`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def am_pid(client: Client, app_id: ApplicationId) -> int:
    """The process id of the current attempt's ``python -m pyarn.am`` (found by its container id)."""
    attempt = max(client.get_attempts(app_id), key=lambda a: a.id.attempt_id)
    wanted = f"CONTAINER_ID={attempt.am_container_id}".encode()
    for pid, argv, environ in _processes():
        if b"pyarn.am" in argv and wanted in environ:
            return pid
    raise AssertionError(f"no pyarn-am process of {attempt.am_container_id} on this host")


def _processes() -> Iterator[Tuple[int, list, list]]:
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            argv = Path(entry.path, "cmdline").read_bytes().split(b"\0")
            environ = Path(entry.path, "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        yield int(entry.name), argv, environ


def kill_and_wait(pid: int, signum: int, timeout: float = 30.0) -> None:
    """Send ``signum`` to ``pid`` and wait until the process has gone."""
    os.kill(pid, signum)
    wait_for(lambda: not os.path.exists(f"/proc/{pid}") or _zombie(pid), timeout=timeout, interval=0.05)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def occupy(port: int) -> Optional[socket.socket]:
    """Listen on ``port`` (all addresses), so that a new attempt of the AM cannot take it again;
    None while something else has it (a process killed a moment ago may still hold it)."""
    try:
        return socket.create_server(("0.0.0.0", port))
    except OSError:
        return None
