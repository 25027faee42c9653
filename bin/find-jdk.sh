# Sourced by ./vla and .ci/run: exports JAVA_HOME pointing at a JDK >= 21.
# Order: an already-set JAVA_HOME that is new enough, then the newest JDK under /usr/lib/jvm,
# then whatever `javac` on PATH belongs to.
vla_jdk_major() {
  local release="$1/release"
  [ -x "$1/bin/javac" ] && [ -f "$release" ] || return 1
  sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$release"
}

vla_find_jdk() {
  local candidate major best="" best_major=0
  if [ -n "${JAVA_HOME:-}" ]; then
    major=$(vla_jdk_major "$JAVA_HOME") && [ "${major:-0}" -ge 21 ] && return 0
  fi
  for candidate in /usr/lib/jvm/* /opt/java/* /opt/jdk*; do
    [ -d "$candidate" ] || continue
    major=$(vla_jdk_major "$candidate") || continue
    if [ "${major:-0}" -ge 21 ] && [ "$major" -gt "$best_major" ]; then
      best="$candidate"; best_major="$major"
    fi
  done
  if [ -z "$best" ] && command -v javac >/dev/null 2>&1; then
    candidate=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
    major=$(vla_jdk_major "$candidate") && [ "${major:-0}" -ge 21 ] && best="$candidate"
  fi
  if [ -z "$best" ]; then
    echo "vla: no JDK >= 21 found (looked at JAVA_HOME, /usr/lib/jvm, /opt). Install one, e.g. 'apt-get install openjdk-21-jdk-headless', or set JAVA_HOME." >&2
    return 1
  fi
  export JAVA_HOME="$best"
}

if vla_find_jdk; then
  export PATH="$JAVA_HOME/bin:$PATH"
  # JDK 24+ warns about Unsafe use by Maven's own libraries; older JDKs reject the flag.
  if [ "$(vla_jdk_major "$JAVA_HOME")" -ge 24 ]; then
    export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
  fi
fi
