# Shared by the bench scripts: build packhouse, start and stop a server,
# time a command. Source it; it sets $PH, $URL, $TOKEN, $DATA, $SERVER_PID.
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shared=${SHARED_BENCH:-$top/../shared/bench}
work=${BENCH_WORK:-/var/tmp/packhouse-bench}
mkdir -p "$work"
PH=$work/packhouse
# Built as the README builds it: static, without cgo.
(cd "$top" && CGO_ENABLED=0 go build -o "$PH" ./cmd/packhouse)

# Timing is bash alone, with no subshell in the timed window: a $(...)
# forks bash, and a fork waits for a core, which the server may be busy
# with. Starting date, bc or awk costs milliseconds of its own, as much as
# a small job takes. Take the start with s=$EPOCHREALTIME; then
# elapsed VAR START [END] sets VAR to the seconds from START to END (by
# default, now), three decimals.
elapsed() {
	local end=${3:-$EPOCHREALTIME}
	local us=$((${end/./} - ${2/./}))
	printf -v "$1" '%d.%03d' $((us / 1000000)) $((us % 1000000 / 1000))
}
# median reads numbers, one a line, and prints the middle one.
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { echo "$1 $2" | awk '{ if ($2 > 0) printf "%.1f", $1 / $2; else print "inf" }'; }

# start_server [SERVE-FLAGS...] starts a server on a new data folder.
start_server() {
	DATA=$(mktemp -d "$work/data.XXXXXX")
	local port
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	URL=http://127.0.0.1:$port
	run_server "$@"
	TOKEN=$(cat "$DATA/admin-token")
	export PACKHOUSE_URL=$URL PACKHOUSE_TOKEN=$TOKEN PACKHOUSE_HASH_CACHE=$DATA/client-hashes
}

run_server() {
	"$PH" serve --listen "${URL#http://}" --data "$DATA" --log-level "${SERVER_LOG_LEVEL:-warn}" "$@" >>"$DATA/serve.out" 2>>"$DATA/serve.err" &
	SERVER_PID=$!
	for _ in $(seq 100); do curl -fsS "$URL/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
}

stop_server() {
	kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
	rm -rf "$DATA"
}

# served REPO SUITE: fetch the signed Release and every index it names, as
# apt-get update would, so that a timing includes publishing.
served() {
	local base=$URL/apt/$1/dists/$2
	curl -fsS "$base/InRelease" -o "$work/InRelease"
	awk '/^SHA256:/{s=1;next} /^[^ ]/{s=0} s&&$3~/Packages.gz$/{print $1" "$3}' "$work/InRelease" |
	while read -r sum path; do
		curl -fsS "$base/$(dirname "$path")/by-hash/SHA256/$sum" -o /dev/null
	done
}
