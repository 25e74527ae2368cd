"""The AM dies (SIGKILL), YARN starts attempt 2, and the application carries on where it was.

Runs on pyarn's mini cluster, or on the real Hadoop named by
``PYARN_TEST_HADOOP_CONF_DIR`` (as :mod:`tests.am.test_e2e`). ``Client.submit``
asks for ``keep_containers_across_application_attempts``: the running
containers are adopted by attempt 2. Without it (submitted by hand) YARN kills
them and attempt 2 replaces them. When attempt 2 cannot serve on attempt 1's
address, the adopted containers and the test's own client find it through the
ResourceManager.
"""
from __future__ import annotations

import os
import signal
from typing import Dict, Iterator

import pytest

from pyarn.am.scheduler import LOST_MESSAGE
from pyarn.app_client import ApplicationClient
from pyarn.client import Client
from pyarn.conf import Configuration
from pyarn.yarn.records import ApplicationState, FinalStatus

from .launching import (
    PYTHON,
    REAL_ENV,
    am_pid,
    kill_and_wait,
    kill_if_running,
    occupy,
    submit_by_hand,
    wait_final,
    wait_for,
)
from .test_e2e import python, service

REAL = bool(os.environ.get(REAL_ENV))

SLEEPER = python("""
    import os, time
    me = os.environ["PYARN_CONTAINER_ID"]
    app.kv.put(f"started/{me}/{os.getpid()}", b"1")
    app.kv.put("alive/" + me, b"1", owner=me)
    while True:  # answer one ping, whichever attempt of the AM serves it
        try:
            app.kv.wait("ping", timeout=120)
            app.kv.put("pong/" + me, b"1")
            break
        except Exception:
            time.sleep(0.5)
    time.sleep(600)
""")


@pytest.fixture(scope="module")
def hdfs_client(conf_dir, client) -> Iterator[Client]:
    """A client staging on the cluster's HDFS (so the AM journals there)."""
    default = Configuration.load(conf_dir).get_str("fs.defaultFS", "")
    if not default.startswith("hdfs://"):
        pytest.skip("the cluster's default file system is not HDFS")
    with Client(conf_dir, python=PYTHON, staging_dir=f"{default.rstrip('/')}/tmp/pyarn-tests") as c:
        yield c


def wait_registered(client: Client, app_id, attempt: int):
    """The report once attempt ``attempt`` of the AM has registered."""
    def registered():
        report = client.application_report(app_id)
        current = report.current_attempt_id
        if report.state in (ApplicationState.FINISHED, ApplicationState.FAILED, ApplicationState.KILLED):
            raise AssertionError(f"{app_id} ended: {report.state} {report.diagnostics}")
        ok = (current is not None and current.attempt_id == attempt and report.port > 0
              and report.state is ApplicationState.RUNNING)
        return report if ok else None
    return wait_for(registered, timeout=120)


def containers(app: ApplicationClient) -> Dict[str, object]:
    return {c.id: c for c in app.get_containers(states=["WAITING", "REQUESTED", "RUNNING", "SUCCEEDED",
                                                        "FAILED", "KILLED"])}


KILL, TERM = signal.SIGKILL, signal.SIGTERM
CASES = [
    pytest.param("submit", KILL, False, id="kept-containers"),
    pytest.param("by-hand", KILL, False, id="replaced-containers"),
    pytest.param("hdfs", KILL, False, id="hdfs-journal"),
    # the AM ends its attempt itself, leaving its containers
    pytest.param("submit", TERM, False, id="sigterm"),
    # attempt 2 serves elsewhere than attempt 1: the clients find it through the ResourceManager
    pytest.param("submit", KILL, True, id="moved"),
]


@pytest.mark.parametrize(("how", "signum", "moved"), CASES)
def test_am_restart_keeps_keys_desired_state_and_containers(request, client, conf_dir, tmp_path,
                                                            how, signum, moved):
    spec = {"name": "recovering", "max_attempts": 2, "services": {"sleeper": service(SLEEPER)}}
    keep = how != "by-hand"
    if how == "by-hand":
        app_id, secret, staging = submit_by_hand(client, spec, tmp_path, conf_dir)
        request.addfinalizer(lambda: kill_if_running(client, app_id))
        staging_url = f"file://{staging}"
        first = wait_registered(client, app_id, 1)
        app = ApplicationClient(f"{first.host}:{first.port}", app_id, secret)
    else:
        submitter = request.getfixturevalue("hdfs_client") if how == "hdfs" else client
        app_id = submitter.submit(spec)
        request.addfinalizer(lambda: kill_if_running(client, app_id))
        staging_url = f"{submitter.staging_dir}/{app_id}"
        app = submitter.connect(app_id, timeout=120)
    try:
        app.kv["config"] = b"kept"
        app.scale("sleeper", count=3)
        wait_for(lambda: app.kv.count(prefix="alive/") == 3, timeout=60)
        app.kill_container("sleeper_2")
        wait_for(lambda: app.kv.count(prefix="alive/") == 2, timeout=30)
        app.set_progress(0.5)
        before = containers(app)
        first_address = app.address

        blocker = None
        kill_and_wait(am_pid(client, app_id), signum)
        if moved:  # attempt 1's port taken: attempt 2 serves on another one
            port = int(first_address.rpartition(":")[2])
            blocker = wait_for(lambda: occupy(port), timeout=5, interval=0.01)
        try:
            second = wait_registered(client, app_id, 2)
        finally:
            if blocker is not None:
                blocker.close()
        if moved:
            assert f"{second.host}:{second.port}" != first_address
        if how == "by-hand":  # a client without the ResourceManager's help
            app.close()
            app = ApplicationClient(f"{second.host}:{second.port}", app_id, secret)

        # Client.connect's client of attempt 1 reaches attempt 2 (looking it up if it moved)
        assert app.kv["config"] == b"kept"
        assert app.address == f"{second.host}:{second.port}"
        after = containers(app)
        assert after["sleeper_2"].state.value == "KILLED"
        assert after["sleeper_2"].exit_message == "Killed by user request."
        if keep:  # adopted: the same YARN containers, still running, never started again
            for name in ("sleeper_0", "sleeper_1"):
                assert after[name].state.value == "RUNNING"
                assert after[name].yarn_container_id == before[name].yarn_container_id
            survivors = ["sleeper_0", "sleeper_1"]
        else:  # killed with attempt 1, replaced without spending restarts
            wait_for(lambda: {c for c, v in containers(app).items() if v.state.value == "RUNNING"}
                     == {"sleeper_3", "sleeper_4"}, timeout=60)
            after = containers(app)
            assert [after[f"sleeper_{i}"].exit_message for i in (0, 1)] == [LOST_MESSAGE] * 2
            survivors = ["sleeper_3", "sleeper_4"]
        assert len([c for c in after.values() if c.state.value in ("RUNNING", "REQUESTED")]) == 2
        wait_for(lambda: sorted(app.kv.get_prefix("alive/")) == [f"alive/{c}" for c in survivors], timeout=60)
        assert app.kv.count(prefix="started/") == (3 if keep else 5)
        # every running container, adopted or new, reaches attempt 2 (through the RM when it moved)
        app.kv["ping"] = b"1"
        wait_for(lambda: sorted(app.kv.get_prefix("pong/")) == [f"pong/{c}" for c in survivors], timeout=60)
        wait_for(lambda: abs(client.application_report(app_id).progress - 0.5) < 1e-6, timeout=15)
        app.shutdown("SUCCEEDED", "recovered")
    finally:
        app.close()

    report = wait_final(client, app_id)
    assert (report.state, report.final_status, report.diagnostics) == (
        ApplicationState.FINISHED, FinalStatus.SUCCEEDED, "recovered")
    wait_for(lambda: not staging_exists(staging_url, conf_dir), timeout=20)


def staging_exists(url: str, conf_dir) -> bool:
    if url.startswith("file://"):
        return os.path.exists(url[len("file://"):])
    from pyarn.hdfs import HDFS

    authority, _, path = url[len("hdfs://"):].partition("/")
    with HDFS(conf=Configuration.load(conf_dir), uri=f"hdfs://{authority}") as fs:
        return fs.exists("/" + path)


def test_a_failed_application_is_retried_afresh_with_its_keys(request, client, staging_root, tmp_path):
    seen = tmp_path / "seen.txt"
    flaky = python(f"""
        with open({str(seen)!r}, "a") as out:
            out.write(repr(app.kv.get("marker")) + "\\n")
        app.kv["marker"] = b"set"
        raise SystemExit(3)
    """)
    spec = {"max_attempts": 2, "services": {"flaky": service(flaky, max_restarts=0)}}
    app_id = client.submit(spec)
    request.addfinalizer(lambda: kill_if_running(client, app_id))
    staging = staging_root / str(app_id)
    report = wait_final(client, app_id, timeout=120)
    assert (report.state, report.final_status) == (ApplicationState.FINISHED, FinalStatus.FAILED)
    assert "Failure in service flaky" in report.diagnostics
    # attempt 2 started the service afresh (its restart budget whole again) and found attempt 1's key
    assert seen.read_text().splitlines() == ["None", "b'set'"]
    assert len(client.get_attempts(app_id)) == 2
    wait_for(lambda: not staging.exists(), timeout=20)
