#!/usr/bin/env bash
# Mutation testing of nl, poller and stream with gremlins
# (github.com/go-gremlins/gremlins); the figures are in bench/MUTATION.md.
#
#   bench/mutation.sh                 # nl, poller, stream
#   bench/mutation.sh poller          # one package (any of the module's)
#   MUTATION_WATCH=1 bench/mutation.sh  # stream/watch too (slow; its tests need root)
#
# Each package is mutated in a scratch copy that holds go.mod, go.sum and
# only the packages its tests build (go list -deps -test), so that
#   - gremlins' coverage run (go test -cover ./PKG/...) runs PKG's tests and
#     not those of its subpackages (nl/rtnl, stream/watch, ...),
#   - files being edited elsewhere in the tree cannot break the build,
#   - only PKG's own files are mutated (--exclude-files '/': every file of a
#     subdirectory, such as nl/nltest, is left alone).
# gremlins then runs the package's tests once per covered mutant. It runs
# once per file of the package (the other files excluded), so that each run
# is bounded by MUTATION_TIMEOUT and the package's report is the union of
# the files' reports.
#
# Environment:
#   GREMLINS_VERSION  version installed when gremlins is missing (v0.6.0)
#   MUTATION_REV      a git revision to mutate instead of the working tree
#   MUTATION_WORKERS  gremlins --workers (1: the machine is shared)
#   MUTATION_COEFF    gremlins --timeout-coefficient: a mutant's tests time
#                     out after COEFF times the coverage run (5: the
#                     machine is shared; gremlins' default is 3), raised
#                     per package so that the timeout is at least
#                     MUTATION_MIN_TIMEOUT seconds (60)
#   MUTATION_TIMEOUT  seconds one gremlins run (one file) may take (3600)
#   MUTATION_FILES    an extended regexp: mutate only the package's files
#                     it matches; the reports of the others, from an
#                     earlier run, are kept and counted
#   MUTATION_OUT      where the JSON reports and the lists of survivors
#                     go (bench/out/mutation)
#   MUTATION_ROOT     the module to mutate (the one holding this script)
#   MUTATION_WATCH=1  add stream/watch to the default packages; its fib.go
#                     (the pure model of the kernel's route tables) is
#                     mutated against the model's own tests (TestFIB...):
#                     the watchers' socket code is tested against the
#                     kernel, minutes a run, too slow to run per mutant
#   MUTATION_RUN      go test -run for every package (none: all tests)
#   MUTATION_DRY=1    gremlins --dry-run: list the mutants (RUNNABLE when
#                     covered), run no mutant's tests
#
# Prints, per package, the mutants killed, lived, not covered, timed out and
# not viable, the total, gremlins' efficacy (killed / (killed + lived)) and
# mutant coverage ((killed + lived) / (killed + lived + not covered)), then
# the lived and timed-out mutants as file:line:col.
# Needs go, jq and git. As root the real-kernel tests run in private network
# namespaces; as any other user they run in user namespaces or skip.
set -euo pipefail

root=${MUTATION_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"
export PATH=$PATH:/usr/local/go/bin:$(go env GOPATH)/bin

version=${GREMLINS_VERSION:-v0.6.0}
workers=${MUTATION_WORKERS:-1}
coeff=${MUTATION_COEFF:-5}
min=${MUTATION_MIN_TIMEOUT:-60}
limit=${MUTATION_TIMEOUT:-3600}
out=${MUTATION_OUT:-$root/bench/out/mutation}
dry=()
if [ "${MUTATION_DRY:-}" = 1 ]; then
	dry=(--dry-run)
fi

if [ $# -gt 0 ]; then
	pkgs=("$@")
else
	pkgs=(nl poller stream)
	if [ "${MUTATION_WATCH:-}" = 1 ]; then
		pkgs+=(stream/watch)
	fi
fi

if ! command -v gremlins >/dev/null; then
	echo "installing gremlins $version" >&2
	GOFLAGS=-mod=mod go install "github.com/go-gremlins/gremlins/cmd/gremlins@$version"
fi
command -v jq >/dev/null || {
	echo "mutation.sh needs jq" >&2
	exit 1
}
echo "# $(gremlins --version 2>&1 | head -1), $(go version)" >&2

scratch=$(mktemp -d)
# gremlins runs under timeout, which puts it in a process group of its
# own: stopping this script stops that group too (gremlins, go test and the
# test binaries). gremlins takes SIGTERM as "stop after the mutant in
# progress, and put its file back"; after 30 s the group is killed.
child=
cleanup() {
	if [ -n "$child" ]; then
		kill -TERM -- "-$child" 2>/dev/null || true
		for _ in $(seq 30); do
			kill -0 "$child" 2>/dev/null || break
			sleep 1
		done
		kill -KILL -- "-$child" 2>/dev/null || true
	fi
	chmod -R u+w "$scratch" 2>/dev/null
	rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$out"

src=$root
if [ -n "${MUTATION_REV:-}" ]; then
	src=$scratch/src
	mkdir -p "$src"
	git archive "$MUTATION_REV" | tar -x -C "$src"
fi
mod=$(cd "$src" && go list -m)

# copy into $1 the packages PKG's tests build: PKG whole, the others
# without their tests.
closure() {
	local dst=$1 pkg=$2 d rel
	cp "$src/go.mod" "$src/go.sum" "$dst/"
	(cd "$src" && go list -deps -test -f '{{if .Module}}{{if .Module.Main}}{{.Dir}}{{end}}{{end}}' "./$pkg") |
		sort -u | while read -r d; do
		rel=${d#"$src"}
		rel=${rel#/}
		mkdir -p "$dst/$rel"
		if [ "$rel" = "$pkg" ]; then
			find "$d" -maxdepth 1 -type f -exec cp {} "$dst/$rel/" \;
			if [ -d "$d/testdata" ]; then
				cp -r "$d/testdata" "$dst/$rel/"
			fi
		else
			# a dependency: its code, not its tests (which the coverage
			# run of PKG/... would run, and which may need more packages)
			find "$d" -maxdepth 1 -type f ! -name '*_test.go' -exec cp {} "$dst/$rel/" \;
		fi
	done
}

summary=$out/summary.txt
: >"$summary"
printf '%-14s %7s %6s %11s %9s %10s %6s %9s %7s %8s\n' package killed lived not-covered timed-out not-viable total efficacy mcover runnable | tee -a "$summary"
status=0
for pkg in "${pkgs[@]}"; do
	pkg=${pkg#./}
	pkg=${pkg%/}
	name=${pkg//\//-}
	files_re=${MUTATION_FILES:-.}
	run=${MUTATION_RUN:-}
	if [ "$pkg" = stream/watch ] && [ -z "${MUTATION_FILES:-}${MUTATION_RUN:-}" ]; then
		files_re='^fib\.go$'
		run='^TestFIB'
	fi
	gflags=-count=1
	if [ -n "$run" ]; then
		gflags="$gflags -run=$run"
	fi
	work=$scratch/$name
	tmp=$scratch/tmp-$name # outside the copy, which gremlins copies again per worker
	mkdir -p "$work" "$tmp"
	closure "$work" "$pkg"
	if [ "$files_re" = . ]; then
		rm -rf "${out:?}/$name"
	fi
	mkdir -p "$out/$name"
	# gremlins times a mutant's tests out after coefficient × its coverage
	# run; with a fast package that is less than the tests' own bounded
	# waits (10 s and more), and a mutant they catch that way would count
	# as timed out. So the coefficient is raised until the timeout is at
	# least MUTATION_MIN_TIMEOUT, from a coverage run timed here (the second
	# of two: the first warms the build cache, as it is for gremlins').
	if ! (cd "$work" && TMPDIR=$tmp GOFLAGS=$gflags go test -cover "./$pkg/..." >"$out/$name.baseline.log" 2>&1); then
		echo "$pkg: its tests fail before any mutation (see $out/$name.baseline.log)" >&2
		status=1
		continue
	fi
	t0=$(date +%s%N) # the second run, with the build cached, as gremlins' will be
	(cd "$work" && TMPDIR=$tmp GOFLAGS=$gflags go test -cover "./$pkg/..." >>"$out/$name.baseline.log" 2>&1) || true
	ms=$((($(date +%s%N) - t0) / 1000000))
	k=$(((min * 1000 + ms - 1) / ms))
	pcoeff=$((k > coeff ? k : coeff))
	echo "== $pkg: tests take $((ms / 1000)).$((ms % 1000 / 100)) s with -cover; --timeout-coefficient $pcoeff" >&2
	# One gremlins run per file of the package, the others excluded, so
	# that each run stays bounded and a failure loses one file's results.
	mapfile -t files < <(cd "$work/$pkg" && ls -- *.go | grep -v '_test\.go$' | grep -E -- "$files_re" || true)
	for f in "${files[@]}"; do
		excl=(--exclude-files '/')
		while read -r g; do
			if [ "$g" != "$f" ]; then
				excl+=(--exclude-files "^${g//./\\.}\$")
			fi
		done < <(cd "$work/$pkg" && ls -- *.go | grep -v '_test\.go$')
		json=$out/$name/$f.json
		log=$out/$name/$f.log
		rm -f "$json"
		echo "== $pkg/$f: gremlins unleash --workers $workers --timeout-coefficient $pcoeff ${dry[*]:+${dry[*]} }(at most ${limit}s); log in $log" >&2
		# -count=1: the coverage run's duration sets the mutants' timeout,
		# and a cached result would make it zero.
		(cd "$work/$pkg" && TMPDIR=$tmp GOFLAGS=$gflags exec timeout --kill-after=30 "$limit" \
			gremlins unleash --workers "$workers" --timeout-coefficient "$pcoeff" \
			"${excl[@]}" "${dry[@]}" --output "$json" "$work/$pkg") >"$log" 2>&1 &
		child=$!
		if ! wait "$child"; then
			echo "$pkg/$f: gremlins failed or timed out (see $log)" >&2
			status=1
		fi
		child=
		# (no report: the file has no mutants)
	done
	reports=("$out/$name"/*.json)
	if [ ! -e "${reports[0]}" ]; then
		printf '%-14s %s\n' "$pkg" "no report" | tee -a "$summary"
		continue
	fi
	jq -s '{files: [.[].files[]]}' "${reports[@]}" >"$out/$name.json"
	jq -r --arg p "$pkg" '
		[.files[].mutations[].status] as $s
		| def n(x): [$s[] | select(. == x)] | length;
		(n("KILLED")) as $k | (n("LIVED")) as $l
		| [$p, $k, $l, n("NOT COVERED"), n("TIMED OUT"), n("NOT VIABLE"), ($s | length),
		   (if $k + $l > 0 then ($k * 10000 / ($k + $l) | round / 100 | tostring) + "%" else "-" end),
		   (if $k + $l + n("NOT COVERED") > 0 then (($k + $l) * 10000 / ($k + $l + n("NOT COVERED")) | round / 100 | tostring) + "%" else "-" end),
		   n("RUNNABLE")]
		| @tsv' "$out/$name.json" |
		awk -F'\t' '{printf "%-14s %7s %6s %11s %9s %10s %6s %9s %7s %8s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10}' |
		tee -a "$summary"
	jq -r --arg p "$pkg" '.files[] | .file_name as $f | .mutations[]
		| select(.status == "LIVED" or .status == "TIMED OUT")
		| "\($p)/\($f):\(.line):\(.column) \(.type) \(.status)"' "$out/$name.json" |
		sort -t: -k1,1 -k2,2n -k3,3n >"$out/$name.survivors.txt"
done

echo >&2
for pkg in "${pkgs[@]}"; do
	pkg=${pkg#./}
	pkg=${pkg%/}
	f=$out/${pkg//\//-}.survivors.txt
	if [ -s "$f" ]; then
		echo "# $pkg: lived / timed out" >&2
		cat "$f" >&2
	fi
done
exit $status
