#!/usr/bin/env bash
# Installs the Debian packages the tests and the local cluster use, when
# they are missing: fuse3 (FUSE mounts), mariadb-server (the MySQL backend
# tests), nginx-light (stock nginx as storage node and gateway front), and
# what building and running pjdfstest needs (mogfs's TestPJDFSTest):
# autoconf, automake, libtool, pkg-config, gcc with the C headers, make,
# openssl (its scripts make up names with `openssl md5`).
# apt does not start services here; the scripts start private instances.
set -euo pipefail
need=()
command -v fusermount3 >/dev/null || need+=(fuse3)
command -v mariadbd >/dev/null || need+=(mariadb-server mariadb-client)
command -v nginx >/dev/null || need+=(nginx-light)
command -v autoreconf >/dev/null || need+=(autoconf)
command -v automake >/dev/null || need+=(automake)
command -v libtoolize >/dev/null || need+=(libtool)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v cc >/dev/null || need+=(gcc)
[ -e /usr/include/stdio.h ] || need+=(libc6-dev)
command -v make >/dev/null || need+=(make)
command -v openssl >/dev/null || need+=(openssl)
[ ${#need[@]} -eq 0 ] && exit 0
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
echo "installing: ${need[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
