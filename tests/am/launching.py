"""Submitting a spec to a cluster by hand for the end-to-end tests, as ``Client.submit`` will.

Stages ``.pyarn.spec.json`` in a local (``file://``) staging directory,
puts a fresh application secret in the AM's credentials, and starts
``python -m pyarn.am`` as the AM container. :func:`am_pid` finds the AM's
process (the clusters run their containers on this host).
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Optional, Tuple, Union

import attrs

from pyarn.am.environment import SPEC_FILE, STAGING_DIR_ENV
from pyarn.am.security import SECRET_ALIAS, new_secret
from pyarn.app_client import ApplicationClient
from pyarn.client import Client
from pyarn.security.credentials import Credentials
from pyarn.spec import ApplicationSpec, File
from pyarn.staging import local_status
from pyarn.yarn.ids import ApplicationId
from pyarn.yarn.records import ApplicationReport, ApplicationState, Resource

#: Names the configuration directory of a real cluster to run the end-to-end tests on.
REAL_ENV = "PYARN_TEST_HADOOP_CONF_DIR"
FINAL_STATES = (ApplicationState.FINISHED, ApplicationState.FAILED, ApplicationState.KILLED)
PYTHON = sys.executable


def submit(client: Client, spec: Union[ApplicationSpec, dict], staging_root: Path,
           conf_dir: Union[str, os.PathLike], *, keep_containers: bool = False,
           staging_url: Optional[str] = None) -> Tuple[ApplicationId, bytes, Path]:
    """Submit ``spec``; returns the application id, its secret and its staging directory.

    ``staging_url`` gives the AM another staging directory (``PYARN_STAGING_DIR``, where it
    keeps its journal) than the local one the spec is staged in."""
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
    env = {STAGING_DIR_ENV: staging_url or f"file://{staging}", "HADOOP_CONF_DIR": str(conf_dir),
           "PYTHONUNBUFFERED": "1"}
    master = spec.master.resources
    client.submit_context(
        application_id=app_id, commands=[f"{PYTHON} -m pyarn.am 1><LOG_DIR>/stdout 2><LOG_DIR>/stderr"],
        name=spec.name, queue=spec.queue, environment=env, local_resources={SPEC_FILE: spec_file},
        resource=Resource(memory=master.memory, vcores=master.vcores), max_attempts=spec.max_attempts,
        tokens=credentials, application_type="PYARN", keep_containers=keep_containers)
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


def connect(client: Client, app_id: ApplicationId, secret: bytes, timeout: float = 60.0) -> ApplicationClient:
    report = wait_running(client, app_id, timeout)
    assert report.state is ApplicationState.RUNNING, (report.state, report.diagnostics)
    return ApplicationClient(f"{report.host}:{report.port}", app_id, secret)


def wait_final(client: Client, app_id: ApplicationId, timeout: float = 90.0) -> ApplicationReport:
    deadline = time.monotonic() + timeout
    while True:
        report = client.application_report(app_id)
        if report.state in FINAL_STATES:
            return report
        if time.monotonic() > deadline:
            raise AssertionError(f"{app_id} did not finish within {timeout} s: {report.state}")
        time.sleep(0.2)


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
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            argv = Path(entry.path, "cmdline").read_bytes().split(b"\0")
            environ = Path(entry.path, "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"pyarn.am" in argv and wanted in environ:
            return int(entry.name)
    raise AssertionError(f"no pyarn-am process of {attempt.am_container_id} on this host")
