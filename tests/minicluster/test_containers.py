"""What a container finds when it starts: its resources (files, archives) and its environment."""
from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import zipfile
from pathlib import Path

import pytest

from hadoop_protos import yarn_records_pb2 as pb
from pyarn.security.credentials import Credentials
from pyarn.yarn.ids import ApplicationId, ContainerId, NodeId

from .rawam import local_resource, log_dir_command, wait_for


@pytest.fixture
def am(cluster):
    am = cluster.submit_unmanaged("containers")
    am.register()
    yield am
    am.close()
    cluster.kill(am.app_id)


def _run(am, minicluster, commands, **launch) -> tuple:
    """Start one container, wait for it; returns (its status, its log dir, its NodeManager)."""
    container = am.allocate_containers(1)[0]
    response = am.start(container, commands, **launch)
    assert len(response.succeeded_requests) == 1, response
    container_id = ContainerId.from_proto(container.id)
    status = am.wait_completed([container_id])[container_id]
    nm = next(n for n in minicluster.node_managers if n.node_id == NodeId.from_proto(container.nodeId))
    return status, nm.log_dir / str(container_id.application_id) / str(container_id), nm


@pytest.fixture
def sources(tmp_path) -> dict:
    (tmp_path / "data.txt").write_text("plain file\n")
    inner = tmp_path / "inner.txt"
    inner.write_text("inside the archive\n")
    with tarfile.open(tmp_path / "bundle.tgz", "w:gz") as archive:
        archive.add(inner, arcname="sub/inner.txt")
    with tarfile.open(tmp_path / "bundle.tar.gz", "w:gz") as archive:
        archive.add(inner, arcname="inner.txt")
    with zipfile.ZipFile(tmp_path / "bundle.zip", "w") as archive:
        archive.write(inner, arcname="z/inner.txt")
    for path in tmp_path.iterdir():
        path.chmod(0o644)
    return {p.name: p for p in tmp_path.iterdir()}


def test_files_and_archives_are_localized(am, minicluster, sources):
    resources = {
        "data.txt": local_resource(sources["data.txt"], pb.FILE, pb.APPLICATION),
        "tgz": local_resource(sources["bundle.tgz"], pb.ARCHIVE, pb.PRIVATE),
        "targz": local_resource(sources["bundle.tar.gz"], pb.ARCHIVE, pb.APPLICATION),
        "zip": local_resource(sources["bundle.zip"], pb.ARCHIVE, pb.APPLICATION),
        "deep/dir/link.txt": local_resource(sources["data.txt"], pb.FILE, pb.APPLICATION),
    }
    command = log_dir_command("cat data.txt tgz/sub/inner.txt targz/inner.txt zip/z/inner.txt "
                              "deep/dir/link.txt")
    status, log_dir, nm = _run(am, minicluster, [command], resources=resources)
    assert status.exit_status == 0, status.diagnostics
    assert (log_dir / "stdout").read_text() == ("plain file\ninside the archive\ninside the archive\n"
                                               "inside the archive\nplain file\n")
    user = os.environ.get("HADOOP_USER_NAME") or am.cluster.report(am.app_id).user
    app = str(ApplicationId.from_proto(am.app_id))
    # Visibility picks the cache: PRIVATE in the user's filecache, APPLICATION in the application's.
    user_dir = nm.local_dir / "usercache" / user
    assert list((user_dir / "filecache").glob("*/bundle.tgz/sub/inner.txt"))
    assert list((user_dir / "appcache" / app / "filecache").glob("*/bundle.zip/z/inner.txt"))


@pytest.fixture
def public_file():
    """A world-readable file in a world-searchable directory."""
    directory = Path(tempfile.mkdtemp(prefix="pyarn-public-"))
    directory.chmod(0o755)
    path = directory / "data.txt"
    path.write_text("plain file\n")
    path.chmod(0o644)
    yield path
    shutil.rmtree(directory)


def test_public_resources_are_shared(am, minicluster, public_file, sources):
    private = {"data.txt": local_resource(sources["data.txt"], pb.FILE, pb.PUBLIC)}
    status, _, _ = _run(am, minicluster, ["true"], resources=private)
    assert status.exit_status == -1000, "pytest's tmp_path is not world-searchable"
    assert (f"Resource file:{sources['data.txt']} is not publicly accessible and as such cannot be part of "
            "the public cache.") in status.diagnostics
    resource = {"data.txt": local_resource(public_file, pb.FILE, pb.PUBLIC)}
    for _ in range(2):
        status, _, _ = _run(am, minicluster, ["test -L data.txt && cat data.txt"], resources=resource)
        assert status.exit_status == 0
    cached = [p for nm in minicluster.node_managers for p in (nm.local_dir / "filecache").glob("*/data.txt")]
    assert 1 <= len(cached) <= 2, "one public copy per node, reused by later containers"


def test_changed_resource_fails_like_yarn(am, minicluster, sources):
    resource = local_resource(sources["data.txt"])
    resource.timestamp += 5
    status, _, _ = _run(am, minicluster, ["true"], resources={"data.txt": resource})
    assert status.state == pb.C_COMPLETE and status.exit_status == -1000
    changed = f"Resource file:{sources['data.txt']} changed on src filesystem - expected: \""
    assert changed in status.diagnostics
    assert "\njava.io.IOException: Resource file:" in status.diagnostics


def test_missing_and_unsupported_resources(am, minicluster, tmp_path):
    missing = pb.LocalResourceProto(resource=pb.URLProto(scheme="file", port=-1, file=str(tmp_path / "nope")),
                                    size=1, timestamp=1, type=pb.FILE, visibility=pb.APPLICATION)
    status, _, _ = _run(am, minicluster, ["true"], resources={"nope": missing})
    assert status.exit_status == -1000
    missing_text = f"java.io.FileNotFoundException: File file:{tmp_path / 'nope'} does not exist"
    assert missing_text in status.diagnostics
    remote = pb.LocalResourceProto(resource=pb.URLProto(scheme="s3a", host="bucket", port=-1, file="/x"),
                                   size=1, timestamp=1, type=pb.FILE, visibility=pb.APPLICATION)
    status, _, _ = _run(am, minicluster, ["true"], resources={"x": remote})
    assert 'No FileSystem for scheme "s3a"' in status.diagnostics


def test_container_environment(am, minicluster, monkeypatch):
    container = am.allocate_containers(1)[0]
    container_id = ContainerId.from_proto(container.id)
    extra = Credentials()
    extra.add_secret("k", b"v")
    commands = [log_dir_command("env"), "&& echo <LOG_DIR> {{CONTAINER_ID}} >> <LOG_DIR>/stdout"]
    response = am.start(container, commands,
                        environment={"MYVAR": "my value", "CONTAINER_ID": "overridden?", "DERIVED": "$USER-x",
                                     "PATH": "/custom/bin:/usr/bin:/bin"},
                        tokens=extra.to_bytes())
    assert response.succeeded_requests
    status = am.wait_completed([container_id])[container_id]
    assert status.exit_status == 0, status.diagnostics
    nm = next(n for n in minicluster.node_managers if n.node_id == NodeId.from_proto(container.nodeId))
    app = str(container_id.application_id)
    log_dir = nm.log_dir / app / str(container_id)
    lines = (log_dir / "stdout").read_text().splitlines()
    env = dict(line.split("=", 1) for line in lines[:-1] if "=" in line)
    user = env["USER"]
    work_dir = nm.local_dir / "usercache" / user / "appcache" / app / str(container_id)
    assert env["CONTAINER_ID"] == str(container_id), "the NM's variables win over the launch context's"
    assert (env["NM_HOST"], env["NM_PORT"], env["NM_HTTP_PORT"]) == ("localhost", str(nm.node_id.port), "0")
    assert env["LOCAL_DIRS"] == str(nm.local_dir / "usercache" / user / "appcache" / app)
    assert env["LOCAL_USER_DIRS"] == f"{nm.local_dir / 'usercache' / user}/"
    assert env["LOG_DIRS"] == str(log_dir)
    assert env["LOGNAME"] == user and env["HOME"] == "/home/"
    assert env["PWD"] == str(work_dir)
    assert env["HADOOP_TOKEN_FILE_LOCATION"] == str(work_dir / "container_tokens")
    assert env["MYVAR"] == "my value" and env["DERIVED"] == f"{user}-x"
    assert env["PATH"] == "/custom/bin:/usr/bin:/bin", "a whitelisted variable the context sets is its own"
    assert env["HADOOP_CONF_DIR"] == minicluster.conf_dir, "whitelisted from the NodeManager"
    assert "PYTEST_CURRENT_TEST" not in env, "nothing else leaks from the NodeManager's environment"
    assert lines[-1] == f"{log_dir} {container_id}", "<LOG_DIR> and {{VAR}} are expanded"
    assert (log_dir / "launch_container.sh").exists() and (log_dir / "prelaunch.out").exists()
    assert Credentials.read_file(work_dir / "container_tokens").get_secret("k") == b"v"


def test_container_token_file(am, minicluster):
    extra = Credentials()
    extra.add_secret("k", b"v")
    status, log_dir, _ = _run(am, minicluster, [log_dir_command("cat $HADOOP_TOKEN_FILE_LOCATION")],
                              tokens=extra.to_bytes())
    assert status.exit_status == 0
    assert Credentials.from_bytes((log_dir / "stdout").read_bytes()).get_secret("k") == b"v"
    status, log_dir, _ = _run(am, minicluster, [log_dir_command("cat $HADOOP_TOKEN_FILE_LOCATION")])
    assert (log_dir / "stdout").read_bytes() == b"HDTS\x00\x00\x00", "an empty token file, as YARN writes"


def test_stop_kills_the_container_like_yarn(am, minicluster):
    container = am.allocate_containers(1)[0]
    container_id = ContainerId.from_proto(container.id)
    am.start(container, ["echo started >> <LOG_DIR>/stdout; exec sleep 60"])
    nm = next(n for n in minicluster.node_managers if n.node_id == NodeId.from_proto(container.nodeId))
    log_dir = nm.log_dir / str(container_id.application_id) / str(container_id)
    wait_for(lambda: (log_dir / "stdout").exists() and (log_dir / "stdout").read_text(), 10, "the container")
    running = am.statuses(container).status[0]
    assert running.state == pb.C_RUNNING and running.container_sub_state == pb.CSS_RUNNING
    assert running.exit_status == -1000
    assert len(am.stop(container).succeeded_requests) == 1
    status = am.wait_completed([container_id])[container_id]
    assert status.exit_status == -105
    assert "]Container killed by the ApplicationMaster.\n[" in status.diagnostics
    assert "]Container killed on request. Exit code is 143\n[" in status.diagnostics
    assert status.diagnostics.endswith("]Container exited with a non-zero exit code 143. \n")
    done = am.statuses(container).status[0]
    assert done.state == pb.C_COMPLETE and done.exit_status == -105


def test_failed_container_quotes_its_stderr(am, minicluster):
    status, _, _ = _run(am, minicluster, [log_dir_command("(echo something broke >&2; exit 7)")])
    assert status.exit_status == 7
    assert ("Error file: prelaunch.err.\nLast 4096 bytes of prelaunch.err :\n"
            "Last 4096 bytes of stderr :\nsomething broke\n\n\n") in status.diagnostics
    status, _, _ = _run(am, minicluster, ["echo unredirected >&2; exit 9"])
    assert "Last 4096 bytes of prelaunch.err :\nunredirected\n\n" in status.diagnostics
    assert "Last 4096 bytes of stderr" not in status.diagnostics


def test_workdirs_are_removed_with_the_application(cluster, minicluster):
    am = cluster.submit_unmanaged("cleanup")
    with am:
        am.register()
        status, log_dir, nm = _run(am, minicluster, ["true"])
        am.finish()
    cluster.wait_final(am.app_id)
    app = str(ApplicationId.from_proto(am.app_id))
    wait_for(lambda: not list(Path(nm.local_dir, "usercache").glob(f"*/appcache/{app}")), 10,
             "appcache cleanup")
    assert log_dir.is_dir(), "logs stay after the application"
