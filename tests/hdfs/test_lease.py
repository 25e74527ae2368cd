"""The lease renewer: renews while files are open, heartbeats their pipelines, stops when none are."""
from __future__ import annotations

import gc
import threading
import time

import pytest

from pyarn.hdfs.lease import LeaseRenewer


class OpenFile:
    def __init__(self) -> None:
        self.heartbeats = 0

    def heartbeat(self) -> None:
        self.heartbeats += 1


def wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.005)


@pytest.fixture
def renewed():
    event = threading.Event()
    counter = {"n": 0}

    def renew() -> None:
        counter["n"] += 1
        event.set()

    return counter, renew


def test_renews_only_while_files_are_open(renewed):
    counter, renew = renewed
    renewer = LeaseRenewer(renew, interval=0.02, tick=0.01)
    assert not renewer.running
    time.sleep(0.05)
    assert counter["n"] == 0  # nothing open, nothing renewed, no thread
    f = OpenFile()
    renewer.begin(f)
    assert renewer.running and renewer.open_files == 1
    wait_for(lambda: counter["n"] >= 3)
    assert renewer.renewals >= 3 and f.heartbeats >= 3
    renewer.end(f)
    wait_for(lambda: not renewer.running)
    settled = counter["n"]
    time.sleep(0.06)
    assert counter["n"] == settled
    renewer.close()


def test_restarts_for_the_next_file(renewed):
    counter, renew = renewed
    renewer = LeaseRenewer(renew, interval=0.02, tick=0.01)
    for _ in range(3):
        f = OpenFile()
        renewer.begin(f)
        before = counter["n"]
        wait_for(lambda before=before: counter["n"] > before)
        renewer.end(f)
        wait_for(lambda: not renewer.running)
    renewer.close()


def test_first_renewal_waits_one_interval(renewed):
    counter, renew = renewed
    renewer = LeaseRenewer(renew, interval=0.3, tick=0.01)
    f = OpenFile()
    renewer.begin(f)
    time.sleep(0.15)
    assert counter["n"] == 0  # create just granted the lease
    wait_for(lambda: counter["n"] == 1)
    renewer.close()


def test_keeps_running_while_any_file_is_open(renewed):
    counter, renew = renewed
    renewer = LeaseRenewer(renew, interval=0.02, tick=0.01)
    a, b = OpenFile(), OpenFile()
    renewer.begin(a)
    renewer.begin(b)
    renewer.end(a)
    before = counter["n"]
    wait_for(lambda: counter["n"] > before + 2)
    assert renewer.running
    renewer.end(b)
    renewer.end(b)  # twice is harmless
    wait_for(lambda: not renewer.running)
    renewer.close()


def test_close_stops_everything(renewed):
    counter, renew = renewed
    renewer = LeaseRenewer(renew, interval=0.02, tick=0.01)
    f = OpenFile()
    renewer.begin(f)
    renewer.close()
    assert not renewer.running and renewer.open_files == 0
    with pytest.raises(ValueError, match="closed"):
        renewer.begin(OpenFile())


def test_a_failed_renewal_is_retried(caplog):
    attempts = []

    def renew() -> None:
        attempts.append(time.monotonic())
        if len(attempts) < 3:
            raise ConnectionError("NameNode unreachable")

    renewer = LeaseRenewer(renew, interval=0.05, tick=0.01)
    keep = OpenFile()
    renewer.begin(keep)
    wait_for(lambda: renewer.renewals == 1)
    assert len(attempts) == 3
    assert "renewing the lease failed" in caplog.text
    renewer.close()


def test_a_dropped_file_stops_being_renewed(renewed):
    counter, renew = renewed
    renewer = LeaseRenewer(renew, interval=0.02, tick=0.01)
    renewer.begin(OpenFile())  # nobody keeps it
    gc.collect()
    wait_for(lambda: not renewer.running)
    renewer.close()


def test_heartbeat_errors_do_not_stop_the_thread(renewed):
    counter, renew = renewed

    class Broken:
        def heartbeat(self) -> None:
            raise OSError("pipeline gone")

    renewer = LeaseRenewer(renew, interval=0.02, tick=0.01)
    broken = Broken()
    renewer.begin(broken)
    wait_for(lambda: counter["n"] >= 2)
    renewer.close()


def test_bad_arguments():
    with pytest.raises(ValueError):
        LeaseRenewer(lambda: None, interval=0)
