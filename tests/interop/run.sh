#!/usr/bin/env bash
# Build the Go cross-check tool (tlogcheck) offline against Debian's packages.
#
# Prerequisites (once per machine):
#   apt-get update && apt-get install -y golang-go golang-golang-x-mod-dev
#
# Usage:
#   tests/interop/run.sh build OUT_BINARY
#
# The build never touches the network (GOPROXY=off, GOTOOLCHAIN=local):
# go.mod replaces golang.org/x/mod with /usr/share/gocode/src/golang.org/x/mod.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
xmod=/usr/share/gocode/src/golang.org/x/mod

usage() { echo "usage: $0 build OUT_BINARY" >&2; exit 2; }

[ $# -eq 2 ] && [ "$1" = build ] || usage
out="$2"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
outdir="$(dirname "$out")"
mkdir -p "$outdir"

command -v go >/dev/null 2>&1 || {
  echo "run.sh: 'go' not found; run: apt-get install -y golang-go golang-golang-x-mod-dev" >&2; exit 1; }
[ -f "$xmod/sumdb/note/note.go" ] && [ -f "$xmod/sumdb/tlog/tlog.go" ] || {
  echo "run.sh: $xmod missing; run: apt-get install -y golang-golang-x-mod-dev" >&2; exit 1; }

# Hermetic, offline, reproducible Go environment.
work="$outdir/.tlogcheck-go"
mkdir -p "$work/cache" "$work/path"
export GOENV=off GOWORK=off GOTOOLCHAIN=local GOPROXY=off GOSUMDB=off \
       GOFLAGS="-mod=readonly" GO111MODULE=on CGO_ENABLED=0 \
       GOCACHE="${TLOGCHECK_GOCACHE:-$work/cache}" GOPATH="$work/path" \
       GOMODCACHE="$work/path/pkg/mod"

cd "$here"
go build -trimpath -buildvcs=false -o "$out" .
echo "built $out ($(go version | awk '{print $3}'), x/mod from $xmod)" >&2
