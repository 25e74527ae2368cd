"""``python -m pyarn.minicluster start``: prints the conf dir, serves, stops everything on a signal."""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from hadoop_protos import yarn_service_pb2 as spb
from pyarn.minicluster import cli
from pyarn.yarn.ids import ContainerId

from .rawam import Cluster, wait_for

REPO = Path(__file__).resolve().parents[2]


def _gone(pid: int) -> bool:
    """No such process (the orphaned container was killed and reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_start_serves_until_a_signal_then_cleans_up(sig):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    process = subprocess.Popen([sys.executable, "-m", "pyarn.minicluster", "start", "--nodes", "1",
                                "--memory-mb", "1024", "--vcores", "2"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    try:
        line = process.stdout.readline()
        assert line.startswith("export HADOOP_CONF_DIR="), line + process.stderr.read()
        conf_dir = Path(line.strip().split("=", 1)[1])
        with Cluster(conf_dir) as cluster:
            nodes = cluster.rm.call("getClusterNodes", spb.GetClusterNodesRequestProto()).nodeReports
            assert len(nodes) == 1 and nodes[0].capability.memory == 1024
            am = cluster.submit_unmanaged("cli")
            with am:
                am.register()
                container = am.allocate_containers(1)[0]
                am.start(container, ["echo $$ > <LOG_DIR>/pid; exec sleep 60"])
                container_id = ContainerId.from_proto(container.id)
                log_dir = conf_dir.parent / "nm-0" / "logs" / str(container_id.application_id)
                pid_file = log_dir / str(container_id) / "pid"
                pid = int(wait_for(lambda: pid_file.exists() and pid_file.read_text().strip(), 10, "the pid"))
        process.send_signal(sig)
        assert process.wait(timeout=15) == 0
        assert "stopping" in process.stderr.read()
        wait_for(lambda: _gone(pid), 5, "the container's process to be killed")
        assert not conf_dir.parent.exists(), "the temporary workdir is removed"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_run_with_a_workdir_and_settings(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command")
    cli.add_parser(commands)
    args = parser.parse_args(["minicluster", "start", "--nodes", "2", "--workdir", str(tmp_path),
                              "--conf", "yarn.am.liveness-monitor.expiry-interval-ms=5000"])
    stop = threading.Event()
    thread = threading.Thread(target=lambda: cli.run(args, stop))
    thread.start()
    try:
        conf = tmp_path / "conf" / "yarn-site.xml"
        wait_for(conf.exists, 10, "the conf dir")
        text = conf.read_text()
        assert "<name>yarn.am.liveness-monitor.expiry-interval-ms</name><value>5000</value>" in text
        assert "yarn.resourcemanager.scheduler.address" in text
    finally:
        stop.set()
        thread.join(10)
    assert tmp_path.is_dir() and (tmp_path / "nm-1").is_dir(), "a given workdir is kept"
    assert capsys.readouterr().out == f"export HADOOP_CONF_DIR={tmp_path / 'conf'}\n"


def test_bad_settings_are_refused():
    with pytest.raises(SystemExit, match="expected KEY=VALUE"):
        cli._settings(["no-equals-sign"])
