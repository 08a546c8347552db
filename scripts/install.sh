#!/usr/bin/env bash
# Installs or uninstalls the built binaries, the systemd units, the mount
# helper and the example configuration files; `make install`, `make
# uninstall` and scripts/deb.sh run it. Usage: scripts/install.sh
# install|uninstall, with these settings in the environment (the Makefile
# passes them):
#   DESTDIR    staging root prefixed to every path below ("" for the machine)
#   BIN        where `make build` put the binaries
#   BINARIES   the binaries (the directories of cmd/)
#   BINDIR     where the binaries go; the units and the helper point there
#   UNITDIR    systemd unit directory
#   CONFDIR    configuration directory (/etc/mogilefs)
#   HELPERDIR  where mount(8) looks for mount.fuse.mogfs (/sbin)
#   DOCDIR     documentation (the units' README and the example .mount)
# A configuration file that exists and differs from the example is never
# overwritten: the example goes next to it as NAME.example. Uninstall
# removes a configuration file only when it is still the example.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${BIN:?}" "${BINARIES:?}" "${BINDIR:?}" "${UNITDIR:?}" "${CONFDIR:?}" "${HELPERDIR:?}" "${DOCDIR:?}"
DESTDIR=${DESTDIR:-}
say() { echo "install.sh: $*" >&2; }
at() { printf '%s%s' "$DESTDIR" "$1"; }
helper=$(at "$HELPERDIR")/mount.fuse.mogfs

do_install() {
	local b u c dst tmp
	for b in $BINARIES; do
		[ -x "$BIN/$b" ] || { say "$BIN/$b is not built (make build)"; exit 1; }
	done
	install -d "$(at "$BINDIR")" "$(at "$UNITDIR")" "$(at "$HELPERDIR")" "$(at "$DOCDIR")/systemd"
	for b in $BINARIES; do
		install -m 755 "$BIN/$b" "$(at "$BINDIR")/$b"
	done
	# The units name /usr/local/bin and /usr/share/doc/mogilefs; point
	# them at where this installation puts the binaries and the README.
	tmp=$(mktemp)
	for u in dist/systemd/*.service; do
		sed -e "s|/usr/local/bin/|$BINDIR/|g" -e "s|/usr/share/doc/mogilefs/|$DOCDIR/|g" "$u" >"$tmp"
		install -m 644 "$tmp" "$(at "$UNITDIR")/${u##*/}"
	done
	rm -f "$tmp"
	install -m 644 dist/systemd/README.md dist/systemd/mnt-mogilefs.mount "$(at "$DOCDIR")/systemd/"
	# mount -t fuse.mogfs and fuse.mogfs lines in fstab run
	# /sbin/mount.fuse.mogfs when it exists, whatever PATH holds.
	if [ -e "$helper" ] || [ -L "$helper" ]; then
		if [ "$(readlink "$helper")" != "$BINDIR/mogfs" ]; then
			say "left $helper alone: it is not a link to $BINDIR/mogfs (another installation's?)"
		fi
	else
		ln -s "$BINDIR/mogfs" "$helper"
	fi
	install -d -m 755 "$(at "$CONFDIR")" "$(at "$CONFDIR")/mogfs"
	for c in dist/config/*.conf; do
		dst=$(at "$CONFDIR")/${c##*/}
		if [ ! -e "$dst" ]; then
			install -m 644 "$c" "$dst"
		elif ! cmp -s "$c" "$dst"; then
			install -m 644 "$c" "$dst.example"
			say "kept $dst (it differs from the example); the example is $dst.example"
		fi
	done
}

do_uninstall() {
	local b u c dst
	for b in $BINARIES; do
		rm -f "$(at "$BINDIR")/$b"
	done
	for u in dist/systemd/*.service; do
		rm -f "$(at "$UNITDIR")/${u##*/}"
	done
	rm -f "$(at "$DOCDIR")/systemd/README.md" "$(at "$DOCDIR")/systemd/mnt-mogilefs.mount"
	rmdir "$(at "$DOCDIR")/systemd" "$(at "$DOCDIR")" 2>/dev/null || true
	if [ "$(readlink "$helper" 2>/dev/null)" = "$BINDIR/mogfs" ]; then
		rm -f "$helper"
	fi
	for c in dist/config/*.conf; do
		dst=$(at "$CONFDIR")/${c##*/}
		if [ -e "$dst.example" ] && cmp -s "$c" "$dst.example"; then
			rm -f "$dst.example"
		fi
		if [ -e "$dst" ]; then
			if cmp -s "$c" "$dst"; then
				rm -f "$dst"
			else
				say "kept $dst: it was changed after installation"
			fi
		fi
	done
	rmdir "$(at "$CONFDIR")/mogfs" "$(at "$CONFDIR")" 2>/dev/null || true
}

case ${1:-} in
install) do_install ;;
uninstall) do_uninstall ;;
*)
	echo "usage: $0 install|uninstall" >&2
	exit 2
	;;
esac
