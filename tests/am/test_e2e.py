"""``pyarn-am`` end to end: applications submitted with ``Client.submit``, run by the AM on a cluster.

The cluster is pyarn's mini cluster, or the real Hadoop named by
``PYARN_TEST_HADOOP_CONF_DIR`` (fixtures in ``conftest.py``). Each test ends
in the state and final status that the ResourceManager reports. One
application is submitted by hand, from the AM's contract alone.
"""
from __future__ import annotations

import textwrap

import pytest

from pyarn.am.master import DRIVER_TOKENS
from pyarn.app_client import ApplicationClient
from pyarn.application.environment import AM_ADDRESS_ENV, APPLICATION_ID_ENV
from pyarn.application.security import TOKEN_ALIAS, TOKEN_KIND, app_token, load_secret
from pyarn.ipc import IpcServer
from pyarn.security.credentials import TOKEN_FILE_ENV, Credentials
from pyarn.yarn.records import ApplicationState, FinalStatus

from .launching import PYTHON, connect_by_hand, kill_if_running, submit_by_hand, wait_final, wait_for


@pytest.fixture
def run(client, staging_root):
    """Submit a spec with ``Client.submit``; returns (app id, staging dir). Applications still
    running when the test ends are killed."""
    submitted = []

    def go(spec):
        app_id = client.submit(spec)
        submitted.append(app_id)
        return app_id, staging_root / str(app_id)

    yield go
    for app_id in submitted:
        kill_if_running(client, app_id)


def python(code: str) -> str:
    """A service script running ``code`` with the test's interpreter, ``app`` being its ApplicationClient."""
    return f"{PYTHON} - <<'PYEOF'\n{APP}{textwrap.dedent(code).strip()}\nPYEOF\n"


APP = "from pyarn.app_client import ApplicationClient\napp = ApplicationClient.from_current()\n"


def service(script: str, instances: int = 1, **extra) -> dict:
    return {"instances": instances, "resources": {"memory": 128, "vcores": 1}, "script": script, **extra}


def test_the_contract_alone_runs_an_application(request, client, conf_dir, tmp_path):
    data = tmp_path / "greeting.txt"
    data.write_text("hello world")
    script = python("""
        import os
        assert open("greeting.txt").read() == "hello world"
        app.kv["said/" + os.environ["PYARN_CONTAINER_ID"]] = b"hello"
        app.kv.wait("heard", timeout=60)
    """)
    app_id, secret, staging = submit_by_hand(client, {"name": "hello", "services": {
        "hello": service(script, files={"greeting.txt": str(data)})}}, tmp_path / "staging", conf_dir)
    request.addfinalizer(lambda: kill_if_running(client, app_id))
    with connect_by_hand(client, app_id, secret) as app:
        assert app.kv.wait("said/hello_0", timeout=60) == b"hello"
        app.kv["heard"] = b"1"
    report = wait_final(client, app_id)
    assert (report.state, report.final_status) == (ApplicationState.FINISHED, FinalStatus.SUCCEEDED)
    assert report.diagnostics == "Application completed successfully."
    wait_for(lambda: not staging.exists(), timeout=10)


def test_failing_service_is_restarted_then_fails_the_application(client, run):
    app_id, _ = run({"services": {"flaky": service("echo trying; exit 3", max_restarts=2)}})
    report = wait_final(client, app_id)
    assert (report.state, report.final_status) == (ApplicationState.FINISHED, FinalStatus.FAILED)
    assert "Failure in service flaky" in report.diagnostics


def test_depends_and_a_key_awaited_across_containers(client, run):
    leader = python("""
        app.kv.put("leader", b"ready")
        app.kv.wait("stop", timeout=120)
    """)
    follower = python("""
        import os
        assert app.kv.wait("leader", timeout=60) == b"ready"
        me = os.environ["PYARN_CONTAINER_ID"]
        app.kv.put("followers/" + me, os.environ["PYARN_SERVICE_NAME"].encode())
    """)
    app_id, _ = run({"services": {"leader": service(leader),
                                  "follower": service(follower, instances=3, depends=["leader"])}})
    with client.connect(app_id, timeout=60) as app:
        found = wait_for(lambda: app.kv.count(prefix="followers/") == 3 and app.kv.get_prefix("followers/"),
                         timeout=60)
        assert found == {f"followers/follower_{i}": b"follower" for i in range(3)}
        containers = {c.id: c for c in app.get_containers(states=["RUNNING", "SUCCEEDED"])}
        leader_start = containers["leader_0"].start_time
        assert all(containers[f"follower_{i}"].start_time >= leader_start for i in range(3))
        app.kv["stop"] = b"1"
    report = wait_final(client, app_id)
    assert (report.state, report.final_status) == (ApplicationState.FINISHED, FinalStatus.SUCCEEDED)


def test_scale_kill_owned_keys_and_shutdown(client, run):
    sleeper = python("""
        import os, time
        me = os.environ["PYARN_CONTAINER_ID"]
        app.kv.put("alive/" + me, b"1", owner=me)
        time.sleep(600)
    """)
    app_id, _ = run({"name": "scaling", "services": {"sleeper": service(sleeper)}})
    with client.connect(app_id, timeout=60) as app:
        assert app.get_specification().name == "scaling"
        started = app.scale("sleeper", count=3)
        assert [c.id for c in started] == ["sleeper_1", "sleeper_2"]
        wait_for(lambda: len(app.kv.get_prefix("alive/")) == 3, timeout=60)
        (stopped,) = app.scale("sleeper", delta=-1)
        assert stopped.state.value == "KILLED"
        app.kill_container("sleeper_2")
        running = wait_for(lambda: [c.id for c in app.get_containers(states=["RUNNING"])] or None)
        assert len(running) == 1
        # the killed containers' owned keys go with them
        wait_for(lambda: list(app.kv.get_prefix("alive/")) == [f"alive/{running[0]}"], timeout=30)
        killed = app.get_containers(states=["KILLED"])
        assert len(killed) == 2 and all(c.exit_message == "Killed by user request." for c in killed)
        added = app.add_container("sleeper", env={"EXTRA": "1"})
        assert added.id == "sleeper_3"
        app.set_progress(0.5)
        wait_for(lambda: abs(client.application_report(app_id).progress - 0.5) < 1e-6, timeout=15)
        app.shutdown("KILLED", "stopped by the test")
    report = wait_final(client, app_id)
    assert report.final_status is FinalStatus.KILLED
    assert report.diagnostics == "stopped by the test"


def test_master_script_drives_the_application_with_credentials_of_its_own(client, run):
    driver = python("""
        import os, stat
        from pyarn.security.credentials import Credentials
        path = os.environ["HADOOP_TOKEN_FILE_LOCATION"]
        credentials = Credentials.read_file(path)
        mode = stat.S_IMODE(os.stat(path).st_mode)
        app.kv["driver/file"] = f"{os.path.basename(path)} {mode:o}".encode()
        tokens = sorted(f"{alias}={token.kind}" for alias, token in credentials.tokens.items())
        app.kv["driver/tokens"] = " ".join(tokens).encode()
        app.kv["driver/secrets"] = " ".join(sorted(credentials.secrets)).encode()
        app.kv["driver"] = app.get_specification().name.encode()
        assert app.kv.wait("worker", timeout=60) == b"done"
        app.kv.wait("checked", timeout=60)
    """)
    worker = python("""
        app.kv["worker"] = b"done"
    """)
    spec = {"name": "driven", "master": {"script": driver}, "services": {"worker": service(worker)}}
    app_id, _ = run(spec)
    with client.connect(app_id, timeout=60) as app:
        assert app.kv.wait("driver", timeout=60) == b"driven"
        # what service containers get: the application token; not the AM's AMRM token nor the secret
        assert app.kv["driver/file"] == f"{DRIVER_TOKENS} 600".encode()
        assert app.kv["driver/tokens"] == f"{TOKEN_ALIAS}={TOKEN_KIND}".encode()
        assert app.kv["driver/secrets"] == b""
        app.kv["checked"] = b"1"
    report = wait_final(client, app_id)
    assert (report.state, report.final_status) == (ApplicationState.FINISHED, FinalStatus.SUCCEEDED)
    assert report.diagnostics == "Application driver completed successfully."


def test_shutdown_failed_from_inside(client, run):
    script = python("""
        app.shutdown("FAILED", "gave up on purpose")
        import time; time.sleep(60)
    """)
    app_id, _ = run({"services": {"quitter": service(script)}})
    report = wait_final(client, app_id)
    assert report.final_status is FinalStatus.FAILED
    assert report.diagnostics == "gave up on purpose"


def test_killed_application_stops_and_cleans_up(client, run):
    app_id, staging = run({"master": {"script": "sleep 300"}, "services": {"sleeper": service("sleep 300")}})
    with client.connect(app_id, timeout=60) as app:
        wait_for(lambda: app.get_containers(states=["RUNNING"]), timeout=60)
    client.kill_application(app_id)
    report = wait_final(client, app_id)
    assert (report.state, report.final_status) == (ApplicationState.KILLED, FinalStatus.KILLED)
    wait_for(lambda: not staging.exists(), timeout=20)


def test_a_container_finds_the_master_through_the_resourcemanager(client, run, conf_dir, tmp_path):
    """``from_current`` with a stale ``PYARN_AM_ADDRESS`` (a stand-in for an earlier attempt's
    server, gone now): the client asks the ResourceManager named by ``HADOOP_CONF_DIR``."""
    app_id, _ = run({"services": {"sleeper": service("sleep 300")}})
    with client.connect(app_id, timeout=60) as app:
        live = app.address
    with IpcServer() as gone:
        stale = gone.address_string
    tokens = tmp_path / "container_tokens"
    credentials = Credentials()
    credentials.add_token(TOKEN_ALIAS, app_token(app_id, load_secret(app_id)))
    credentials.write_file(tokens)
    env = {APPLICATION_ID_ENV: str(app_id), AM_ADDRESS_ENV: stale, TOKEN_FILE_ENV: str(tokens),
           "HADOOP_CONF_DIR": str(conf_dir), "HADOOP_USER_NAME": client.user.name}
    with ApplicationClient.from_current(env) as app:
        assert app.address == stale
        app.kv["found"] = b"it"
        assert app.address == live
        assert app.kv["found"] == b"it"
    env.pop("HADOOP_CONF_DIR")  # no configuration: nowhere to look, the error is the AM's
    with ApplicationClient.from_current(env) as app:
        with pytest.raises(Exception, match="all 4 attempt"):
            app.kv["found"] = b"again"
