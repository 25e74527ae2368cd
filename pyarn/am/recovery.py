"""Recovering the ApplicationMaster's state when YARN starts a new attempt ("Nothing lost").

The AM journals (:mod:`pyarn.am.journal`) into ``<PYARN_STAGING_DIR>/.pyarn.journal``
(:data:`~pyarn.am.environment.JOURNAL_DIR`). Its state is one JSON object of
three sections; a snapshot holds all of it, a record only what one change
touched::

    {"kv":        {...},               the key-value store (pyarn.am.kvstore)
     "scheduler": {...},               the services' containers and counters (pyarn.am.scheduler)
     "master":    {"progress": 0.5,    the progress a client set
                   "address": "host:port"}}   where the AM served its clients

:func:`merge` applies a record to the state, section by section: a map field
is updated entry by entry (a null entry removes it), a list field gains its
items (as a set), any other field is replaced.

A new attempt recovers the store's keys, values, owners and revisions; the
services' containers (instances after scale calls, containers killed by
request, restarts spent) and a lasting outcome; the progress and the AM's
address (a new attempt on the same host serves on the same port, so the
containers it adopts still reach it). Keys owned by a
container that is gone (ended, lost with the previous attempt, or unknown
after a reset) are deleted on recovery, as they would have been. Not
recovered: the store's events (a watch from before resumes with
``compacted``), the master script (started again) and outstanding container
requests (asked for again).

The AM answers a client whose call changed something once the change is
written (:meth:`Recovery.sync`). That costs nothing on the local disk but one
HDFS file per batch of changes (about 10-15 ms) in HDFS; setting
:data:`SYNC_KEY` (``pyarn.am.journal.sync``) to false answers at once, and an
AM that dies may then lose the changes of its last batch.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Dict, Optional

from ..application.environment import JOURNAL_DIR
from ..application.records import ContainerState
from ..conf import Configuration
from ..security.user import User
from .journal import Journal
from .journalstore import open_journal_store
from .kvstore import KeyValueStore
from .scheduler import Scheduler

log = logging.getLogger(__name__)

__all__ = ["Recovery", "merge", "SYNC_KEY"]

#: Configuration key: whether clients are answered only once their change is journaled (default true).
SYNC_KEY = "pyarn.am.journal.sync"


def merge(state: Dict[str, Any], record: Dict[str, Any]) -> None:
    """Apply ``record`` to ``state`` in place (see the module docstring)."""
    for section, fields in record.items():
        target = state.setdefault(section, {})
        for name, value in fields.items():
            if isinstance(value, dict):
                entries = target.setdefault(name, {})
                for key, item in value.items():
                    if item is None:
                        entries.pop(key, None)
                    else:
                        entries[key] = item
            elif isinstance(value, list):
                target[name] = sorted(set(target.get(name, ())) | set(value))
            else:
                target[name] = value


class Recovery:
    """The journal of one attempt, wired to its key-value store and scheduler.

    :meth:`recover` loads what earlier attempts left; :meth:`start` begins
    journaling; :meth:`sync` before answering a client that changed
    something; :meth:`close` at the end.
    """

    def __init__(self, journal: Journal, *, sync: bool = True) -> None:
        self.journal = journal
        self._waits = sync
        self._kv: Optional[KeyValueStore] = None
        self._scheduler: Optional[Scheduler] = None
        self._closed = False

    @classmethod
    def open(cls, staging_url: str, conf: Configuration, user: Optional[User] = None,
             **journal_options: Any) -> Recovery:
        """The journal in the staging directory ``staging_url`` (``file://`` or ``hdfs://``), with
        :data:`SYNC_KEY` from ``conf``."""
        store = open_journal_store(staging_url.rstrip("/") + "/" + JOURNAL_DIR, conf, user)
        return cls(Journal(store, **journal_options), sync=conf.get_bool(SYNC_KEY, True))

    @property
    def url(self) -> str:
        return self.journal.store.url

    def recover(self, kv: KeyValueStore, scheduler: Scheduler, *, strict: bool = False) -> Dict[str, Any]:
        """Load the journal into ``kv`` and ``scheduler`` (both new); returns what the master saved
        (``progress``, ``address``; empty when nothing). A section that does not read is logged and
        left empty."""
        loaded = self.journal.load(strict=strict)
        if loaded.empty:
            return {}
        state: Dict[str, Any] = {}
        if loaded.snapshot is not None:
            merge(state, loaded.snapshot)
        for record in loaded.records:
            merge(state, record)
        try:
            kv.restore(state.get("kv", {}))
        except ValueError as exc:
            log.error("cannot recover the key-value store from %s: %s; it starts empty", self.url, exc)
        try:
            if "scheduler" not in state:
                log.info("the services start afresh (the application failed in the previous attempt)")
            elif not scheduler.restore(state["scheduler"]):
                log.warning("the services had failed beyond their restarts: they start afresh")
        except ValueError as exc:
            log.error("cannot recover the services from %s: %s; they start afresh", self.url, exc)
        for owner in kv.owners():
            if scheduler.owner_check(owner) is not None:
                kv.release_owner(owner)
        log.info("recovered %d keys (revision %d) and %d containers from %s", len(kv), kv.revision,
                 len(scheduler.containers(states=list(ContainerState))), self.url)
        master = state.get("master", {})
        return master if isinstance(master, dict) else {}

    def start(self, kv: KeyValueStore, scheduler: Scheduler, master: Callable[[], Dict[str, Any]]) -> None:
        """Write the current state as a new generation and journal every change from now on;
        ``master`` gives the master's own fields."""
        self._kv, self._scheduler = kv, scheduler

        def dump() -> Dict[str, Any]:
            return {"kv": kv.dump(), "scheduler": scheduler.dump(), "master": master()}

        self.journal.start(dump)
        kv.recorder = lambda change: self.journal.append({"kv": change})
        scheduler.recorder = lambda change: self.journal.append({"scheduler": change})

    def record_master(self, **fields: Any) -> None:
        """Journal a change of the master's own fields (``progress``, ``address``)."""
        self.journal.append({"master": fields})

    def sync(self) -> None:
        """Wait until every change so far is written (see :meth:`Journal.sync`), unless
        :data:`SYNC_KEY` is false."""
        if self._waits:
            self.journal.sync()

    def close(self, *, reset_services: bool = False) -> None:
        """Stop journaling (once). With ``reset_services`` the journal keeps the key-value store
        only, so the next attempt starts the services afresh (the application failed)."""
        if self._closed:
            return
        self._closed = True
        for part in (self._kv, self._scheduler):
            if part is not None:
                part.recorder = None
        snapshot = {"kv": self._kv.dump()} if reset_services and self._kv is not None else None
        self.journal.close(snapshot)
