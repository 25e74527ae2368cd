"""Submission latency, and the ApplicationMaster's memory with 100 containers.

    python bench/bench_submit.py [--repeat 5] [--containers 100] [--conf-dir DIR] [--java-smoke]

Latency, per run, from the start of ``Client.submit(spec)`` (a spec with one
``sleep 60`` service) to:

* accepted: ``submit`` returned (files staged, the RM accepted the application);
* AM registered: the report says RUNNING with the master's RPC port;
* first container running: the master lists the service's container RUNNING;
* hello world finished: ``examples/hello-world.yaml`` from submit to FINISHED (separate runs).

On mini clusters started here (staging on their HDFS, and on ``file://``), and on ``--conf-dir`` (default
``$PYARN_TEST_HADOOP_CONF_DIR``), a real Hadoop, when given. ``--java-smoke``
also times ``realcluster.sh smoke`` (Hadoop's Java distributed shell running
``echo hi``, client JVM start to finish) beside pyarn's hello world.

Memory: ``pyarn-am``'s RSS (``/proc/<pid>/status`` VmRSS and VmHWM) on a
mini cluster big enough for ``--containers`` containers of 128 MiB running
``sleep 60``, once all of them run, beside the same AM with one container.

Numbers are printed, never asserted.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pyarn.client import Client  # noqa: E402
from pyarn.minicluster import MiniCluster  # noqa: E402
from pyarn.yarn.ids import ApplicationId  # noqa: E402
from pyarn.yarn.records import ApplicationState  # noqa: E402

REALCLUSTER = REPO.parent / "shared" / "realcluster" / "realcluster.sh"
POLL = 0.005
STEPS = ("accepted", "AM registered", "first container running")


def sleeper(instances: int = 1) -> dict:
    return {"name": "bench-submit", "services": {"sleeper": {
        "instances": instances, "resources": {"memory": 128, "vcores": 1}, "script": "sleep 60"}}}


def poll(check: Callable[[], object], timeout: float = 120.0) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError("gave up waiting")
        time.sleep(POLL)


def registered(client: Client, app_id: ApplicationId) -> bool:
    report = client.application_report(app_id)
    if report.state in (ApplicationState.FAILED, ApplicationState.KILLED, ApplicationState.FINISHED):
        raise RuntimeError(f"{app_id} ended: {report.diagnostics}")
    return report.state is ApplicationState.RUNNING and report.port > 0


def one_submission(client: Client) -> Dict[str, float]:
    began = time.perf_counter()
    app_id = client.submit(sleeper())
    times = {"accepted": time.perf_counter() - began}
    poll(lambda: registered(client, app_id))
    times["AM registered"] = time.perf_counter() - began
    with client.connect(app_id) as app:
        poll(lambda: app.get_containers(states=["RUNNING"]))
        times["first container running"] = time.perf_counter() - began
        app.shutdown("SUCCEEDED", "bench done")
    client.wait_for_completion(app_id, timeout=60)
    return times


def hello_world(client: Client) -> float:
    began = time.perf_counter()
    app_id = client.submit(REPO / "examples" / "hello-world.yaml")
    poll(lambda: client.application_report(app_id).state is ApplicationState.FINISHED)
    return time.perf_counter() - began


def latencies(client: Client, repeat: int) -> Dict[str, List[float]]:
    runs: Dict[str, List[float]] = {step: [] for step in (*STEPS, "hello world finished")}
    for _ in range(repeat):
        for step, seconds in one_submission(client).items():
            runs[step].append(seconds)
        runs["hello world finished"].append(hello_world(client))
    return runs


def java_smoke(repeat: int) -> List[float]:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        subprocess.run(["bash", str(REALCLUSTER), "smoke"], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - began)
    return times


# ---------------------------------------------------------------- memory


def am_pid(app_id: ApplicationId) -> int:
    """The pid of the application's ``pyarn-am`` (found by its command line and CONTAINER_ID)."""
    tag = str(app_id).removeprefix("application_")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if b"\0-m\0pyarn.am\0" in cmdline and f"CONTAINER_ID=container_{tag}_".encode() in environ:
            return int(entry.name)
    raise LookupError(f"no pyarn-am process of {app_id}")


def rss_kib(pid: int) -> Tuple[int, int]:
    """(VmRSS, VmHWM) in KiB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                  if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def am_memory(client: Client, containers: int) -> Tuple[int, int, float]:
    """(RSS, peak RSS) of the AM once ``containers`` containers run, and the seconds that took."""
    began = time.perf_counter()
    app_id = client.submit(sleeper(containers))
    with client.connect(app_id, timeout=120) as app:
        poll(lambda: len(app.get_containers(states=["RUNNING"])) >= containers, timeout=300)
        took = time.perf_counter() - began
        time.sleep(1.0)  # a few heartbeats with everything running
        rss, peak = rss_kib(am_pid(app_id))
        app.shutdown("SUCCEEDED", "bench done")
    client.wait_for_completion(app_id, timeout=120)
    return rss, peak, took


# ---------------------------------------------------------------- output


def print_latencies(title: str, runs: Dict[str, List[float]]) -> None:
    print(f"\n{title}")
    count = len(next(iter(runs.values())))
    print(f"  {'from submit to':28} {'median':>9} {'min':>9} {'max':>9}   ({count} runs)")
    for step, values in runs.items():
        print(f"  {step:28} {statistics.median(values) * 1000:7.0f}ms {min(values) * 1000:7.0f}ms "
              f"{max(values) * 1000:7.0f}ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--containers", type=int, default=100)
    parser.add_argument("--conf-dir", default=os.environ.get("PYARN_TEST_HADOOP_CONF_DIR", ""),
                        help="a real cluster to measure too (default: $PYARN_TEST_HADOOP_CONF_DIR)")
    parser.add_argument("--java-smoke", action="store_true",
                        help="also time Hadoop's distributed shell (realcluster.sh smoke) on that cluster")
    args = parser.parse_args()
    os.environ.setdefault("PYARN_HOME", tempfile.mkdtemp(prefix="pyarn-bench-home-"))

    for hdfs in (True, False):
        with MiniCluster(nodes=2, hdfs=hdfs) as cluster, Client(cluster.conf_dir) as client:
            one_submission(client)  # warm up: imports, first connections
            staging = "its HDFS" if hdfs else "file://"
            print_latencies(f"mini cluster (2 nodes, staging on {staging})", latencies(client, args.repeat))

    conf_dir: Optional[str] = args.conf_dir or None
    if conf_dir:
        with Client(conf_dir, python=sys.executable) as client:
            one_submission(client)
            runs = latencies(client, args.repeat)
            if args.java_smoke and REALCLUSTER.exists():
                runs["java distributed shell echo"] = java_smoke(args.repeat)
            print_latencies(f"real cluster ({conf_dir}, staging on its fs.defaultFS)", runs)

    n = args.containers
    nodes = max(2, -(-(n * 128 + 512) // 4096))
    with MiniCluster(nodes=nodes, memory_mb=4096, vcores=max(4, -(-(n + 1) // nodes))) as cluster, \
            Client(cluster.conf_dir) as client:
        print(f"\npyarn-am memory (mini cluster of {nodes} nodes, services of 128 MiB running sleep 60)")
        for count in (1, n):
            rss, peak, took = am_memory(client, count)
            print(f"  {count:4d} container(s): RSS {rss / 1024:6.1f} MiB, peak {peak / 1024:6.1f} MiB "
                  f"(all running {took:.1f} s after submit)")


if __name__ == "__main__":
    main()
