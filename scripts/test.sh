#!/usr/bin/env bash
# README's test command: set up this machine, then run every test (unit, mini
# cluster, and the integration scenarios against the mini cluster, or against
# the Hadoop named by PYARN_TEST_HADOOP_CONF_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec python3 -m pytest -q -p no:cacheprovider "$@"
