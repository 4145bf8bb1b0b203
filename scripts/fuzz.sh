#!/bin/sh
# Runs every fuzz target for a fixed budget each (default 30s; FUZZTIME=5m
# for longer). go test ./... runs only their seeds and the inputs kept in
# each package's testdata/fuzz; an input that fails here is written there
# by go test: keep it (git add) once the bug it found is fixed.
# The targets run on the host (LVS_VMTEST=host): they need no kernel.
set -eu
cd "$(dirname "$0")/.."
t=${FUZZTIME:-30s}
for pkg in ./ipvs ./iptables ./director; do
	for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz'); do
		echo "== $pkg $target ($t)"
		LVS_VMTEST=host go test -run '^$' -fuzz "^$target\$" -fuzztime "$t" -fuzzminimizetime 10s -parallel 2 "$pkg"
	done
done
