#!/usr/bin/env bash
# Install the Debian packages listed in packages.apt, or say which are missing and what that disables.
set -euo pipefail
list="${1:-packages.apt}"
mapfile -t wanted < <(sed -e 's/#.*//' -e 's/[[:space:]]*$//' "$list" | grep -v '^$' | awk '{print $1}')
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Installing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "NOTE: these Debian packages are missing and cannot be installed here (not root, or no apt-get):" >&2
  for pkg in "${missing[@]}"; do
    grep -E "^$pkg[[:space:]]" "$list" | sed 's/^/  /' >&2
  done
  echo "The backends named beside them stay unavailable until they are installed." >&2
fi
