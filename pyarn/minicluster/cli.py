"""``pyarn minicluster start``: run a mini cluster in the foreground.

It prints ``export HADOOP_CONF_DIR=...`` on stdout as soon as the cluster
is up, then runs until Ctrl-C or SIGTERM, when it kills every container it
started and stops. ``pyarn``'s command line hooks :func:`add_parser` and
:func:`run` in; ``python -m pyarn.minicluster`` runs :func:`main`.
"""
from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
from typing import Dict, List, Optional

from .cluster import MiniCluster


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``minicluster`` command (with its ``start`` action) to ``subparsers``."""
    parser = subparsers.add_parser("minicluster", help="run pyarn's pure-Python mini cluster",
                                   description=DESCRIPTION)
    _add_actions(parser)
    return parser


DESCRIPTION = ("A pure-Python YARN (ResourceManager and NodeManagers) and HDFS (NameNode and DataNodes) "
               "on this machine.")


def _add_actions(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    start = actions.add_parser(
        "start", help="run a mini cluster in the foreground",
        description="Start a mini cluster, print the HADOOP_CONF_DIR to use, and run until Ctrl-C or "
                    "SIGTERM.")
    start.add_argument("--nodes", type=_positive, default=2, help="number of NodeManagers (default 2)")
    start.add_argument("--memory-mb", type=_positive, default=4096, help="memory of each NodeManager in MiB "
                       "(default 4096)")
    start.add_argument("--vcores", type=_positive, default=4, help="vcores of each NodeManager (default 4)")
    start.add_argument("--datanodes", type=_positive, default=1, help="number of DataNodes (default 1)")
    start.add_argument("--no-hdfs", dest="hdfs", action="store_false",
                       help="no HDFS: the default file system is the local one (file:///)")
    start.add_argument("--workdir", help="keep configuration, local and log directories here "
                       "(default: a temporary directory, removed at the end)")
    start.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE",
                       help="a YARN setting, e.g. yarn.am.liveness-monitor.expiry-interval-ms=5000 "
                            "(repeatable)")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _settings(pairs: List[str]) -> Dict[str, str]:
    settings = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise SystemExit(f"pyarn minicluster: error: --conf {pair!r}: expected KEY=VALUE")
        settings[key.strip()] = value.strip()
    return settings


def run(args: argparse.Namespace, stop: Optional[threading.Event] = None) -> int:
    """Run the parsed ``minicluster`` command; returns the exit status.

    ``stop`` ends the cluster when set (signals set it otherwise).
    """
    stop = stop or threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        with MiniCluster(nodes=args.nodes, memory_mb=args.memory_mb, vcores=args.vcores, workdir=args.workdir,
                         conf=_settings(args.conf), hdfs=args.hdfs, datanodes=args.datanodes) as cluster:
            print(f"export HADOOP_CONF_DIR={shlex.quote(cluster.conf_dir)}", flush=True)
            hdfs = (f"HDFS at {cluster.default_fs} with {args.datanodes} DataNode(s)" if args.hdfs
                    else "no HDFS (fs.defaultFS is file:///)")
            print(f"pyarn mini cluster: ResourceManager at {cluster.rm_address} (scheduler "
                  f"{cluster.scheduler_address}), {args.nodes} NodeManager(s) of {args.memory_mb} MiB and "
                  f"{args.vcores} vcores, {hdfs}, started in {cluster.start_seconds:.3f} s; Ctrl-C stops it",
                  file=sys.stderr, flush=True)
            while not stop.wait(0.5):
                pass
            print("pyarn mini cluster: stopping", file=sys.stderr, flush=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """``python -m pyarn.minicluster start [...]``."""
    parser = argparse.ArgumentParser(prog="python -m pyarn.minicluster", description=DESCRIPTION)
    _add_actions(parser)
    return run(parser.parse_args(sys.argv[1:] if argv is None else argv))
