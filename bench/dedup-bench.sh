#!/bin/bash
# dedup-bench.sh [MB]: push 1 GB (default 1024 MB) of debs the server
# already holds to a new branch, with a warm hash cache and with a cold one;
# sha256sum over the same files, in the same run, is the anchor for cold.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
mb=${1:-1024}
count=$((mb / 4))
debs=$work/debs-dedup-$mb
[ -d "$debs" ] || "$shared/gen-debs.sh" "$debs" "$count" 4096
echo "$(ls "$debs" | wc -l) files, $(du -sm "$debs" | cut -f1) MB"
start_server
"$PH" project create bench --default-branch main --repo bench >/dev/null
"$PH" push --quiet --project bench --branch main "$debs"

cat "$debs"/*.deb >/dev/null # the same page cache for every run below
s=$EPOCHREALTIME; (cd "$debs" && sha256sum ./*.deb >/dev/null); elapsed t_sha "$s"
s=$EPOCHREALTIME; "$PH" push --quiet --project bench --branch warm "$debs"; elapsed t_warm "$s"
rm -f "$PACKHOUSE_HASH_CACHE"
s=$EPOCHREALTIME; "$PH" push --quiet --project bench --branch cold "$debs"; elapsed t_cold "$s"
received=$(curl -fsS "$URL/metrics" | awk '$1=="packhouse_push_body_bytes_total"{print $2}')
stop_server
printf '%-40s %8s s\n' "sha256sum over the files" "$t_sha"
printf '%-40s %8s s   (goal < 0.5 s)\n' "push to a new branch, warm hash cache" "$t_warm"
printf '%-40s %8s s   %sx sha256sum (goal <= 1.2x)\n' "push to a new branch, cold hash cache" "$t_cold" "$(ratio "$t_cold" "$t_sha")"
echo "body bytes the server received in all: $received (the first push only)"
