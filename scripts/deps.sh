#!/usr/bin/env bash
# Installs the Debian packages the tests and the local cluster use, when
# they are missing: fuse3 (FUSE mounts), mariadb-server (the MySQL backend
# tests), nginx-light (stock nginx as storage node and gateway front).
# apt does not start services here; the scripts start private instances.
set -euo pipefail
need=()
command -v fusermount3 >/dev/null || need+=(fuse3)
command -v mariadbd >/dev/null || need+=(mariadb-server mariadb-client)
command -v nginx >/dev/null || need+=(nginx-light)
[ ${#need[@]} -eq 0 ] && exit 0
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
echo "installing: ${need[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
