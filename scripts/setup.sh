#!/usr/bin/env bash
# Everything a lab needs on this machine, from a fresh clone, in one idempotent step:
#
#   1. system packages: PostgreSQL, Redis, a JDK and Maven (the Kafka broker), npm, Chromium (the
#      console's browser tests drive it headless) (Debian,
#      apt-get as root or through sudo; only what is missing)
#   2. Node 24 and pnpm into .tools/ (scripts/bootstrap.sh), first on PATH
#   3. pnpm install
#   4. pnpm infra:local up: PostgreSQL, Redis and a Kafka broker answering on their ports
#
#   bash scripts/setup.sh          do it all
#   source scripts/setup.sh        the same, and this shell keeps Node 24 and pnpm on PATH
#
# scripts/demo.sh, scripts/test.sh and .ci/run start with it. When everything is already in
# place it only checks, in seconds. It never stops or restarts anything that runs.

_lab_setup_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# A fresh machine may have a minimal PATH and no HOME (npm, pnpm and Maven keep caches there).
export PATH=${PATH:-/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin}
if [[ -z ${HOME:-} || ! -d $HOME ]]; then
  HOME=$(getent passwd "$(id -u)" | cut -d: -f6)
  export HOME
fi
# Node trusts only its bundled CAs; where the registry is reached through a TLS-inspecting
# proxy, the OS store is what holds the proxy's CA.
if [[ -z ${NODE_EXTRA_CA_CERTS:-} && -f /etc/ssl/certs/ca-certificates.crt ]]; then
  export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
fi

# setup_system_packages [command:package ...]: installs the package of every command that is
# missing, the lab's own list plus the pairs given (CI adds docker-compose).
setup_system_packages() {
  local pair missing=() sudo=()
  for pair in java:openjdk-17-jre-headless javac:openjdk-17-jdk-headless mvn:maven \
    pg_ctlcluster:postgresql redis-server:redis-server npm:npm chromium:chromium "$@"; do
    command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
  done
  if ((${#missing[@]} == 0)); then
    echo "setup: system packages all present"
    return 0
  fi
  echo "setup: installing ${missing[*]}"
  if ! command -v apt-get >/dev/null; then
    echo "setup: no apt-get here; install ${missing[*]} with this system's package manager" >&2
    return 1
  fi
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || {
      echo "setup: installing ${missing[*]} needs root or sudo" >&2
      return 1
    }
    sudo=(sudo)
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

setup_toolchain() {
  # shellcheck source=SCRIPTDIR/bootstrap.sh
  source "$_lab_setup_root/scripts/bootstrap.sh" || return 1
  echo "setup: node $(node --version), pnpm $(pnpm --version)"
}

setup_install() {
  (cd "$_lab_setup_root" && pnpm install --frozen-lockfile)
}

setup_infra() {
  (cd "$_lab_setup_root" && pnpm infra:local up)
}

setup_all() {
  setup_system_packages && setup_toolchain && setup_install && setup_infra
}

# `source scripts/setup.sh --functions` only defines the steps (CI times each one itself).
if [[ ${1:-} != --functions ]]; then
  setup_all
  _lab_setup_status=$?
  if [[ ${BASH_SOURCE[0]} != "$0" ]]; then return "$_lab_setup_status"; fi
  exit "$_lab_setup_status"
fi
