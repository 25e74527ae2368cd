"""The ``pyarn`` command line against a real IPC server (the fake RM of test_client)."""
from __future__ import annotations

import json
import sys
import types
from datetime import timedelta
from pathlib import Path
from typing import Iterator

import pytest

from pyarn import cli
from pyarn import minicluster as minicluster_package
from pyarn.client import Client
from pyarn.conf import Configuration
from pyarn.errors import ConnectFailedError, FailoverExhaustedError, PyarnError
from pyarn.ipc import IpcServer
from pyarn.yarn import ApplicationId, ApplicationState, NodeState

from .test_client import CLUSTER_TS, FakeResourceManager, StandbyResourceManager, app_id, closed_port, serve

APP2 = f"application_{CLUSTER_TS}_0002"


def write_conf(directory: Path, **properties: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    body = "".join(f"<property><name>{k}</name><value>{v}</value></property>" for k, v in properties.items())
    (directory / "yarn-site.xml").write_text(f"<configuration>{body}</configuration>")
    return directory


@pytest.fixture
def rm() -> FakeResourceManager:
    return FakeResourceManager()


@pytest.fixture
def rm_server(rm) -> Iterator[IpcServer]:
    with serve(rm) as server:
        yield server


@pytest.fixture
def conf_dir(rm_server, tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("HADOOP_USER_NAME", "alice")
    return write_conf(tmp_path / "conf", **{"yarn.resourcemanager.address": rm_server.address_string,
                                            "yarn.client.application-client-protocol.poll-interval-ms": "5"})


@pytest.fixture
def pyarn(conf_dir, capsys):
    """Run ``pyarn --conf-dir <conf_dir> ARGS...``; returns (exit status, stdout, stderr)."""
    def run(*args: str):
        status = cli.main(["--conf-dir", str(conf_dir), *args])
        out, err = capsys.readouterr()
        return status, out, err
    return run


def one_line_error(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("pyarn: error: "), err
    return lines[0]


# ---------------------------------------------------------------------- parser


def test_state_names_match_the_enums():
    assert cli.APPLICATION_STATES == tuple(s.value for s in ApplicationState)
    assert cli.NODE_STATES == tuple(s.value for s in NodeState)


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 0
    assert capsys.readouterr().out.startswith("usage: pyarn")


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for command in ("application", "node", "queue", "minicluster", "--conf-dir"):
        assert command in out


@pytest.mark.parametrize("argv", [
    ["application"], ["application", "ls", "--state", "SLEEPING"],
    ["application", "ls", "--all", "--state", "NEW"], ["application", "status"],
    ["application", "mv", APP2], ["node"], ["queue", "a", "b"],
])
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    assert "usage: pyarn" in capsys.readouterr().err


def test_command_is_found_past_global_options():
    assert cli._command_of(["--conf-dir", "minicluster", "queue"]) == "queue"
    assert cli._command_of(["--conf-dir=/x", "minicluster", "start"]) == "minicluster"
    assert cli._command_of(["--version"]) is None


# ---------------------------------------------------------------- applications


def test_application_ls_shows_active_applications_in_a_table(pyarn, rm):
    status, out, err = pyarn("application", "ls")
    assert (status, err) == (0, "")
    header, *rows = out.splitlines()
    assert header.split() == ["APPLICATION_ID", "NAME", "USER", "QUEUE", "STATE", "STATUS", "CONTAINERS",
                              "VCORES", "MEMORY", "RUNTIME"]
    assert [row.split()[:6] for row in rows] == [
        [APP2, "shell", "bob", "default", "RUNNING", "UNDEFINED"],
        [f"application_{CLUSTER_TS}_0003", "shell", "alice", "default", "ACCEPTED", "UNDEFINED"]]
    assert rows[0].split()[6:9] == ["2", "2", "2048"]
    for column in ("STATE", "MEMORY", "RUNTIME"):  # aligned: every row's value starts under its header
        assert {row[header.index(column) - 1] for row in rows} == {" "}
    assert len(rm.last("getApplications").application_states) == 3


DONE = {ApplicationState.FINISHED, ApplicationState.FAILED}


@pytest.mark.parametrize("args, states, check", [
    (["--all"], set(ApplicationState), None),
    (["--state", "finished", "--state", "FAILED"], DONE, None),
    (["--state", "FINISHED", "FAILED", "--user", "carol"], DONE, lambda r: list(r.users) == ["carol"]),
    (["--all", "--name", "shell", "--queue", "default"], set(ApplicationState),
     lambda r: (r.name, list(r.queues)) == ("shell", ["default"])),
])
def test_application_ls_filters(pyarn, rm, args, states, check):
    status, out, _ = pyarn("application", "ls", *args)
    assert status == 0
    request = rm.last("getApplications")
    assert {ApplicationState.from_proto(s) for s in request.application_states} == states
    if check is not None:
        assert check(request)


def test_application_ls_json(pyarn):
    status, out, _ = pyarn("app", "list", "--all", "--json")
    assert status == 0
    apps = json.loads(out)
    assert [a["id"] for a in apps] == [str(app_id(n)) for n in (1, 2, 3, 4)]
    first = apps[0]
    assert (first["state"], first["final_status"], first["tags"]) == ("FINISHED", "SUCCEEDED", ["nightly"])
    assert first["start_time"] == "2023-11-14T22:13:20+00:00"
    assert first["usage"]["used_resources"] == {"memory": 2048, "vcores": 2, "resources": {}}
    assert first["current_attempt_id"] == f"appattempt_{CLUSTER_TS}_0001_000001"
    assert not any(key.endswith("_token") for key in first)  # secrets stay out of the output


def test_application_status(pyarn):
    status, out, _ = pyarn("application", "status", APP2)
    assert status == 0
    fields = dict(line.split(":", 1) for line in out.splitlines())
    fields = {k: v.strip() for k, v in fields.items()}
    assert fields["Application ID"] == APP2
    assert (fields["State"], fields["User"], fields["Progress"]) == ("RUNNING", "bob", "50%")
    assert fields["Master"] == "node1:4002" and fields["Memory"] == "2048 MiB"
    assert "Finished" not in fields  # unset fields are left out
    values = [line.split(":", 1)[1] for line in out.splitlines()]
    assert len({len(v) - len(v.lstrip()) + len(k) for v, k in zip(values, fields)}) == 1  # values aligned


def test_application_status_json(pyarn):
    status, out, _ = pyarn("application", "status", APP2, "--json")
    assert status == 0
    report = json.loads(out)
    assert (report["id"], report["state"], report["port"]) == (APP2, "RUNNING", 4002)


def test_unknown_application_is_one_line_and_exit_1(pyarn):
    status, out, err = pyarn("application", "status", f"application_{CLUSTER_TS}_0099")
    assert (status, out) == (1, "")
    assert "doesn't exist" in one_line_error(err)


@pytest.mark.parametrize("command", [["status"], ["kill"], ["mv"]])
def test_malformed_id_is_one_line_and_exit_1(pyarn, rm, command):
    args = ["application", *command, "application_12"] + (["default"] if command == ["mv"] else [])
    status, out, err = pyarn(*args)
    assert (status, out) == (1, "")
    assert "invalid ApplicationId 'application_12'" in one_line_error(err)
    assert rm.requests == []


def test_application_kill(pyarn, rm):
    rm.kill_rounds = 1
    status, out, err = pyarn("application", "kill", APP2)
    assert (status, out, err) == (0, "", "")
    assert rm.apps[app_id(2)].state is ApplicationState.KILLED
    assert rm.count("forceKillApplication") == 2
    status, _, err = pyarn("application", "kill", f"application_{CLUSTER_TS}_0042")
    assert status == 1 and "doesn't exist" in one_line_error(err)


def test_application_mv(pyarn, rm):
    assert pyarn("application", "mv", APP2, "etl") == (0, "", "")
    assert rm.apps[app_id(2)].queue == "etl"
    status, _, err = pyarn("application", "move", APP2, "nowhere")
    assert status == 1 and "no such queue" in one_line_error(err)


# ------------------------------------------------------------------ nodes, queues


def test_node_ls(pyarn, rm):
    status, out, _ = pyarn("node", "ls")
    assert status == 0
    header, *rows = out.splitlines()
    assert header.split() == ["NODE_ID", "STATE", "CONTAINERS", "MEMORY", "VCORES", "RACK", "HTTP_ADDRESS",
                              "LABELS"]
    assert rows[0].split() == ["node1:8041", "RUNNING", "2", "2048/8192", "MiB", "2/8", "/rack", "node1:8042",
                               "gpu"]
    assert rows[1].split()[:2] == ["node2:8041", "LOST"]
    status, out, _ = pyarn("node", "ls", "--state", "running", "--json")
    assert [n["id"] for n in json.loads(out)] == ["node1:8041"]
    assert json.loads(out)[0]["total_resources"]["resources"] == {"yarn.io/gpu": 2}


def test_queue_lists_every_queue(pyarn):
    status, out, _ = pyarn("queue")
    assert status == 0
    header, *rows = out.splitlines()
    assert header.split() == ["QUEUE", "STATE", "CAPACITY", "MAX_CAPACITY", "USED", "RUNNING", "PENDING"]
    assert [r.split()[0] for r in rows] == ["default", "prod", "etl", "adhoc"]
    assert rows[0].split()[1:] == ["RUNNING", "50.0%", "100.0%", "12.5%", "2", "1"]
    status, out, _ = pyarn("queue", "--json")
    assert [q["name"] for q in json.loads(out)] == ["default", "prod", "etl", "adhoc"]


def test_queue_by_name(pyarn):
    status, out, _ = pyarn("queue", "default")
    assert status == 0
    assert "Queue:" in out and "Capacity:" in out and "50.0%" in out and "4096 MiB, 4 vcores" in out
    status, out, _ = pyarn("queue", "prod", "--json")
    assert json.loads(out)["name"] == "prod"
    status, out, err = pyarn("queue", "nowhere")
    assert (status, out) == (1, "") and "no queue 'nowhere'" in one_line_error(err)


# ----------------------------------------------------------- errors, HA, config


def test_unreachable_rm_names_the_addresses_and_the_conf_dir(tmp_path, capsys):
    address = closed_port()
    conf_dir = write_conf(tmp_path, **{"yarn.resourcemanager.address": address})
    assert cli.main(["--conf-dir", str(conf_dir), "application", "ls"]) == 1
    line = one_line_error(capsys.readouterr().err)
    assert f"tried {address}" in line and "Connection refused" in line and str(conf_dir) in line


def test_unreachable_message_without_a_conf_dir():
    client = Client(conf=Configuration({"yarn.resourcemanager.address": "127.0.0.1:1"}))
    error = FailoverExhaustedError("getApplications", [("127.0.0.1:1", ConnectFailedError("refused"))])
    message = cli._unreachable(error, client)
    assert "tried 127.0.0.1:1; last error: refused" in message and "HADOOP_CONF_DIR" in message
    client.close()


def test_ha_cli_fails_over_from_a_standby(rm_server, tmp_path, capsys):
    with serve(StandbyResourceManager()) as standby:
        conf_dir = write_conf(tmp_path, **{
            "yarn.resourcemanager.ha.enabled": "true", "yarn.resourcemanager.ha.rm-ids": "rm1,rm2",
            "yarn.resourcemanager.address.rm1": standby.address_string,
            "yarn.resourcemanager.address.rm2": rm_server.address_string})
        assert cli.main(["--conf-dir", str(conf_dir), "application", "ls", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2


def test_every_rm_down_in_ha_lists_both(tmp_path, capsys):
    one, two = closed_port(), closed_port()
    conf_dir = write_conf(tmp_path, **{
        "yarn.resourcemanager.ha.enabled": "true", "yarn.resourcemanager.ha.rm-ids": "a,b",
        "yarn.resourcemanager.address.a": one, "yarn.resourcemanager.address.b": two})
    assert cli.main(["--conf-dir", str(conf_dir), "node", "ls"]) == 1
    line = one_line_error(capsys.readouterr().err)
    assert f"tried {one}, {two}" in line


def test_broken_configuration_is_one_line(tmp_path, capsys):
    (tmp_path / "yarn-site.xml").write_text("<configuration><property>")
    assert cli.main(["--conf-dir", str(tmp_path), "queue"]) == 1
    assert "yarn-site.xml" in one_line_error(capsys.readouterr().err)
    assert cli.main(["--conf-dir", str(tmp_path / "missing"), "queue"]) == 1
    assert "missing" in one_line_error(capsys.readouterr().err)


def test_bugs_keep_their_traceback(pyarn, monkeypatch):
    def broken(self, states=None):
        raise RuntimeError("a bug")
    monkeypatch.setattr(Client, "get_nodes", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        pyarn("node", "ls")


# ------------------------------------------------------------------ minicluster


def test_minicluster_unavailable_is_one_line(monkeypatch, capsys):
    monkeypatch.delattr(minicluster_package, "cli", raising=False)
    monkeypatch.setitem(sys.modules, "pyarn.minicluster.cli", None)
    assert cli.main(["minicluster", "start"]) == 1
    assert "'pyarn minicluster' is not available" in one_line_error(capsys.readouterr().err)


def test_fs_is_delegated_to_the_hdfs_cli(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["fs", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for action in ("ls", "put", "get", "cat", "mkdir", "rm", "mv", "stat"):
        assert action in out


def test_top_level_help_lists_delegated_commands(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert "fs" in out and "minicluster" in out


def test_minicluster_is_delegated(monkeypatch, capsys):
    seen = []
    fake = types.ModuleType("pyarn.minicluster.cli")

    def add_parser(subparsers):
        parser = subparsers.add_parser("minicluster")
        parser.add_argument("action")
        parser.add_argument("--nodes", type=int, default=1)

    def run(args):
        seen.append((args.action, args.nodes))
        if args.action == "fail":
            raise PyarnError("the mini cluster could not start\nmore detail")
        return 3

    fake.add_parser, fake.run = add_parser, run
    monkeypatch.setitem(sys.modules, "pyarn.minicluster.cli", fake)
    monkeypatch.setattr(minicluster_package, "cli", fake, raising=False)
    assert cli.main(["minicluster", "start", "--nodes", "2"]) == 3
    assert seen == [("start", 2)]
    assert cli.main(["minicluster", "fail"]) == 1
    assert one_line_error(capsys.readouterr().err) == "pyarn: error: the mini cluster could not start"


# ------------------------------------------------------------------- formatting


def test_format_table_aligns_columns():
    table = cli.format_table(["A", "LONGER"], [["xxxx", 1], [None, "y"]])
    assert table.splitlines() == ["A     LONGER", "xxxx  1", "      y"]


def test_format_fields_skips_empty_values():
    fields = [("Name", "x"), ("Long label", 3), ("None", None), ("Empty", "")]
    assert cli.format_fields(fields).splitlines() == ["Name:       x", "Long label: 3"]


@pytest.mark.parametrize("seconds, text", [(0, "0s"), (59, "59s"), (61, "1m 1s"), (3600, "1h"),
                                           (3725, "1h 2m"), (90061, "1d 1h"), (-5, "0s")])
def test_duration(seconds, text):
    assert cli._duration(timedelta(seconds=seconds)) == text


def test_application_id_round_trips_through_the_table(pyarn):
    _, out, _ = pyarn("application", "ls")
    assert ApplicationId.parse(out.splitlines()[1].split()[0]) == app_id(2)


def test_principal_without_keytab_is_a_usage_error(capsys):
    assert cli.main(["--principal", "alice@PYARN.TEST", "node", "ls"]) == 2
    assert "--principal and --keytab go together" in capsys.readouterr().err


def test_a_bad_keytab_is_one_line(capsys, tmp_path):
    pytest.importorskip("gssapi")
    assert cli.main(["--principal", "alice@PYARN.TEST", "--keytab", str(tmp_path / "none.keytab"),
                     "node", "ls"]) == 1
    assert one_line_error(capsys.readouterr().err).startswith("pyarn: error: cannot read keytab")
