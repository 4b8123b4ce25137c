#!/usr/bin/env bash
# Builds kenpo's libFuzzer targets (KenpoCore + Tests/fuzz/Targets compiled with
# -sanitize=fuzzer,address, cached in .build-fuzz/) and runs each named target for N seconds on
# seeds taken from samples/, pipelines/, Tests/hostile/ and Tests/fuzz/seeds/.
# Usage: Tests/fuzz/run-fuzz.sh [--seconds N] [--parallel J] [--release] [--build-only] [--reuse-core]
#                              [TARGET...] [-- libFuzzer flags]
# Exit status: 0 when every target ran its time without a crash, hang or memory blow-up; 1 when
# one did (the input is saved under .build-fuzz/work/artifacts/TARGET/); 2 for a usage or build error.
# See Tests/fuzz/README.md.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
export PATH="/opt/swift/usr/bin:$PATH"

seconds=60
parallel=1
config=debug
build_only=0
reuse_core=0
targets=()
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds=${2:?--seconds needs a number}; shift 2 ;;
        --seconds=*) seconds=${1#*=}; shift ;;
        --parallel) parallel=${2:?--parallel needs a number}; shift 2 ;;
        --parallel=*) parallel=${1#*=}; shift ;;
        --release) config=release; shift ;;
        --build-only) build_only=1; shift ;;
        --reuse-core) reuse_core=1; shift ;;
        -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        --) shift; extra=("$@"); break ;;
        -*) echo "run-fuzz: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) targets+=("$1"); shift ;;
    esac
done
case "$seconds$parallel" in *[!0-9]*) echo "run-fuzz: --seconds and --parallel take whole numbers" >&2; exit 2 ;; esac

all_targets=(csv roster date kana xml zip gzip barcode profile pipeline)
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
    case " ${all_targets[*]} " in *" $t "*) ;; *) echo "run-fuzz: unknown target '$t'; targets: ${all_targets[*]}" >&2; exit 2 ;; esac
done

# ---------------------------------------------------------------- build
# Debug (-Onone) builds in about a third of the CPU time of -O and keeps every check; --release
# (-O) runs several times faster per input, for long runs.
build=$root/.build-fuzz/$config
mkdir -p "$build"
opt=(-Onone)
parallel_build=(-j2)
[ $config = release ] && { opt=(-O); parallel_build=(-wmo -num-threads 2); }
swift_version=$(swiftc --version 2>/dev/null | head -1)
common=(-parse-as-library -swift-version 5 -sanitize=fuzzer,address -g "${opt[@]}"
        -I "$build/src/CLibXML2" -I "$build/src/CZlib" -I "$build/src/CCrypto" -Xcc -I/usr/include/libxml2)

# A snapshot of the sources, so a file edited mid-build cannot break or mislabel the build (not
# taken with --reuse-core: nothing is built from it then).
snapshot=$build/src.new
if [ $reuse_core = 1 ] && [ -f "$build/libKenpoCore.a" ]; then
    echo "== reusing the KenpoCore built earlier (--reuse-core; sources may have changed since)"
else
    rm -rf "$snapshot"; mkdir -p "$snapshot"
    cp -R Sources/KenpoCore Sources/CLibXML2 Sources/CZlib Sources/CCrypto "$snapshot/"
    core_hash=$( (echo "$swift_version ${common[*]}"; cd "$snapshot" && find . -type f | LC_ALL=C sort | xargs sha256sum) | sha256sum | cut -c1-16)
    if [ "$(cat "$build/core.stamp" 2>/dev/null)" != "$core_hash" ] || [ ! -f "$build/libKenpoCore.a" ]; then
        rm -rf "$build/src"; mv "$snapshot" "$build/src"
        echo "== building KenpoCore with -sanitize=fuzzer,address ($config)"
        start=$(date +%s)
        (cd "$build" && find src/KenpoCore -name '*.swift' | LC_ALL=C sort > sources.txt &&
            swiftc "${common[@]}" -enable-testing -module-name KenpoCore -emit-module -emit-module-path KenpoCore.swiftmodule \
                -emit-library -static -o libKenpoCore.a "${parallel_build[@]}" @sources.txt) || { echo "run-fuzz: KenpoCore did not build" >&2; exit 2; }
        echo "$core_hash" > "$build/core.stamp"
        echo "   KenpoCore built in $(( $(date +%s) - start )) s"
    else
        rm -rf "$snapshot"
    fi
fi
fuzz_hash=$( (cat "$build/core.stamp"; find Tests/fuzz/Targets -name '*.swift' | LC_ALL=C sort | xargs sha256sum) | sha256sum | cut -c1-16)
if [ "$(cat "$build/fuzz.stamp" 2>/dev/null)" != "$fuzz_hash" ] || [ ! -x "$build/kenpo-fuzz" ]; then
    echo "== building the fuzz targets"
    start=$(date +%s)
    swiftc "${common[@]}" -I "$build" -module-name KenpoFuzz $(find Tests/fuzz/Targets -name '*.swift' | LC_ALL=C sort) \
        "$build/libKenpoCore.a" -lxml2 -lz -lcrypto -o "$build/kenpo-fuzz" 2>&1 | grep -v "warning: Cannot export local symbol '__asan"
    [ "${PIPESTATUS[0]}" = 0 ] || { echo "run-fuzz: the fuzz targets did not build" >&2; exit 2; }
    echo "$fuzz_hash" > "$build/fuzz.stamp"
    echo "   targets built in $(( $(date +%s) - start )) s"
fi
[ $build_only = 1 ] && { echo "built $build/kenpo-fuzz"; exit 0; }

# ---------------------------------------------------------------- seeds
work=$root/.build-fuzz/work
# Swift's own crash backtracer reads memory ASan considers wild, and hides the real report.
export SWIFT_BACKTRACE=enable=no
# Leaks in the toolchain's libraries, not kenpo's (FileManager.contents on an empty file …), listed
# for the sanitizer CI run; libFuzzer checks for leaks after every input.
[ -f .ci/lsan.supp ] && export LSAN_OPTIONS="suppressions=$root/.ci/lsan.supp:print_suppressions=0"
export KENPO_FUZZ_SCRATCH=/dev/shm/kenpo-fuzz-run-$$
[ -w /dev/shm ] || KENPO_FUZZ_SCRATCH=${TMPDIR:-/tmp}/kenpo-fuzz-run-$$
cleanup() { rm -rf "$KENPO_FUZZ_SCRATCH"; }
trap cleanup EXIT
shared=$root/../shared/reference

# seed TARGET PREFIX_BYTE_OR_EMPTY FILE... : copies files (a selector byte first, for targets that take one).
seed() {
    local t=$1 prefix=$2; shift 2
    local f
    for f in "$@"; do
        [ -f "$f" ] || continue
        local name=$(echo "$f" | tr '/' '_')
        if [ -n "$prefix" ]; then { printf "\\x$prefix"; cat "$f"; } > "$work/seeds/$t/$prefix-$name"; else cp "$f" "$work/seeds/$t/$name"; fi
    done
}

make_seeds() {
    local t=$1
    rm -rf "$work/seeds/$t"; mkdir -p "$work/seeds/$t" "$work/corpus/$t" "$work/artifacts/$t"
    [ -d "Tests/fuzz/seeds/$t" ] && cp Tests/fuzz/seeds/$t/* "$work/seeds/$t/" 2>/dev/null
    [ -d "Tests/fuzz/regressions/$t" ] && cp Tests/fuzz/regressions/$t/* "$work/seeds/$t/" 2>/dev/null
    shopt -s nullglob
    case $t in
        csv) seed csv "" samples/rosters/*.csv samples/mailing/*.csv samples/reissue/*.csv samples/requests/*.csv \
                 Tests/hostile/{roster,mailing,reissue,delete,export,good}/*.csv ;;
        roster) seed roster 00 samples/rosters/kamome-*.csv Tests/hostile/good/kamome-roster-good.csv Tests/hostile/roster/*.csv
                seed roster 01 samples/rosters/tsubame-*.csv Tests/hostile/good/tsubame-roster-good.csv Tests/hostile/roster/*.csv ;;
        xml) seed xml "" samples/health/*/*.xml samples/health/*/*/*.xml pipelines/formats/*.xml Tests/hostile/xml/*.xml Tests/hostile/good/*.xml
             for g in samples/health/*/*/*.gz; do gzip -dc "$g" > "$work/seeds/xml/$(basename "$g" .gz)" 2>/dev/null; done
             for z in samples/health/*/*.zip; do
                 python3 - "$z" "$work/seeds/xml" <<'PY' 2>/dev/null
import sys, zipfile, os
with zipfile.ZipFile(sys.argv[1]) as z:
    for i, n in enumerate(z.namelist()):
        if n.endswith(".xml"):
            open(os.path.join(sys.argv[2], f"zip-{i}.xml"), "wb").write(z.read(n))
PY
             done ;;
        zip) seed zip "" samples/health/*/*.zip Tests/hostile/zip/*.zip ;;
        gzip) seed gzip "" samples/health/*/*/*.gz Tests/hostile/gzip/*.gz ;;
        barcode) python3 - "$work/seeds/barcode" samples/mailing/*.csv "$shared/customer-barcode-cases.tsv" <<'PY'
import csv, os, sys
out, n = sys.argv[1], 0
for path in sys.argv[2:]:
    if not os.path.exists(path): continue
    if path.endswith(".tsv"):
        rows = [l.rstrip("\n").split("\t") for l in open(path, encoding="utf-8") if not l.startswith("#")][1:]
        pairs = [(r[0], r[1]) for r in rows if len(r) >= 2]
    else:
        raw = open(path, "rb").read()
        try: text = raw.decode("utf-8-sig")
        except UnicodeDecodeError: text = raw.decode("cp932")
        rows = list(csv.DictReader(text.splitlines()))
        pairs = [(r.get("郵便番号", ""), (r.get("住所1", "") + r.get("住所2", ""))) for r in rows]
    for postal, address in pairs:
        open(os.path.join(out, f"case-{n}"), "w", encoding="utf-8").write(f"{postal}\n{address}")
        n += 1
PY
                 ;;
        profile) seed profile "" pipelines/profiles/*.profile ;;
        pipeline) seed pipeline "" pipelines/*.pipeline ;;
    esac
    shopt -u nullglob
}

max_len() {
    case $1 in
        date) echo 64 ;; kana) echo 160 ;; barcode) echo 300 ;;
        profile|pipeline|csv|roster) echo 4096 ;; *) echo 16384 ;;
    esac
}

# ---------------------------------------------------------------- run
results=$work/results
rm -rf "$results"; mkdir -p "$results"
touch "$results/.start"  # artifacts newer than this are this run's
run_target() {
    local t=$1
    make_seeds "$t"
    local dict=()
    [ -f "Tests/fuzz/dicts/$t.dict" ] && dict=(-dict="Tests/fuzz/dicts/$t.dict")
    local log=$results/$t.log
    "$build/kenpo-fuzz" --target="$t" "$work/corpus/$t" "$work/seeds/$t" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 -max_len="$(max_len "$t")" \
        -artifact_prefix="$work/artifacts/$t/" -print_final_stats=1 "${dict[@]}" "${extra[@]}" > "$log" 2>&1
    echo $? > "$results/$t.status"
}

echo "== fuzzing ${targets[*]} for $seconds s each ($parallel at a time); logs in $results/"
running=0
for t in "${targets[@]}"; do
    run_target "$t" &
    running=$((running + 1))
    if [ $running -ge "$parallel" ]; then wait -n; running=$((running - 1)); fi
done
wait

failed=0
printf '%-9s %-7s %10s %8s %7s %7s %7s\n' target result execs exec/s cov ft rss_mb
for t in "${targets[@]}"; do
    log=$results/$t.log
    status=$(cat "$results/$t.status" 2>/dev/null || echo 99)
    stat() { grep -o "stat::$1: *[0-9]*" "$log" | grep -o '[0-9]*$' | tail -1; }
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
    result=ok
    [ "$status" != 0 ] && { result=FAILED; failed=1; }
    printf '%-9s %-7s %10s %8s %7s %7s %7s\n' "$t" "$result" "$(stat number_of_executed_units)" "$(stat average_exec_per_sec)" \
        "$(echo "$cov" | awk '{print $2}')" "$(echo "$cov" | awk '{print $4}')" "$(stat peak_rss_mb)"
done
if [ $failed = 1 ]; then
    for t in "${targets[@]}"; do
        [ "$(cat "$results/$t.status")" = 0 ] && continue
        echo
        echo "== $t failed (exit $(cat "$results/$t.status")); the end of its log:"
        grep -v '^#[0-9]' "$results/$t.log" | tail -40
        for a in $(find "$work/artifacts/$t" -type f -newer "$results/.start"); do
            echo "-- input $a ($(wc -c < "$a") bytes), base64:"
            base64 -w 100 "$a" | head -40
            echo "-- reproduce: $build/kenpo-fuzz --target=$t $a"
        done
    done
    exit 1
fi
