"""``Client.submit``, ``submit_and_connect`` and ``connect`` against pyarn's mini cluster.

Each end-to-end test runs twice: staging on the mini cluster's HDFS (its
default file system) and on ``file://`` under a per-module ``PYARN_HOME``.
The mini NodeManagers localize the staged files, checking their modification
times as YARN does.
"""
from __future__ import annotations

import io
import os
import posixpath
import stat
import sys
import tarfile
import textwrap
import time
import zipfile
from pathlib import Path
from typing import Dict, Iterator, Optional

import pytest

from hadoop_protos import yarn_records_pb2 as yarn_pb
from pyarn.application.environment import SPEC_FILE, STAGING_DIR_ENV
from pyarn.application.security import SECRET_ALIAS, load_secret, secret_path
from pyarn.client import ApplicationFinishedError, Client
from pyarn.conf import Configuration
from pyarn.errors import PyarnError
from pyarn.security.credentials import Credentials
from pyarn.security.user import User
from pyarn.spec import ApplicationSpec, SpecError
from pyarn.staging import HdfsStagingDir, LocalStagingDir, StagingDir, open_staging_dir, stat_source
from pyarn.submit import AM_CONF_DIR, SubmissionError, _launch, am_conf_archive, prepare
from pyarn.yarn.ids import ApplicationId
from pyarn.yarn.records import ApplicationState, FinalStatus, Resource
from pyarn.yarn.resourcemanager import build_submission_context

minicluster = pytest.importorskip("pyarn.minicluster")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ALL_STATES = list(ApplicationState)


# ---------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def pyarn_home(tmp_path_factory) -> Iterator[Path]:
    """``PYARN_HOME``: where this module's applications are staged and their secrets kept."""
    home = tmp_path_factory.mktemp("pyarn-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYARN_HOME", str(home))
        yield home


@pytest.fixture(scope="module")
def cluster(pyarn_home) -> Iterator[minicluster.MiniCluster]:
    """A mini cluster whose default file system is its HDFS."""
    with minicluster.MiniCluster(nodes=2, memory_mb=2048, vcores=4) as c:
        yield c


@pytest.fixture(scope="module", params=["hdfs", "file"])
def client(request, cluster, pyarn_home) -> Iterator[Client]:
    """A client staging on the cluster's HDFS (its default file system), or on ``file://``."""
    staging = None if request.param == "hdfs" else f"file://{pyarn_home}/staging"
    with Client(cluster.conf_dir, staging_dir=staging) as c:
        yield c


def _staging(client: Client, app_id="application_1_0001") -> StagingDir:
    return open_staging_dir(client.conf, client.user, ApplicationId.coerce(app_id), client.staging_dir)


def staged_apps(client: Client) -> list:
    """The application directories under the client's staging root."""
    with _staging(client) as probe:
        if isinstance(probe, LocalStagingDir):
            return sorted(p.name for p in probe.path.parent.glob("application_*"))
        assert isinstance(probe, HdfsStagingDir)
        root = posixpath.dirname(probe.path)
        return sorted(posixpath.basename(p) for p in probe.fs.ls(root)) if probe.fs.exists(root) else []


def staging_mode(client: Client, app_id) -> Optional[int]:
    """The permission bits of the application's staging directory (None when it is gone)."""
    with _staging(client, app_id) as staging:
        try:
            if isinstance(staging, LocalStagingDir):
                return stat.S_IMODE(staging.path.stat().st_mode)
            assert isinstance(staging, HdfsStagingDir)
            return staging.fs.stat(staging.path).permission
        except FileNotFoundError:
            return None


def container_logs(cluster, app_id) -> Dict[str, Path]:
    """Log directories of the application's containers, by container id."""
    return {p.name: p for p in Path(cluster.workdir).glob(f"nm-*/logs/{app_id}/container_*")}


def service_stdout(cluster, app_id) -> str:
    """The stdout of every service container (not the master, container 000001)."""
    return "".join((d / "stdout").read_text() for name, d in sorted(container_logs(cluster, app_id).items())
                   if not name.endswith("_000001"))


def wait_gone(client: Client, app_id, timeout: float = 15.0) -> bool:
    """Whether the application's staging directory goes within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while staging_mode(client, app_id) is not None:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def service(script: str, instances: int = 1, **extra) -> dict:
    return {"instances": instances, "resources": {"memory": 128, "vcores": 1}, "script": script, **extra}


# ---------------------------------------------------------------- end to end


def test_hello_world_succeeds_and_prints(client, cluster):
    app_id = client.submit(EXAMPLES / "hello-world.yaml")
    assert staging_mode(client, app_id) == 0o700
    assert stat.S_IMODE(secret_path(app_id).stat().st_mode) == 0o600
    report = client.wait_for_completion(app_id, timeout=60)
    assert (report.state, report.final_status) == (ApplicationState.FINISHED, FinalStatus.SUCCEEDED)
    assert report.application_type == "pyarn" and report.name == "hello-world"
    assert "Hello from pyarn" in service_stdout(cluster, app_id)
    assert wait_gone(client, app_id), "pyarn-am removes the staging directory"


def test_staged_files_localize_and_shared_sources_upload_once(client, cluster, tmp_path):
    data = tmp_path / "greeting.txt"
    data.write_text("hello world")
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "leaf.txt").write_text("leaf")
    check = ('test "$(cat greeting.txt)" = "hello world" && test "$(cat tree/sub/leaf.txt)" = leaf && '
             'echo "$PYARN_SERVICE_NAME got it"')
    files = {"greeting.txt": str(data), "tree": str(tree)}
    spec = {"name": "files", "services": {"a": service(check, files=files), "b": service(check, files=files)}}
    app_id = client.submit(spec)
    report = client.wait_for_completion(app_id, timeout=60)
    assert report.final_status is FinalStatus.SUCCEEDED, report.diagnostics
    assert service_stdout(cluster, app_id).splitlines() == ["a got it", "b got it"]


def test_packed_environment_runs_the_master(client, cluster, tmp_path):
    """A master archive named ``environment`` provides the Python that runs pyarn-am."""
    archive = tmp_path / "environment.tar.gz"
    wrapper = f'#!/bin/sh\necho "packed python" >&2\nexec {sys.executable} "$@"\n'.encode()
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("bin/python")
        info.size, info.mode = len(wrapper), 0o755
        tar.addfile(info, io.BytesIO(wrapper))
    spec = {"master": {"files": {"environment": str(archive)}},
            "services": {"hello": service("echo hi from the service")}}
    app_id = client.submit(spec)
    report = client.wait_for_completion(app_id, timeout=60)
    assert report.final_status is FinalStatus.SUCCEEDED, report.diagnostics
    master_log = next(d for n, d in container_logs(cluster, app_id).items() if n.endswith("_000001"))
    assert (master_log / "stderr").read_text().startswith("packed python")


def test_connect_kv_round_trip_and_shutdown_with_a_status(client):
    spec = {"name": "kv", "services": {"sleeper": service("sleep 600")}}
    with client.submit_and_connect(spec, timeout=60) as app:
        app.kv["greeting"] = b"hello"
        assert app.kv["greeting"] == b"hello"
        assert app.get_specification().name == "kv"
        with client.connect(app.id) as again:
            assert again.kv.get("greeting") == b"hello"
        app.shutdown("FAILED", "the test said so")
    report = client.wait_for_completion(app.id, timeout=60)
    assert (report.state, report.final_status) == (ApplicationState.FINISHED, FinalStatus.FAILED)
    assert report.diagnostics == "the test said so"
    with pytest.raises(ApplicationFinishedError, match="has finished .*the test said so"):
        client.connect(app.id)


def test_connect_without_the_secret_says_so(client):
    app_id = client.submit({"services": {"sleeper": service("sleep 600")}})
    try:
        secret = secret_path(app_id)
        saved = secret.read_bytes()
        secret.unlink()
        with pytest.raises(PyarnError, match="no secret for .* was the application submitted by this user"):
            client.connect(app_id)
        secret.write_bytes(saved)
        secret.chmod(0o600)
        assert load_secret(app_id) == saved
    finally:
        client.kill_application(app_id)


def test_kill_removes_what_the_submission_left(client):
    app_id = client.submit({"services": {"sleeper": service("sleep 600")}})  # killed at once: no AM ran
    client.kill_application(app_id)
    assert client.application_report(app_id).state is ApplicationState.KILLED
    assert staging_mode(client, app_id) is None
    assert not secret_path(app_id).exists()


# ---------------------------------------------------------------- bad specs


def _hello(**service_fields) -> dict:
    return {"services": {"hello": {**service("echo hi"), **service_fields}}}


BAD_SPECS = {
    "unknown field": ({"services": {"hello": {**service("echo hi"), "instancez": 2}}},
                      "services.hello.instancez: unknown field"),
    "wrong type": (_hello(instances="two"), "services.hello.instances"),
    "negative instances": (_hello(instances=-1), "services.hello.instances"),
    "depends cycle": ({"services": {"a": service("echo a", depends=["b"]),
                                    "b": service("echo b", depends=["a"])}}, "dependency cycle"),
    "missing local file": (_hello(files={"data.txt": "/no/such/file.txt"}),
                           'services.hello.files["data.txt"].source'),
    "reserved master file": ({"master": {"files": {SPEC_FILE: str(EXAMPLES / "greet.sh")}},
                              "services": {"hello": service("echo hi")}}, f'master.files["{SPEC_FILE}"]'),
    "too many tags": ({"tags": [f"t{i}" for i in range(11)], **_hello()}, "tags"),
    "too much memory": ({"master": {"resources": {"memory": "64 GiB", "vcores": 1}}, **_hello()},
                        "master.resources.memory: 65536 MiB is more than the largest container"),
    "too many vcores": (_hello(resources={"memory": 128, "vcores": 64}), "services.hello.resources.vcores"),
}


@pytest.mark.parametrize("case", list(BAD_SPECS))
def test_bad_specs_fail_before_anything_is_staged_or_submitted(client, case):
    spec, field = BAD_SPECS[case]
    apps_before = [r.id for r in client.get_applications(states=ALL_STATES)]
    staged_before = staged_apps(client)
    with pytest.raises(SpecError) as info:
        client.submit(spec)
    assert field in str(info.value)
    assert set(staged_apps(client)) <= set(staged_before)  # earlier applications' may go meanwhile
    assert [r.id for r in client.get_applications(states=ALL_STATES)] == apps_before


def test_a_bad_spec_file_names_the_field(client, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("services:\n  hello:\n    resources: {memory: 128, vcores: 1}\n    script: echo\n"
                    "    instances: -3\n")
    with pytest.raises(SpecError, match="services.hello.instances"):
        client.submit(path)


# ---------------------------------------------------------------- failures after staging


def test_a_rejected_application_leaves_nothing_staged(client):
    before = staged_apps(client)
    with pytest.raises(SubmissionError, match="unknown queue: nosuchqueue") as info:
        client.submit({"queue": "nosuchqueue", **_hello(files={"greet.sh": str(EXAMPLES / "greet.sh")})})
    app_id = info.value.app_id
    assert client.application_report(app_id).state is ApplicationState.FAILED
    assert str(app_id) not in staged_apps(client) and set(staged_apps(client)) <= set(before)
    assert not secret_path(app_id).exists()


def test_a_failure_while_submitting_removes_the_staging_dir(client, monkeypatch):
    before = staged_apps(client)
    seen = {}

    def refuse(self, application_id, **context):
        seen["app_id"] = application_id
        seen["mode"] = staging_mode(client, application_id)
        seen["secret"] = secret_path(application_id).exists()
        raise PyarnError("the RM is having a bad day")

    monkeypatch.setattr(Client, "submit_context", refuse)
    with pytest.raises(PyarnError, match="bad day"):
        client.submit(_hello(files={"greet.sh": str(EXAMPLES / "greet.sh")}))
    assert seen["mode"] == 0o700 and seen["secret"]
    assert staging_mode(client, seen["app_id"]) is None
    assert set(staged_apps(client)) <= set(before)
    assert not secret_path(seen["app_id"]).exists()


# ---------------------------------------------------------------- the launch context


def test_launch_context_stages_files_with_their_size_and_time(tmp_path):
    shared = tmp_path / "shared.txt"
    shared.write_text("shared by two services")
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    (other_dir / "shared.txt").write_text("same name, other file")
    spec = {"name": "ctx", "tags": ["B", "a"], "max_attempts": 2,
            "acls": {"enable": True, "view_users": ["bob", "carol"], "modify_groups": ["ops"]},
            "master": {"resources": {"memory": 256, "vcores": 2, "gpus": 1,
                                     "extra": {"x.io/w": 2, "x.io/z": 0}},
                       "env": {"MINE": "1"}, "files": {"tool.txt": str(shared)}},
            "services": {"s1": service("echo", files={"x": str(shared), "y": str(other_dir / "shared.txt")}),
                         "s2": service("echo", files={"x": str(shared)})}}
    conf = Configuration({"fs.defaultFS": "file:///", "yarn.resourcemanager.address": "rm:8032"})
    prepared = prepare(spec, conf, User("alice"), python="/opt/py/bin/python3")
    staging = LocalStagingDir(tmp_path / "staging" / "application_1_0001")
    staging.create()
    context = _launch(prepared, staging, conf, b"s3cret")

    assert sorted(os.listdir(staging.path)) == sorted([SPEC_FILE, f"{AM_CONF_DIR}.zip", "shared.txt",
                                                       "2_shared.txt"])
    assert all(stat.S_IMODE((staging.path / n).stat().st_mode) == 0o600 for n in os.listdir(staging.path))
    resources = context["local_resources"]
    assert set(resources) == {"tool.txt", SPEC_FILE, AM_CONF_DIR}
    for name, file in resources.items():
        st = os.stat(file.local_path)
        assert (file.size, file.timestamp) == (st.st_size, st.st_mtime_ns // 1_000_000), name
        assert file.local_path.startswith(str(staging.path))
    assert resources[AM_CONF_DIR].type.value == "archive"

    staged = ApplicationSpec.from_json(Path(resources[SPEC_FILE].local_path).read_text(), check_files=False)
    s1, s2 = staged.services["s1"].files, staged.services["s2"].files
    x1, y1, x2 = s1["x"], s1["y"], s2["x"]
    assert x1.source == x2.source == resources["tool.txt"].source == staging.url + "/shared.txt"
    assert y1.source == staging.url + "/2_shared.txt" and y1.size == len("same name, other file")
    assert (x1.size, x1.timestamp) == (resources["tool.txt"].size, resources["tool.txt"].timestamp)

    assert context["commands"] == [f"/opt/py/bin/python3 -m pyarn.am --conf-dir {AM_CONF_DIR} "
                                   "1><LOG_DIR>/stdout 2><LOG_DIR>/stderr"]
    assert context["environment"] == {"MINE": "1", STAGING_DIR_ENV: staging.url, "HADOOP_USER_NAME": "alice"}
    assert context["tags"] == ("a", "b") and context["max_attempts"] == 2
    assert context["resource"] == Resource(memory=256, vcores=2, resources={"yarn.io/gpu": 1, "x.io/w": 2})
    assert context["acls"] == {"VIEW_APP": "bob,carol ", "MODIFY_APP": " ops"}
    assert context["keep_containers"] is True  # a new attempt of the AM adopts the running containers
    submission = build_submission_context("application_1_0001", **context)
    assert {a.accessType: a.acl for a in submission.am_container_spec.application_ACLs} == {
        yarn_pb.APPACCESS_VIEW_APP: "bob,carol ", yarn_pb.APPACCESS_MODIFY_APP: " ops"}
    assert submission.keep_containers_across_application_attempts
    credentials: Credentials = context["tokens"]
    assert credentials.get_secret(SECRET_ALIAS) == b"s3cret"
    assert "s3cret" not in " ".join(context["commands"]) + repr(context["environment"])


def test_conf_archive_holds_the_clients_settings_unexpanded(tmp_path):
    overrides = {"yarn.resourcemanager.hostname": "rm.example",
                 "yarn.resourcemanager.scheduler.address": "${yarn.resourcemanager.hostname}:8030",
                 "fs.defaultFS": "hdfs://nn.example:8020"}
    conf = Configuration.load(overrides=overrides, env={})
    with zipfile.ZipFile(io.BytesIO(am_conf_archive(conf))) as archive:
        assert archive.namelist() == ["core-site.xml"]
        archive.extractall(tmp_path)
    loaded = Configuration.load(tmp_path, env={})
    assert loaded.get_str("yarn.resourcemanager.scheduler.address") == "rm.example:8030"
    assert loaded.raw("yarn.resourcemanager.scheduler.address") == "${yarn.resourcemanager.hostname}:8030"
    assert loaded.get_str("fs.defaultFS") == "hdfs://nn.example:8020"
    assert "io.file.buffer.size" not in (tmp_path / "core-site.xml").read_text()  # defaults stay out


REMOTE_RM = {"yarn.resourcemanager.address": "rm.example.com:8032"}
LOCAL_RM = {"yarn.resourcemanager.address": "127.0.0.1:8032"}


@pytest.mark.parametrize("spec_part, client_python, settings, expected", [
    ({"env": {"PYARN_PYTHON": "/envs/a/bin/python"}}, "/other", REMOTE_RM, "/envs/a/bin/python"),
    ({"files": {"environment": "environment.tar.gz"}}, "/other", REMOTE_RM, "./environment/bin/python"),
    ({}, "/opt/python3", REMOTE_RM, "/opt/python3"),
    ({}, None, {"fs.defaultFS": "file:///", **REMOTE_RM}, sys.executable),
    ({}, None, {"fs.defaultFS": "hdfs://nn:8020", **LOCAL_RM}, sys.executable),
    ({}, None, {"fs.defaultFS": "hdfs://nn:8020", **REMOTE_RM}, "python3"),
])
def test_the_python_that_runs_the_master(tmp_path, spec_part, client_python, settings, expected):
    if "files" in spec_part:  # an archive named environment, which must exist
        archive = tmp_path / "environment.tar.gz"
        archive.write_bytes(b"")
        spec_part = {"files": {"environment": str(archive)}}
    spec = {"master": spec_part, **_hello()}
    assert prepare(spec, Configuration(settings), User("alice"), python=client_python).python == expected


def test_a_python_with_double_quotes_is_refused():
    with pytest.raises(SpecError, match="master.env.PYARN_PYTHON"):
        prepare({"master": {"env": {"PYARN_PYTHON": 'py"thon'}}, **_hello()}, Configuration(), User("a"))


def test_public_local_files_need_a_shared_file_system():
    spec = _hello(files={"g.sh": {"source": str(EXAMPLES / "greet.sh"), "visibility": "public"}})
    with pytest.raises(SpecError, match=r'services.hello.files\["g.sh"\].visibility'):
        prepare(spec, Configuration({"fs.defaultFS": "hdfs://nn:8020"}), User("alice"))
    local = prepare(spec, Configuration({"fs.defaultFS": "file:///"}), User("alice"))
    assert local.uploads == () and list(local.in_place) == [f"file://{EXAMPLES / 'greet.sh'}"]


def test_sources_of_unknown_schemes_need_size_and_timestamp():
    spec = _hello(files={"data": "s3a://bucket/data.csv"})
    with pytest.raises(SpecError, match="services.hello.files.data.source"):
        prepare(spec, Configuration(), User("alice"))
    spec = _hello(files={"data": {"source": "s3a://bucket/data.csv", "size": 3, "timestamp": 1000}})
    assert prepare(spec, Configuration(), User("alice")).in_place == {}


def test_staging_root_setting_and_local_file_status(tmp_path):
    conf = Configuration({"fs.defaultFS": "file:///", "pyarn.staging-dir": str(tmp_path / "root")})
    staging = open_staging_dir(conf, User("alice"), "application_1_0002")
    assert staging.url == f"file://{tmp_path}/root/application_1_0002"
    staging.create()
    written = staging.write("a b.txt", b"12345")
    assert written.url == f"file://{tmp_path}/root/application_1_0002/a%20b.txt"
    assert stat_source(written.url, conf, User("alice")) == written
    staging.remove()
    assert not (tmp_path / "root" / "application_1_0002").exists()


def test_submit_script_text_survives_quotes(client, cluster):
    script = textwrap.dedent("""\
        msg='single "double" $dollar `tick`'
        echo "$msg"
    """)
    app_id = client.submit({"services": {"quotes": service(script)}})
    assert client.wait_for_completion(app_id, timeout=60).final_status is FinalStatus.SUCCEEDED
    assert service_stdout(cluster, app_id) == 'single "double" $dollar `tick`\n'


def test_hdfs_sources_are_used_in_place(client, cluster, tmp_path):
    from pyarn.hdfs import HDFS

    local = tmp_path / "data.txt"
    local.write_text("from hdfs")
    with HDFS(conf=client.conf) as fs:
        remote = fs.put(local, f"/tmp/in-place-{time.monotonic_ns()}.txt")
    source = f"{cluster.default_fs}{remote}"
    app_id = client.submit({"services": {"reader": service("cat data.txt", files={"data.txt": source})}})
    assert client.wait_for_completion(app_id, timeout=60).final_status is FinalStatus.SUCCEEDED
    assert service_stdout(cluster, app_id) == "from hdfs"
    with pytest.raises(SpecError, match=r'services.reader.files\["data.txt"\].source: .* does not exist'):
        client.submit({"services": {"reader": service("cat data.txt", files={"data.txt": source + ".gone"})}})


def test_secure_clusters_get_delegation_tokens_renewable_by_the_rm(monkeypatch):
    import pyarn.hdfs
    from pyarn.security.tokens import Token
    from pyarn.submit import _delegation_tokens

    asked = []

    class FakeHDFS:
        def __init__(self, conf, uri, user):
            self.uri = uri

        def __enter__(self):
            return self

        def __exit__(self, *exc_info):
            pass

        def get_delegation_token(self, renewer):
            asked.append((self.uri, renewer))
            return Token(b"id", b"pw", "HDFS_DELEGATION_TOKEN", self.uri.split("//")[1])

    monkeypatch.setattr(pyarn.hdfs, "HDFS", FakeHDFS, raising=False)
    conf = Configuration({"hadoop.security.authentication": "kerberos", "fs.defaultFS": "hdfs://nn1:8020",
                          "yarn.resourcemanager.address": "rm.example.com:8032",
                          "yarn.resourcemanager.principal": "rm/_HOST@EXAMPLE.COM"})
    spec = ApplicationSpec.from_dict({"file_systems": ["hdfs://nn2:8020"], **_hello()})
    credentials = _delegation_tokens(conf, User("alice"), spec)
    assert asked == [("hdfs://nn1:8020", "rm/rm.example.com@EXAMPLE.COM"),
                     ("hdfs://nn2:8020", "rm/rm.example.com@EXAMPLE.COM")]
    assert sorted(credentials.tokens) == ["nn1:8020", "nn2:8020"]
    assert _delegation_tokens(Configuration(), User("alice"), spec).tokens == {}
