"""Application ACLs end to end on the mini cluster's Kerberos mode (a real MIT KDC).

alice submits an application whose spec lets bob view it and carol modify it.
Without the application secret, each reaches ``pyarn-am`` with the
client-to-AM token the ResourceManager puts in their application report, and
the AM allows what the spec's ACLs allow them. A cluster without security
gives no such tokens.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator, Optional

import pytest

from pyarn.app_client import ApplicationClient, client_to_am_token_of
from pyarn.client import Client
from pyarn.conf import Configuration
from pyarn.errors import AccessControlError, PyarnError
from pyarn.ipc import IpcSettings, Qop
from pyarn.minicluster import MiniCluster
from pyarn.yarn.client_to_am import ClientToAMIdentifier
from pyarn.yarn.records import ApplicationReport

from ..ipc.test_qop_wire import TcpRelay
from ..security.kdc import (
    OTHER_USER,
    USER,
    TestKdc,
    kerberos_environment,
    secure_minicluster,
)
from .rawam import wait_for

SPEC = {
    "name": "acl-app",
    "acls": {"enable": True, "view_users": [OTHER_USER], "modify_users": ["carol"]},
    "services": {"sleeper": {"resources": {"memory": 128, "vcores": 1}, "script": "sleep 120"}},
}
_FINAL = ("FINISHED", "FAILED", "KILLED")


@pytest.fixture(scope="module")
def krb() -> Iterator[TestKdc]:
    with kerberos_environment() as kdc:
        yield kdc


@pytest.fixture(scope="module")
def secure(krb: TestKdc) -> Iterator[MiniCluster]:
    cluster = secure_minicluster(krb, "privacy", (USER, OTHER_USER, "carol")).start()
    try:
        yield cluster
    finally:
        cluster.stop()


def _as(monkeypatch, krb: TestKdc, tmp_path: Path, user: str) -> None:
    """Become ``user``: a ticket of theirs, and a home (where secrets are kept) of their own."""
    monkeypatch.setenv("KRB5CCNAME", krb.ccache(user))
    home = tmp_path / user
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("PYARN_HOME", raising=False)


@pytest.fixture(scope="module")
def app(secure: MiniCluster, krb: TestKdc, tmp_path_factory) -> Iterator[str]:
    """alice's running application (she keeps its secret in her home)."""
    with pytest.MonkeyPatch.context() as patch:
        _as(patch, krb, tmp_path_factory.mktemp("submitter"), USER)
        with Client(secure.conf_dir, user=USER, python=sys.executable) as client:
            app_id = str(client.submit(SPEC))
            with client.connect(app_id, timeout=60) as am:
                wait_for(lambda: [c for c in am.get_containers() if c.state.value == "RUNNING"], 60,
                         "the sleeper to run")
    yield app_id


def _report(client: Client, app_id: str) -> ApplicationReport:
    return client.application_report(app_id)


def test_each_caller_gets_a_client_token_naming_them(secure, krb, app, monkeypatch, tmp_path):
    _as(monkeypatch, krb, tmp_path, OTHER_USER)
    with Client(secure.conf_dir, user=OTHER_USER) as client:
        report = _report(client, app)
    token = report.client_to_am_token
    assert token is not None and token.kind == "YARN_CLIENT_TOKEN"
    identifier = ClientToAMIdentifier.from_bytes(token.identifier)
    assert identifier.client_name == f"{OTHER_USER}@{krb.realm}"  # the full principal, as YARN's RM
    assert identifier.attempt_id == report.current_attempt_id


def test_a_viewer_sees_but_cannot_change(secure, krb, app, monkeypatch, tmp_path):
    _as(monkeypatch, krb, tmp_path, OTHER_USER)
    with Client(secure.conf_dir, user=OTHER_USER) as client, client.connect(app) as am:
        assert am.get_specification().name == "acl-app"
        assert [c.id for c in am.get_containers()] == ["sleeper_0"]
        with pytest.raises(AccessControlError, match=f"User {OTHER_USER} does not have MODIFY access to "):
            am.scale("sleeper", count=2)
        with pytest.raises(PermissionError):
            am.kv["bob-was-here"] = b"1"


def test_a_modifier_changes_but_cannot_view(secure, krb, app, monkeypatch, tmp_path):
    _as(monkeypatch, krb, tmp_path, "carol")
    with Client(secure.conf_dir, user="carol") as client, client.connect(app) as am:
        am.kv["carol"] = b"was here"
        with pytest.raises(AccessControlError, match=f"User carol does not have VIEW access to {app}"):
            am.get_containers()


def test_calls_to_the_am_are_private_at_privacy(secure, krb, app, monkeypatch, tmp_path):
    """The AM's server takes the cluster's hadoop.rpc.protection: captured on loopback, a key and
    value written through it never appear in clear."""
    _as(monkeypatch, krb, tmp_path, "carol")
    marker = b"pyarn-acl-marker-3b1f0c-not-for-the-wire"
    with Client(secure.conf_dir, user="carol") as client:
        report = _report(client, app)
        settings = IpcSettings.from_conf(Configuration.load(secure.conf_dir))
        assert settings.qops == (Qop.AUTH_CONF,)
        with TcpRelay((report.host, report.port)) as relay:
            with ApplicationClient(relay.address, app, token=client_to_am_token_of(report),
                                   settings=settings) as am:
                am.kv[marker.decode()] = marker
            captured = relay.captured()
    assert captured and marker not in captured


def test_the_owner_without_the_secret_may_do_everything(secure, krb, app, monkeypatch, tmp_path):
    """Last in the module: alice, from a home without the secret, reads carol's key and shuts
    the application down."""
    _as(monkeypatch, krb, tmp_path, USER)
    with Client(secure.conf_dir, user=USER) as client:
        with client.connect(app) as am:
            assert am.kv["carol"] == b"was here"
            assert len(am.kv) == 2  # carol's two keys
            am.shutdown("SUCCEEDED", "alice is done")

        def ended() -> Optional[ApplicationReport]:
            report = _report(client, app)
            return report if report.state.value in _FINAL else None
        report = wait_for(ended, 60.0, f"{app} to end")
    assert (report.state.value, report.final_status.value) == ("FINISHED", "SUCCEEDED"), report.diagnostics


def test_without_security_there_is_no_client_token(minicluster, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    spec = dict(SPEC, acls={"enable": True, "view_users": ["*"]})
    with Client(minicluster.conf_dir, python=sys.executable) as client:
        app_id = client.submit(spec)
        try:
            with client.connect(app_id, timeout=60) as am:
                am.get_containers()
            monkeypatch.setenv("HOME", str(tmp_path / "elsewhere"))  # no secret there
            assert _report(client, app_id).client_to_am_token is None
            with pytest.raises(PyarnError, match=f"no secret for {app_id}"):
                client.connect(app_id)
        finally:
            client.kill_application(app_id)
