#!/usr/bin/env bash
# Soak: starts the sample API (release build, demo configuration, loopback only), sends it a
# mix of valid and hostile requests for SECONDS (default 120, at most 600), stops it, and
# reports requests, 5xx (must be 0) and the server's resident memory at start, after 10 s of
# load and at the end.
#
#   scripts/soak.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-120}
connections=${2:-4}
port=${PORT:-$((20000 + RANDOM % 20000))}

cargo build --release --quiet --example sample_api --example soak
log=$(mktemp)
PORT=$port "${CARGO_TARGET_DIR:-target}"/release/examples/sample_api >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$log"' EXIT

for _ in $(seq 50); do
  grep -q "protecting" "$log" && break
  sleep 0.1
done
kill -0 "$server" || { cat "$log"; exit 1; }

rss() { awk '/^VmRSS/ { print $2 " kB" }' "/proc/$server/status"; }
echo "sample_api pid $server on 127.0.0.1:$port"
echo "RSS at start: $(rss)"
"${CARGO_TARGET_DIR:-target}"/release/examples/soak "$port" "$seconds" "$connections" &
client=$!
# After a short warm-up (worker threads and connection buffers allocated), then at the end:
# growth between these two would be a leak.
sleep 10
echo "RSS after 10 s of load: $(rss)"
status=0
wait "$client" || status=$?
echo "RSS at end: $(rss)"
awk '/^VmHWM/ { print "peak RSS: " $2 " kB" }' "/proc/$server/status"
kill -0 "$server" && echo "server still up"
exit $status
