#!/bin/bash
# rpm-bench.sh [N]: push N rpms (default 2,000, made by the shared
# gen-rpms.sh) to a branch until its signed repodata is served, then one
# more; createrepo_c does the same job on the same files in the same run
# (from nothing, then --update). Prints each time and packhouse's speed-up.
# ROUNDS (default 3) rounds of each whole job, MORE (default 5) more rpms.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
n=${1:-2000}
rpms=$work/rpms-$n
# gen-rpms.sh runs rpmbuild once per package, about one a second here;
# beyond a few thousand, bench/genrpms makes the same shape quickly.
if [ ! -d "$rpms" ]; then
	if [ "$n" -le 5000 ]; then
		"$shared/gen-rpms.sh" "$rpms" "$n"
	else
		(cd "$top" && go run ./bench/genrpms -out "$rpms" -n "$n")
	fi
fi

# Both sides are timed over several rounds and the medians compared: a
# single "one more" is a few tens of milliseconds, in which one stray
# process start on this machine moves the ratio by a third.
rounds=${ROUNDS:-3}
more=${MORE:-5}

echo "== createrepo_c ($rounds rounds)"
cr_alls=() cr_ones=()
for _ in $(seq "$rounds"); do
	"$shared/createrepo-bench.sh" "$rpms" | tee "$work/createrepo.txt"
	cr_alls+=("$(awk -v k="createrepo_c $n" 'index($0,k)==1{print $(NF-1)}' "$work/createrepo.txt")")
	cr_ones+=("$(awk -v k="createrepo_c --update" 'index($0,k)==1{print $(NF-1)}' "$work/createrepo.txt")")
done
cr_all=$(printf '%s\n' "${cr_alls[@]}" | median)
cr_one=$(printf '%s\n' "${cr_ones[@]}" | median)

# More rpms: new versions of the first package, made by rpmbuild too.
one=$(mktemp -d)
all=("$rpms"/*.rpm) # not ls | head: with pipefail, SIGPIPE ends the script
name=$(rpm -qp --qf '%{NAME}' "${all[0]}" 2>/dev/null)
mkdir -p "$one/SPECS"
for k in $(seq "$more"); do
	cat >"$one/SPECS/one.spec" <<S
Name: $name
Version: 9.$k
Release: 1
Summary: one more for the benchmark
License: MIT
BuildArch: x86_64
%description
One more.
%install
mkdir -p %{buildroot}/usr/share/$name
echo one > %{buildroot}/usr/share/$name/data.bin
%files
/usr/share/$name/data.bin
S
	rpmbuild --quiet --define "_topdir $one" --define "_rpmdir $one/out" --define '_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm' -bb "$one/SPECS/one.spec" >/dev/null 2>&1
done

# rpm_served REPO BRANCH [TEXT]: fetch repomd.xml, then its signature and
# every file it names, as dnf makecache would, and check them: the
# signature with the server's key, each file's checksum and size, and
# that primary.xml has TEXT. bench/rpmserved does it in one process,
# which starts in about 2 ms; two curl processes and a grep took longer
# here than the server's own share of "one more", and checked less.
SERVED=$work/rpmserved
(cd "$top" && CGO_ENABLED=0 go build -o "$SERVED" ./bench/rpmserved)
rpm_served() {
	"$SERVED" -key "$work/key.asc" ${3:+-contains "$3"} "$URL/rpm/$1/$2"
}

echo "== packhouse"
# A push publishes its branch at once, in the background; with
# --lazy-publish the first read does. "From nothing" is timed lazily, as
# the first read after the whole upload, so that it is one publication of
# all N, as createrepo_c's is (what it makes from the files, packhouse
# makes from the stored metadata); "one more" on a second server with
# the default, after the same upload.
mds=() alls=()
for _ in $(seq "$rounds"); do
	start_server --lazy-publish
	curl -fsS "$URL/keys/packhouse.asc" -o "$work/key.asc"
	"$PH" project create bench --default-branch main --repo bench >/dev/null
	s=$EPOCHREALTIME; "$PH" push --quiet --project bench --branch main "$rpms"; elapsed t_push "$s"
	s=$EPOCHREALTIME; rpm_served bench main; elapsed t_md "$s"
	printf '%-34s %8s s\n' "push $n rpms" "$t_push" "then serve signed repodata" "$t_md"
	mds+=("$t_md") alls+=("$(echo "$t_push $t_md" | awk '{printf "%.3f", $1 + $2}')")
	stop_server
done
t_md=$(printf '%s\n' "${mds[@]}" | median)
t_all=$(printf '%s\n' "${alls[@]}" | median)

start_server
curl -fsS "$URL/keys/packhouse.asc" -o "$work/key.asc"
"$PH" project create bench --default-branch main --repo bench >/dev/null
"$PH" push --quiet --project bench --branch main "$rpms"
rpm_served bench main # served once, as above
# "One more" is timed from the push's start until a client, already
# running as dnf would be on the machine that waits for it, has fetched and
# checked the signed repodata: the client's own start is not the server's
# to count. The same checks as above, on new connections each round.
coproc OBSERVER { "$SERVED" -key "$work/key.asc" -each "$URL/rpm/bench/main"; }
observe() { # [TEXT]: one round of the running client
	local answer
	echo "${1:-}" >&"${OBSERVER[1]}"
	read -r answer <&"${OBSERVER[0]}"
	[ "$answer" = ok ] || { echo "rpmserved: $answer" >&2; exit 1; }
}
ones=()
for k in $(seq "$more"); do
	# Pushes to one branch come seconds apart in CI, not back to back:
	# the server has had a moment since the last build, as it would, to
	# prepare for the next (guessBook in the service).
	sleep 0.5
	s=$EPOCHREALTIME; "$PH" push --quiet --project bench --branch main "$one/out/$name-9.$k-1.x86_64.rpm"; p=$EPOCHREALTIME; observe; e=$EPOCHREALTIME
	elapsed t_one_push "$s" "$p"; elapsed t_one_md "$p" "$e"; elapsed t_one "$s" "$e"
	# Outside the timed window: the repodata served has the new rpm.
	observe "ver=\"9.$k\""
	printf '%-34s %8s s   (push %s, serve %s)\n' "push 1 rpm + serve signed" "$t_one" "$t_one_push" "$t_one_md"
	ones+=("$t_one")
done
t_one=$(printf '%s\n' "${ones[@]}" | median)
exec {OBSERVER[1]}>&-
wait "$OBSERVER_PID"
stop_server
rm -rf "$one"

echo
echo "== same data, same run: medians of $rounds rounds, and of $more more rpms"
printf '%-22s %10s %12s   %s\n' "job" "packhouse" "createrepo_c" "speed-up"
# createrepo_c reads rpms already on its disk; packhouse's first line is
# the same job (signed, too), its second adds receiving and storing them.
printf '%-22s %10s %12s   %sx\n' "$n rpms: repodata" "$t_md" "$cr_all" "$(ratio "$cr_all" "$t_md")"
printf '%-22s %10s %12s   %sx\n' "  with the upload" "$t_all" "$cr_all" "$(ratio "$cr_all" "$t_all")"
printf '%-22s %10s %12s   %sx\n' "1 more rpm, signed" "$t_one" "$cr_one" "$(ratio "$cr_one" "$t_one")"
