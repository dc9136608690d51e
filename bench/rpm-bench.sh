#!/bin/bash
# rpm-bench.sh [N]: push N rpms (default 2,000, made by the shared
# gen-rpms.sh) to a branch until its signed repodata is served, then one
# more; createrepo_c does the same job on the same files in the same run
# (from nothing, then --update). Prints each time and packhouse's speed-up.
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

echo "== createrepo_c"; "$shared/createrepo-bench.sh" "$rpms" | tee "$work/createrepo.txt"

# One more rpm: a new version of the first package, made by rpmbuild too.
one=$(mktemp -d)
first=$(ls "$rpms" | head -1)
name=$(rpm -qp --qf '%{NAME}' "$rpms/$first" 2>/dev/null)
mkdir -p "$one/SPECS"
cat >"$one/SPECS/one.spec" <<S
Name: $name
Version: 9.9
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
new=$(ls "$one"/out/*.rpm)

# served REPO BRANCH: fetch repomd.xml, its signature and every file it
# names, as dnf makecache would.
rpm_served() {
	local base=$URL/rpm/$1/$2
	curl -fsS "$base/repodata/repomd.xml" -o "$work/repomd.xml"
	curl -fsS "$base/repodata/repomd.xml.asc" -o /dev/null
	grep -o 'href="[^"]*"' "$work/repomd.xml" | cut -d'"' -f2 | while read -r href; do
		curl -fsS "$base/$href" -o /dev/null
	done
}

echo "== packhouse"
start_server
"$PH" project create bench --default-branch main --repo bench >/dev/null
s=$(now); "$PH" push --quiet --project bench --branch main "$rpms"; rpm_served bench main; t_all=$(elapsed "$s")
printf '%-34s %8s s\n' "push $n rpms + serve signed" "$t_all"
s=$(now); "$PH" push --quiet --project bench --branch main "$new"; rpm_served bench main; t_one=$(elapsed "$s")
printf '%-34s %8s s\n' "push 1 rpm + serve signed" "$t_one"
# The repodata alone, from metadata already stored: a new branch of the
# same packages, whose view has to be published from nothing.
s=$(now); "$PH" push --quiet --project bench --branch again "$rpms"; rpm_served bench again; t_again=$(elapsed "$s")
printf '%-34s %8s s\n' "same $n to a new branch + serve" "$t_again"
stop_server
rm -rf "$one"

sum() { awk -v k="$2" 'index($0,k)==1{print $(NF-1)}' "$1"; }
cr_all=$(sum "$work/createrepo.txt" "createrepo_c $n")
cr_one=$(sum "$work/createrepo.txt" "createrepo_c --update")
echo
echo "== same data, same run"
printf '%-22s %10s %12s   %s\n' "job" "packhouse" "createrepo_c" "speed-up"
printf '%-22s %10s %12s   %sx\n' "$n rpms, signed" "$t_all" "$cr_all" "$(ratio "$cr_all" "$t_all")"
printf '%-22s %10s %12s   %sx\n' "1 more rpm, signed" "$t_one" "$cr_one" "$(ratio "$cr_one" "$t_one")"
