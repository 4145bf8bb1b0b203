#!/bin/sh
# Installs what lvs's tests and demo need on a Debian (bookworm) machine, as root:
# QEMU, the tools the real-kernel tests compare against (and dnsmasq, the DNS
# server the dns health check is tested against, and bird2, the BGP router of
# the cluster tests, promtool for the monitoring kit's rules, chromium for the
# status page's browser test, man and lintian for the manual page and the
# Debian package, and keepalived,
# the reference director/vrrp and director/keepalived are tested against in
# the VM guest), and Debian's
# linux-image-amd64 unpacked (not installed) for the VM tier when the host
# kernel has no IPVS. Safe to run again: it only does what is missing.
set -eu

ROOT=${LVS_VM_ROOT:-/var/cache/lvs/vmroot}
export DEBIAN_FRONTEND=noninteractive

need=""
command -v qemu-system-x86_64 >/dev/null 2>&1 || need="$need qemu-system-x86"
command -v ipvsadm >/dev/null 2>&1 || need="$need ipvsadm"
command -v nft >/dev/null 2>&1 || need="$need nftables"
command -v iptables-restore >/dev/null 2>&1 || need="$need iptables"
command -v ip >/dev/null 2>&1 || need="$need iproute2"
command -v dnsmasq >/dev/null 2>&1 || need="$need dnsmasq-base"
# man renders lvs-director(8) in its test (with groff), as lintian does.
command -v man >/dev/null 2>&1 || need="$need man-db groff-base"
# lintian checks the Debian package scripts/deb.sh builds (never installed here).
command -v lintian >/dev/null 2>&1 || need="$need lintian"
if ! command -v bird >/dev/null 2>&1; then
	# bird2 is the BGP router of the cluster tests, which run it in their own
	# namespaces: the system's service is masked, never started.
	if command -v systemctl >/dev/null 2>&1; then systemctl mask bird.service >/dev/null 2>&1 || true; fi
	need="$need bird2"
fi
if ! command -v keepalived >/dev/null 2>&1 && [ ! -x /usr/sbin/keepalived ]; then
	# keepalived runs only inside the VM guest (director/vrrp's interop tests,
	# director/keepalived's differential test), never on this host: its
	# service is masked, and policy-rc.d forbids every start during the
	# install.
	if command -v systemctl >/dev/null 2>&1; then systemctl mask keepalived.service >/dev/null 2>&1 || true; fi
	need="$need keepalived"
fi
# chromium (headless) loads the daemon's status page in the
# examples/director tests, from a loopback server only.
command -v chromium >/dev/null 2>&1 || need="$need chromium"
if ! command -v promtool >/dev/null 2>&1; then
	# promtool checks and unit-tests the monitoring kit's alert rules
	# (examples/director/monitoring); the Prometheus server that comes with it
	# is masked and kept from starting during the install, never started.
	if command -v systemctl >/dev/null 2>&1; then systemctl mask prometheus.service >/dev/null 2>&1 || true; fi
	need="$need prometheus"
fi
updated=no
if [ -n "$need" ]; then
	apt-get update -q
	updated=yes
	# No service starts during the install (policy-rc.d 101: action
	# forbidden), whatever policy the machine has; its own is put back.
	rcd=/usr/sbin/policy-rc.d
	saved=""
	if [ -e "$rcd" ]; then saved=$(mktemp); cp -p "$rcd" "$saved"; fi
	printf '#!/bin/sh\nexit 101\n' >"$rcd"
	chmod 0755 "$rcd"
	status=0
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $need || status=$?
	if [ -n "$saved" ]; then mv "$saved" "$rcd"; else rm -f "$rcd"; fi
	[ "$status" = 0 ] || exit "$status"
fi

if ! ls "$ROOT"/lib/modules/*/kernel/net/netfilter/ipvs/ip_vs.ko >/dev/null 2>&1; then
	[ "$updated" = yes ] || apt-get update -q
	pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
	[ -n "$pkg" ] || { echo "install-deps: cannot resolve linux-image-amd64" >&2; exit 1; }
	tmp=$(mktemp -d)
	chmod 0755 "$tmp"; chown _apt "$tmp" 2>/dev/null || true
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && apt-get download "$pkg")
	mkdir -p "$tmp/root"
	dpkg-deb -x "$tmp"/*.deb "$tmp/root"
	mkdir -p "$ROOT"
	rm -rf "$ROOT/boot" "$ROOT/lib"
	mv "$tmp/root/boot" "$ROOT/boot"
	mkdir -p "$ROOT/lib"
	mv "$tmp/root/lib/modules" "$ROOT/lib/modules"
	echo "install-deps: kernel $pkg unpacked in $ROOT"
fi
command -v go >/dev/null 2>&1 || { echo "install-deps: Go is not installed (https://go.dev/dl)" >&2; exit 1; }
echo "install-deps: ready"
