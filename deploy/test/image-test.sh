#!/usr/bin/env bash
# Proves deploy/Dockerfile: builds it (against a local stand-in for the Node 24 base, since no container registry
# is reachable from CI), runs the image with a read-only root filesystem, the Kubernetes config file and secret
# files mounted, against a Kask emulator and a redis-server this script starts on the host (host networking,
# loopback only), and checks: non-root process, Kask answers (POST then GET, both stores written), /healthz,
# /readyz, the image HEALTHCHECK, the admin CLI inside the container, a clean SIGTERM exit, nothing writable,
# no config, secrets, sources or dev dependencies in the image.
# Needs root (rootful podman). Run from anywhere: deploy/test/image-test.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PATH:/usr/sbin:/sbin" # runc and debootstrap live there
root=$PWD

skip() {
  echo "SKIP image test: $*"
  exit 0
}
fail() {
  echo "FAIL image test: $*" >&2
  exit 1
}
[ "$(id -u)" = 0 ] || skip "rootful podman needs root"
for tool in podman runc debootstrap redis-server redis-cli curl; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (.ci/run installs it on Debian)"
done

export CONTAINERS_CONF="$root/deploy/test/containers.conf"
cache=${KMP_IMAGE_TEST_CACHE:-/var/cache/kmp-image-test}
standin=localhost/kmp-node-standin:24-bookworm-slim
image=localhost/kask-migration-proxy:image-test
container=kmp-image-test-$$
expected_uid=10001

work=$(mktemp -d)
pids=()
cleanup() {
  podman rm -f -t 0 "$container" >/dev/null 2>&1 || true
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  node -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}
wait_http() { # URL: until it answers at all (any status), 30 s at most
  for _ in $(seq 1 150); do
    curl -s -o /dev/null "$1" && return 0
    sleep 0.2
  done
  return 1
}

echo "== image test: stand-in base (at ${SECONDS}s)"
"$root/deploy/test/node-standin.sh" "$standin" "$cache"

echo "== image test: build deploy/Dockerfile (at ${SECONDS}s)"
# The host's npm registry and CA bundle reach the build stage only, as build arguments and a read-only mount.
podman build --quiet --format docker --network host \
  --build-arg NODE_IMAGE="$standin" \
  --build-arg NPM_CONFIG_REGISTRY="$(npm config get registry)" \
  --build-arg NPM_CONFIG_CAFILE=/etc/ssl/certs/ca-certificates.crt \
  --build-arg BUILD_DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  -v /etc/ssl/certs:/etc/ssl/certs:ro \
  -f deploy/Dockerfile -t "$image" . >/dev/null

echo "== image test: image contents (at ${SECONDS}s)"
podman image inspect -f '{{.Config.User}}' "$image" | grep -qx "$expected_uid:$expected_uid" ||
  fail "image USER is not $expected_uid:$expected_uid"
podman image inspect -f '{{json .Config.Healthcheck}}' "$image" | grep -q healthcheck.mjs ||
  fail "image has no HEALTHCHECK"
podman run --rm --runtime runc --network none --no-healthcheck --entrypoint /bin/sh "$image" -c '
  test ! -e /etc/kask-migration-proxy || { echo "config or secrets baked into the image"; exit 1; }
  test ! -e /app/src || { echo "sources in the image"; exit 1; }
  test ! -e /app/node_modules/vitest && test ! -e /app/node_modules/typescript || { echo "dev dependencies in the image"; exit 1; }
  test -e /app/node_modules/ioredis || { echo "production dependencies missing"; exit 1; }
  command -v kask-migration-proxy >/dev/null || { echo "kask-migration-proxy is not on PATH"; exit 1; }
  command -v sleep >/dev/null || { echo "no sleep for the Kubernetes preStop hook"; exit 1; }
' || fail "image contents"

echo "== image test: backends on the host (at ${SECONDS}s)"
# The host runs the Kask emulator from this checkout's build (CI has built it already for npm test).
[ -f dist/cli/main.js ] || npm run --silent build
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >"$work/redis.log" 2>&1 &
pids+=($!)
kask_port=$(free_port)
node bin/kask-migration-proxy.js kask-emulator --listen "127.0.0.1:$kask_port" >"$work/kask.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$kask_port/healthz" || fail "kask emulator did not start: $(cat "$work/kask.log")"

# Secrets as files owned by the container user, readable by it alone (as a Kubernetes Secret volume with fsGroup).
mkdir -m 0755 "$work/secrets"
hmac_key="image-test-hmac-key-$RANDOM$RANDOM"
admin_token="image-test-admin-token-$RANDOM$RANDOM"
printf '%s\n' "$hmac_key" >"$work/secrets/hmac-key"
printf '%s\n' "$admin_token" >"$work/secrets/admin-token"
chown "$expected_uid:$expected_uid" "$work/secrets"/*
chmod 0400 "$work/secrets"/*

echo "== image test: run read-only (at ${SECONDS}s)"
port=$(free_port)
admin_port=$(free_port)
# The Kubernetes ConfigMap's config file itself; only the addresses differ on this host (env overrides).
# Strictly read-only: not even podman's default tmpfs on /tmp. (podman's health timer needs systemd, which CI
# lacks; its complaint goes to podman.log, and the test runs the HEALTHCHECK itself.)
podman run --detach --name "$container" --runtime runc --network host --read-only --read-only-tmpfs=false \
  -v "$root/deploy/kubernetes/base/config.yaml:/etc/kask-migration-proxy/config.yaml:ro" \
  -v "$work/secrets:/etc/kask-migration-proxy/secrets:ro" \
  -e KMP_LISTEN="127.0.0.1:$port" \
  -e KMP_ADMIN_LISTEN="127.0.0.1:$admin_port" \
  -e KMP_KASK_URL="http://127.0.0.1:$kask_port/echoseen/v1/" \
  -e KMP_REDIS_URL="redis://127.0.0.1:$redis_port" \
  "$image" >/dev/null 2>>"$work/podman.log"
base="http://127.0.0.1:$port"
if ! wait_http "$base/healthz"; then
  podman logs "$container" >&2 || true
  fail "the sidecar did not answer /healthz"
fi

pid=$(podman inspect -f '{{.State.Pid}}' "$container")
uid=$(ps -o uid= -p "$pid" | tr -d ' ')
[ "$uid" = "$expected_uid" ] || fail "the sidecar runs as uid $uid, not $expected_uid"
[ "$(podman inspect -f '{{.HostConfig.ReadonlyRootfs}}' "$container")" = true ] || fail "root filesystem not read-only"
if podman exec "$container" sh -c 'touch /app/probe || touch /tmp/probe || touch /probe' 2>/dev/null; then
  fail "something in the container's filesystem is writable"
fi

health=$(curl -sf "$base/healthz") || fail "/healthz did not answer 200"
grep -q '"service": "kask-migration-proxy"' <<<"$health" || fail "/healthz body: $health"
grep -q '"go_version": "node v24\.' <<<"$health" || fail "/healthz does not report Node 24: $health"
curl -sf -o /dev/null "$base/readyz" || fail "/readyz is not 200: $(curl -s "$base/readyz")"
podman healthcheck run "$container" >/dev/null || fail "the image HEALTHCHECK failed"

echo "== image test: a Kask answer (at ${SECONDS}s)"
key='global:echo:seen:alert:time:4242'
path="/echoseen/v1/global%3Aecho%3Aseen%3Aalert%3Atime%3A4242"
payload='"20261125112233"'
# RESTBagOStuff's signed JSON envelope, with the key the sidecar read from its mounted secret file.
hmac=$(printf '%s' "$payload" | node -e '
  const key = process.argv[1];
  const payload = require("node:fs").readFileSync(0);
  process.stdout.write(require("node:crypto").createHmac("sha256", key).update(payload).digest("base64"));
' "$hmac_key")
value="JSON.$hmac.$payload"
status=$(curl -s -o "$work/post.out" -w '%{http_code}' -X POST -H 'content-type: application/octet-stream' \
  --data-binary "$value" "$base$path")
[ "$status" = 201 ] || fail "POST answered $status: $(cat "$work/post.out")"
got=$(curl -sf "$base$path") || fail "GET after POST did not answer 200"
[ "$got" = "$value" ] || fail "GET answered '$got', expected '$value'"
in_kask=$(curl -sf "http://127.0.0.1:$kask_port$path") || fail "the value did not reach Kask"
[ "$in_kask" = "$value" ] || fail "Kask holds '$in_kask', expected '$value'"
in_redis=$(redis-cli -p "$redis_port" GET "$key")
# RedisBagOStuff's format: the PHP-serialized value.
[ "$in_redis" = 's:14:"20261125112233";' ] || fail "Redis holds '$in_redis', expected the converted value"

echo "== image test: admin CLI in the container (at ${SECONDS}s)"
phase=$(podman exec "$container" kask-migration-proxy phase get \
  --admin-url "http://127.0.0.1:$admin_port" --token-file /etc/kask-migration-proxy/secrets/admin-token) ||
  fail "phase get failed in the container"
grep -q 'dual-write' <<<"$phase" || fail "phase get printed: $phase"

echo "== image test: SIGTERM drains and exits 0 (at ${SECONDS}s)"
podman stop -t 30 "$container" >/dev/null 2>>"$work/podman.log"
code=$(podman inspect -f '{{.State.ExitCode}}' "$container")
[ "$code" = 0 ] || fail "the sidecar exited $code on SIGTERM: $(podman logs "$container" 2>&1 | tail -5)"
if podman logs "$container" 2>&1 | grep -qF -e "$hmac_key" -e "$admin_token"; then
  fail "a secret reached the logs"
fi

echo "PASS image test (${SECONDS}s)"
