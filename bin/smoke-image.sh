#!/usr/bin/env bash
# smoke-image.sh IMAGE.tar [NAME=VALUE...]: runs an image archive's entrypoint the way Kubernetes runs the pod, without
# a container runtime: its layers unpacked, the root filesystem read-only, a tmpfs /tmp, its own
# mount and PID namespaces, as the image's user (65532) with the image's environment. Waits for gRPC
# health SERVING (bin/GrpcHealthCheck.java, with the image's own gRPC jars), then sends SIGTERM and
# checks it stops within the shutdown grace. NAME=VALUE pairs are added to the environment (e.g. a
# ConfigMap's data; the ports are always moved off the defaults). It checks the image, not TLS: the
# service runs with VLA_TLS_INSECURE=true (plaintext health check) unless a pair says otherwise. Needs root (unshare, chroot) and
# shares the host network.
set -euo pipefail
VLA_HOME="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
. "$VLA_HOME/bin/find-jdk.sh"
archive="$(readlink -f "${1:?usage: smoke-image.sh IMAGE.tar}")"
shift
extra_env=("$@")
name="$(basename "$archive" .tar)"
[ "$(id -u)" -eq 0 ] || { echo "smoke-image: needs root (unshare, chroot)" >&2; exit 2; }

case "$name" in
  planner-gateway*) prefix=VLA_GATEWAY ;;
  policy-service*) prefix=VLA_POLICY ;;
  tokenizer-service*) prefix=VLA_TOKENIZER ;;
  controller-bridge*) prefix=VLA_CONTROLLER ;;
  *) echo "smoke-image: unknown service image $name" >&2; exit 2 ;;
esac
# Ports off the defaults, so a suite running on this machine is not in the way.
grpc_port=$((30000 + RANDOM % 5000)) http_port=$((35000 + RANDOM % 5000))

work="$(mktemp -d "${TMPDIR:-/tmp}/vla-smoke.XXXXXX")"
pid=""
cleanup() {
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
tar -xf "$archive" -C "$work"
mkdir "$work/rootfs"
# Layers in the manifest's order; a layer's file replaces an earlier one's.
for layer in $(grep -o '"Layers":\[[^]]*\]' "$work/manifest.json" | grep -o '[0-9a-f]\{64\}\.tar\(\.gz\)\?'); do
  tar -xf "$work/$layer" -C "$work/rootfs" 2>/dev/null
done
config="$work/$(grep -o '"Config":"[^"]*"' "$work/manifest.json" | cut -d'"' -f4)"
json_array() { grep -o "\"$1\":\[[^]]*\]" "$config" | sed "s/^\"$1\":\[\"//; s/\"\]$//" | sed 's/","/\n/g'; }
mapfile -t entrypoint < <(json_array Entrypoint)
mapfile -t environment < <(json_array Env)
user="$(grep -o '"User":"[^"]*"' "$config" | cut -d'"' -f4)"
workdir="$(grep -o '"WorkingDir":"[^"]*"' "$config" | cut -d'"' -f4)"
[ -n "$user" ] && [ "${user%%:*}" != 0 ] && [ "${user%%:*}" != root ] || { echo "smoke-image: $name runs as root ($user)" >&2; exit 1; }

echo "smoke-image: $name as $user with ${#extra_env[@]} settings: ${entrypoint[*]}" >&2
unshare -m -p -f --kill-child bash -c '
  root=$1 user=$2 workdir=$3; shift 3
  mount --make-rprivate / && mount --bind "$root" "$root" && mount -o remount,bind,ro "$root" &&
  mount -t proc proc "$root/proc" && mount -t tmpfs -o mode=1777 tmpfs "$root/tmp" && mount --bind /dev "$root/dev" &&
  exec chroot --userspec="$user" "$root" /usr/bin/env -i -C "${workdir:-/}" "$@"' \
  _ "$work/rootfs" "$user" "$workdir" "${environment[@]}" VLA_TLS_INSECURE=true "${extra_env[@]}" \
  "${prefix}_GRPC_PORT=$grpc_port" "${prefix}_HTTP_PORT=$http_port" \
  "${entrypoint[@]}" >"$work/service.log" 2>&1 &
pid=$!

if ! java -cp "$work/rootfs/opt/vla/app/libs/*" "$VLA_HOME/bin/GrpcHealthCheck.java" "localhost:$grpc_port" 120 2>/dev/null; then
  tail -n 30 "$work/service.log" >&2
  echo "smoke-image: $name did not become SERVING" >&2; exit 1
fi
# unshare's child is the service itself (PID 1 of its namespace, after the execs above).
kill -TERM "$(pgrep -P "$pid" | head -1)"
for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
if kill -0 "$pid" 2>/dev/null; then
  echo "smoke-image: $name did not stop within 30 s of SIGTERM" >&2; exit 1
fi
pid=""
grep -q "Graceful shutdown complete\|Completed gRPC server shutdown" "$work/service.log" \
  || { tail -n 20 "$work/service.log" >&2; echo "smoke-image: $name did not shut down gracefully" >&2; exit 1; }
echo "smoke-image: $name OK: non-root on a read-only root filesystem, SERVING, graceful stop on SIGTERM" >&2
