#!/usr/bin/env bash
# build-base-image.sh: builds a Java base image without a registry or a Docker engine, as a
# `docker save` archive that Jib takes as `tar://...` (bin/build-images.sh --local-base).
#
#   rootfs : Debian bookworm, debootstrap --variant=minbase (glibc, libstdc++ for ONNX Runtime)
#   java   : a jlink'd runtime of the JDK >= 21 that bin/find-jdk.sh picks, at /opt/java/openjdk
#            (the path eclipse-temurin images use, so both bases behave alike)
#   user   : vla, uid/gid 65532, home /home/vla (the images run as this user, never as root)
#
# Usage: bin/build-base-image.sh [OUTPUT.tar]      (default target/images/vla-base.tar)
# Needs root (debootstrap) and Debian's package mirror; installs debootstrap with apt-get if missing.
set -euo pipefail
VLA_HOME="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
. "$VLA_HOME/bin/find-jdk.sh"

output="${1:-$VLA_HOME/target/images/vla-base.tar}"
suite="${VLA_BASE_SUITE:-bookworm}"
mirror="${VLA_BASE_MIRROR:-http://deb.debian.org/debian}"
image_uid=65532

if [ "$(id -u)" -ne 0 ]; then
  echo "build-base-image: debootstrap needs root (run with sudo, or use the default registry base image)" >&2
  exit 2
fi
if ! command -v debootstrap >/dev/null; then
  echo "build-base-image: installing debootstrap (apt-get)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/vla-base.XXXXXX")"
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"

echo "build-base-image: debootstrap $suite (minbase) ..." >&2
debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2; exit 1; }

# A runtime image needs neither the package manager's caches nor documentation.
rm -rf "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* \
  "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/log/*

# The modules a Spring Boot + gRPC (Netty) + ONNX Runtime app uses, plus JFR and jcmd-free
# management for diagnostics. java.desktop is there for java.beans (Spring).
modules=java.base,java.compiler,java.desktop,java.instrument,java.logging,java.management,java.management.rmi
modules+=,java.naming,java.net.http,java.prefs,java.rmi,java.scripting,java.security.jgss,java.security.sasl
modules+=,java.sql,java.transaction.xa,java.xml,java.xml.crypto,jdk.charsets,jdk.crypto.cryptoki,jdk.jfr
modules+=,jdk.localedata,jdk.management,jdk.management.jfr,jdk.naming.dns,jdk.net,jdk.security.auth
modules+=,jdk.unsupported,jdk.zipfs
if "$JAVA_HOME/bin/java" --list-modules | grep -q '^jdk.crypto.ec@'; then modules+=,jdk.crypto.ec; fi
echo "build-base-image: jlink from $JAVA_HOME ..." >&2
mkdir -p "$rootfs/opt/java"
"$JAVA_HOME/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files \
  --output "$rootfs/opt/java/openjdk"
java_version="$(sed -n 's/^JAVA_VERSION="\(.*\)"/\1/p' "$rootfs/opt/java/openjdk/release")"

echo "vla:x:$image_uid:$image_uid:vla-serve:/home/vla:/usr/sbin/nologin" >>"$rootfs/etc/passwd"
echo "vla:x:$image_uid:" >>"$rootfs/etc/group"
mkdir -p "$rootfs/home/vla"
chown "$image_uid:$image_uid" "$rootfs/home/vla"
chmod 1777 "$rootfs/tmp"

# One layer, reproducible: sorted names, fixed times, numeric owners.
layer="$work/layer.tar"
tar --sort=name --numeric-owner --mtime='@0' --xattrs -C "$rootfs" -cf "$layer" .
layer_digest="sha256:$(sha256sum "$layer" | cut -d' ' -f1)"

env_path=/opt/java/openjdk/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
cat >"$work/config.json" <<EOF
{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z",
 "config":{"Env":["PATH=$env_path","JAVA_HOME=/opt/java/openjdk","JAVA_VERSION=$java_version","LANG=C.UTF-8"],
           "User":"$image_uid:$image_uid","WorkingDir":"/home/vla"},
 "rootfs":{"type":"layers","diff_ids":["$layer_digest"]},
 "history":[{"created":"1970-01-01T00:00:00Z","created_by":"bin/build-base-image.sh: debootstrap $suite minbase + jlink $java_version"}]}
EOF
config_name="$(sha256sum "$work/config.json" | cut -d' ' -f1).json"
mv "$work/config.json" "$work/$config_name"
mv "$layer" "$work/${layer_digest#sha256:}.tar"
printf '[{"Config":"%s","RepoTags":["vla-serve/base:%s"],"Layers":["%s.tar"]}]\n' \
  "$config_name" "$java_version" "${layer_digest#sha256:}" >"$work/manifest.json"

mkdir -p "$(dirname "$output")"
tar --sort=name --mtime='@0' --owner=0 --group=0 -C "$work" -cf "$output.partial" \
  manifest.json "$config_name" "${layer_digest#sha256:}.tar"
mv "$output.partial" "$output"
echo "build-base-image: $output (Java $java_version, $(du -h "$output" | cut -f1))" >&2
