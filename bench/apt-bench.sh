#!/bin/bash
# apt-bench.sh [N]: push N debs (default 10,000, made by the shared
# gen-debs.sh) to a branch until its signed indexes are served, then one
# more; aptly and reprepro do the same job on the same files in the same
# run. Prints each time and packhouse's speed-up.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
n=${1:-10000}
debs=$work/debs-$n
[ -d "$debs" ] || "$shared/gen-debs.sh" "$debs" "$n"

echo "== aptly"; "$shared/aptly-bench.sh" "$debs" | tee "$work/aptly.txt"
echo "== reprepro"; "$shared/reprepro-bench.sh" "$debs" | tee "$work/reprepro.txt"

one=$(mktemp -d)
dpkg-deb -R "$debs/$(ls "$debs" | head -1)" "$one/x"
sed -i 's/^Version: .*/Version: 9.9-1/' "$one/x/DEBIAN/control"
dpkg-deb -b "$one/x" "$one/new.deb" >/dev/null

echo "== packhouse"
start_server
"$PH" project create bench --default-branch main --repo bench >/dev/null
s=$EPOCHREALTIME; "$PH" push --quiet --project bench --branch main "$debs"; served bench main; elapsed t_all "$s"
printf '%-28s %8s s\n' "push $n debs + serve signed" "$t_all"
s=$EPOCHREALTIME; "$PH" push --quiet --project bench --branch main "$one/new.deb"; served bench main; elapsed t_one "$s"
printf '%-28s %8s s\n' "push 1 deb + serve signed" "$t_one"
stop_server
rm -rf "$one"

sum() { awk -v k="$2" 'index($0,k)==1{print $(NF-1)}' "$1"; }
aptly_all=$(echo "$(sum "$work/aptly.txt" "repo add $n") + $(sum "$work/aptly.txt" "publish repo")" | bc)
aptly_one=$(echo "$(sum "$work/aptly.txt" "repo add 1 deb") + $(sum "$work/aptly.txt" "publish update")" | bc)
reprepro_all=$(sum "$work/reprepro.txt" "includedeb $n")
reprepro_one=$(sum "$work/reprepro.txt" "includedeb 1 deb")
echo
echo "== same data, same run"
printf '%-22s %10s %10s %10s   %s\n' "job" "packhouse" "aptly" "reprepro" "speed-up vs aptly / reprepro"
printf '%-22s %10s %10s %10s   %sx / %sx\n' "$n debs, signed" "$t_all" "$aptly_all" "$reprepro_all" "$(ratio "$aptly_all" "$t_all")" "$(ratio "$reprepro_all" "$t_all")"
printf '%-22s %10s %10s %10s   %sx / %sx\n' "1 more deb, signed" "$t_one" "$aptly_one" "$reprepro_one" "$(ratio "$aptly_one" "$t_one")" "$(ratio "$reprepro_one" "$t_one")"
