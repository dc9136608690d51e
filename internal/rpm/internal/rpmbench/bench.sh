#!/bin/sh
# Packs the same trees with package rpm (through rpmbench) and with
# rpmbuild -bb, same compression and level, one after the other in the same
# run, and prints wall time, CPU time, peak RSS and package size of each.
#
#   internal/rpm/internal/rpmbench/bench.sh            # gzip and zstd
#   COMPRESSIONS="gzip zstd xz" SETS=small bench.sh    # xz is slow: small set
#   WORK=/var/tmp/rpmbench bench.sh                    # keep the data between runs
#
# Sets: "big" is one 1 GiB file (the first GiB of a tar of /usr: real,
# mixed binaries and text); "small" is 20,000 files of 3000 bytes in 200
# directories. Needs rpmbuild, GNU time and go.
set -eu

WORK=${WORK:-$(mktemp -d)}
SETS=${SETS:-"big small"}
COMPRESSIONS=${COMPRESSIONS:-"gzip zstd"}
here=$(cd "$(dirname "$0")" && pwd)

level() {
	case $1 in gzip) echo 6 ;; xz) echo 2 ;; zstd) echo 3 ;; esac
}
rpmio() {
	case $1 in gzip) echo gzdio ;; xz) echo xzdio ;; zstd) echo zstdio ;; esac
}

(cd "$here" && go build -o "$WORK/rpmbench" .)

# Each set lives in a build root, so that rpmbuild packs it in place (no
# %install, so nothing is copied) and rpmbench reads the same files.
data=$WORK/root-big/opt/bench
if [ ! -f "$data/data" ]; then
	mkdir -p "$data"
	tar -cf - /usr 2>/dev/null | head -c 1073741824 >"$data/data" || true
fi
data=$WORK/root-small/opt/bench
if [ ! -d "$data/d199" ]; then
	mkdir -p "$data"
	(cd "$data" && tar -cf - /usr 2>/dev/null | head -c 60000000 | split -b 3000 -a 5 -d - x) || true
	i=0
	while [ $i -lt 200 ]; do
		d=$(printf %03d $i)
		mkdir -p "$data/d$d"
		mv "$data"/x"$d"?? "$data/d$d/"
		i=$((i + 1))
	done
fi

cat >"$WORK/bench.spec" <<'EOF'
Name: bench
Version: 1.0
Release: 1
Summary: benchmark
License: MIT
%description
benchmark
%files
/opt/bench
EOF

# measure NAME CMD...: one line of results for a command writing $out.
measure() {
	name=$1
	shift
	/usr/bin/time -f '%e %U %S %M' -o "$WORK/time" "$@" >"$WORK/log" 2>&1 || {
		cat "$WORK/log"
		exit 1
	}
	read -r wall user sys rss <"$WORK/time"
	size=$(stat -c %s "$out")
	awk -v n="$name" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v z="$size" \
		'BEGIN { printf "%-28s %8.1f %8.1f %9.1f %10.1f\n", n, w, u + s, r / 1024, z / 1048576 }'
}

printf "%-28s %8s %8s %9s %10s\n" "run" "wall s" "cpu s" "RSS MiB" "size MiB"
for set in $SETS; do
	for c in $COMPRESSIONS; do
		l=$(level "$c")
		out=$WORK/ours-$set-$c.rpm
		rm -f "$out"
		measure "packhouse $set $c-$l" "$WORK/rpmbench" -src "$WORK/root-$set/opt/bench" \
			-prefix /opt/bench -out "$out" -compression "$c" -level "$l"
		rm -rf "$WORK/top"
		out=$WORK/top/RPMS/$(rpm --eval %_arch)/bench-1.0-1.$(rpm --eval %_arch).rpm
		measure "rpmbuild $set $c-$l" rpmbuild -bb --noclean --quiet \
			--buildroot "$WORK/root-$set" \
			--define "_topdir $WORK/top" \
			--define "_binary_payload w$l.$(rpmio "$c")" \
			--define '__os_install_post %{nil}' \
			--define 'debug_package %{nil}' \
			--define '_build_id_links none' \
			"$WORK/bench.spec"
		mv "$out" "$WORK/rpmbuild-$set-$c.rpm"
	done
done
echo "data and packages in $WORK"
