"""How long pyarn and Hadoop's Java clients take to give up on servers that are down.

    python bench/bench_unreachable.py [--hadoop-defaults] [--classpath CP] [--java JAVA]

Each case writes a client configuration whose servers are closed ports (nothing listens) and
runs, as child processes, pyarn's library (its default retry policy, ``RetryPolicy.from_conf``),
pyarn's CLI and the Java client on it, once each. Cases: one NameNode (``FsShell -ls /``), an
HA nameservice of two NameNodes (``FsShell -ls /``), one ResourceManager (``ApplicationCLI
application -list``). The nameservice and RM cases shorten Hadoop's waits
(``dfs.client.failover.max.attempts=4``, sleeps 100-400 ms; ``yarn.resourcemanager.connect.
max-wait.ms=3000``, ``retry-interval.ms=1000``, ``ipc.client.connect.max.retries=2``) unless
``--hadoop-defaults`` (then about 3 and 20 minutes). The Java classpath defaults to
``realcluster.sh classpath yarn``. Rows give the wall time, the exit status and, for the
library, the attempts and connections its error reports. Numbers are printed, never asserted.
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

REPO = Path(__file__).resolve().parent.parent
REALCLUSTER = REPO.parent / "shared" / "realcluster" / "realcluster.sh"
FSSHELL = "org.apache.hadoop.fs.FsShell"
APPLICATION_CLI = "org.apache.hadoop.yarn.client.cli.ApplicationCLI"
PROVIDER = "org.apache.hadoop.hdfs.server.namenode.ha.ConfiguredFailoverProxyProvider"

#: The library call, in a child process; prints "attempts=N connections=M".
LIBRARY = """
import re, sys
from pyarn.conf import Configuration
from pyarn.errors import FailoverExhaustedError
conf = Configuration.load(sys.argv[2])
try:
    if sys.argv[1] == "hdfs":
        from pyarn.hdfs import HDFS
        with HDFS(conf=conf) as fs:
            fs.stat("/")
    else:
        from pyarn.client import Client
        with Client(conf=conf) as client:
            client.get_applications()
except FailoverExhaustedError as exc:
    connections = sum(int(m.group(1)) if m else 1 for _, e in exc.attempts
                      for m in [re.search(r"\\((\\d+) connection attempts\\)$", str(e))])
    print(f"attempts={len(exc.attempts)} connections={connections}")
    sys.exit(1)
"""


def closed_port() -> str:
    with socket.create_server(("127.0.0.1", 0)) as s:
        return f"127.0.0.1:{s.getsockname()[1]}"


def write_conf(directory: Path, values: Dict[str, str]) -> None:
    """The same properties in core-, hdfs- and yarn-site.xml (the last loaded wins in Java)."""
    directory.mkdir(parents=True, exist_ok=True)
    body = "".join(f"  <property><name>{k}</name><value>{v}</value></property>\n" for k, v in values.items())
    for name in ("core-site.xml", "hdfs-site.xml", "yarn-site.xml"):
        (directory / name).write_text(f'<?xml version="1.0"?>\n<configuration>\n{body}</configuration>\n')


def cases(full: bool) -> List[Tuple[str, str, Dict[str, str]]]:
    """(name, service, configuration) of each case."""
    nn, nn1, nn2, rm = closed_port(), closed_port(), closed_port(), closed_port()
    quick_hdfs = {} if full else {"dfs.client.failover.max.attempts": "4",
                                  "dfs.client.failover.sleep.base.millis": "100",
                                  "dfs.client.failover.sleep.max.millis": "400"}
    quick_rm = {} if full else {"yarn.resourcemanager.connect.max-wait.ms": "3000",
                                "yarn.resourcemanager.connect.retry-interval.ms": "1000",
                                "ipc.client.connect.max.retries": "2"}
    return [
        ("one NameNode", "hdfs", {"fs.defaultFS": f"hdfs://{nn}"}),
        ("HA nameservice, 2 NameNodes", "hdfs", {
            "fs.defaultFS": "hdfs://ns", "dfs.nameservices": "ns", "dfs.ha.namenodes.ns": "nn1,nn2",
            "dfs.namenode.rpc-address.ns.nn1": nn1, "dfs.namenode.rpc-address.ns.nn2": nn2,
            "dfs.client.failover.proxy.provider.ns": PROVIDER, **quick_hdfs}),
        ("one ResourceManager", "yarn", {"yarn.resourcemanager.address": rm, **quick_rm}),
    ]


def timed(argv: Sequence[str], env: Dict[str, str]) -> Tuple[float, int, str]:
    """Wall time, exit status and last line of output of ``argv``."""
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    lines = done.stdout.strip().splitlines()
    return time.perf_counter() - start, done.returncode, lines[-1] if lines else ""


def _realcluster(*args: str) -> Optional[str]:
    if not REALCLUSTER.is_file():
        return None
    done = subprocess.run([str(REALCLUSTER), *args], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hadoop-defaults", action="store_true",
                        help="keep Hadoop's failover counts and waits (minutes)")
    parser.add_argument("--classpath", help="Java classpath with the Hadoop HDFS and YARN clients")
    parser.add_argument("--java", default=shutil.which("java") or "java")
    args = parser.parse_args(argv)
    classpath = (args.classpath or os.environ.get("PYARN_TEST_HADOOP_CLASSPATH")
                 or _realcluster("classpath", "yarn"))
    pyarn_script = shutil.which("pyarn")
    pyarn = [pyarn_script] if pyarn_script else [sys.executable, "-m", "pyarn.cli"]
    print(f"{'case':30} {'client':28} {'wall s':>8} {'exit':>5}  reported")
    with tempfile.TemporaryDirectory(prefix="pyarn-bench-unreachable-") as tmp:
        for index, (name, service, values) in enumerate(cases(args.hadoop_defaults)):
            conf_dir = Path(tmp) / str(index)
            write_conf(conf_dir, values)
            env = dict(os.environ, HADOOP_CONF_DIR=str(conf_dir), YARN_CONF_DIR=str(conf_dir))
            cli = ["fs", "stat", "/"] if service == "hdfs" else ["application", "ls"]
            commands = {"pyarn library": [sys.executable, "-c", LIBRARY, service, str(conf_dir)],
                        f"pyarn {' '.join(cli)}": [*pyarn, *cli]}
            if classpath:
                java = [args.java, "-cp", f"{conf_dir}:{classpath}"]
                commands["java " + ("FsShell -ls /" if service == "hdfs" else "ApplicationCLI -list")] = (
                    [*java, FSSHELL, "-ls", "/"] if service == "hdfs"
                    else [*java, APPLICATION_CLI, "application", "-list"])
            for client, command in commands.items():
                wall, status, last = timed(command, env)
                reported = last if client == "pyarn library" else ""
                print(f"{name:30} {client:28} {wall:8.1f} {status:5d}  {reported}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
