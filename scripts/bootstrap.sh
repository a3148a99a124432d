#!/usr/bin/env bash
# Makes Node 24 and pnpm available without touching the machine's own Node.
#
#   source scripts/bootstrap.sh     # installs if needed, then puts .tools/bin first on PATH
#   bash scripts/bootstrap.sh       # installs if needed and prints the PATH line to use
#
# Node comes from the npm registry's `node` package (it carries the real binary), pnpm from
# the `pnpm` package; both land in the git-ignored .tools/ folder. Idempotent: a second run
# only checks versions.

_lab_bootstrap_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# A subshell, so `set -e` and the helpers stay out of the shell that sources this file.
(
  set -euo pipefail
  root=$_lab_bootstrap_root
  tools="$root/.tools"
  node_version=$(tr -d '[:space:]' <"$root/.node-version")
  pnpm_version=$(sed -n 's/.*"packageManager": *"pnpm@\([^"]*\)".*/\1/p' "$root/package.json")

  have_version() { [[ -x $1 ]] && [[ $("$1" --version 2>/dev/null) == "$2" ]]; }

  mkdir -p "$tools/bin"
  if ! have_version "$tools/bin/node" "v$node_version"; then
    echo "bootstrap: installing node $node_version into .tools/" >&2
    command -v npm >/dev/null || { echo "bootstrap: npm is needed once to fetch Node $node_version" >&2; exit 1; }
    rm -rf "$tools/node"
    npm install --silent --no-audit --no-fund --prefix "$tools/node" "node@$node_version" >&2
    ln -sf "$tools/node/node_modules/node/bin/node" "$tools/bin/node"
    have_version "$tools/bin/node" "v$node_version" || { echo "bootstrap: node $node_version did not install" >&2; exit 1; }
  fi

  if ! have_version "$tools/bin/pnpm" "$pnpm_version"; then
    echo "bootstrap: installing pnpm $pnpm_version into .tools/" >&2
    rm -rf "$tools/pnpm"
    PATH="$tools/bin:$PATH" npm install --silent --no-audit --no-fund --prefix "$tools/pnpm" "pnpm@$pnpm_version" >&2
    # A wrapper rather than a symlink so pnpm always runs on the project's Node, whatever PATH says.
    printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$tools/bin/node" \
      "$tools/pnpm/node_modules/pnpm/bin/pnpm.mjs" >"$tools/bin/pnpm"
    chmod +x "$tools/bin/pnpm"
    have_version "$tools/bin/pnpm" "$pnpm_version" || { echo "bootstrap: pnpm $pnpm_version did not install" >&2; exit 1; }
  fi
)
_lab_bootstrap_status=$?

if [[ $_lab_bootstrap_status -eq 0 ]]; then
  if [[ ${BASH_SOURCE[0]} != "$0" ]]; then
    case ":$PATH:" in
      *":$_lab_bootstrap_root/.tools/bin:"*) ;;
      *) export PATH="$_lab_bootstrap_root/.tools/bin:$PATH" ;;
    esac
  else
    echo "export PATH=\"$_lab_bootstrap_root/.tools/bin:\$PATH\""
  fi
fi
unset _lab_bootstrap_root
if [[ ${BASH_SOURCE[0]} != "$0" ]]; then return "$_lab_bootstrap_status"; else exit "$_lab_bootstrap_status"; fi
