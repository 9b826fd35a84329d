#!/usr/bin/env bash
# Installs what building, running and testing usher needs on Debian 12. Idempotent: packages
# already present are not touched, and npm packages are installed only when the lockfile
# changed. Run as root (or with sudo available) on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
    build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
    libmicrohttpd-dev libjansson-dev libsqlite3-dev libpq-dev postgresql-15 libsodium-dev libinih-dev
    libcurl4-openssl-dev libjose-dev libzxcvbn-dev libcmocka-dev liboath-dev libqrencode-dev sqlite3
    curl jq nodejs npm
    chromium fonts-dejavu-core nginx
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
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    $SUDO apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
        "${missing[@]}" >&2
fi

# Debian's nginx package starts a web server on port 80 and enables it at boot. The cluster
# test runs its own nginx (its own configuration, port and files, as the current user) and
# never uses that one, so when this script installed nginx it stops the packaged server and
# keeps it from starting again. An nginx that was installed before is left as it is.
if [[ " ${missing[*]} " == *" nginx "* ]]; then
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
        $SUDO systemctl disable --now nginx >&2 || true
    else
        $SUDO update-rc.d nginx disable >/dev/null 2>&1 || true
        if [ -f /run/nginx.pid ]; then $SUDO /usr/sbin/nginx -s quit >&2 || true; fi
    fi
fi

# npm packages, pinned in each folder's package-lock.json and installed again only when it
# changes: web/ builds and lints the console (make runs its build, make test its lint), tests/
# holds the peers and the browser driver of the black-box and console tests (node's own test
# runner runs them).
npm_install() {
    local dir=$1 what=$2
    [ -f "$dir/package.json" ] || return 0
    local stamp=$dir/node_modules/.usher-lock
    if [ ! -f "$stamp" ] || ! cmp -s "$dir/package-lock.json" "$stamp"; then
        echo "setup: installing npm packages for $what" >&2
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
        cp "$dir/package-lock.json" "$stamp"
    fi
}
npm_install web "the web console"
npm_install tests "the tests"
