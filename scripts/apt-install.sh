#!/bin/sh
# apt-install.sh WHO PACKAGE...: installs the Debian packages that are missing,
# quietly; nothing at all when every one is there. WHO names the caller in its
# messages. Installing needs root; without it, the missing list and exit 1.
set -eu
who=$1
shift

missing=""
for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "$who: missing packages:$missing; run as root (sudo $0) to install them" >&2
    exit 1
fi
echo "$who: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get -qq update >/dev/null
# shellcheck disable=SC2086
apt-get -qq install -y --no-install-recommends $missing >/dev/null
