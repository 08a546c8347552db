#!/usr/bin/env bash
# Installs the Debian packages the tests and the local cluster use, when
# they are missing: fuse3 (FUSE mounts), mariadb-server (the MySQL backend
# tests), galera (galera-4 and what its rsync state transfer uses, for the
# Galera tests), nginx-light (stock nginx as storage node and gateway front),
# rsync and git (trees copied onto a mogfs mount and back), curl (the
# quick start's gateway example), and pjdfs (what
# building and running pjdfstest needs for mogfs's TestPJDFSTest:
# autoconf, automake, libtool, pkg-config, gcc with the C headers, make,
# openssl, whose `openssl md5` its scripts use to make up names), and the
# S3 clients the S3 API is tested with (awscli, s3cmd, rclone).
# Arguments limit it to those packages (`scripts/deps.sh fuse3` is what
# `make run` needs); none means all. It installs as root or through sudo;
# when it cannot, it names the packages and the command and fails.
# apt does not start services here; the scripts start private instances.
set -euo pipefail
want=("$@")
[ ${#want[@]} -gt 0 ] || want=(fuse3 mariadb-server galera nginx-light rsync git curl pjdfs awscli s3cmd rclone)
need=()
for p in "${want[@]}"; do
	case $p in
	fuse3) command -v fusermount3 >/dev/null || need+=(fuse3) ;;
	mariadb-server) command -v mariadbd >/dev/null || need+=(mariadb-server mariadb-client) ;;
	galera)
		[ -e /usr/lib/galera/libgalera_smm.so ] || need+=(galera-4)
		command -v rsync >/dev/null || need+=(rsync)
		command -v ss >/dev/null || need+=(iproute2)
		;;
	nginx-light) command -v nginx >/dev/null || need+=(nginx-light) ;;
	rsync) command -v rsync >/dev/null || need+=(rsync) ;;
	git) command -v git >/dev/null || need+=(git) ;;
	curl) command -v curl >/dev/null || need+=(curl) ;;
	awscli) command -v aws >/dev/null || need+=(awscli) ;;
	s3cmd) command -v s3cmd >/dev/null || need+=(s3cmd) ;;
	rclone) command -v rclone >/dev/null || need+=(rclone) ;;
	pjdfs)
		command -v autoreconf >/dev/null || need+=(autoconf)
		command -v automake >/dev/null || need+=(automake)
		command -v libtoolize >/dev/null || need+=(libtool)
		command -v pkg-config >/dev/null || need+=(pkg-config)
		command -v cc >/dev/null || need+=(gcc)
		[ -e /usr/include/stdio.h ] || need+=(libc6-dev)
		command -v make >/dev/null || need+=(make)
		command -v openssl >/dev/null || need+=(openssl)
		;;
	*)
		echo "deps.sh: unknown package $p" >&2
		exit 2
		;;
	esac
done
[ ${#need[@]} -eq 0 ] && exit 0
cmd="apt-get install ${need[*]}"
if ! command -v apt-get >/dev/null; then
	echo "deps.sh: missing ${need[*]} (Debian package names), and there is no apt-get here to install them" >&2
	exit 1
fi
sudo=
if [ "$(id -u)" -ne 0 ]; then
	# sudo without a terminal to ask for the password cannot work.
	if ! command -v sudo >/dev/null || { [ ! -t 0 ] && ! sudo -n true 2>/dev/null; }; then
		echo "deps.sh: missing ${need[*]}; install as root: $cmd" >&2
		exit 1
	fi
	sudo=sudo
fi
echo "deps.sh: installing ${need[*]}${sudo:+ (through sudo)}" >&2
if ! $sudo apt-get update -qq ||
	! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; then
	echo "deps.sh: could not install ${need[*]}; install as root: $cmd" >&2
	exit 1
fi
