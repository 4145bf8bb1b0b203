#!/bin/sh
# Builds the Debian package of the director daemon, lvs-director_VERSION_amd64.deb,
# with dpkg-deb alone (no debhelper): the binary (go build -trimpath of
# examples/director), its systemd unit, manual page and bash completion, a sample
# /etc/lvs/director.yaml (a conffile), the configuration reference and the
# monitoring kit under /usr/share/doc/lvs-director/, the copyright (Apache-2.0)
# and the changelogs.
#
#   sh scripts/deb.sh [OUTDIR]          # writes OUTDIR/lvs-director_VERSION_amd64.deb (OUTDIR: dist)
#
# VERSION is LVS_DEB_VERSION if set, else made from git: the latest v* tag
# (v1.2.3 -> 1.2.3-1), else 0.0.0~gitDATE.REVISION-1. The maintainer is
# DEBFULLNAME <DEBEMAIL> if set, else the last commit's author. The package
# does not enable or start the service: edit /etc/lvs/director.yaml first.
set -eu

cd "$(dirname "$0")/.."
out=${1:-dist}
arch=amd64

rev=$(git rev-parse --short=12 HEAD)
if [ -n "${LVS_DEB_VERSION:-}" ]; then
	version=$LVS_DEB_VERSION
elif tag=$(git describe --tags --match 'v[0-9]*' --abbrev=0 2>/dev/null); then
	version=${tag#v}-1
else
	version=0.0.0~git$(git log -1 --format=%cd --date=format:%Y%m%d).$rev-1
fi
name=${DEBFULLNAME:-$(git log -1 --format=%an)}
email=${DEBEMAIL:-$(git log -1 --format=%ae)}
# Reproducible: every file's time is the last commit's.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
export SOURCE_DATE_EPOCH
first=$(git log --reverse --format=%cd --date=format:%Y | head -n 1)
last=$(git log -1 --format=%cd --date=format:%Y)
years=$first
[ "$first" = "$last" ] || years=$first-$last

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/root
doc=$root/usr/share/doc/lvs-director
install -d -m 0755 "$root/DEBIAN" "$root/usr/sbin" "$root/lib/systemd/system" "$root/etc/lvs" \
	"$root/usr/share/man/man8" "$root/usr/share/bash-completion/completions" "$doc/monitoring"

# The binary: static (no cgo), so that it depends on nothing.
CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath -ldflags='-s -w -buildid=' \
	-o "$root/usr/sbin/lvs-director" ./examples/director
chmod 0755 "$root/usr/sbin/lvs-director"

# The unit, with the binary where the package puts it, and its comment
# saying what the package did (no copy into /etc/systemd/system).
sed -e 's|/usr/local/sbin/lvs-director|/usr/sbin/lvs-director|g' \
	-e 's|Install the binary as /usr/sbin/lvs-director,|The package installed the binary as /usr/sbin/lvs-director|' \
	-e 's|^# the configuration as /etc/lvs/director.yaml|# and a sample configuration as /etc/lvs/director.yaml: edit it|' \
	-e '/^#   cp lvs-director.service /d' \
	examples/director/lvs-director.service >"$root/lib/systemd/system/lvs-director.service"
install -m 0644 examples/director/director.yaml "$root/etc/lvs/director.yaml"
gzip -9n <examples/director/lvs-director.8 >"$root/usr/share/man/man8/lvs-director.8.gz"
install -m 0644 examples/director/lvs-director.bash "$root/usr/share/bash-completion/completions/lvs-director"
install -m 0644 docs/config.md "$doc/config.md"
for f in examples/director/monitoring/*; do
	install -m 0644 "$f" "$doc/monitoring/$(basename "$f")"
done
gzip -9n <CHANGELOG.md >"$doc/changelog.gz"

date=$(date -u -R -d "@$SOURCE_DATE_EPOCH")
cat >"$stage/changelog.Debian" <<EOT
lvs-director ($version) unstable; urgency=medium

  * Built from the lvs repository at revision $rev; the changes are in
    /usr/share/doc/lvs-director/changelog.gz.

 -- $name <$email>  $date
EOT
gzip -9n <"$stage/changelog.Debian" >"$doc/changelog.Debian.gz"

cat >"$doc/copyright" <<EOT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: lvs
Source: https://github.com/lvs-go/lvs

Files: *
Copyright: $years The lvs authors
License: Apache-2.0

License: Apache-2.0
 Licensed under the Apache License, Version 2.0 (the "License");
 you may not use this file except in compliance with the License.
 You may obtain a copy of the License at
 .
     http://www.apache.org/licenses/LICENSE-2.0
 .
 Unless required by applicable law or agreed to in writing, software
 distributed under the License is distributed on an "AS IS" BASIS,
 WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 See the License for the specific language governing permissions and
 limitations under the License.
 .
 On Debian systems, the complete text of the Apache License, Version 2.0,
 can be found in "/usr/share/common-licenses/Apache-2.0".
EOT
# The licence named must be the LICENSE the sources carry.
grep -q 'Apache License' LICENSE && grep -q 'Version 2.0, January 2004' LICENSE || {
	echo "deb.sh: LICENSE is not the Apache License 2.0; update the copyright file" >&2
	exit 1
}

# What lintian reports that is meant, and why.
install -d -m 0755 "$root/usr/share/lintian/overrides"
cat >"$root/usr/share/lintian/overrides/lvs-director" <<'EOT'
# A Go program built without cgo, static by design: lintian exempts Go programs
# built from a source package that build-depends on golang-go, and this package
# is built by dpkg-deb alone (scripts/deb.sh).
lvs-director: statically-linked-binary [usr/sbin/lvs-director]
# Built from the lvs repository, not uploaded to Debian: no ITP bug to close.
lvs-director: initial-upload-closes-no-bugs
# The daemon is a systemd Type=notify service (READY=1 after its first apply,
# the watchdog); it has no sysvinit script.
lvs-director: package-supports-alternative-init-but-no-init.d-script [lib/systemd/system/lvs-director.service]
EOT
chmod 0644 "$root/usr/share/lintian/overrides/lvs-director"

echo /etc/lvs/director.yaml >"$root/DEBIAN/conffiles"

# systemd learns of the unit (and forgets it); nothing is enabled or started.
for script in postinst postrm; do
	cat >"$root/DEBIAN/$script" <<'EOT'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
	systemctl --system daemon-reload >/dev/null || true
fi
exit 0
EOT
	chmod 0755 "$root/DEBIAN/$script"
done

size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<EOT
Package: lvs-director
Version: $version
Architecture: $arch
Maintainer: $name <$email>
Installed-Size: $size
Section: net
Priority: optional
Recommends: ipvsadm
Suggests: prometheus
Homepage: https://github.com/lvs-go/lvs
Description: IPVS load balancer with health checks (keepalived's load-balancing half)
 lvs-director keeps the kernel's IPVS table (Linux Virtual Server) as one
 configuration file says: virtual services and real servers, with health
 checks (tcp, http, https, tls, udp, dns, icmp, smtp, command), quorum and
 sorry servers, source NAT, firewall marks, and BGP announcements for
 several directors behind a router. It reloads without dropping
 connections, changes weights and drains real servers at run time over a
 control socket, serves Prometheus metrics, and imports a keepalived.conf.
EOT

(cd "$root" && find . -type f ! -path './DEBIAN/*' ! -path './etc/*' -printf '%P\n' | LC_ALL=C sort | xargs md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"

mkdir -p "$out"
deb=$out/lvs-director_${version}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
