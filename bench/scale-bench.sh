#!/bin/bash
# scale-bench.sh: how the cost of pushing one more deb grows with the
# branch: the same job at 10,000 and at 100,000 packages (made by
# bench/gendebs, which is fast enough for 100,000). The goal is at most 2x.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
one_more() { # N: time to push 1 deb to a branch of N and serve its signed indexes (median of 5)
	local n=$1 debs=$work/gendebs-$1
	[ -d "$debs" ] || (cd "$top" && go run ./bench/gendebs -out "$debs" -n "$n")
	start_server
	"$PH" project create bench --default-branch main --repo bench >/dev/null
	s=$(now); "$PH" push --quiet --jobs 16 --project bench --branch main "$debs"; served bench main
	printf '%-34s %8s s\n' "push $n debs + serve signed" "$(elapsed "$s")" >&2
	local extra times=()
	extra=$(mktemp -d)
	for i in 1 2 3 4 5; do
		(cd "$top" && go run ./bench/gendebs -out "$extra/$i" -n 1) 2>/dev/null
		mv "$extra/$i/pkg-000001_1.0-1_amd64.deb" "$extra/$i/more.deb" 2>/dev/null || true
		# A new version of a package in the middle of the index.
		f=$(ls "$extra/$i"/*.deb | head -1)
		s=$(now); "$PH" push --quiet --project bench --branch main --replace "$f"; served bench main; times+=("$(elapsed "$s")")
	done
	stop_server
	rm -rf "$extra"
	printf '%s\n' "${times[@]}" | sort -n | sed -n 3p
}
t10=$(one_more 10000)
t100=$(one_more 100000)
printf '%-34s %8s s\n' "1 more deb at 10,000 (median)" "$t10"
printf '%-34s %8s s\n' "1 more deb at 100,000 (median)" "$t100"
echo "growth 10,000 -> 100,000: $(ratio "$t100" "$t10")x (goal: at most 2x)"
