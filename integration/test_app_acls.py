"""Application ACLs enforced by ``pyarn-am``, with the ResourceManager's client-to-AM tokens.

On a secure cluster, a user without the application secret reaches the AM
with the client-to-AM token the RM puts in the application report: the
owner may do everything, others what the spec's ``acls`` allow. A second
Kerberos identity for the "other user" checks is taken from
``PYARN_TEST_OTHER_PRINCIPAL`` and ``PYARN_TEST_OTHER_KEYTAB`` when set (a
principal the cluster's auth_to_local rules map to a user that is not the
submitter); those checks are skipped without it. On a cluster without
security there are no such tokens: only the secret opens the AM.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from pyarn.client import Client
from pyarn.conf import Configuration
from pyarn.errors import AccessControlError, PyarnError
from pyarn.ipc import IpcSettings
from pyarn.yarn.client_to_am import ClientToAMIdentifier
from pyarn.yarn.ids import ApplicationId
from pyarn.yarn.records import ApplicationState

PYTHON = sys.executable
OTHER_PRINCIPAL = os.environ.get("PYARN_TEST_OTHER_PRINCIPAL")
OTHER_KEYTAB = os.environ.get("PYARN_TEST_OTHER_KEYTAB")


def _spec(view_users) -> dict:
    return {"name": "pyarn-acls", "acls": {"enable": True, "view_users": list(view_users)},
            "services": {"sleeper": {"resources": {"memory": 128, "vcores": 1}, "script": "sleep 300"}}}


@pytest.fixture(scope="module")
def secure(hadoop_conf_dir) -> bool:
    return IpcSettings.from_conf(Configuration.load(hadoop_conf_dir)).security_enabled


@pytest.fixture(scope="module")
def submitter_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("submitter-home")


@pytest.fixture(scope="module")
def running(hadoop_conf_dir, submitter_home) -> Iterator[ApplicationId]:
    """An application whose ACLs let the other user view it, running its service."""
    other = OTHER_PRINCIPAL.split("@")[0].split("/")[0] if OTHER_PRINCIPAL else "nobody-in-particular"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYARN_HOME", str(submitter_home))
        with Client(hadoop_conf_dir, python=PYTHON) as client:
            app_id = client.submit(_spec([other]))
            try:
                client.connect(app_id, timeout=120).close()  # the AM is up
                yield app_id
            finally:
                if client.application_report(app_id).state not in (
                        ApplicationState.FINISHED, ApplicationState.FAILED, ApplicationState.KILLED):
                    client.kill_application(app_id)


def _without_secret(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PYARN_HOME", str(tmp_path / "no-secret-here"))


def test_the_owner_without_the_secret(hadoop_conf_dir, secure, running, monkeypatch, tmp_path):
    _without_secret(monkeypatch, tmp_path)
    with Client(hadoop_conf_dir) as client:
        report = client.application_report(running)
        if not secure:
            assert report.client_to_am_token is None
            with pytest.raises(PyarnError, match=f"no secret for {running}"):
                client.connect(running)
            return
        token = report.client_to_am_token
        assert token is not None and token.kind == "YARN_CLIENT_TOKEN"
        identifier = ClientToAMIdentifier.from_bytes(token.identifier)
        assert identifier.attempt_id == report.current_attempt_id
        with client.connect(running) as am:  # the owner, by the RM's word
            assert am.get_specification().name == "pyarn-acls"
            am.kv["owner"] = b"was here"
            assert am.kv["owner"] == b"was here"


@pytest.fixture
def other_user(monkeypatch, tmp_path) -> str:
    if not (OTHER_PRINCIPAL and OTHER_KEYTAB):
        pytest.skip("set PYARN_TEST_OTHER_PRINCIPAL and PYARN_TEST_OTHER_KEYTAB for a second Kerberos user")
    ccache = tmp_path / "other.ccache"
    subprocess.run(["kinit", "-k", "-t", OTHER_KEYTAB, "-c", f"FILE:{ccache}", OTHER_PRINCIPAL], check=True)
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{ccache}")
    _without_secret(monkeypatch, tmp_path)
    return OTHER_PRINCIPAL


def test_another_user_views_but_may_not_modify(hadoop_conf_dir, secure, running, other_user):
    if not secure:
        pytest.skip("client-to-AM tokens come from secure clusters only")
    with Client(hadoop_conf_dir) as client:
        token = client.application_report(running).client_to_am_token
        assert token is not None
        assert ClientToAMIdentifier.from_bytes(token.identifier).client_name == other_user
        with client.connect(running) as am:
            assert [c.id for c in am.get_containers()] == ["sleeper_0"]
            with pytest.raises(AccessControlError, match="does not have MODIFY access"):
                am.scale("sleeper", count=2)
            with pytest.raises(AccessControlError, match="does not have MODIFY access"):
                am.shutdown("KILLED")
        assert client.application_report(running).state is ApplicationState.RUNNING
