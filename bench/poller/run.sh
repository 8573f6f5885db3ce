#!/usr/bin/env bash
# Re-runs the poller benchmarks behind bench/poller/RESULTS.md.
#
# The machine is shared: each run waits until the CPUs have been at least
# 90 % idle for two seconds, and BenchmarkScaleInterleaved measures every
# variant in turns inside each iteration, so the ratios between variants
# come from one run; the rounds repeat it. Needs root (or CAP_NET_ADMIN)
# for the burst grid's 64 MiB receive buffers; everything else runs as any
# user.
#
#   bench/poller/run.sh [rounds] > out.txt
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH=$PATH:/usr/local/go/bin
rounds=${1:-3}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go test -c -o "$dir/poller.test" ./poller

idle() {
	while :; do
		read -r _ u n s i w _ </proc/stat
		t1=$((u + n + s + i + w)) i1=$i
		sleep 2
		read -r _ u n s i w _ </proc/stat
		t2=$((u + n + s + i + w)) i2=$i
		if (((i2 - i1) * 100 >= 90 * (t2 - t1))); then
			return
		fi
	done
}
bench() {
	idle
	echo "# $(date -u +%FT%TZ) $*"
	"$dir/poller.test" -test.run '^$' -test.bench "$@"
}

bench 'DumpGrid' -test.benchtime 20x -test.count 3
bench 'BurstGrid' -test.benchtime 2x -test.count 2
for r in $(seq "$rounds"); do
	bench 'UnreadSocketCost' -test.benchtime 5x
	bench 'ScaleInterleaved/sockets=1$' -test.benchtime 40x
	bench 'ScaleInterleaved/sockets=64$' -test.benchtime 10x
	bench 'ScaleInterleaved/sockets=1024$' -test.benchtime 3x
done
