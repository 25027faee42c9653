#!/usr/bin/env bash
# The Node.js packages the tests use beside the JVM: the MCAP conformance test reads the flight
# recorder's files with the reference TypeScript reader (@mcap/core). Sourced by `./vla test`:
# installs them from package-lock.json into flight-recorder/src/test/node/node_modules when node
# and npm are there and they are missing; otherwise says so and goes on (the test then skips,
# except under CI=true).
mcap_reader_dir="$VLA_HOME/flight-recorder/src/test/node"
if [ ! -d "$mcap_reader_dir/node_modules/@mcap/core" ]; then
  if command -v npm >/dev/null 2>&1; then
    echo "vla: installing the reference MCAP reader (@mcap/core) for the conformance test ..." >&2
    (cd "$mcap_reader_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1) \
      || echo "vla: could not install @mcap/core; the MCAP conformance test will say so" >&2
  else
    echo "vla: the MCAP conformance test needs node and npm; it is skipped without them" >&2
  fi
fi
