#!/bin/bash
# scale-bench.sh: how the cost of pushing one more deb grows with the
# branch: the same job at 10,000 and at 100,000 packages (made by
# bench/gendebs, which is fast enough for 100,000). The goal is at most 2x.
# "One more" is a new version of a package in the middle of the branch;
# replacing an existing package (same version, other bytes) is the worst
# case for the index layout and is shown too.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
(cd "$top" && go build -o "$work/gendebs" ./bench/gendebs)
measure() { # N: prints "one-more-median replace-median"
	local n=$1 debs=$work/gendebs-$1 mid=$(($1 / 2)) extra
	[ -d "$debs" ] || "$work/gendebs" -out "$debs" -n "$n"
	start_server
	"$PH" project create bench --default-branch main --repo bench >/dev/null
	s=$EPOCHREALTIME; "$PH" push --quiet --project bench --branch main "$debs"; served bench main
	elapsed t "$s"
	printf '%-34s %8s s\n' "push $n debs + serve signed" "$t" >&2
	extra=$(mktemp -d)
	local more=() repl=() t
	for i in 1 2 3 4 5; do
		"$work/gendebs" -out "$extra/m$i" -n 1 -first "$mid" -version "2.$i-1"
		s=$EPOCHREALTIME; "$PH" push --quiet --project bench --branch main "$extra/m$i"; served bench main; elapsed t "$s"; more+=("$t")
	done
	for i in 1 2 3; do
		"$work/gendebs" -out "$extra/r$i" -n 1 -first 1 # pkg-000001 1.0-1, other random bytes
		s=$EPOCHREALTIME; "$PH" push --quiet --project bench --branch main --replace "$extra/r$i"; served bench main; elapsed t "$s"; repl+=("$t")
	done
	stop_server
	rm -rf "$extra"
	echo "$(printf '%s\n' "${more[@]}" | median) $(printf '%s\n' "${repl[@]}" | median)"
}
read -r m10 r10 < <(measure 10000)
read -r m100 r100 < <(measure 100000)
printf '%-40s %8s s\n' "1 more deb at 10,000 (median of 5)" "$m10"
printf '%-40s %8s s\n' "1 more deb at 100,000 (median of 5)" "$m100"
echo "growth 10,000 -> 100,000: $(ratio "$m100" "$m10")x (goal: at most 2x)"
printf '%-40s %8s s\n' "replace 1 deb at 10,000 (median of 3)" "$r10"
printf '%-40s %8s s\n' "replace 1 deb at 100,000 (median of 3)" "$r100"
echo "growth of the worst case: $(ratio "$r100" "$r10")x"
