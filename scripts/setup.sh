#!/usr/bin/env bash
# Install what pyarn's tests need on a fresh Debian machine: the Python package
# with its test extras, and MIT Kerberos (a KDC for the GSSAPI tests, and the
# headers the `gssapi` package builds against). Idempotent; safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1

need_apt=()
for cmd_pkg in krb5kdc:krb5-kdc kadmin.local:krb5-admin-server kinit:krb5-user krb5-config:libkrb5-dev; do
  command -v "${cmd_pkg%%:*}" >/dev/null 2>&1 || need_apt+=("${cmd_pkg##*:}")
done
if [ "${#need_apt[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: apt-get install ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "setup: missing ${need_apt[*]} (not root or no apt-get): Kerberos tests will be skipped" >&2
  fi
fi

extras="test"
command -v krb5-config >/dev/null 2>&1 && extras="test,kerberos"
python3 -m pip install -q -e ".[${extras}]"
