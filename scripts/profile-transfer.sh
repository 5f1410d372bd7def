#!/usr/bin/env bash
# Where the CPU time of a transfer goes: `sealdrop send` and `sealdrop get` of one file through
# a local server (SQLite, folder storage), each side sampled with perf. Prints, per step, the
# wall time, how busy the machine's cores were, the CPU seconds of the client and of the server
# and their hottest functions. The findings are written up in server/benches/transfer.rs
# ("Where the time goes").
#
#   scripts/profile-transfer.sh [MiB]        (default 1024)
#
# With SEALDROP_TEST_S3_ENDPOINT, _BUCKET, _ACCESS_KEY_ID and _SECRET_ACCESS_KEY set (as
# `cargo xtask services up` prints them for its Garage), the server stores in that bucket
# instead, and the S3 service's own CPU time is shown too (the process listening on the
# endpoint's port).
#
# Needs perf (Debian: apt-get install linux-perf) and a release build of the command
# (cargo build --release -p sealdrop-cli --bin sealdrop), found at $SEALDROP_BIN, else
# $CARGO_TARGET_DIR/release/sealdrop, else target/release/sealdrop. Everything lives in one
# temporary folder (TMPDIR), removed at the end.
set -euo pipefail

mib="${1:-1024}"
bin="${SEALDROP_BIN:-${CARGO_TARGET_DIR:-target}/release/sealdrop}"
command -v perf >/dev/null || { echo "profile-transfer: perf is missing (apt-get install linux-perf)" >&2; exit 1; }
[ -x "$bin" ] || { echo "profile-transfer: no sealdrop command at $bin (cargo build --release -p sealdrop-cli --bin sealdrop)" >&2; exit 1; }

work="$(mktemp -d)"
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
export SEALDROP_DATA_DIR="$work/data" SEALDROP_LISTEN="127.0.0.1:$port" SEALDROP_PUBLIC_URL="http://127.0.0.1:$port"
export SEALDROP_LOG_FORMAT=json RUST_LOG=warn
store=folder
store_pid=""
if [ -n "${SEALDROP_TEST_S3_ENDPOINT:-}" ]; then
  store=s3
  export SEALDROP_STORAGE=s3 SEALDROP_S3_ENDPOINT="$SEALDROP_TEST_S3_ENDPOINT" \
    SEALDROP_S3_BUCKET="$SEALDROP_TEST_S3_BUCKET" SEALDROP_S3_REGION="${SEALDROP_TEST_S3_REGION:-garage}" \
    SEALDROP_S3_ACCESS_KEY_ID="$SEALDROP_TEST_S3_ACCESS_KEY_ID" \
    SEALDROP_S3_SECRET_ACCESS_KEY="$SEALDROP_TEST_S3_SECRET_ACCESS_KEY" \
    SEALDROP_S3_PATH_STYLE=true SEALDROP_S3_PREFIX="profile-$$/"
  s3_port="${SEALDROP_TEST_S3_ENDPOINT##*:}"; s3_port="${s3_port%%/*}"
  store_pid="$(ss -Htlnp "sport = :$s3_port" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2 || true)"
fi
token="$("$bin" admin tenant create Profile | grep -o 'sdt_[A-Za-z0-9_-]*' | head -1)"
"$bin" serve >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

echo "profile-transfer: $mib MiB of random bytes, $store storage, server pid $server${store_pid:+, S3 service pid $store_pid}" >&2
head -c "$((mib << 20))" /dev/urandom >"$work/source.bin"
sync

# Clock ticks so far: all cores busy, all cores in total (from /proc/stat); a process's own.
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }
process_ticks() { [ -n "$1" ] && awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# perf samples the server for exactly as long as the client runs.
profile() { # step, then the client's command
  local step="$1"; shift
  perf record -q -e cpu-clock -F 999 -g -p "$server" -o "$work/$step-server.data" &
  local sampler=$!
  sleep 0.5
  local started before store_before
  started="$(date +%s.%N)"; before="$(machine_ticks)"; store_before="$(process_ticks "$store_pid")"
  perf record -q -e cpu-clock -F 999 -g -o "$work/$step-client.data" -- "$@" >"$work/$step.out"
  local after store_after ended
  ended="$(date +%s.%N)"; after="$(machine_ticks)"; store_after="$(process_ticks "$store_pid")"
  kill -INT "$sampler"; wait "$sampler" || true
  awk -v a="$started" -v b="$ended" -v before="$before" -v after="$after" -v sb="$store_before" -v sa="$store_after" \
      -v step="$step" -v store="$store_pid" -v hz="$(getconf CLK_TCK)" -v cores="$(nproc)" 'BEGIN {
    split(before, x, " "); split(after, y, " ")
    printf "profile-transfer: %s took %.1f s, %.0f %% of %d cores busy", step, b - a, 100 * (y[1] - x[1]) / (y[2] - x[2]), cores
    if (store != "") printf ", the S3 service used %.1f s of CPU", (sa - sb) / hz
    printf "\n"
  }' >&2
}

profile send "$bin" send --server "http://127.0.0.1:$port" --token "$token" --state-dir "$work/state" "$work/source.bin"
link="$(grep -o 'http://[^ ]*#[A-Za-z0-9_-]*' "$work/send.out" | head -1)"
mkdir -p "$work/out"
profile get "$bin" get --output "$work/out" "$link"
cmp "$work/source.bin" "$work/out/source.bin" && echo "profile-transfer: the downloaded file equals the source" >&2

for step in send get; do
  for side in client server; do
    data="$work/$step-$side.data"
    samples="$(perf script -i "$data" -F comm 2>/dev/null | wc -l)"
    echo
    echo "== $step, $side: $(awk -v n="$samples" 'BEGIN { printf "%.1f", n / 999 }') s of CPU ($samples samples at 999 Hz)"
    perf report -i "$data" --stdio --no-children -g none --sort dso,symbol --percent-limit 2 2>/dev/null \
      | grep -E '^ +[0-9]' | sed -e 's/  *$//' | head -15
  done
done
