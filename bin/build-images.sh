#!/usr/bin/env bash
# build-images.sh: an OCI image per service, as `docker save` tarballs under target/images/, built
# by Jib from the Maven build (no Docker daemon, no registry push). Then checks each archive
# (deploy-tests' ImageArchiveTest: user, entrypoint, JVM flags, app and model inside).
#
# Usage: bin/build-images.sh [--local-base | --base IMAGE] [--gpu] [--smoke] [SERVICE...]
#   (default)     on eclipse-temurin:21-jre, pulled from your registry by Jib
#   --local-base  on target/images/vla-base.tar, built once from Debian packages by
#                 bin/build-base-image.sh (needs root; for machines without a registry)
#   --base IMAGE  on any base Jib accepts: registry/name:tag, docker://name, tar:///path.tar
#   --gpu         also policy-service-gpu: CUDA/TensorRT libraries bundled (-Dgpu, over 1 GB)
#   --smoke       start each image's entrypoint with its ConfigMap from k8s/overlays/cpu
#                 (bin/smoke-image.sh: read-only root, non-root user) until gRPC health is SERVING; root
#   SERVICE       planner-gateway, policy-service, tokenizer-service, controller-bridge (default: all)
# Load an archive with `docker load -i`, `podman load -i`, `kind load image-archive`, `ctr -n k8s.io
# images import`, or push it with `skopeo copy docker-archive:target/images/X.tar docker://REGISTRY/X:TAG`.
set -euo pipefail
VLA_HOME="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
. "$VLA_HOME/bin/find-jdk.sh"
cd "$VLA_HOME"

base="" gpu=0 smoke=0 requested=()
while [ $# -gt 0 ]; do
  case "$1" in
    --local-base) base=local ;;
    --base) base="${2:?--base needs an image}"; shift ;;
    --gpu) gpu=1 ;;
    --smoke) smoke=1 ;;
    -h|--help) sed -n '2,/^set /{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "build-images: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) requested+=("$1") ;;
  esac
  shift
done
[ ${#requested[@]} -gt 0 ] || requested=(planner-gateway policy-service tokenizer-service controller-bridge)

# Only Spring Boot apps get an image (the Maven profile activates on application.yml).
services=()
for service in "${requested[@]}"; do
  if [ ! -d "$service" ]; then
    echo "build-images: no module $service" >&2; exit 2
  elif [ -f "$service/src/main/resources/application.yml" ]; then
    services+=("$service")
  else
    echo "build-images: $service is not a Spring Boot app yet (no src/main/resources/application.yml): no image" >&2
  fi
done
[ ${#services[@]} -gt 0 ] || { echo "build-images: nothing to build" >&2; exit 1; }

mkdir -p target/images
maven=(mvn -B -ntp -Dimages -DskipTests)
if [ "$base" = local ]; then
  [ -f target/images/vla-base.tar ] || bin/build-base-image.sh target/images/vla-base.tar
  maven+=("-Dimage.base=tar://$VLA_HOME/target/images/vla-base.tar")
elif [ -n "$base" ]; then
  maven+=("-Dimage.base=$base")
fi

log=target/images/build.log
echo "build-images: ${services[*]} (log: $log) ..." >&2
modules="$(IFS=,; echo "${services[*]}")"
if ! "${maven[@]}" -pl "$modules" -am package >"$log" 2>&1; then
  tail -n 40 "$log" >&2; echo "build-images: build failed; full log in $log" >&2
  if grep -q "Unable to pull base image\|Connect timed out\|UnknownHost" "$log"; then
    echo "build-images: the base image's registry is unreachable; without one, use --local-base" >&2
  fi
  exit 1
fi
built=("${services[@]}")
if [ "$gpu" = 1 ]; then
  echo "build-images: policy-service-gpu (CUDA/TensorRT bundled; log: $log) ..." >&2
  if ! "${maven[@]}" -Dgpu -Dimage.name=vla-serve/policy-service-gpu -Dimage.file=policy-service-gpu \
      -pl policy-service -am package >>"$log" 2>&1; then
    tail -n 40 "$log" >&2; echo "build-images: gpu build failed; full log in $log" >&2; exit 1
  fi
  built+=(policy-service-gpu)
fi

echo "build-images: checking the archives (ImageArchiveTest) ..." >&2
required="$(IFS=,; echo "${built[*]}")"
if ! mvn -B -ntp -pl deploy-tests verify -Dtest=ImageArchiveTest -Dsurefire.failIfNoSpecifiedTests=false \
    "-Dvla.images.required=$required" >target/images/check.log 2>&1; then
  grep -E 'Tests run|FAIL|expected' target/images/check.log >&2 || tail -n 40 target/images/check.log >&2
  echo "build-images: image check failed; full log in target/images/check.log" >&2; exit 1
fi
grep -E 'Tests run:.*ImageArchiveTest' target/images/check.log >&2 || true

# The data of the ConfigMap named $1 in the rendered cpu overlay, as NAME=VALUE lines (kustomize
# writes one flat "  KEY: value" line per entry under data:).
configmap_env() {
  awk -v want="$1" '
    function flush() { if (kind == "ConfigMap" && name == want) printf "%s", data; kind = name = data = ""; section = "" }
    /^---/ { flush(); next }
    /^kind: / { kind = $2 }
    /^[a-z]/ { section = $1 }
    section == "metadata:" && /^  name: / { name = $2 }
    section == "data:" && /^  [A-Za-z0-9_.-]+: / {
      key = $1; sub(/:$/, "", key); value = $0; sub(/^  [^:]+: /, "", value); gsub(/^"|"$/, "", value)
      data = data key "=" value "\n" }
    END { flush() }' "$rendered_cpu"
}
if [ "$smoke" = 1 ]; then
  # Run each image with its ConfigMap's settings from the cpu overlay, as the cluster would.
  rendered_cpu="$(mktemp)"
  if command -v kubectl >/dev/null && kubectl kustomize k8s/overlays/cpu >"$rendered_cpu" 2>/dev/null; then :; else
    echo "build-images: kubectl missing: smoke runs use the images' defaults, not the ConfigMaps" >&2; : >"$rendered_cpu"
  fi
  for image in "${services[@]}"; do
    mapfile -t settings < <(configmap_env "$image")
    bin/smoke-image.sh "target/images/$image.tar" "${settings[@]}"
  done
  rm -f "$rendered_cpu"
fi
for image in "${built[@]}"; do
  printf 'build-images: %-40s %s\n' "target/images/$image.tar" "$(du -h "target/images/$image.tar" | cut -f1)"
done
