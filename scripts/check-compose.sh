#!/usr/bin/env bash
# Validates docker-compose.yml and the Dockerfile without a Docker engine (CI has none).
#
#   bash scripts/check-compose.sh
#
# Two independent compose parsers, because each catches what the other lets through:
#   - Debian's docker-compose (v1.29): really loads the file, resolves anchors, merges, profiles
#     and depends_on conditions, and rejects unknown options; run for the base file and each profile.
#   - dclint: checks the file against the current Compose Specification schema (what Docker
#     Compose v2 reads), so a key that only v1 tolerates fails too.
# `docker compose` (v2) is used as well when this machine has it.
# The Dockerfile is linted with dockerfile-utils (the engine behind the VS Code Docker extension).
# Then cross-checks that only this repo can make: each service's build path is a package with
# src/start.ts, and each database a service is given is one the PostgreSQL init script creates.
# Finally the Dockerfile's install is made for each service and every import it loads resolved.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 2

compose_file=docker-compose.yml
profiles=(cqrs saga resilience)
init_sql=infra/postgres/init/10-service-databases.sql
dclint_version=3.1.0
dockerfile_utils_version=0.16.3

failed=0
ok() { echo "ok    $*"; }
bad() { echo "FAIL  $*"; failed=1; }
note() { echo "note  $*"; }

npx_quiet() { npx --yes --loglevel=error "$@"; }

# --- compose: Debian's docker-compose ----------------------------------------------------------
if command -v docker-compose >/dev/null; then
  v1=$(docker-compose version --short 2>/dev/null)
  if out=$(docker-compose -f "$compose_file" config -q 2>&1); then ok "docker-compose $v1: $compose_file"; else bad "docker-compose $v1: $compose_file"$'\n'"$out"; fi
  for p in "${profiles[@]}"; do
    if out=$(docker-compose -f "$compose_file" --profile "$p" config -q 2>&1); then
      ok "docker-compose $v1: profile $p"
    else
      bad "docker-compose $v1: profile $p"$'\n'"$out"
    fi
  done
else
  bad "docker-compose is not installed (Debian: apt-get install docker-compose)"
fi

# --- compose: Docker Compose v2, where present ------------------------------------------------
if docker compose version >/dev/null 2>&1; then
  for p in "" "${profiles[@]}"; do
    args=(-f "$compose_file")
    [[ -n $p ]] && args+=(--profile "$p")
    if out=$(docker compose "${args[@]}" config -q 2>&1); then ok "docker compose v2: ${p:-base}"; else bad "docker compose v2: ${p:-base}"$'\n'"$out"; fi
  done
else
  note "docker compose v2 is not available here; the schema check below stands in for it"
fi

# --- compose: Compose Specification schema -----------------------------------------------------
# -q: errors only. Its style warnings (key and service ordering) are opinions this file doesn't share.
if out=$(npx_quiet "dclint@$dclint_version" -q --color=false "$compose_file" 2>&1); then
  ok "dclint $dclint_version: $compose_file matches the Compose Specification"
else
  bad "dclint $dclint_version: $compose_file"$'\n'"$out"
fi

# --- Dockerfile --------------------------------------------------------------------------------
# dockerfile-utils exits 0 with warnings printed, so any output counts as a failure.
out=$(npx_quiet "dockerfile-utils@$dockerfile_utils_version" lint Dockerfile 2>&1)
if [[ $? -eq 0 && -z $out ]]; then ok "dockerfile-utils $dockerfile_utils_version: Dockerfile"; else bad "dockerfile-utils: Dockerfile"$'\n'"$out"; fi

# --- cross-checks ------------------------------------------------------------------------------
# SERVICE build args and DATABASE_URLs, read from the fully merged config of all profiles.
merged=$(docker-compose -f "$compose_file" --profile cqrs --profile saga --profile resilience config 2>/dev/null)
if [[ -n $merged ]]; then
  while read -r service; do
    if [[ ! -d $service ]]; then
      note "$service: not built yet"
    elif [[ -f $service/package.json && -f $service/src/start.ts ]]; then
      ok "$service: package with src/start.ts"
    else
      bad "$service: the image runs 'node src/start.ts' in it, but package.json or src/start.ts is missing"
    fi
  done < <(sed -n 's/^ *SERVICE: *//p' <<<"$merged" | sort -u)

  while read -r db; do
    if grep -q "('$db')" "$init_sql"; then ok "database $db: created by $init_sql"; else bad "database $db: a service uses it but $init_sql does not create it"; fi
  done < <(sed -n -e 's|^ *DATABASE_URL: *postgres://[^/]*/\([a-z0-9_]*\).*|\1|p' \
    -e 's|^ *DATABASE_NAME: *\([a-z0-9_]*\).*|\1|p' <<<"$merged" | sort -u)
fi

# --- images: the Dockerfile's install runs each service ----------------------------------------
# Without an engine the images are never built, so their install is made here: the Dockerfile's
# own --filter selector and production flags, in a copy of the tree (tracked and untracked files,
# .gitignore respected), from the store `pnpm install` filled. One install selects every service
# at once, as a dozen separate ones would take minutes: pnpm gives each package a node_modules of
# its own dependencies only, so a package missing from what a service's selector pulls in, or a
# dependency a package uses without declaring it, still fails to resolve. Then every package
# import each service would load (scripts/check-image-imports.ts) must resolve.
selector=$(sed -n 's/.*pnpm install .*--filter "\([^"]*\)".*/\1/p' Dockerfile)
services=$(sed -n 's/^ *SERVICE: *//p' <<<"$merged" | sort -u)
if [[ -z $selector ]]; then
  bad "Dockerfile: no pnpm install --filter \"...\" found to check"
elif [[ -z $services ]]; then
  bad "images: no SERVICE build argument found in the merged compose config"
else
  copy=$(mktemp -d)
  trap 'rm -rf "$copy"' EXIT
  git ls-files -z --cached --others --exclude-standard |
    tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -xf - -C "$copy"
  filters=()
  while read -r service; do filters+=(--filter "${selector//'${SERVICE}'/$service}"); done <<<"$services"
  if ! out=$(cd "$copy" && CI=true pnpm install --frozen-lockfile --prod --prefer-offline "${filters[@]}" 2>&1); then
    bad "images: pnpm install ${filters[*]} failed"$'\n'"$out"
  else
    while read -r service; do
      if out=$(node scripts/check-image-imports.ts "$copy" "$service" 2>&1); then
        ok "image $service: $out"
      else
        bad "image $service: $out"
      fi
    done <<<"$services"
  fi
fi

if ((failed)); then
  echo "compose check: FAILED"
  exit 1
fi
echo "compose check: passed"
