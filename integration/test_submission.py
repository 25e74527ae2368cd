"""Applications submitted with ``Client.submit`` and run by ``pyarn-am``, on any cluster.

Against pyarn's mini cluster by default (``file://`` staging), or the real
Hadoop named by ``PYARN_TEST_HADOOP_CONF_DIR`` (staging on its HDFS). The
containers run this interpreter (``sys.executable``), which must exist on
the nodes with pyarn installed. Each scenario ends in the state and final
status the ResourceManager reports.
"""
from __future__ import annotations

import sys
import textwrap
import time
from pathlib import Path
from typing import Callable, Dict, Iterator, List, TypeVar

import pytest

from pyarn.app_client import ApplicationClient
from pyarn.client import Client
from pyarn.conf import Configuration
from pyarn.staging import open_staging_dir
from pyarn.yarn.ids import ApplicationId
from pyarn.yarn.records import ApplicationReport, ApplicationState, FinalStatus

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PYTHON = sys.executable
APP = "from pyarn.app_client import ApplicationClient\napp = ApplicationClient.from_current()\n"
T = TypeVar("T")


@pytest.fixture(scope="module")
def client(hadoop_conf_dir, tmp_path_factory) -> Iterator[Client]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYARN_HOME", str(tmp_path_factory.mktemp("pyarn-home")))
        with Client(hadoop_conf_dir, python=PYTHON) as c:
            yield c


@pytest.fixture
def submitted(client) -> Iterator[List[ApplicationId]]:
    """Applications a test submits; those still running at its end are killed."""
    apps: List[ApplicationId] = []
    yield apps
    for app_id in apps:
        if client.application_report(app_id).state not in (ApplicationState.FINISHED, ApplicationState.FAILED,
                                                            ApplicationState.KILLED):
            client.kill_application(app_id)


def python(code: str) -> str:
    """A service script running ``code`` with ``app``, the container's ApplicationClient."""
    return f"{PYTHON} - <<'PYEOF'\n{APP}{textwrap.dedent(code).strip()}\nPYEOF\n"


def service(script: str, instances: int = 1, **extra) -> dict:
    return {"instances": instances, "resources": {"memory": 128, "vcores": 1}, "script": script, **extra}


def wait_for(predicate: Callable[[], T], timeout: float = 60.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.2)


def final(client: Client, app_id: ApplicationId) -> ApplicationReport:
    return client.wait_for_completion(app_id, timeout=120)


def log_dirs(conf_dir: Path, app_id: ApplicationId) -> Dict[str, Path]:
    """The application's container log directories by container id: under the NodeManagers'
    ``yarn.nodemanager.log-dirs`` (a single-node real cluster) or the mini cluster's ``nm-*/logs``."""
    roots = [Path(d) for d in Configuration.load(conf_dir).get_list("yarn.nodemanager.log-dirs", [])
             if not d.startswith("${")]
    roots = [r for r in roots if r.is_dir()] or list(conf_dir.parent.glob("nm-*/logs"))
    return {p.name: p for root in roots for p in root.glob(f"{app_id}/container_*")}


def service_stdout(conf_dir: Path, app_id: ApplicationId) -> str:
    return "".join((d / "stdout").read_text() for name, d in sorted(log_dirs(conf_dir, app_id).items())
                   if not name.endswith("_000001") and (d / "stdout").exists())


def staging_gone(client: Client, app_id: ApplicationId) -> bool:
    with open_staging_dir(client.conf, client.user, app_id) as staging:
        return not staging.exists()


def test_hello_world(client, submitted, hadoop_conf_dir):
    app_id = client.submit(EXAMPLES / "hello-world.yaml")
    submitted.append(app_id)
    report = final(client, app_id)
    assert (report.state, report.final_status) == (ApplicationState.FINISHED, FinalStatus.SUCCEEDED)
    assert report.application_type == "pyarn"
    assert "Hello from pyarn" in service_stdout(hadoop_conf_dir, app_id)
    wait_for(lambda: staging_gone(client, app_id), timeout=30)


def test_file_shipped_with_a_service(client, submitted, hadoop_conf_dir):
    app_id = client.submit(EXAMPLES / "with-files.yaml")
    submitted.append(app_id)
    report = final(client, app_id)
    assert report.final_status is FinalStatus.SUCCEEDED, report.diagnostics
    assert "Hello from pyarn, shipped as a file" in service_stdout(hadoop_conf_dir, app_id)


def test_two_services_with_depends_and_three_instances(client, submitted):
    coordinator = python("""
        app.kv.put("coordinator", b"up")
        app.kv.wait("done", timeout=300)
    """)
    worker = python("""
        import os
        assert app.kv.wait("coordinator", timeout=120) == b"up"
        app.kv.put("workers/" + os.environ["PYARN_CONTAINER_ID"], b"ok")
    """)
    spec = {"name": "depends", "services": {
        "coordinator": service(coordinator),
        "worker": service(worker, instances=3, depends=["coordinator"])}}
    with client.submit_and_connect(spec, timeout=120) as app:
        submitted.append(app.id)
        workers = wait_for(lambda: len(app.kv.get_prefix("workers/")) == 3 and app.kv.get_prefix("workers/"))
        assert workers == {f"workers/worker_{i}": b"ok" for i in range(3)}
        containers = {c.id: c for c in app.get_containers(states=["RUNNING", "SUCCEEDED"])}
        started = containers["coordinator_0"].start_time
        assert all(containers[f"worker_{i}"].start_time >= started for i in range(3))
        app.kv["done"] = b"1"
    report = final(client, app.id)
    assert (report.state, report.final_status) == (ApplicationState.FINISHED, FinalStatus.SUCCEEDED)


def test_a_service_failing_past_max_restarts_fails_the_application(client, submitted, hadoop_conf_dir):
    app_id = client.submit({"name": "flaky", "services": {"flaky": service("echo trying; exit 3",
                                                                           max_restarts=2)}})
    submitted.append(app_id)
    report = final(client, app_id)
    assert (report.state, report.final_status) == (ApplicationState.FINISHED, FinalStatus.FAILED)
    assert "flaky" in report.diagnostics
    assert service_stdout(hadoop_conf_dir, app_id) == "trying\n" * 3  # the first run and 2 restarts


def test_scale_up_and_down(client, submitted):
    with client.submit_and_connect({"name": "scale", "services": {"sleeper": service("sleep 600")}},
                                   timeout=120) as app:
        submitted.append(app.id)
        app.scale("sleeper", count=3)
        wait_for(lambda: len(app.get_containers(states=["RUNNING"])) == 3)
        stopped = app.scale("sleeper", delta=-2)
        assert len(stopped) == 2
        assert len(app.get_containers(states=["RUNNING"])) == 1
        assert len(app.get_containers(states=["KILLED"])) == 2
        app.shutdown("SUCCEEDED")
    report = final(client, app.id)
    assert (report.state, report.final_status) == (ApplicationState.FINISHED, FinalStatus.SUCCEEDED)


def test_kill_a_container(client, submitted):
    with client.submit_and_connect({"name": "kill", "services": {"sleeper": service("sleep 600",
                                                                                     instances=2)}},
                                   timeout=120) as app:
        submitted.append(app.id)
        wait_for(lambda: len(app.get_containers(states=["RUNNING"])) == 2)
        app.kill_container("sleeper_1")
        (killed,) = wait_for(lambda: app.get_containers(states=["KILLED"]))
        assert killed.id == "sleeper_1" and killed.exit_message == "Killed by user request."
        assert [c.id for c in app.get_containers(states=["RUNNING"])] == ["sleeper_0"]
        app.shutdown("SUCCEEDED")
    report = final(client, app.id)
    assert (report.state, report.final_status) == (ApplicationState.FINISHED, FinalStatus.SUCCEEDED)


def test_a_key_put_in_one_container_is_awaited_by_another(client, submitted):
    setter = python("""
        import time
        time.sleep(1)
        app.kv.put("message", b"from the setter")
    """)
    waiter = python("""
        value = app.kv.wait("message", timeout=120)
        app.kv.put("received", value)
    """)
    with client.submit_and_connect({"name": "kv", "services": {"setter": service(setter),
                                                               "waiter": service(waiter)}},
                                   timeout=120) as app:
        submitted.append(app.id)
        assert app.kv.wait("received", timeout=120) == b"from the setter"
    report = final(client, app.id)
    assert (report.state, report.final_status) == (ApplicationState.FINISHED, FinalStatus.SUCCEEDED)


def test_shutdown_with_a_status(client, submitted):
    app_id = client.submit({"name": "shutdown", "services": {"sleeper": service("sleep 600")}})
    submitted.append(app_id)
    with client.connect(app_id, timeout=120) as app:
        assert isinstance(app, ApplicationClient)
        app.shutdown("KILLED", "stopped by the integration test")
    report = final(client, app_id)
    assert (report.state, report.final_status) == (ApplicationState.FINISHED, FinalStatus.KILLED)
    assert report.diagnostics == "stopped by the integration test"
    wait_for(lambda: staging_gone(client, app_id), timeout=30)


def test_a_service_reaches_hdfs_with_the_application_tokens(client, submitted, hadoop_conf_dir):
    """A service container writes and reads HDFS with what YARN gave it: on a Kerberized cluster
    no ticket, only the HDFS delegation token the submitter fetched and ``pyarn-am`` passed on."""
    if not client.conf.get_str("fs.defaultFS", "").startswith("hdfs://"):
        pytest.skip("the cluster's default file system is not HDFS")
    from pyarn.hdfs import HDFS

    writer = python("""
        import os
        from pyarn.hdfs import HDFS
        path = os.environ["CHECK_PATH"]
        with HDFS(os.environ["PYARN_CONF_DIR"]) as fs:
            with fs.open(path, "wb") as f:
                f.write(b"written with the application's tokens")
            with fs.open(path, "rb") as f:
                print(f.read().decode())
    """)
    with HDFS(conf=client.conf) as fs:
        path = f"{fs.home}/.pyarn-it-tokens-{time.time_ns()}"
        try:
            app_id = client.submit({"name": "hdfs-tokens", "services": {
                "writer": service(writer, env={"CHECK_PATH": path})}})
            submitted.append(app_id)
            report = final(client, app_id)
            assert report.final_status is FinalStatus.SUCCEEDED, report.diagnostics
            assert "written with the application's tokens" in service_stdout(hadoop_conf_dir, app_id)
            with fs.open(path, "rb") as f:
                assert f.read() == b"written with the application's tokens"
            if client.conf.get_str("hadoop.security.authentication", "simple").lower() == "kerberos":
                assert fs.stat(path).owner == client.user.name  # the delegation token's owner
        finally:
            if fs.exists(path):
                fs.rm(path)
