"""The contracts between submitter, AM and containers: secret and token, environment, launch
contexts, staging clean-up, container records, ``ApplicationClient.from_current``."""
from __future__ import annotations

import base64
import os
import stat
from datetime import datetime, timezone

import pytest

import pyarn as pyarn_package
from hadoop_protos import yarn_records_pb2 as pb
from pyarn.am.environment import AmEnvironment, AmEnvironmentError
from pyarn.am.launch import COMMAND, MAX_SCRIPT_BYTES, SCRIPT_ENV, LaunchContextBuilder
from pyarn.am.master import container_credentials, load_spec
from pyarn.am.security import AppSecretManager
from pyarn.am.staging import clean_staging
from pyarn.app_client import ApplicationClient, RmLocator
from pyarn.application.records import Container, ContainerState, parse_container_id
from pyarn.application.security import (
    SECRET_ALIAS,
    TOKEN_ALIAS,
    TOKEN_KIND,
    app_token,
    load_secret,
    new_secret,
    save_secret,
    secret_path,
)
from pyarn.conf import Configuration
from pyarn.errors import InvalidTokenError, PyarnError
from pyarn.security.credentials import Credentials
from pyarn.security.tokens import AMRM_TOKEN_KIND, Token
from pyarn.spec import ApplicationSpec, File
from pyarn.yarn.ids import ApplicationId
from pyarn.yarn.records import Resource

APP_ID = ApplicationId.parse("application_1700000000000_0009")


# ---------------------------------------------------------------- security


def test_app_token_is_an_hmac_of_the_app_id():
    secret = new_secret()
    token = app_token(APP_ID, secret)
    assert token.kind == TOKEN_KIND == "PYARN_APP_TOKEN"
    assert token.identifier == b"application_1700000000000_0009"
    assert token == app_token(str(APP_ID), secret) and token != app_token(APP_ID, new_secret())
    manager = AppSecretManager(APP_ID, secret, "alice")
    assert manager.retrieve_password(token.identifier) == token.password
    assert manager.user_of(token.identifier) == "alice"  # secret holders act as the owner
    with pytest.raises(InvalidTokenError):
        manager.retrieve_password(b"application_1700000000000_0010")
    with pytest.raises(ValueError):
        app_token(APP_ID, b"")


def test_secret_file_is_private(tmp_path, monkeypatch):
    monkeypatch.setenv("PYARN_HOME", str(tmp_path))
    secret = new_secret()
    path = save_secret(APP_ID, secret)
    assert path == secret_path(APP_ID) == tmp_path / "apps" / str(APP_ID) / "secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_secret(str(APP_ID)) == secret
    path.chmod(0o644)
    with pytest.raises(PyarnError, match="other users"):
        load_secret(APP_ID)
    with pytest.raises(PyarnError, match="no secret"):
        load_secret("application_1700000000000_0099")


def test_containers_get_the_token_not_the_secret():
    secret = new_secret()
    creds = Credentials()
    creds.add_token("", Token(b"amrm", b"pw", AMRM_TOKEN_KIND))
    creds.add_token("hdfs", Token(b"dt", b"pw", "HDFS_DELEGATION_TOKEN"))
    creds.add_secret(SECRET_ALIAS, secret)
    creds.add_secret("other", b"kept")
    out = container_credentials(creds, APP_ID, secret)
    assert sorted(out.tokens) == ["hdfs", TOKEN_ALIAS]
    assert out.tokens[TOKEN_ALIAS] == app_token(APP_ID, secret)
    assert out.secrets == {"other": b"kept"}


# ------------------------------------------------------------- environment


def test_am_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = {"CONTAINER_ID": "container_e03_1700000000000_0009_02_000001", "NM_HOST": "node7",
           "NM_PORT": "8041", "NM_HTTP_PORT": "8042", "LOCAL_DIRS": "/a,/b", "LOG_DIRS": "/logs/c1",
           "USER": "alice",
           "HADOOP_TOKEN_FILE_LOCATION": "/x/container_tokens", "APP_SUBMIT_TIME_ENV": "1700000000123",
           "PYARN_STAGING_DIR": "hdfs:///user/alice/.pyarn/app"}
    am = AmEnvironment.from_env(env)
    assert str(am.attempt_id) == "appattempt_1700000000000_0009_000002" and am.app_id == APP_ID
    assert (am.nm_host, am.nm_port, am.nm_http_port) == ("node7", 8041, 8042)
    assert am.local_dirs == ("/a", "/b") and am.log_dir == "/logs/c1" and am.user == "alice"
    assert am.submit_time == 1700000000123 and am.staging_dir == "hdfs:///user/alice/.pyarn/app"
    assert am.working_dir == str(tmp_path)
    with pytest.raises(AmEnvironmentError, match="CONTAINER_ID is not set"):
        AmEnvironment.from_env({})
    with pytest.raises(AmEnvironmentError, match="NM_PORT"):
        AmEnvironment.from_env({**env, "NM_PORT": "x"})


def test_load_spec_names_the_contract(tmp_path):
    with pytest.raises(PyarnError, match=r"\.pyarn\.spec\.json"):
        load_spec(str(tmp_path / ".pyarn.spec.json"))
    path = tmp_path / "spec.json"
    path.write_text(ApplicationSpec.from_dict({"services": {"s": {
        "resources": {"memory": 1, "vcores": 1}, "script": "x", "files": {"f": "hdfs:///a/b"}}}}).to_json())
    assert load_spec(str(path)).services["s"].files["f"].source == "hdfs:///a/b"


# ------------------------------------------------------------------ launch


def test_launch_context(tmp_path):
    data = tmp_path / "data.txt"
    data.write_bytes(b"12345")
    script = 'echo "$HOME" \'quoted\' $((1+1))\necho done'
    spec = ApplicationSpec.from_dict({
        "acls": {"enable": True, "view_users": ["bob"], "modify_groups": ["ops"]},
        "services": {"web": {
            "resources": {"memory": 256, "vcores": 2}, "script": script, "env": {"A": "1", "B": "svc"},
            "files": {"data.txt": str(data), "big.zip": {"source": "hdfs://nn:8020/x/big.zip", "size": 9,
                                                         "timestamp": 77, "visibility": "public"}}}}})
    creds = Credentials()
    creds.add_secret("s", b"v")
    builder = LaunchContextBuilder(spec, APP_ID, "amhost:1234", creds, user="alice")
    context = builder.build("web", "web_3", Resource(512, 2), {"B": "override"})
    assert list(context.command) == [COMMAND]
    env = {e.key: e.value for e in context.environment}
    assert base64.b64decode(env[SCRIPT_ENV]).decode() == script
    assert env["A"] == "1" and env["B"] == "override" and env["HADOOP_USER_NAME"] == "alice"
    assert env["PYARN_APPLICATION_ID"] == env["SKEIN_APPLICATION_ID"] == str(APP_ID)
    assert env["PYARN_AM_ADDRESS"] == "amhost:1234" and env["PYARN_SERVICE_NAME"] == "web"
    assert env["PYARN_CONTAINER_ID"] == env["SKEIN_CONTAINER_ID"] == "web_3"
    assert (env["PYARN_RESOURCE_MEMORY"], env["PYARN_RESOURCE_VCORES"]) == ("512", "2")
    files = {r.key: r.value for r in context.localResources}
    local = files["data.txt"]
    assert (local.resource.scheme, local.resource.file, local.size) == ("file", str(data), 5)
    assert local.timestamp == data.stat().st_mtime_ns // 1_000_000 and local.type == pb.FILE
    remote = files["big.zip"]
    assert (remote.resource.host, remote.resource.port, remote.size, remote.timestamp) == ("nn", 8020, 9, 77)
    assert (remote.type, remote.visibility) == (pb.ARCHIVE, pb.PUBLIC)
    assert Credentials.from_bytes(context.tokens).get_secret("s") == b"v"
    acls = {a.accessType: a.acl for a in context.application_ACLs}
    assert acls == {pb.APPACCESS_VIEW_APP: "bob ", pb.APPACCESS_MODIFY_APP: " ops"}
    assert "PYARN_CONF_DIR" not in env and ".pyarn_conf" not in files
    secure = LaunchContextBuilder(spec, APP_ID, "amhost:1234", creds, user="alice", secure=True)
    assert "HADOOP_USER_NAME" not in secure.environment("web", "web_0", Resource(256, 2))
    # the submitter's configuration, for the containers to reach the ResourceManager with
    archive = File(source="hdfs://nn:8020/user/alice/.pyarn/app/.pyarn_conf.zip", type="archive", size=300,
                   timestamp=88)
    with_conf = LaunchContextBuilder(spec, APP_ID, "amhost:1234", creds, conf_archive=archive)
    context = with_conf.build("web", "web_3", Resource(512, 2))
    conf = {r.key: r.value for r in context.localResources}[".pyarn_conf"]
    assert (conf.resource.file, conf.size, conf.timestamp, conf.type) == (
        "/user/alice/.pyarn/app/.pyarn_conf.zip", 300, 88, pb.ARCHIVE)
    assert {e.key: e.value for e in context.environment}["PYARN_CONF_DIR"] == "{{PWD}}/.pyarn_conf"


def test_overlong_scripts_are_refused_up_front():
    spec = ApplicationSpec.from_dict({"services": {"big": {
        "resources": {"memory": 1, "vcores": 1}, "script": "#" * (MAX_SCRIPT_BYTES + 1)}}})
    with pytest.raises(PyarnError, match="services.big.script"):
        LaunchContextBuilder(spec, APP_ID, "h:1", Credentials())


def test_the_command_runs_the_script(tmp_path):
    """The command as the NodeManager runs it: inside ``bash -c "..."`` with the env exported."""
    import subprocess

    script = "echo \"it's $((6*7))\" > out.txt\nexit 0"
    command = COMMAND.replace("<LOG_DIR>", str(tmp_path))
    encoded = base64.b64encode(script.encode()).decode()
    subprocess.run(["/bin/bash", "-c", command], cwd=tmp_path, check=True,
                   env={"PATH": os.environ["PATH"], SCRIPT_ENV: encoded})
    assert (tmp_path / "out.txt").read_text() == "it's 42\n"


# ----------------------------------------------------------------- staging


def test_clean_local_staging(tmp_path):
    staging = tmp_path / "app"
    (staging / "sub").mkdir(parents=True)
    (staging / "sub" / "f").write_text("x")
    conf = Configuration()
    assert clean_staging(f"file://{staging}", conf)
    assert not staging.exists()
    assert clean_staging(f"file://{staging}", conf)  # already gone is fine
    assert not clean_staging(None, conf)
    assert not clean_staging("s3a://bucket/x", conf)  # no cleaner: logged, not raised
    assert not clean_staging("file:///", conf)


# ---------------------------------------------------------------- records


def test_container_record_round_trip():
    container = Container(service_name="web", instance=3, state=ContainerState.FAILED,
                          yarn_container_id="container_1700000000000_0009_01_000004", yarn_node_id="n:1",
                          start_time=datetime(2024, 1, 1, tzinfo=timezone.utc),  # noqa: UP017
                          finish_time=datetime(2024, 1, 1, 0, 1, tzinfo=timezone.utc),  # noqa: UP017
                          exit_message="boom", exit_status=3)
    assert Container.from_proto(container.to_proto()) == container
    assert container.id == "web_3" and container.runtime.total_seconds() == 60
    # a naive time is UTC, as everywhere in pyarn's records
    naive = Container(service_name="web", instance=3, state=ContainerState.RUNNING,
                      start_time=datetime(2024, 1, 1))
    assert naive.start_time == container.start_time and naive.start_time.tzinfo is not None
    assert naive.to_proto().start_time == container.to_proto().start_time == 1704067200000
    assert naive.runtime.total_seconds() > 0
    assert ContainerState("killed").completed and not ContainerState.RUNNING.completed
    assert parse_container_id("my_service_12") == ("my_service", 12)
    for bad in ("web", "web_", "_1", "web_x"):
        with pytest.raises(ValueError):
            parse_container_id(bad)


# ------------------------------------------------------------ from_current


def test_from_current(tmp_path):
    secret = new_secret()
    tokens = tmp_path / "container_tokens"
    creds = Credentials()
    creds.add_token(TOKEN_ALIAS, app_token(APP_ID, secret))
    creds.write_file(tokens)
    env = {"PYARN_APPLICATION_ID": str(APP_ID), "PYARN_AM_ADDRESS": "amhost:4321",
           "HADOOP_TOKEN_FILE_LOCATION": str(tokens)}
    with ApplicationClient.from_current(env) as app:
        assert app.id == APP_ID and app.address == "amhost:4321"
        assert app._proxy.token == app_token(APP_ID, secret)
        assert app._locate is None  # no configuration: no ResourceManager to look the AM up in
    with ApplicationClient.from_current({**env, "HADOOP_CONF_DIR": str(tmp_path), "HADOOP_USER_NAME": "bo"}
                                        ) as app:
        locator = app._locate
        assert isinstance(locator, RmLocator) and locator.app_id == APP_ID
        assert (locator.conf_dir, locator.user.name) == (str(tmp_path), "bo")
    # the configuration the application was submitted with comes first
    submitted = {**env, "HADOOP_CONF_DIR": "/etc/hadoop", "PYARN_CONF_DIR": str(tmp_path)}
    with ApplicationClient.from_current(submitted) as app:
        assert app._locate.conf_dir == str(tmp_path)
    master = Credentials()
    master.add_secret(SECRET_ALIAS, secret)  # the master script finds the secret instead
    master.write_file(tokens)
    with ApplicationClient.from_current(env) as app:
        assert app._proxy.token == app_token(APP_ID, secret)
    Credentials().write_file(tokens)
    with pytest.raises(PyarnError, match="PYARN_APP_TOKEN"):
        ApplicationClient.from_current(env)
    with pytest.raises(PyarnError, match="not running inside"):
        ApplicationClient.from_current({})


# ---------------------------------------------------------------- layering


def _imports(path):
    """Every module ``path`` imports, as absolute names (relative imports resolved)."""
    import ast
    from pathlib import Path

    root = Path(pyarn_package.__file__).parent.parent
    module = ".".join(path.relative_to(root).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[:len(base) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            yield name
            yield from (f"{name}.{alias.name}" for alias in node.names)


def _within(name: str, packages) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


FRONT_DOOR = ("pyarn.client", "pyarn.cli", "pyarn.submit", "pyarn.staging", "pyarn.app_client")


def test_the_front_door_and_the_shared_protocol_import_nothing_above_them():
    """``pyarn.application`` sits below the front door, which sits below ``pyarn.am``."""
    from pathlib import Path

    base = Path(pyarn_package.__file__).parent
    layers = [(base / f"{name.rpartition('.')[2]}.py", ("pyarn.am",)) for name in FRONT_DOOR]
    shared = ("pyarn.am", "pyarn.spec") + FRONT_DOOR
    layers += [(path, shared) for path in (base / "application").glob("*.py")]
    for path, above in layers:
        upward = [name for name in _imports(path) if _within(name, above)]
        assert not upward, (str(path), upward)
