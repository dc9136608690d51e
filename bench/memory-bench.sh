#!/bin/bash
# memory-bench.sh [MB]: the server's RSS while it receives one package of
# 2 GB (default 2048 MB). The goal is growth under 64 MiB.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
mb=${1:-2048}
big=$work/big-$mb.deb
if [ ! -f "$big" ]; then
	root=$(mktemp -d)
	mkdir -p "$root/DEBIAN" "$root/opt/big"
	printf 'Package: big\nVersion: 1.0\nArchitecture: amd64\nMaintainer: Bench <bench@example.org>\nDescription: one big file\n' >"$root/DEBIAN/control"
	head -c $((mb * 1024 * 1024)) /dev/urandom >"$root/opt/big/blob"
	dpkg-deb -Znone -b "$root" "$big" >/dev/null
	rm -rf "$root"
fi
start_server
"$PH" project create bench --default-branch main --repo bench >/dev/null
rss() { awk -v k="$1:" '$1==k{print $2}' "/proc/$SERVER_PID/status"; }
before=$(rss VmRSS)
s=$EPOCHREALTIME; "$PH" push --quiet --project bench --branch main "$big"; elapsed t "$s"
peak=$(rss VmHWM)
stop_server
echo "package: $(du -m "$big" | cut -f1) MB, pushed in $t s"
echo "server RSS before: $((before / 1024)) MiB, peak: $((peak / 1024)) MiB, growth: $(((peak - before) / 1024)) MiB (goal < 64 MiB)"
