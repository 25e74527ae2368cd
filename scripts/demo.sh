#!/usr/bin/env bash
# pyarn's main job on a fresh machine, no Hadoop and no Java needed: install pyarn,
# start the embedded mini cluster, run examples/hello-world.yaml on it with
# `pyarn application submit --wait`, show where the service's output went, and
# stop the cluster. The cluster's directories (logs included) are kept under
# $PYARN_DEMO_DIR (default: a new temporary directory) for a look afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore

"$PYTHON" -m pip install -q -e .
# The `pyarn` command, whether or not pip's script directory is on PATH.
pyarn() { "$PYTHON" -c 'import sys; from pyarn.cli import main; sys.exit(main())' "$@"; }

demo_dir=${PYARN_DEMO_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/pyarn-demo.XXXXXX")}
mkdir -p "$demo_dir"
"$PYTHON" -m pyarn.minicluster start --workdir "$demo_dir/cluster" \
  >"$demo_dir/minicluster.out" 2>"$demo_dir/minicluster.log" &
cluster_pid=$!
stop_cluster() {
  kill "$cluster_pid" 2>/dev/null && wait "$cluster_pid" 2>/dev/null || true
}
trap stop_cluster EXIT

# The mini cluster prints `export HADOOP_CONF_DIR=...` once it is up.
for _ in $(seq 300); do
  grep -q '^export HADOOP_CONF_DIR=' "$demo_dir/minicluster.out" 2>/dev/null && break
  kill -0 "$cluster_pid" 2>/dev/null || { cat "$demo_dir/minicluster.log" >&2; exit 1; }
  sleep 0.1
done
eval "$(grep '^export HADOOP_CONF_DIR=' "$demo_dir/minicluster.out")"
echo "== mini cluster up: HADOOP_CONF_DIR=$HADOOP_CONF_DIR"

echo "== pyarn application submit examples/hello-world.yaml --wait"
status=0
pyarn application submit examples/hello-world.yaml --wait | tee "$demo_dir/submit.out" || status=$?
app_id=$(head -n 1 "$demo_dir/submit.out")

# Container logs: <cluster>/nm-<i>/logs/<app id>/<container id>/{stdout,stderr}; container 000001 is
# the application master (pyarn-am), the others run the services.
echo "== where the output is"
for log_dir in "$demo_dir"/cluster/nm-*/logs/"$app_id"/container_*; do
  [ -d "$log_dir" ] || continue
  case "$log_dir" in
    *_000001) echo "application master log: $log_dir/stderr" ;;
    *) echo "service container stdout: $log_dir/stdout"
       sed 's/^/    /' "$log_dir/stdout" ;;
  esac
done
echo "== stopping the mini cluster (its directories stay in $demo_dir)"
exit "$status"
