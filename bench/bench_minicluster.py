"""How long a 2-node mini cluster takes to start, and to run the main AM scenario.

    python bench/bench_minicluster.py [--repeat 5] [--conf-dir DIR]

* import: ``import pyarn.minicluster`` in a fresh interpreter (protobuf tables included);
* start: ``MiniCluster(nodes=2).start()`` (RM, scheduler and NM servers, conf dir);
* stop: killing and stopping everything, temporary workdir removed;
* scenario: the issue's scenario (tests/minicluster/rawam.py ``run_echo_scenario``):
  submit an unmanaged AM, register, allocate 3 containers, start 3 ``echo``
  commands through the NodeManagers, collect their exit codes, finish.

With ``--conf-dir`` the scenario also runs against that cluster (a real Hadoop,
for comparison). Numbers are printed, never asserted.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pyarn.minicluster import MiniCluster  # noqa: E402
from tests.minicluster.rawam import Cluster, run_echo_scenario  # noqa: E402


def import_seconds() -> float:
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import pyarn.minicluster"], check=True, cwd=REPO)
    return time.perf_counter() - began


def measure(repeat: int, conf_dir: str = "") -> Dict[str, List[float]]:
    times: Dict[str, List[float]] = {"import (fresh interpreter)": [], "start (2 nodes)": [], "scenario": [],
                                     "stop": []}
    if conf_dir:
        times["scenario on --conf-dir"] = []
    for _ in range(repeat):
        times["import (fresh interpreter)"].append(import_seconds())
        began = time.perf_counter()
        cluster = MiniCluster(nodes=2).start()
        times["start (2 nodes)"].append(time.perf_counter() - began)
        try:
            with Cluster(cluster.conf_dir) as client:
                times["scenario"].append(timed(lambda: run_echo_scenario(client, name="bench-minicluster")))
        finally:
            began = time.perf_counter()
            cluster.stop()
            times["stop"].append(time.perf_counter() - began)
        if conf_dir:
            with Cluster(conf_dir) as client:
                times["scenario on --conf-dir"].append(
                    timed(lambda: run_echo_scenario(client, name="bench-minicluster")))
    return times


def timed(action: Callable[[], object]) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--conf-dir", default="", help="also run the scenario on this cluster")
    args = parser.parse_args()
    times = measure(args.repeat, args.conf_dir)
    print(f"{'step':28} {'median':>9} {'min':>9} {'max':>9}   ({args.repeat} runs)")
    for step, values in times.items():
        print(f"{step:28} {statistics.median(values) * 1000:7.1f}ms {min(values) * 1000:7.1f}ms "
              f"{max(values) * 1000:7.1f}ms")


if __name__ == "__main__":
    main()
