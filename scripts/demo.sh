#!/usr/bin/env bash
# From a fresh clone to a lab's narrated demo in one command:
#
#   bash scripts/demo.sh <cqrs|saga|resilience>
#
# Sets the machine up first (scripts/setup.sh: packages, Node 24 + pnpm, install,
# infrastructure), then runs `pnpm lab <lab> demo`. Run again, it skips straight to the demo.
set -euo pipefail

labs="cqrs saga resilience"
lab=${1:-}
if [[ -z $lab || " $labs " != *" $lab "* ]]; then
  echo "usage: bash scripts/demo.sh <${labs// /|}>" >&2
  exit 2
fi
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=SCRIPTDIR/setup.sh
source "$root/scripts/setup.sh"
cd "$root"
exec pnpm lab "$lab" demo
