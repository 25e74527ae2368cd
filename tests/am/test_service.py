"""ApplicationClient against the AM's handler served over IPC with the application token; no YARN."""
from __future__ import annotations

import threading
import time

import pytest

from hadoop_protos.pyarn_rpc import PYARN_APP_MASTER
from pyarn.am.kvstore import KeyValueStore
from pyarn.am.scheduler import Finish, Scheduler
from pyarn.am.security import AppSecretManager
from pyarn.am.service import LONG_POLL_SLOTS, ORDINARY_THREADS, AppMasterHandler
from pyarn.app_client import ApplicationClient
from pyarn.application import kv
from pyarn.application.errors import InvalidRequestError
from pyarn.application.records import ContainerState
from pyarn.application.security import new_secret
from pyarn.errors import FailoverExhaustedError, PyarnError, SaslError
from pyarn.ipc import IpcServer, IpcSettings, RetryPolicy, ServerAuth
from pyarn.ipc.constants import AuthMethod
from pyarn.spec import ApplicationSpec
from pyarn.yarn.records import FinalStatus

APP_ID = "application_1700000000000_0042"
FAST = IpcSettings(connect_timeout=2.0, rpc_timeout=10.0)
SPEC = {"name": "served", "services": {
    "web": {"instances": 2, "resources": {"memory": 128, "vcores": 1}, "script": "sleep 1"}}}


class AM:
    """The handler with its scheduler and store, recording what it was asked to do."""

    def __init__(self, **handler_options) -> None:
        self.spec = ApplicationSpec.from_dict(SPEC)
        self.scheduler = Scheduler(self.spec)
        self.kv = KeyValueStore(owner_check=self.scheduler.owner_check)
        self.actions = []
        self.progress = None
        self.execute(self.scheduler.start())
        self.handler = AppMasterHandler(self.spec, self.scheduler, self.kv, self.execute, self.set_progress,
                                        **handler_options)

    def execute(self, actions) -> None:
        self.actions.extend(actions)

    def set_progress(self, progress: float) -> None:
        self.progress = progress


@pytest.fixture
def am():
    return AM()


@pytest.fixture
def secret():
    return new_secret()


@pytest.fixture
def server(am, secret):
    with serve(am.handler, secret) as srv:
        yield srv
        am.kv.close()  # ends the long polls in flight, as the AM does before stopping its server


def serve(handler: AppMasterHandler, secret: bytes) -> IpcServer:
    """The handler on an IPC server as the AM runs it (TOKEN auth, the handler's thread count)."""
    auth = ServerAuth(methods=(AuthMethod.TOKEN,), secret_manager=AppSecretManager(APP_ID, secret, "alice"))
    server = IpcServer(auth=auth, idle_timeout=5.0, handler_threads=handler.handler_threads)
    server.register(PYARN_APP_MASTER, handler)
    return server


@pytest.fixture
def app(server, secret):
    with ApplicationClient(server.address_string, APP_ID, secret, settings=FAST) as client:
        yield client


def test_spec_and_containers(app):
    assert app.get_specification().name == "served"
    containers = app.get_containers()
    assert [(c.id, c.state) for c in containers] == [("web_0", ContainerState.REQUESTED),
                                                      ("web_1", ContainerState.REQUESTED)]
    assert app.get_containers(states=["RUNNING"]) == []
    with pytest.raises(InvalidRequestError, match="unknown service 'db'"):
        app.get_containers(services=["db"])


def test_scale_add_kill_progress_shutdown(am, app):
    assert [c.id for c in app.scale("web", count=3)] == ["web_2"]
    assert [c.id for c in app.scale("web", delta=-1)] == ["web_0"]
    added = app.add_container("web", env={"A": "1"})
    assert added.id == "web_3" and added.state is ContainerState.REQUESTED
    app.kill_container("web_1")
    app.kill_container("web_1")  # again: nothing happens
    with pytest.raises(InvalidRequestError):
        app.kill_container("web_99")
    with pytest.raises(ValueError):
        app.scale("web", count=1, delta=1)
    app.set_progress(0.25)
    assert am.progress == 0.25
    with pytest.raises(ValueError):
        app.set_progress(2)
    app.shutdown("KILLED", "enough")
    assert am.scheduler.outcome == Finish(FinalStatus.KILLED, "enough", True)
    assert any(isinstance(a, Finish) for a in am.actions)


def test_shutdown_needs_a_final_status(app):
    with pytest.raises(InvalidRequestError, match="SUCCEEDED, FAILED or KILLED"):
        app.shutdown("UNDEFINED")


def test_kv_over_ipc(am, app):
    app.kv["a"] = b"1"
    app.kv.put("owned", b"2", owner="web_0")
    assert dict(app.kv.get_prefix("")) == {"a": b"1", "owned": b"2"}
    with pytest.raises(InvalidRequestError, match="cannot own keys"):
        app.kv.put("x", b"1", owner="web_7")
    result = app.kv.transaction([kv.value("a") == b"1"], [kv.swap("a", b"3")])
    assert result == kv.TransactionResult(True, [b"1"])
    app.kill_container("web_0")
    am.kv.release_owner("web_0")  # what the AM does when it carries out ReleaseOwner
    assert "owned" not in app.kv


def test_long_polls_over_ipc(am, app):
    with app.kv.events(prefix="k") as events:
        began = time.monotonic()
        with pytest.raises(kv.KvTimeoutError):
            app.kv.wait("k1", timeout=0.3)
        assert time.monotonic() - began < 3
        app.kv["k1"] = b"v"
        assert app.kv.wait("k1", timeout=5) == b"v"
        event = events.get(timeout=5)
        assert (event.key, event.event_type) == ("k1", kv.EventType.PUT)


def waiters(server, secret, count: int, key: str):
    """``count`` clients, each waiting for ``key`` in a thread of its own; returns the clients and
    a list that fills with (value, seconds waited after the put) as they return."""
    clients = [ApplicationClient(server.address_string, APP_ID, secret, settings=FAST) for _ in range(count)]
    results = []
    put_at = []

    def wait(client):
        value = client.kv.wait(key, timeout=60)
        results.append((value, time.monotonic() - put_at[0]))

    threads = [threading.Thread(target=wait, args=(c,), daemon=True) for c in clients]
    for thread in threads:
        thread.start()
    return clients, threads, results, put_at


def ordinary_calls_are_prompt(app, calls: int = 20) -> None:
    for _ in range(calls):
        began = time.monotonic()
        assert app.get_specification().name == "served"
        app.kv["other"] = b"x"
        assert time.monotonic() - began < 1.0


@pytest.mark.parametrize(("slots", "ordinary", "count"), [
    pytest.param(LONG_POLL_SLOTS, ORDINARY_THREADS, 100, id="as-the-AM-runs"),
    pytest.param(4, 2, 30, id="few-slots"),
])
def test_many_waits_never_hold_up_other_calls_and_a_put_releases_them_all(secret, slots, ordinary, count):
    am = AM(long_poll_slots=slots, ordinary_threads=ordinary)
    with serve(am.handler, secret) as server, \
            ApplicationClient(server.address_string, APP_ID, secret, settings=FAST) as other:
        clients, threads, results, put_at = waiters(server, secret, count, "go")
        try:
            deadline = time.monotonic() + 30
            while am.handler.long_polls_held < min(slots, count):  # every slot is taken
                assert time.monotonic() < deadline, am.handler.long_polls_held
                time.sleep(0.05)
            ordinary_calls_are_prompt(other)  # while `count` waits are pending
            assert am.handler.long_polls_held <= slots
            put_at.append(time.monotonic())
            other.kv["go"] = b"now"
            for thread in threads:
                thread.join(10)
            assert len(results) == count
            assert all(value == b"now" for value, _ in results)
            # held ones at once; the others within their pause between polls (at most 1 s)
            assert max(waited for _, waited in results) < 3.0
        finally:
            am.kv.close()
            for client in clients:
                client.close()


def test_a_client_looks_a_moved_master_up_once_and_calls_it_there(am, secret):
    """Two servers stand in for attempt 1 of the AM (gone) and attempt 2 (elsewhere)."""
    with serve(am.handler, secret) as gone:
        stale = gone.address_string
    quick = RetryPolicy(max_attempts=2, sleep_base=0.01, sleep_max=0.01)
    with serve(am.handler, secret) as moved:
        lookups = []

        def locate():
            lookups.append(time.monotonic())
            return moved.address_string

        with ApplicationClient(stale, APP_ID, secret, settings=FAST, policy=quick, locate=locate) as app:
            names = []
            threads = [threading.Thread(target=lambda: names.append(app.get_specification().name))
                       for _ in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
            assert names == ["served"] * 8 and len(lookups) == 1
            assert app.address == moved.address_string
            with pytest.raises(InvalidRequestError):  # the AM's answers are not a reason to look
                app.kill_container("web_99")
            assert len(lookups) == 1

        def broken():
            raise PyarnError("the ResourceManager is away too")

        with ApplicationClient(stale, APP_ID, secret, settings=FAST, policy=quick, locate=broken) as app:
            with pytest.raises(FailoverExhaustedError):  # the AM's error, not the lookup's
                app.get_specification()
            assert app.address == stale


def test_a_wrong_secret_is_refused(server):
    with ApplicationClient(server.address_string, APP_ID, b"not the secret", settings=FAST,
                           policy=RetryPolicy(max_attempts=1)) as client:
        with pytest.raises(SaslError):
            client.get_specification()
    with ApplicationClient(server.address_string, "application_1700000000000_0043", b"x", settings=FAST,
                           policy=RetryPolicy(max_attempts=1)) as client:
        with pytest.raises(PyarnError):
            client.get_specification()


def test_constructor_needs_a_secret():
    with pytest.raises(ValueError):
        ApplicationClient("localhost:1", APP_ID)
