"""Key-value store benchmark: puts/s with and without the AM's journal.

Two levels, each with 1 and 8 calling threads:

* ``store``: ``KeyValueStore.put`` called in process (the journal's cost stands out);
* ``ipc``: ``app.kv.put`` through pyarn's IPC server and the AM's handler, as a
  container would call it (one ApplicationClient per thread).

``--journal none`` runs the store unjournaled; ``file`` journals into a
temporary local directory; ``hdfs://host:port/dir`` journals into HDFS (e.g.
the real cluster's NameNode). ``--no-sync`` answers puts before they are
journaled (``pyarn.am.journal.sync=false``). Numbers are printed, never asserted.
Run: ``python bench/bench_am_kv.py [--journal none|file|hdfs://...] [--no-sync] [--seconds 3]``.
"""
from __future__ import annotations

import argparse
import tempfile
import threading
import time
import uuid
from typing import Callable, List, Optional

from hadoop_protos import pyarn_pb2 as pb
from hadoop_protos.pyarn_rpc import PYARN_APP_MASTER
from pyarn.am.kvstore import KeyValueStore
from pyarn.am.scheduler import Scheduler
from pyarn.am.security import AppSecretManager
from pyarn.am.service import AppMasterHandler
from pyarn.am.staging import clean_staging
from pyarn.app_client import ApplicationClient
from pyarn.application.security import new_secret
from pyarn.conf import Configuration
from pyarn.ipc import IpcServer, ServerAuth
from pyarn.ipc.constants import AuthMethod
from pyarn.spec import ApplicationSpec

APP_ID = "application_1700000000000_0042"
SPEC = {"services": {"web": {"resources": {"memory": 128, "vcores": 1}, "script": "sleep 1"}}}
VALUE = b"v" * 64


def measure(make_put: Callable[[], Callable[[int], None]], threads: int, seconds: float) -> float:
    """Puts per second over ``seconds`` on ``threads`` threads."""
    puts = [make_put() for _ in range(threads)]
    counts = [0] * threads
    start = threading.Barrier(threads + 1)
    stop = threading.Event()

    def run(i: int) -> None:
        put, n = puts[i], 0
        start.wait()
        while not stop.is_set():
            put(n)
            n += 1
        counts[i] = n

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    start.wait()
    began = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for w in workers:
        w.join()
    return sum(counts) / (time.perf_counter() - began)


def build(journal: str, root: str, sync: bool):
    """The scheduler, store and handler, journaled as asked; returns them with a closer."""
    spec = ApplicationSpec.from_dict(SPEC)
    scheduler = Scheduler(spec)
    store = KeyValueStore(owner_check=scheduler.owner_check)
    scheduler.start()
    if journal == "none":
        handler = AppMasterHandler(spec, scheduler, store, lambda actions: None, lambda p: None)
        return store, handler, store.close
    from pyarn.am.recovery import Recovery

    url = f"file://{root}" if journal == "file" else journal.rstrip("/") + f"/{uuid.uuid4().hex}"
    recovery = Recovery.open(url, Configuration({"pyarn.am.journal.sync": str(sync).lower()}), None)
    recovery.recover(store, scheduler)
    recovery.start(store, scheduler, dict)
    handler = AppMasterHandler(spec, scheduler, store, lambda actions: None, lambda p: None, recovery.sync)

    def close() -> None:
        store.close()
        recovery.close()
        if journal != "file":
            clean_staging(url, Configuration())

    return store, handler, close


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journal", default="none", help="none, file or an hdfs:// directory URL")
    parser.add_argument("--no-sync", dest="sync", action="store_false",
                        help="answer puts before they are journaled")
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pyarn-bench-journal-") as root:
        store, handler, close = build(args.journal, root, args.sync)
        label = "journal=" + ("none" if args.journal == "none" else args.journal.split(":")[0]) + (
            "" if args.sync else " (no sync)")
        try:
            for threads in (1, 8):
                def in_process(thread=[0]) -> Callable[[int], None]:  # noqa: B006
                    thread[0] += 1
                    prefix = f"store/{thread[0]}/"
                    return lambda n: store.put(pb.PutRequestProto(key=f"{prefix}{n % 1000}", value=VALUE))
                rate = measure(in_process, threads, args.seconds)
                print(f"{label:28} store threads={threads}: {rate:10.0f} puts/s")
            secret = new_secret()
            auth = ServerAuth(methods=(AuthMethod.TOKEN,), secret_manager=AppSecretManager(APP_ID, secret))
            with IpcServer(auth=auth, handler_threads=handler.handler_threads) as server:
                server.register(PYARN_APP_MASTER, handler)
                clients: List[ApplicationClient] = []

                def over_ipc() -> Callable[[int], None]:
                    client = ApplicationClient(server.address_string, APP_ID, secret)
                    clients.append(client)
                    prefix = f"ipc/{len(clients)}/"
                    return lambda n: client.kv.put(f"{prefix}{n % 1000}", VALUE)

                for threads in (1, 8):
                    rate = measure(over_ipc, threads, args.seconds)
                    print(f"{label:28} ipc   threads={threads}: {rate:10.0f} puts/s")
                for client in clients:
                    client.close()
        finally:
            close()


if __name__ == "__main__":
    main()
