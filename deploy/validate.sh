#!/usr/bin/env bash
# Validates the deployment files with the real tools, as an operator's machine would read
# them, without a Docker engine: nginx -t (lb), nats-server -t (NATS), promtool (Prometheus),
# the ShellCheck linter (shell scripts) and docker-compose config (compose file). .ci/run runs
# it; run it by hand the same way: `bash deploy/validate.sh` from the repository root.
#
# A validator that is missing is installed from Debian (--no-install-recommends: no Docker
# engine comes with docker-compose); one that cannot be installed FAILS the run.
#
# Two documented substitutions, because Debian 12 ships older servers than compose runs:
# - nginx 1.22 has no `resolve` server parameter (nginx >= 1.27.3; compose runs 1.28) and
#   resolves upstream names when it reads the file: the file checked is nginx.conf with
#   `resolve` dropped and the compose service names in `server` lines replaced by 127.0.0.1,
#   and the include directory pointed at a copy of deploy/nginx. Nothing else changes.
# - nats-server 2.9 rejects `sync_interval` (2.10+; compose runs 2.12): the file checked is
#   nats.conf without its sync_interval line. No npm package ships a newer nats-server.
set -euo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Runs one check and prints how long it took.
timed() {
  local name=$1 start end
  shift
  start=$(date +%s%N)
  "$@"
  end=$(date +%s%N)
  printf '%s: ok (%d ms)\n' "$name" $(((end - start) / 1000000))
}

# Debian packages of the validators, installed in one apt-get run when any is missing; a
# validator still missing afterwards fails the run.
validators=(nginx:nginx nats-server:nats-server promtool:prometheus shellcheck:shellcheck
  docker-compose:docker-compose)
start=$(date +%s%N)
missing=()
for v in "${validators[@]}"; do
  command -v "${v%%:*}" >/dev/null 2>&1 || missing+=("${v#*:}")
done
if ((${#missing[@]})); then
  echo "installing ${missing[*]}"
  if ! { apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null; }; then
    echo "deploy/validate.sh: could not install ${missing[*]} (apt-get failed)" >&2
    exit 1
  fi
fi
for v in "${validators[@]}"; do
  if ! command -v "${v%%:*}" >/dev/null 2>&1; then
    echo "deploy/validate.sh: ${v%%:*} is missing (Debian package ${v#*:})" >&2
    exit 1
  fi
done
printf 'validators present (%d ms)\n' $((($(date +%s%N) - start) / 1000000))

check_nginx() {
  mkdir -p "$tmp/nginx/mosaic"
  cp deploy/nginx/real-ip.conf "$tmp/nginx/mosaic/real-ip.conf"
  sed -E \
    -e 's/^( *server )[a-z0-9-]+:([0-9]+) resolve\b/\1127.0.0.1:\2/' \
    -e "s#/etc/nginx/mosaic/#$tmp/nginx/mosaic/#" \
    deploy/nginx/nginx.conf >"$tmp/nginx/nginx.conf"
  # Only the two documented changes: a `resolve` left over means a server line was missed.
  if grep -qE '^ *server .*\bresolve\b' "$tmp/nginx/nginx.conf"; then
    echo "nginx.conf: a 'resolve' server parameter the substitution did not handle" >&2
    return 1
  fi
  nginx -q -t -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf"
}

check_nats() {
  grep -qE '^\s*sync_interval:' deploy/nats/nats.conf
  sed -E '/^\s*sync_interval:/d' deploy/nats/nats.conf >"$tmp/nats.conf"
  local out
  out=$(NATS_USER=ci NATS_PASSWORD=ci nats-server -t -c "$tmp/nats.conf" 2>&1) || {
    echo "$out" >&2
    return 1
  }
}

check_prometheus() {
  promtool check config deploy/prometheus/prometheus.yml >/dev/null
}

check_shell() {
  shellcheck .ci/run deploy/*.sh deploy/*/*.sh
}

check_compose() {
  # Every secret is required; .env.example's placeholders satisfy compose (Mosaic refuses them).
  docker-compose --env-file .env.example -f docker-compose.yml config -q
}

timed "nginx -t (deploy/nginx/nginx.conf, resolve substituted)" check_nginx
timed "nats-server -t (deploy/nats/nats.conf without sync_interval)" check_nats
timed "promtool check config (deploy/prometheus/prometheus.yml)" check_prometheus
timed "shellcheck (.ci/run, deploy/**/*.sh)" check_shell
timed "docker-compose config (docker-compose.yml with .env.example)" check_compose
