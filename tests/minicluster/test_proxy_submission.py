"""Submitting as another user (``user:`` in the spec) on the mini cluster in Kerberos mode.

alice (a Kerberos ticket) may impersonate carol (``hadoop.proxyuser.alice.users=carol``) and no
one else. As Hadoop does it for ``UserGroupInformation.createProxyUser``: every call of the
submission is made as carol with alice's Kerberos login, so the application belongs to carol,
its staging directory is carol's, the HDFS delegation token is issued to carol (real user alice)
and the application's containers reach carol's home with that token alone. The application
secret stays the submitter's (alice's ``~/.pyarn``). A user alice may not impersonate is
refused by the first call, before anything is staged or created.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterator, Optional

import pytest
import yaml

from pyarn.application.security import secret_path
from pyarn.client import Client
from pyarn.errors import AccessControlError
from pyarn.hdfs import HDFS
from pyarn.minicluster import MiniCluster
from pyarn.security.kerberos import NoTicketError
from pyarn.security.user import User
from pyarn.submit import clean_up
from pyarn.yarn.ids import ApplicationId
from pyarn.yarn.records import ApplicationState, FinalStatus

from ..security.kdc import (
    OTHER_USER,
    USER,
    TestKdc,
    kerberos_environment,
    secure_minicluster,
)
from .rawam import service_output, wait_ended, wait_for

REPO = Path(__file__).resolve().parents[2]
REALM = "PYARN.TEST"
PROXY = "carol"
#: alice may act for carol, and for no one else.
PROXY_CONF = {f"hadoop.proxyuser.{USER}.users": PROXY, f"hadoop.proxyuser.{USER}.hosts": "*"}
FAST = 2.0  # seconds: "fails fast"
#: The containers import pyarn from this checkout, wherever the tests' pyarn is installed from.
ENV = {"PYTHONPATH": str(REPO)}
_FINAL = (ApplicationState.FINISHED, ApplicationState.FAILED, ApplicationState.KILLED)


@pytest.fixture(scope="module")
def kdc() -> Iterator[TestKdc]:
    """The shared KDC; alice's ticket and a private ``PYARN_HOME`` (where submitters keep
    application secrets) for the module."""
    with kerberos_environment(USER, "pyarn-home-alice") as kdc:
        yield kdc


@pytest.fixture(scope="module")
def cluster(kdc) -> Iterator[MiniCluster]:
    """A Kerberized mini cluster at privacy where alice may impersonate carol."""
    with secure_minicluster(kdc, "privacy", (USER, OTHER_USER, PROXY), conf=PROXY_CONF) as mini:
        yield mini


@pytest.fixture
def client(cluster) -> Iterator[Client]:
    with Client(cluster.conf_dir, python=sys.executable) as c:
        yield c


def _service(script: str, env: Optional[Dict[str, str]] = None) -> dict:
    return {"resources": {"memory": 128, "vcores": 1}, "script": script, "env": {**ENV, **(env or {})}}



def _as_carol(cluster: MiniCluster) -> HDFS:
    """carol's HDFS, reached by alice impersonating her (alice's ticket)."""
    return HDFS(cluster.conf_dir, user=User(USER).proxy_for(PROXY))


# The service: the HDFS delegation tokens it was given (no ticket: KRB5CCNAME is not passed on),
# a write and a read in carol's home with them, then it waits for the test's go.
_WRITER = """\
{python} - <<'PYEOF'
import os
from pyarn.app_client import ApplicationClient
from pyarn.hdfs import HDFS
from pyarn.security.credentials import Credentials
from pyarn.security.writable import DelegationTokenIdentifier
print("ticket cache:", os.environ.get("KRB5CCNAME"))
for token in Credentials.read_file(os.environ["HADOOP_TOKEN_FILE_LOCATION"]).tokens.values():
    if token.kind == "HDFS_DELEGATION_TOKEN":
        ident = DelegationTokenIdentifier.from_token(token)
        print(f"token owner={{ident.owner}} real={{ident.real_user}} renewer={{ident.renewer}}")
with HDFS(os.environ["PYARN_CONF_DIR"]) as fs:
    with fs.open(os.environ["TARGET"], "wb") as out:
        out.write(b"written for carol by " + os.environ["CONTAINER_ID"].encode())
    with fs.open(os.environ["TARGET"]) as stream:
        print("read back:", stream.read().decode())
app = ApplicationClient.from_current()
app.kv.put("written", b"yes")
app.kv.wait("go", timeout=120)
PYEOF
"""


def test_alice_submits_as_carol_who_owns_everything(cluster, client):
    target = f"/user/{PROXY}/from-a-container-{time.time_ns()}"
    # carol's alone (alice cannot even stat it): looked up and localized as carol
    private = f"/user/{PROXY}/private-{time.time_ns()}/file.txt"
    with _as_carol(cluster) as fs:
        fs.mkdir(os.path.dirname(private), permission=0o700)
        with fs.open(private, "wb", permission=0o600) as out:
            out.write(b"carol's private file\n")
    writer = _service("cat private.txt\n" + _WRITER.format(python=sys.executable), {"TARGET": target})
    writer["files"] = {"private.txt": f"{cluster.default_fs}{private}"}
    spec = {"name": "as-carol", "user": PROXY, "master": {"env": ENV}, "services": {"writer": writer}}
    assert client.user.name == USER
    app_id = client.submit(spec)
    try:
        assert client.application_report(app_id).user == PROXY
        # the secret is the submitter's: in alice's PYARN_HOME, and it lets her talk to carol's master
        assert secret_path(app_id).is_file()
        assert str(secret_path(app_id)).startswith(os.environ["PYARN_HOME"])
        with client.connect(app_id, timeout=60) as app:
            assert app.kv.wait("written", timeout=60) == b"yes"
            with _as_carol(cluster) as fs:
                staging = f"/user/{PROXY}/.pyarn/{app_id}"
                status = fs.stat(staging)
                assert (status.owner, status.permission) == (PROXY, 0o700)
                assert {s.owner for s in fs.ls(staging, detail=True)} == {PROXY}
                assert fs.stat(target).owner == PROXY
                with fs.open(target) as stream:
                    assert stream.read().startswith(b"written for carol by container_")
            with HDFS(cluster.conf_dir) as fs:  # alice herself may not look into carol's directory
                assert not fs.exists(f"/user/{USER}/.pyarn/{app_id}")
                with pytest.raises(AccessControlError, match=f"user={USER}, access=EXECUTE"):
                    fs.stat(staging)
            app.kv["go"] = b"1"
        report = wait_ended(client, app_id)
    finally:
        if client.application_report(app_id).state not in _FINAL:
            client.kill_application(app_id)
    assert (report.state, report.final_status) == (ApplicationState.FINISHED, FinalStatus.SUCCEEDED), \
        report.diagnostics
    assert report.user == PROXY
    out = service_output(cluster.conf_dir, app_id)
    assert f"ticket cache: {os.environ['KRB5CCNAME']}" not in out  # not alice's
    assert f"token owner={PROXY} real={USER}@{REALM} renewer=yarn" in out, out
    assert "read back: written for carol by container_" in out
    assert out.startswith("carol's private file\n")
    with _as_carol(cluster) as fs:  # the master removed carol's staging directory
        wait_for(lambda: not fs.exists(f"/user/{PROXY}/.pyarn/{app_id}"), 20.0, "the staging directory to go")
    clean_up(client, app_id)
    assert not secret_path(app_id).exists()


def test_clean_up_after_a_proxy_submission_finds_carols_staging_directory(cluster, client):
    """A master that never runs leaves its staging directory: the submitter's clean-up removes it
    from carol's home, where it was staged (not alice's)."""
    spec = {"name": "never-runs", "user": PROXY, "max_attempts": 1,
            "master": {"env": {"PYARN_PYTHON": "/no/such/python"}},
            "services": {"s": _service("true")}}
    app_id = client.submit(spec)
    report = wait_ended(client, app_id)
    assert report.state is ApplicationState.FAILED and report.user == PROXY
    with _as_carol(cluster) as fs:
        staging = f"/user/{PROXY}/.pyarn/{app_id}"
        assert fs.exists(staging)
        clean_up(client, app_id)
        assert not fs.exists(staging)
    assert not secret_path(app_id).exists()


def test_the_cli_submits_as_the_specs_user(cluster, kdc, tmp_path):
    spec = tmp_path / "as-carol.yaml"
    spec.write_text(yaml.safe_dump({"name": "cli-as-carol", "user": PROXY, "master": {"env": ENV},
                                    "services": {"hello": _service("echo hello from carol")}}))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-m", "pyarn.cli", "--conf-dir", str(cluster.conf_dir),
                             "application", "submit", str(spec), "--wait", "--python", sys.executable],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    app_id = ApplicationId.parse(result.stdout.splitlines()[0])
    assert "SUCCEEDED" in result.stdout
    with Client(cluster.conf_dir) as client:
        assert client.application_report(app_id).user == PROXY
    assert "hello from carol" in service_output(cluster.conf_dir, app_id)
    with _as_carol(cluster) as fs:
        assert not fs.exists(f"/user/{PROXY}/.pyarn/{app_id}")
    assert not secret_path(app_id).exists()
    refused_spec = {"name": "cli-as-dave", "user": "dave", "services": {"s": _service("true")}}
    spec.write_text(yaml.safe_dump(refused_spec))
    refused = subprocess.run([sys.executable, "-m", "pyarn.cli", "--conf-dir", str(cluster.conf_dir),
                              "application", "submit", str(spec)], capture_output=True, text=True, env=env,
                             timeout=60)
    assert refused.returncode == 1 and refused.stdout == ""
    assert f"User: {USER}@{REALM} is not allowed to impersonate dave" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr


def _apps_with_secrets() -> list:
    apps = Path(os.environ["PYARN_HOME"]) / "apps"
    return sorted(os.listdir(apps)) if apps.exists() else []


@pytest.mark.parametrize("who", ["dave", OTHER_USER])
def test_impersonating_someone_not_allowed_fails_before_anything_is_made(cluster, client, who):
    """bob is a user of the cluster (he has a home), dave is not: alice may act for neither."""
    every_state = list(ApplicationState)
    before = {r.id for r in client.get_applications(states=every_state)}
    secrets = _apps_with_secrets()
    with HDFS(cluster.conf_dir) as fs:
        staged = fs.ls(f"/user/{USER}/.pyarn") if fs.exists(f"/user/{USER}/.pyarn") else []
    started = time.monotonic()
    with pytest.raises(AccessControlError) as info:
        client.submit({"name": "not-allowed", "user": who, "services": {"s": _service("true")}})
    assert time.monotonic() - started < FAST
    assert f"User: {USER}@{REALM} is not allowed to impersonate {who}" in str(info.value)
    assert {r.id for r in client.get_applications(states=every_state)} == before
    assert _apps_with_secrets() == secrets
    with HDFS(cluster.conf_dir) as fs:
        assert not fs.exists(f"/user/{who}/.pyarn")
        assert (fs.ls(f"/user/{USER}/.pyarn") if fs.exists(f"/user/{USER}/.pyarn") else []) == staged


def test_a_proxy_user_does_not_borrow_its_real_users_tokens(cluster, kdc, monkeypatch, tmp_path):
    """As Java's ``createProxyUser``: the proxy has no credentials of its own; it authenticates with
    its real user's Kerberos login, never with the real user's delegation tokens (they would make
    the call alice's, silently)."""
    with HDFS(cluster.conf_dir) as fs:
        token = fs.get_delegation_token("yarn")
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{tmp_path / 'no-ticket'}")
    alice = User(USER, tokens=[token])
    with HDFS(cluster.conf_dir, user=alice) as fs:  # alice herself: the token works
        assert fs.stat(f"/user/{USER}").owner == USER
    with HDFS(cluster.conf_dir, user=alice.proxy_for(PROXY)) as fs:
        with pytest.raises(NoTicketError):
            fs.stat(f"/user/{PROXY}")
