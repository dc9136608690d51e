#!/bin/sh
# Benchmarks packhouse build on one package holding a single 1 GiB file and
# one holding 20,000 small files, in every format, and dpkg-deb -b on the
# same trees with the same compression and level. Each case runs ROUNDS
# times, packhouse and dpkg-deb alternating, so that a busy machine slows
# both alike; the table shows the best wall time, the CPU time (user+sys)
# of that run and the largest peak RSS of all runs, from /usr/bin/time -v.
#
#   internal/build/internal/buildbench/bench.sh [WORKDIR]
#
# WORKDIR (default /tmp/packhouse-buildbench) needs about 4 GiB. Set
# FORMATS, CASES or ROUNDS to run less: FORMATS="deb-gzip deb-zstd" CASES=small.
set -eu

work=${1:-/tmp/packhouse-buildbench}
rounds=${ROUNDS:-3}
formats=${FORMATS:-"deb-gzip deb-zstd deb-xz rpm apk archlinux tar.xz tar.gz zip"}
cases=${CASES:-"big small"}
repo=$(cd "$(dirname "$0")/../../../.." && pwd)
export SOURCE_DATE_EPOCH=1700000000

mkdir -p "$work"
cd "$work"
go build -C "$repo" -o "$work/packhouse" ./cmd/packhouse
go build -C "$repo" -o "$work/buildbench" ./internal/build/internal/buildbench
[ -f big.dat ] || ./buildbench -size 1073741824 -out big.dat
[ -d small ] || ./buildbench -files 20000 -out small

# Specs, one per case and deb compression; dpkg-deb trees hard-linked to
# the same payload.
for c in big small; do
	for comp in gzip zstd xz; do
		mkdir -p "spec-$c-$comp"
		{
			echo "name: bench-$c"
			echo "arch: amd64"
			echo "version: 1.0.0"
			echo "maintainer: Bench <bench@example.com>"
			echo "description: packhouse build benchmark"
			echo "deb:"
			echo "  compression: $comp"
			echo "contents:"
			if [ "$c" = big ]; then
				echo "  - src: ../big.dat"
				echo "    dst: /opt/bench/big.dat"
			else
				echo "  - src: ../small"
				echo "    dst: /opt/bench/small"
				echo "    type: tree"
			fi
		} >"spec-$c-$comp/nfpm.yaml"
	done
	if [ ! -d "root-$c" ]; then
		mkdir -p "root-$c/DEBIAN" "root-$c/opt/bench"
		if [ "$c" = big ]; then ln big.dat "root-$c/opt/bench/big.dat"; else cp -al small "root-$c/opt/bench/small"; fi
		printf 'Package: bench-%s\nVersion: 1.0.0\nArchitecture: amd64\nMaintainer: Bench <bench@example.com>\nDescription: packhouse build benchmark\n' "$c" >"root-$c/DEBIAN/control"
	fi
done

# measure LABEL CMD...: runs CMD under /usr/bin/time -v, appends
# "label wall cpu rss size" to results.
measure() {
	label=$1
	shift
	rm -rf out && mkdir out
	/usr/bin/time -v -o time.txt "$@" >/dev/null
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,t,":"); s=0; for(i=1;i<=n;i++) s=s*60+t[i]; print s}' time.txt)
	cpu=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.2f", u+s}' time.txt)
	rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2/1024}' time.txt)
	size=$(du -b out | tail -1 | cut -f1)
	echo "$label $wall $cpu $rss $size" >>results
}

: >results
for c in $cases; do
	for f in $formats; do
		case $f in
		deb-*) comp=${f#deb-} packager=deb ;;
		*) comp=gzip packager=$f ;;
		esac
		for r in $(seq "$rounds"); do
			measure "$c $f packhouse" ./packhouse build -f "spec-$c-$comp/nfpm.yaml" --packager "$packager" --target out
			case $f in
			deb-gzip) measure "$c $f dpkg-deb" dpkg-deb --root-owner-group -Zgzip -z6 -b "root-$c" out/x.deb ;;
			deb-zstd) measure "$c $f dpkg-deb" dpkg-deb --root-owner-group -Zzstd -z3 -b "root-$c" out/x.deb ;;
			# packhouse's xz has no presets: its 1 MiB dictionary is xz -1's,
			# its output about as large as xz -2's. xz -6, dpkg-deb's
			# default, needs 94 MiB to compress: once, for reference (NO_Z6=1
			# skips it).
			deb-xz)
				measure "$c $f dpkg-deb-z1" dpkg-deb --root-owner-group -Zxz -z1 -b "root-$c" out/x.deb
				measure "$c $f dpkg-deb-z2" dpkg-deb --root-owner-group -Zxz -z2 -b "root-$c" out/x.deb
				if [ "$r" = 1 ] && [ -z "${NO_Z6:-}" ]; then
					measure "$c $f dpkg-deb-z6" dpkg-deb --root-owner-group -Zxz -z6 -b "root-$c" out/x.deb
				fi
				;;
			esac
		done
	done
done

echo "case  format     tool           best wall s   cpu s   peak RSS MiB   size MiB"
awk '{
	k=$1" "$2" "$3
	if (!(k in best) || $4 < best[k]) { best[k]=$4; cpu[k]=$5; size[k]=$7 }
	if ($6 > rss[k]) rss[k]=$6
	if (!(k in seen)) { seen[k]=1; order[++n]=k }
} END {
	for (i=1;i<=n;i++) { k=order[i]; split(k,p," ")
		printf "%-5s %-10s %-14s %11.2f %7.2f %14.1f %10.1f\n", p[1], p[2], p[3], best[k], cpu[k], rss[k], size[k]/1048576 }
}' results
