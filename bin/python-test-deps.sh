#!/usr/bin/env bash
# The Python the tests use beside the JVM: the openpi protocol test runs openpi_client's own
# msgpack_numpy over Debian's python3-websockets. Sourced by `./vla test`: installs the Debian
# packages when they are missing and this runs as root with apt-get (CI, a fresh machine);
# otherwise says what to install and goes on (the test then skips, except under CI=true).
python_test_packages="python3-msgpack python3-websockets python3-numpy"
if ! /usr/bin/python3 -c 'import msgpack, websockets, numpy' >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "vla: installing $python_test_packages for the openpi protocol test ..." >&2
    # shellcheck disable=SC2086
    apt-get install -y -qq $python_test_packages >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq $python_test_packages >/dev/null 2>&1; } \
      || echo "vla: could not install $python_test_packages; the openpi protocol test will say so" >&2
  else
    echo "vla: the openpi protocol test needs $python_test_packages (Debian); it is skipped without them" >&2
  fi
fi
