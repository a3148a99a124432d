#!/usr/bin/env bash
# From a fresh clone to every test passing in one command:
#
#   bash scripts/test.sh [vitest arguments]
#
# Sets the machine up first (scripts/setup.sh: packages, Node 24 + pnpm, install,
# infrastructure), then runs `pnpm test` with any arguments given. Run again, it skips
# straight to the tests.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=SCRIPTDIR/setup.sh
source "$root/scripts/setup.sh"
cd "$root"
exec pnpm test "$@"
