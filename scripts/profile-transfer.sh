#!/usr/bin/env bash
# Where the CPU time of a transfer goes: `sealdrop send` and `sealdrop get` of one file through
# a local server (SQLite, folder storage), each side sampled with perf. Prints, per step, the
# CPU seconds of the client and of the server and their hottest functions. The findings are
# written up in server/benches/transfer.rs ("Where the time goes").
#
#   scripts/profile-transfer.sh [MiB]        (default 1024)
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
token="$("$bin" admin tenant create Profile | grep -o 'sdt_[A-Za-z0-9_-]*' | head -1)"
"$bin" serve >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

echo "profile-transfer: $mib MiB of random bytes, server pid $server" >&2
head -c "$((mib << 20))" /dev/urandom >"$work/source.bin"
sync

# perf samples the server for exactly as long as the client runs.
profile() { # step, then the client's command
  local step="$1"; shift
  local started; started="$(date +%s.%N)"
  perf record -q -e cpu-clock -F 999 -g -p "$server" -o "$work/$step-server.data" &
  local sampler=$!
  sleep 0.5
  perf record -q -e cpu-clock -F 999 -g -o "$work/$step-client.data" -- "$@" >"$work/$step.out"
  echo "profile-transfer: $step took $(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a - 0.5 }') s" >&2
  kill -INT "$sampler"; wait "$sampler" || true
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
