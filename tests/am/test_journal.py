"""The AM's journal: framing, reload, compaction, torn and corrupt files, failing stores, HDFS."""
from __future__ import annotations

import threading
import time
from typing import Any, Dict, List

import pytest

from pyarn.am.journal import HEADER, Journal, JournalCorruptError, JournalError, decode_file, encode_frame
from pyarn.am.journalstore import LocalJournalStore, open_journal_store
from pyarn.am.recovery import merge
from pyarn.conf import Configuration


class Counter:
    """A toy state of one map: ``{"s": {"n": {key: value}}}``; each change is a record."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.values: Dict[str, int] = {}
        self.lock = threading.Lock()

    def dump(self) -> Dict[str, Any]:
        with self.lock:
            return {"s": {"n": dict(self.values)}}

    def set(self, key: str, value: int) -> None:
        with self.lock:
            self.values[key] = value
            self.journal.append({"s": {"n": {key: value}}})


def replay(journal: Journal, strict: bool = False) -> Dict[str, Any]:
    loaded = journal.load(strict=strict)
    state: Dict[str, Any] = {}
    if loaded.snapshot is not None:
        merge(state, loaded.snapshot)
    for record in loaded.records:
        merge(state, record)
    return state.get("s", {}).get("n", {})


def started(store, **options) -> Counter:
    journal = Journal(store, **options)
    journal.load()
    counter = Counter(journal)
    journal.start(counter.dump)
    return counter


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met"
        time.sleep(0.01)


# ------------------------------------------------------------------ framing


def test_frames_round_trip_and_the_header_names_the_format():
    data = HEADER + encode_frame({"a": 1}) + encode_frame({"b": [1, 2]})
    assert data.startswith(b"pyarn-am journal 1\n")
    assert decode_file(data) == ([{"a": 1}, {"b": [1, 2]}], False)
    assert decode_file(HEADER) == ([], False)
    assert decode_file(HEADER[:5]) == ([], True)  # cut short in its header


def test_another_format_version_is_refused():
    with pytest.raises(JournalError, match="format version '2'"):
        decode_file(b"pyarn-am journal 2\n" + encode_frame({}), "log.1.0")


@pytest.mark.parametrize("cut", [1, 4, 9, 12])
def test_a_torn_last_frame_is_dropped(cut):
    whole = HEADER + encode_frame({"a": 1}) + encode_frame({"b": "x" * 20})
    assert decode_file(whole[:-cut]) == ([{"a": 1}], True)


def test_a_bad_last_checksum_is_a_torn_write_but_a_bad_middle_one_is_corruption():
    first, second = encode_frame({"a": 1}), encode_frame({"b": 2})
    damaged = first[:-1] + bytes([first[-1] ^ 0xFF])
    assert decode_file(HEADER + first + damaged) == ([{"a": 1}], True)
    with pytest.raises(JournalCorruptError) as info:
        decode_file(HEADER + damaged + second, "log.3.0")
    assert (info.value.name, info.value.offset) == ("log.3.0", len(HEADER))
    assert "log.3.0 is corrupt at byte 19: checksum mismatch" in str(info.value)


def test_absurd_lengths_and_foreign_files_are_corruption():
    with pytest.raises(JournalCorruptError, match="claims"):
        decode_file(HEADER + b"\xff\xff\xff\xff\x00\x00\x00\x00" + b"x" * 100)
    with pytest.raises(JournalCorruptError, match="header"):
        decode_file(b"something else entirely")


# ------------------------------------------------------------------ local journal


def test_write_then_reload_without_closing(tmp_path):
    counter = started(LocalJournalStore(tmp_path))
    for i in range(50):
        counter.set(f"k{i % 7}", i)
    # no close: as if the AM were killed; every append is already in the file
    assert replay(Journal(LocalJournalStore(tmp_path))) == counter.values
    counter.journal.close()


def test_a_new_start_writes_a_snapshot_and_drops_older_generations(tmp_path):
    counter = started(LocalJournalStore(tmp_path))
    counter.set("a", 1)
    counter.journal.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.1.0", "snapshot.1"]
    again = started(LocalJournalStore(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["snapshot.2"]
    assert replay(Journal(LocalJournalStore(tmp_path))) == {}  # the toy state is not restored here
    again.journal.close()


def test_compaction_bounds_the_logs(tmp_path):
    counter = started(LocalJournalStore(tmp_path), compact_bytes=2000)
    for i in range(2000):
        counter.set(f"k{i % 10}", i)
    wait_for(lambda: counter.journal._due is None and not counter.journal._compact)
    sizes = sum(p.stat().st_size for p in tmp_path.iterdir())
    assert sizes < 8000, sorted(p.name for p in tmp_path.iterdir())
    assert any(p.name.startswith("snapshot.") and p.name != "snapshot.1" for p in tmp_path.iterdir())
    assert replay(Journal(LocalJournalStore(tmp_path))) == counter.values
    counter.journal.close()


def test_a_torn_tail_is_ignored(tmp_path):
    counter = started(LocalJournalStore(tmp_path))
    for i in range(5):
        counter.set(f"k{i}", i)
    counter.journal.close()
    log_file = tmp_path / "log.1.0"
    log_file.write_bytes(log_file.read_bytes()[:-3])
    assert replay(Journal(LocalJournalStore(tmp_path)), strict=True) == {f"k{i}": i for i in range(4)}


def test_corruption_recovers_the_good_prefix_and_sets_the_rest_aside(tmp_path):
    counter = started(LocalJournalStore(tmp_path))
    for i in range(5):
        counter.set(f"k{i}", i)
    counter.journal.close()
    log_file = tmp_path / "log.1.0"
    data = bytearray(log_file.read_bytes())
    frame = len(encode_frame({"s": {"n": {"k0": 0}}}))
    data[len(HEADER) + 2 * frame + 10] ^= 0xFF  # inside the third record
    log_file.write_bytes(bytes(data))

    with pytest.raises(JournalCorruptError, match=r"log\.1\.0 is corrupt at byte"):
        Journal(LocalJournalStore(tmp_path)).load(strict=True)
    journal = Journal(LocalJournalStore(tmp_path))
    assert replay(journal) == {"k0": 0, "k1": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.1.0.corrupt", "snapshot.1"]
    # the next start carries on from the prefix; the damaged file stays for inspection
    journal.start(lambda: {"s": {"n": {"k0": 0, "k1": 1}}})
    journal.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.1.0.corrupt", "snapshot.2"]


def test_a_corrupt_snapshot_without_an_older_one_gives_the_empty_state(tmp_path):
    counter = started(LocalJournalStore(tmp_path))
    counter.set("a", 1)
    counter.journal.close()
    (tmp_path / "snapshot.1").write_bytes(HEADER + b"\x00\x00\x00\x05\x00\x00\x00\x00{}")
    assert replay(Journal(LocalJournalStore(tmp_path))) == {}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.1.0.corrupt", "snapshot.1.corrupt"]


def test_a_missing_segment_ends_the_chain(tmp_path):
    store = LocalJournalStore(tmp_path)
    store.write_atomic("snapshot.1", HEADER + encode_frame({"s": {"n": {"a": 1}}}))
    store.write_atomic("log.1.0", HEADER + encode_frame({"s": {"n": {"b": 2}}}))
    store.write_atomic("log.1.2", HEADER + encode_frame({"s": {"n": {"c": 3}}}))
    assert replay(Journal(store)) == {"a": 1, "b": 2}
    assert "log.1.2.corrupt" in store.names()


class FlakyStore(LocalJournalStore):
    """Appends fail while ``broken`` is set."""

    broken = False

    def append(self, name: str, data: bytes) -> None:
        if self.broken:
            raise OSError(28, "No space left on device")
        super().append(name, data)


def test_a_failing_store_keeps_the_records_until_it_works_again(tmp_path, caplog):
    store = FlakyStore(tmp_path)
    counter = started(store, retry_interval=0.05)
    counter.set("a", 1)
    store.broken = True
    counter.set("b", 2)
    counter.set("c", 3)
    counter.journal.sync()  # does not wait while the store fails
    assert "cannot write the journal" in caplog.text
    assert replay(Journal(LocalJournalStore(tmp_path))) == {"a": 1}
    store.broken = False
    wait_for(lambda: counter.journal._failing is None and not counter.journal._pending)
    counter.set("d", 4)
    assert replay(Journal(LocalJournalStore(tmp_path)), strict=True) == {"a": 1, "b": 2, "c": 3, "d": 4}
    counter.journal.close()


def test_close_with_a_snapshot_replaces_the_history(tmp_path):
    counter = started(LocalJournalStore(tmp_path))
    counter.set("a", 1)
    counter.journal.close({"s": {"n": {"only": 1}}})
    counter.set("ignored", 2)  # after close
    assert replay(Journal(LocalJournalStore(tmp_path))) == {"only": 1}


# ------------------------------------------------------------------ HDFS


@pytest.fixture(scope="module")
def hdfs_url(tmp_path_factory):
    from pyarn.minicluster.hdfs import MiniHDFS

    with MiniHDFS(tmp_path_factory.mktemp("journal-hdfs"), datanodes=1) as hdfs:
        yield hdfs.default_fs


def test_hdfs_journal_batches_and_compacts(hdfs_url):
    conf = Configuration()
    url = f"{hdfs_url}/apps/one/.pyarn.journal"
    counter = started(open_journal_store(url, conf), max_segments=4)
    threads = [threading.Thread(target=lambda t=t: [counter.set(f"t{t}/{i % 5}", i) or counter.journal.sync()
                                                   for i in range(30)]) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counter.journal.sync()
    assert replay(Journal(open_journal_store(url, conf))) == counter.values  # without closing
    wait_for(lambda: counter.journal._due is None and not counter.journal._compact)
    names = open_journal_store(url, conf).names()
    assert len([n for n in names if n.startswith("log.")]) <= 5, names
    counter.journal.close()
    assert replay(Journal(open_journal_store(url, conf))) == counter.values


def test_sync_waits_for_the_batch(hdfs_url):
    url = f"{hdfs_url}/apps/two/.pyarn.journal"
    counter = started(open_journal_store(url, Configuration()))
    written: List[str] = []
    for i in range(3):
        counter.set(f"k{i}", i)
        counter.journal.sync()
        written.append(f"k{i}")
        assert set(replay(Journal(open_journal_store(url, Configuration())))) == set(written)
    counter.journal.close()
