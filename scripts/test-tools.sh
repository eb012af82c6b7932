#!/usr/bin/env bash
# Install the system tools the test suite drives, when they are missing (run by `make test`; a no-op otherwise):
#
#   chromium (Debian's): the real browser the parcel map's test drives through Playwright (which cannot download
#   its own browser here).
#   postgresql-<major>-postgis-3: PostGIS for the publication test's GIS database, for each PostgreSQL server
#   installed here (the machine's, and the one scripts/with-services.sh starts from the same binaries).
#
# Without root or apt-get it says what is missing and goes on: the tests that need a tool skip, saying why.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
for share in /usr/share/postgresql/*/; do
  major=$(basename "$share")
  [[ -e $share/extension/postgis.control ]] || missing+=("postgresql-$major-postgis-3")
done
((${#missing[@]})) || exit 0

if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  echo "test-tools: missing ${missing[*]} (install with apt-get as root); the tests needing them will skip" >&2
  exit 0
fi
echo "test-tools: installing ${missing[*]} (apt-get)..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
