"""``pyarn application submit|shutdown``, ``pyarn container ...`` and ``pyarn kv ...`` on the mini cluster.

Library errors are one line on stderr with exit status 1; usage errors are
argparse's (exit status 2).
"""
from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from pyarn import cli
from pyarn.application.security import secret_path
from pyarn.client import Client
from pyarn.yarn.records import ApplicationState, FinalStatus

from .test_submit import EXAMPLES, service, service_stdout, staging_mode

minicluster = pytest.importorskip("pyarn.minicluster")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[minicluster.MiniCluster]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYARN_HOME", str(tmp_path_factory.mktemp("pyarn-home")))
        with minicluster.MiniCluster(nodes=2, memory_mb=2048, vcores=4) as c:
            yield c


@pytest.fixture(scope="module")
def client(cluster) -> Iterator[Client]:
    with Client(cluster.conf_dir) as c:
        yield c


@pytest.fixture
def pyarn(cluster, capsys):
    """Run ``pyarn --conf-dir <mini cluster> ARGS...``; returns (exit status, stdout, stderr)."""
    def run(*args: str):
        capsys.readouterr()
        try:
            status = cli.main(["--conf-dir", cluster.conf_dir, *args])
        except SystemExit as exc:  # argparse
            status = exc.code
        out, err = capsys.readouterr()
        return status, out, err
    return run


def one_line_error(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("pyarn: error: "), err
    return lines[0]


def write_spec(path: Path, spec: dict) -> Path:
    path.write_text(json.dumps(spec))
    return path


def test_new_commands_build_without_protobuf():
    code = ("import sys; from pyarn import cli; p = cli.build_parser(); "
            "[p.parse_args(a) for a in (['kv', 'ls', 'x'], ['container', 'ls', 'x'], "
            "['application', 'submit', 'x.yaml'])]; print('google.protobuf' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_container_state_names_match_the_enum():
    from pyarn.application.records import ContainerState

    assert cli.CONTAINER_STATES == tuple(s.value for s in ContainerState)
    assert cli.SHUTDOWN_STATUSES == ("SUCCEEDED", "FAILED", "KILLED")


# ---------------------------------------------------------------- submit


def test_submit_wait_prints_the_id_and_the_final_state(pyarn, cluster):
    status, out, err = pyarn("application", "submit", str(EXAMPLES / "hello-world.yaml"), "--wait")
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("application_")
    assert "State:        FINISHED" in lines and "Final status: SUCCEEDED" in lines
    assert "Hello from pyarn" in service_stdout(cluster, lines[0])


def test_submit_without_wait_prints_only_the_id(pyarn, client):
    status, out, _ = pyarn("application", "submit", str(EXAMPLES / "hello-world.yaml"))
    assert status == 0 and out.count("\n") == 1
    assert client.wait_for_completion(out.strip(), timeout=60).final_status is FinalStatus.SUCCEEDED


def test_submit_wait_exits_1_when_the_application_fails(pyarn, tmp_path):
    spec = write_spec(tmp_path / "fail.json", {"services": {"bad": service("exit 3")}})
    status, out, _ = pyarn("application", "submit", str(spec), "--wait")
    assert status == 1
    assert "Final status: FAILED" in out.splitlines()


def test_submit_wait_cleans_up_after_a_master_that_never_ran(pyarn, client, tmp_path):
    spec = write_spec(tmp_path / "nopython.json", {"master": {"env": {"PYARN_PYTHON": "/no/such/python"}},
                                                   "services": {"s": service("echo")}})
    status, out, _ = pyarn("application", "submit", str(spec), "--wait")
    app_id = out.splitlines()[0]
    assert status == 1 and "Final status: FAILED" in out.splitlines()
    assert staging_mode(client, app_id) is None and not secret_path(app_id).exists()


def test_submit_bad_spec_is_one_line_naming_the_file_and_field(pyarn, tmp_path):
    spec = write_spec(tmp_path / "bad.json", {"services": {"bad": service("echo", instances=-2)}})
    status, out, err = pyarn("application", "submit", str(spec))
    assert (status, out) == (1, "")
    line = one_line_error(err)
    assert str(spec) in line and "services.bad.instances" in line


def test_submit_missing_spec_file_is_one_line(pyarn, tmp_path):
    status, _, err = pyarn("application", "submit", str(tmp_path / "nope.yaml"))
    assert status == 1 and "nope.yaml" in one_line_error(err)


def test_submit_rejected_by_the_rm_is_one_line(pyarn, tmp_path):
    spec = write_spec(tmp_path / "queue.json", {"queue": "nosuchqueue", "services": {"s": service("echo")}})
    status, _, err = pyarn("application", "submit", str(spec))
    assert status == 1 and "unknown queue: nosuchqueue" in one_line_error(err)


# ---------------------------------------------------------------- a running application


def test_containers_kv_and_shutdown(pyarn, client, tmp_path, monkeypatch):
    putter = (f"{sys.executable} -m pyarn.cli kv put current --key from-container --value hi\n"
              "sleep 600\n")
    spec = write_spec(tmp_path / "app.json", {"name": "cli", "services": {"worker": service(putter)}})
    status, out, err = pyarn("application", "submit", str(spec))
    assert status == 0, err
    app_id = out.strip()

    status, out, err = pyarn("kv", "get", app_id, "--key", "from-container", "--wait")
    assert (status, out) == (0, "hi\n"), err

    assert pyarn("kv", "put", app_id, "--key", "a/1", "--value", "one")[0] == 0
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"two\x00bytes")))
    assert pyarn("kv", "put", app_id, "--key", "a/2")[0] == 0
    assert pyarn("kv", "get", app_id, "--key", "a/2")[1] == "two\x00bytes\n"
    assert pyarn("kv", "ls", app_id)[1].splitlines() == ["a/1", "a/2", "from-container"]
    assert pyarn("kv", "ls", app_id, "--prefix", "a/")[1].splitlines() == ["a/1", "a/2"]
    assert pyarn("kv", "del", app_id, "--key", "a/1")[0] == 0
    status, _, err = pyarn("kv", "del", app_id, "--key", "a/1")
    assert status == 1 and "key 'a/1' is not set" in one_line_error(err)
    status, _, err = pyarn("kv", "get", app_id, "--key", "nope")
    assert status == 1 and "key 'nope' is not set" in one_line_error(err)

    assert pyarn("container", "scale", app_id, "--service", "worker", "--number", "3")[0] == 0
    assert pyarn("container", "scale", app_id, "-s", "worker", "--delta", "-1")[0] == 0
    status, out, _ = pyarn("container", "ls", app_id)
    assert status == 0
    header, *rows = out.splitlines()
    assert header.split() == ["ID", "SERVICE", "STATE", "YARN_CONTAINER_ID", "NODE", "RUNTIME", "EXIT"]
    active = [r.split()[0] for r in rows]
    assert len(active) == 2  # which one scaling down stopped depends on which were running yet

    assert pyarn("container", "kill", app_id, "--id", active[1])[0] == 0
    status, out, _ = pyarn("container", "ls", app_id, "--state", "killed", "--json")
    killed = json.loads(out)
    assert status == 0 and len(killed) == 2 and active[1] in [c["id"] for c in killed]
    assert all(c["state"] == "KILLED" and c["service_name"] == "worker" for c in killed)
    assert [c["id"] for c in json.loads(pyarn("container", "ls", app_id, "--all", "--json")[1])] == \
        ["worker_0", "worker_1", "worker_2"]

    status, _, err = pyarn("container", "scale", app_id, "--service", "nosuch", "--number", "1")
    assert status == 1 and "nosuch" in one_line_error(err)
    assert pyarn("container", "scale", app_id, "--service", "worker")[0] == 2
    assert pyarn("container", "scale", app_id, "--service", "worker", "--number", "-1")[0] == 2

    status, _, err = pyarn("application", "shutdown", app_id, "--status", "killed",
                           "--diagnostics", "done here")
    assert status == 0, err
    report = client.wait_for_completion(app_id, timeout=60)
    assert (report.state, report.final_status, report.diagnostics) == \
        (ApplicationState.FINISHED, FinalStatus.KILLED, "done here")

    status, _, err = pyarn("kv", "ls", app_id)
    assert status == 1 and "has finished (FINISHED, KILLED): done here" in one_line_error(err)


def test_commands_on_an_unknown_application_are_one_line(pyarn, client):
    unknown = f"application_{int(time.time() * 1000)}_9999"
    for args in (("container", "ls", unknown), ("kv", "get", unknown, "--key", "k"),
                 ("application", "shutdown", unknown)):
        status, _, err = pyarn(*args)
        assert status == 1 and unknown in one_line_error(err)
    status, _, err = pyarn("kv", "ls", "not-an-id")
    assert status == 1 and "invalid ApplicationId" in one_line_error(err)


def test_current_outside_a_container_is_one_line(pyarn, monkeypatch):
    monkeypatch.delenv("PYARN_APPLICATION_ID", raising=False)
    status, _, err = pyarn("kv", "ls", "current")
    assert status == 1 and "not running inside a pyarn application" in one_line_error(err)
