"""``user:`` in a spec: submitting as another user, on any cluster.

pyarn submits as the spec's user the way Java's ``UserGroupInformation.createProxyUser``
does: every call of the submission carries the client's user as the real user and the
spec's as the effective one, and the cluster's ``hadoop.proxyuser.<real user>.*`` settings
decide. The reference clusters configure no such settings, so there the ResourceManager
refuses the first call (``getNewApplication``), with or without Kerberos (Hadoop checks
impersonation on every connection that names a real user), and the NameNode says the same;
pyarn must pass that refusal on at once, having staged and created nothing. A spec whose
user is the submitter is no impersonation at all. (Impersonation that is allowed runs end to
end in ``tests/minicluster/test_proxy_submission.py``, on the mini cluster's Kerberos mode.)
"""
from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Iterator, Set

import pytest

from pyarn.application.security import apps_dir
from pyarn.client import Client
from pyarn.errors import AccessControlError
from pyarn.hdfs import HDFS
from pyarn.yarn.records import ApplicationState, FinalStatus

REPO = Path(__file__).resolve().parent.parent
FAST = 2.0  # seconds: "fails fast"
EVERY_STATE = list(ApplicationState)


@pytest.fixture(scope="module")
def client(hadoop_conf_dir, tmp_path_factory) -> Iterator[Client]:
    """The login user's client; application secrets go to a private ``PYARN_HOME``."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYARN_HOME", str(tmp_path_factory.mktemp("pyarn-home")))
        with Client(hadoop_conf_dir, python=sys.executable) as c:
            yield c


@pytest.fixture
def stranger(client) -> str:
    """A user the cluster does not let the login user impersonate."""
    return "carol" if client.user.name == "bob" else "bob"


def _kerberos(client: Client) -> bool:
    return client.conf.get_str("hadoop.security.authentication", "simple").lower() == "kerberos"


def _refusal(client: Client, who: str) -> str:
    """Hadoop's words (``DefaultImpersonationProvider``): the real user as it authenticated (a
    Kerberos principal, or the simple user name) and the user it tried to be."""
    real = re.escape(client.user.name) + (r"@\S+" if _kerberos(client) else "")
    return rf"User: {real} is not allowed to impersonate {re.escape(who)}\b"


def _staging_root(fs: HDFS, user: str) -> str:
    return f"/user/{user}/.pyarn"


def _entries(fs: HDFS, path: str) -> Set[str]:
    return set(fs.ls(path)) if fs.exists(path) else set()


def _staged_as(fs: HDFS, entries: Set[str], name: str) -> Set[str]:
    """The staging directories among ``entries`` whose staged spec is the application ``name``
    (others' submissions may come and go meanwhile)."""
    found = set()
    for entry in entries:
        try:
            with fs.open(f"{entry}/.pyarn.spec.json") as stream:
                if json.loads(stream.read()).get("name") == name:
                    found.add(entry)
        except (FileNotFoundError, ValueError):
            continue
    return found


def test_submitting_as_a_user_not_allowed_is_refused_before_anything_is_made(client, stranger):
    name = f"proxy-refused-{time.time_ns()}"
    spec = {"name": name, "user": stranger,
            "services": {"s": {"resources": {"memory": 128, "vcores": 1}, "script": "echo never"}}}
    hdfs = client.conf.get_str("fs.defaultFS", "").startswith("hdfs://")
    mine = stranger_root = ""
    before: Set[str] = set()
    stranger_before: Set[str] = set()
    if hdfs:
        with HDFS(conf=client.conf) as fs:
            mine, stranger_root = _staging_root(fs, client.user.name), _staging_root(fs, stranger)
            before = _entries(fs, mine)
            stranger_before = _entries(fs, stranger_root)
    started = time.monotonic()
    with pytest.raises(AccessControlError) as info:
        client.submit(spec)
    elapsed = time.monotonic() - started
    message = str(info.value)
    assert elapsed < FAST, f"refused after {elapsed:.2f} s"
    assert re.search(_refusal(client, stranger), message), message
    assert message.startswith(f"cannot submit as {stranger} (the spec's user): ")
    assert info.value.java_class == "org.apache.hadoop.security.authorize.AuthorizationException"
    assert not [r for r in client.get_applications(states=EVERY_STATE) if r.name == name]
    assert not client.get_applications(states=EVERY_STATE, user=stranger)
    assert not list(apps_dir().glob("*"))  # no secret saved
    if hdfs:
        with HDFS(conf=client.conf) as fs:
            assert not _staged_as(fs, _entries(fs, mine) - before, name)
            assert _entries(fs, stranger_root) == stranger_before


def test_the_namenode_refuses_the_same_impersonation(client, stranger):
    started = time.monotonic()
    with HDFS(conf=client.conf, user=client.user.proxy_for(stranger)) as fs:
        with pytest.raises(AccessControlError) as info:
            fs.stat("/")
    assert time.monotonic() - started < FAST
    assert re.search(_refusal(client, stranger), str(info.value)), str(info.value)


def test_a_spec_naming_the_submitter_impersonates_no_one(client):
    """``user`` equal to the client's user submits as the client (no real user in the calls), so
    it runs where no proxy-user rules exist."""
    env = {"PYTHONPATH": str(REPO)}  # the containers import pyarn from this checkout
    spec = {"name": "proxy-self", "user": client.user.name, "master": {"env": env},
            "services": {"s": {"resources": {"memory": 128, "vcores": 1}, "script": "echo me", "env": env}}}
    app_id = client.submit(spec)
    try:
        report = client.wait_for_completion(app_id, timeout=120)
    finally:
        if client.application_report(app_id).state not in (ApplicationState.FINISHED, ApplicationState.FAILED,
                                                            ApplicationState.KILLED):
            client.kill_application(app_id)
    assert (report.state, report.final_status) == (ApplicationState.FINISHED, FinalStatus.SUCCEEDED), \
        report.diagnostics
    assert report.user == client.user.name
