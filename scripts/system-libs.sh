#!/usr/bin/env bash
# Install the system libraries that Python packages of requirements/base.txt load, when they are missing.
#
#   libodbc.so.2 (Debian: libodbc2, unixODBC's driver manager): mssql-django imports pyodbc when the `pacs`
#   alias is SQL Server, even through Microsoft's mssql-python driver. No SQL Server ODBC driver is needed.
#
# Run by `make venv` (so by `make test` and `make demo`); a no-op when everything is present.
set -euo pipefail

missing=()
ldconfig -p 2>/dev/null | grep -q 'libodbc\.so\.2 ' || missing+=(libodbc2)
((${#missing[@]})) || exit 0

if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  echo "system-libs: missing ${missing[*]}; install them with apt-get (as root)" >&2
  exit 1
fi
echo "system-libs: installing ${missing[*]} (apt-get)..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
