"""The AM dies (SIGKILL), YARN starts attempt 2, and the application carries on where it was.

Runs on pyarn's mini cluster, or on the real Hadoop named by
``PYARN_TEST_HADOOP_CONF_DIR`` (as :mod:`tests.am.test_e2e`). With
``keep_containers_across_application_attempts`` the running containers are
adopted by attempt 2; without it YARN kills them and attempt 2 replaces them.
"""
from __future__ import annotations

import os
import signal
import uuid
from typing import Dict, Iterator

import pytest

from pyarn.am.scheduler import LOST_MESSAGE
from pyarn.app_client import ApplicationClient
from pyarn.client import Client
from pyarn.conf import Configuration
from pyarn.yarn.records import ApplicationState, FinalStatus

from .launching import REAL_ENV, am_pid, submit, wait_final, wait_for
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
def hdfs_root(conf_dir, tmp_path_factory) -> Iterator[str]:
    """An HDFS directory URL for journals: the real cluster's default file system, or a MiniHDFS."""
    if REAL:
        default = Configuration.load(conf_dir).get_str("fs.defaultFS", "")
        if not default.startswith("hdfs://"):
            pytest.skip("the cluster's default file system is not HDFS")
        yield f"{default.rstrip('/')}/tmp/pyarn-tests"
        return
    from pyarn.minicluster.hdfs import MiniHDFS

    with MiniHDFS(tmp_path_factory.mktemp("recovery-hdfs"), datanodes=1) as hdfs:
        yield f"{hdfs.default_fs}/journals"


def connect_attempt(client: Client, app_id, secret: bytes, attempt: int) -> ApplicationClient:
    """A client of attempt ``attempt`` of the AM, once it has registered."""
    def registered():
        report = client.application_report(app_id)
        current = report.current_attempt_id
        if report.state in (ApplicationState.FINISHED, ApplicationState.FAILED, ApplicationState.KILLED):
            raise AssertionError(f"{app_id} ended: {report.state} {report.diagnostics}")
        ok = (current is not None and current.attempt_id == attempt and report.port > 0
              and report.state is ApplicationState.RUNNING)
        return report if ok else None
    report = wait_for(registered, timeout=120)
    return ApplicationClient(f"{report.host}:{report.port}", app_id, secret)


def containers(app: ApplicationClient) -> Dict[str, object]:
    return {c.id: c for c in app.get_containers(states=["WAITING", "REQUESTED", "RUNNING", "SUCCEEDED",
                                                        "FAILED", "KILLED"])}


KILL, TERM = signal.SIGKILL, signal.SIGTERM
CASES = [
    pytest.param("file", False, KILL, id="file-journal"),
    pytest.param("file", True, KILL, id="file-journal-keep-containers"),
    pytest.param("hdfs", REAL, KILL, id="hdfs-journal"),
    pytest.param("file", REAL, TERM, id="sigterm"),  # the AM ends its attempt itself, leaving its containers
]


@pytest.mark.parametrize(("journal", "keep", "signum"), CASES)
def test_am_restart_keeps_keys_desired_state_and_containers(client, conf_dir, tmp_path,
                                                            hdfs_root, journal, keep, signum):
    staging_url = f"{hdfs_root}/{uuid.uuid4().hex}" if journal == "hdfs" else None
    spec = {"name": "recovering", "max_attempts": 2, "services": {"sleeper": service(SLEEPER)}}
    app_id, secret, staging = submit(client, spec, tmp_path, conf_dir, keep_containers=keep,
                                     staging_url=staging_url)
    with connect_attempt(client, app_id, secret, 1) as app:
        app.kv["config"] = b"kept"
        app.scale("sleeper", count=3)
        wait_for(lambda: app.kv.count(prefix="alive/") == 3, timeout=60)
        app.kill_container("sleeper_2")
        wait_for(lambda: app.kv.count(prefix="alive/") == 2, timeout=30)
        app.set_progress(0.5)
        before = containers(app)

    os.kill(am_pid(client, app_id), signum)

    with connect_attempt(client, app_id, secret, 2) as app:
        assert app.kv["config"] == b"kept"
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
        # every running container, adopted or new, reaches attempt 2
        app.kv["ping"] = b"1"
        wait_for(lambda: sorted(app.kv.get_prefix("pong/")) == [f"pong/{c}" for c in survivors], timeout=60)
        wait_for(lambda: abs(client.application_report(app_id).progress - 0.5) < 1e-6, timeout=15)
        app.shutdown("SUCCEEDED", "recovered")

    report = wait_final(client, app_id)
    assert (report.state, report.final_status, report.diagnostics) == (
        ApplicationState.FINISHED, FinalStatus.SUCCEEDED, "recovered")
    wait_for(lambda: not staging_exists(staging_url or f"file://{staging}", conf_dir), timeout=20)


def staging_exists(url: str, conf_dir) -> bool:
    if url.startswith("file://"):
        return os.path.exists(url[len("file://"):])
    from pyarn.hdfs import HDFS

    authority, _, path = url[len("hdfs://"):].partition("/")
    with HDFS(conf=Configuration.load(conf_dir), uri=f"hdfs://{authority}") as fs:
        return fs.exists("/" + path)


def test_a_failed_application_is_retried_afresh_with_its_keys(client, conf_dir, tmp_path):
    seen = tmp_path / "seen.txt"
    flaky = python(f"""
        with open({str(seen)!r}, "a") as out:
            out.write(repr(app.kv.get("marker")) + "\\n")
        app.kv["marker"] = b"set"
        raise SystemExit(3)
    """)
    spec = {"max_attempts": 2, "services": {"flaky": service(flaky, max_restarts=0)}}
    app_id, _, staging = submit(client, spec, tmp_path, conf_dir)
    report = wait_final(client, app_id, timeout=120)
    assert (report.state, report.final_status) == (ApplicationState.FINISHED, FinalStatus.FAILED)
    assert "Failure in service flaky" in report.diagnostics
    # attempt 2 started the service afresh (its restart budget whole again) and found attempt 1's key
    assert seen.read_text().splitlines() == ["None", "b'set'"]
    assert len(client.get_attempts(app_id)) == 2
    wait_for(lambda: not staging.exists(), timeout=20)
