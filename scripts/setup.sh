#!/usr/bin/env bash
# Installs what building, running and testing usher needs on Debian 12. Idempotent: packages
# already present are not touched, and npm packages are installed only when the lockfile
# changed. Run as root (or with sudo available) on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
    build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
    libmicrohttpd-dev libjansson-dev libsqlite3-dev libsodium-dev libinih-dev
    libcurl4-openssl-dev libjose-dev libcmocka-dev sqlite3 curl jq nodejs npm
)

# A node installed another way (NodeSource's nodejs package ships its own npm and conflicts
# with Debian's npm package) is used as it is.
present_commands=()
command -v node >/dev/null 2>&1 && present_commands+=(nodejs)
command -v npm >/dev/null 2>&1 && present_commands+=(npm)

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
    if [[ " ${present_commands[*]} " == *" $pkg "* ]]; then
        continue
    fi
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done
if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    echo "setup: installing ${missing[*]}" >&2
    $SUDO apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
        "${missing[@]}" >&2
fi

# The black-box tests use node's own test runner; npm packages are pinned in tests/package-lock.json.
if [ -f tests/package.json ]; then
    stamp=tests/node_modules/.usher-lock
    if [ ! -f "$stamp" ] || ! cmp -s tests/package-lock.json "$stamp"; then
        echo "setup: installing npm packages for the tests" >&2
        (cd tests && npm ci --no-audit --no-fund --loglevel=error >&2)
        cp tests/package-lock.json "$stamp"
    fi
fi
