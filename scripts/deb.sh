#!/usr/bin/env bash
# Builds the Debian package with dpkg-deb (part of dpkg):
#   scripts/deb.sh build      what `make deb` runs; settings in the environment:
#                             BIN (the built binaries), BINARIES, VERSION (as
#                             the Makefile has it), DEBDIR (output directory)
#   scripts/deb.sh version V  prints the Debian version made of V
#   scripts/deb.sh arch A     prints the Debian architecture of GOARCH A
# The package installs the binaries in /usr/bin, the units in
# /lib/systemd/system, /sbin/mount.fuse.mogfs, the example configuration
# files as conffiles in /etc/mogilefs; its postinst creates the system user
# mogilefs and /var/lib/mogilefs and /var/mogdata owned by it, and enables
# and starts nothing. Purging removes the user and the configuration; data
# directories that are not empty stay.
set -euo pipefail
cd "$(dirname "$0")/.."

# debversion V: `git describe` output as a Debian version: v1.2.0 is
# 1.2.0, v1.2.0-5-gabc1234-dirty is 1.2.0+5.gabc1234.dirty, a bare commit
# (no tag yet) abc1234 is 0~gitabc1234, sorting before any release;
# v2.0-rc1 is 2.0~rc1, before 2.0.
debversion() {
	local v=$1
	v=$(sed -E -e 's/^v([0-9])/\1/' -e 's/-([0-9]+)-g([0-9a-f]+)/+\1.g\2/' -e 's/-(rc|alpha|beta|pre)/~\1/' <<<"$v")
	v=$(tr -c 'A-Za-z0-9.+~\n' '.' <<<"$v")
	if [[ $v =~ ^[0-9a-f]{7,40}(\.dirty)?$ ]]; then
		v=0~git$v
	elif ! [[ $v =~ ^[0-9] ]]; then
		v=0~$v
	fi
	printf '%s\n' "$v"
}

# debarch GOARCH: the Debian name of a Go architecture.
debarch() {
	case $1 in
	amd64 | arm64 | s390x | riscv64 | loong64) echo "$1" ;;
	386) echo i386 ;;
	arm) echo armhf ;;
	ppc64le) echo ppc64el ;;
	mips64le) echo mips64el ;;
	mipsle) echo mipsel ;;
	*)
		echo "deb.sh: no Debian architecture known for GOARCH $1" >&2
		return 1
		;;
	esac
}

build() {
	: "${BIN:?}" "${BINARIES:?}" "${VERSION:?}" "${DEBDIR:?}"
	command -v dpkg-deb >/dev/null || { echo "deb.sh: dpkg-deb is missing (apt-get install dpkg)" >&2; exit 1; }
	local ver arch root deb libc depends
	ver=$(debversion "$VERSION")
	arch=$(debarch "$(go env GOARCH)")
	stage=$(mktemp -d)
	trap 'rm -rf "$stage"' EXIT
	root=$stage/root
	DESTDIR=$root BINDIR=/usr/bin UNITDIR=/lib/systemd/system CONFDIR=/etc/mogilefs HELPERDIR=/sbin \
		DOCDIR=/usr/share/doc/mogilefs scripts/install.sh install
	# Binaries linked against the C library (cgo) need one at least as
	# new as the newest symbol version they use.
	depends=fuse3
	libc=$(cd "$root/usr/bin" && grep -aohE 'GLIBC_2\.[0-9]+' $BINARIES | sort -u -t. -k2,2n | tail -n 1)
	[ -z "$libc" ] || depends="libc6 (>= ${libc#GLIBC_}), $depends"
	install -d "$root/DEBIAN"
	cat >"$root/DEBIAN/control" <<CONTROL
Package: mogilefs
Version: $ver
Architecture: $arch
Maintainer: ${DEB_MAINTAINER:-MogileFS in Go <mogilefs-go@users.noreply.github.com>}
Installed-Size: $(du -sk --apparent-size "$root" | cut -f1)
Depends: $depends
Suggests: mariadb-server
Section: net
Priority: optional
Homepage: https://github.com/mogilefs-go/mogilefs
Description: MogileFS distributed file store (tracker, storage node, tools, FUSE)
 A reimplementation of MogileFS in Go: the tracker mogilefsd, the storage
 node mogstored, the HTTP gateway mogproxy, the FUSE filesystem mogfs
 (mount -t fuse.mogfs) and the original's tools (mogadm, mogupload, ...).
 It speaks the original's protocol and uses its database schema.
 .
 The package creates the system user mogilefs and enables no service:
 see /usr/share/doc/mogilefs/systemd/README.md.
CONTROL
	(cd "$root" && find etc -type f -printf '/%p\n' | sort) >"$root/DEBIAN/conffiles"
	(cd "$root" && find usr sbin lib -type f -print0 | sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
	install -m 755 dist/debian/postinst dist/debian/prerm dist/debian/postrm "$root/DEBIAN/"
	mkdir -p "$DEBDIR"
	deb=$DEBDIR/mogilefs_${ver}_$arch.deb
	# gzip: a fraction of xz's time on these large binaries, for a
	# package about an eighth larger.
	dpkg-deb --root-owner-group -Zgzip -z6 --build "$root" "$deb" >/dev/null
	echo "built $deb"
}

case ${1:-} in
build) build ;;
version) debversion "${2:?usage: $0 version VERSION}" ;;
arch) debarch "${2:?usage: $0 arch GOARCH}" ;;
*)
	echo "usage: $0 build|version V|arch GOARCH" >&2
	exit 2
	;;
esac
