#!/usr/bin/env bash
# Reproduces BENCHMARKS.md: the criterion run, the interleaved ratios, the allocation count
# and the HTTP A/B against the peer servers of benches/http.
#
#   benches/run.sh [all|criterion|interleaved|alloc|http]
#
# HTTP settings: ROUNDS (default 5), DURATION per wrk run in seconds (10), CONNECTIONS (32),
# THREADS of wrk (1). Needs wrk (Debian: apt-get install -y wrk) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-all}
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}

machine() {
  echo "== machine"
  echo "nproc: $(nproc)"
  lscpu | head -n 15
  rustc -V
  cargo -V
  uptime
}

criterion() {
  echo "== criterion: cargo bench --bench validate"
  cargo bench --bench validate
  python3 benches/report.py criterion
}

interleaved() {
  echo "== interleaved ratios: cargo bench --bench interleaved"
  cargo bench --bench interleaved
}

alloc() {
  echo "== allocations: cargo bench --bench alloc"
  cargo bench --bench alloc
}

http() {
  echo "== HTTP A/B over loopback with wrk"
  command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
  # The same profile for every server: cargo's default release profile.
  cargo build --release --example sample_api
  (cd benches/http && cargo build --release)
  local peers=benches/http/target/release/bearer-guard-http-peers
  local token
  token=$("$peers" mint)
  for port in 3101 3102 3103; do
    if curl -s -o /dev/null "http://127.0.0.1:$port/"; then
      echo "port $port is already in use: stop what listens there first" >&2
      exit 1
    fi
  done
  # Global, so that the trap still sees it after this function returns.
  SERVER_PIDS=()
  trap 'kill "${SERVER_PIDS[@]}" 2>/dev/null || true' EXIT
  trap 'exit 130' INT TERM
  # The sample API checks the issuer too when TOKEN_ISSUER is set, as the peers do.
  TOKEN_ISSUER=https://demo.bearer-guard.invalid/ PORT=3101 \
    target/release/examples/sample_api >/dev/null & SERVER_PIDS+=($!)
  "$peers" jsonwebtoken 3102 >/dev/null & SERVER_PIDS+=($!)
  "$peers" jwt-authorizer 3103 >/dev/null & SERVER_PIDS+=($!)

  local -A url=(
    [public]=http://127.0.0.1:3101/api/public
    [bearer-guard]=http://127.0.0.1:3101/api/private
    [jsonwebtoken]=http://127.0.0.1:3102/api/private
    [jwt-authorizer]=http://127.0.0.1:3103/api/private
  )
  local order=(public bearer-guard jsonwebtoken jwt-authorizer)
  for name in "${order[@]}"; do
    for _ in $(seq 50); do
      curl -fsS -o /dev/null -H "Authorization: Bearer $token" "${url[$name]}" 2>/dev/null && break
      sleep 0.2
    done
    # Every server must answer 200 with the token and 401 without it (public: 200 both).
    local with without
    with=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "${url[$name]}")
    without=$(curl -s -o /dev/null -w '%{http_code}' "${url[$name]}")
    echo "$name: ${url[$name]} answers $with with the token, $without without"
  done

  local results
  results=$(mktemp)
  echo "warm-up: 2 s per server"
  for name in "${order[@]}"; do
    wrk -t1 -c"$CONNECTIONS" -d2s -H "Authorization: Bearer $token" "${url[$name]}" >/dev/null
  done
  for round in $(seq "$ROUNDS"); do
    # Interleaved: every round runs each server once, starting with a different one.
    local shift=$(( (round - 1) % ${#order[@]} ))
    local rotated=("${order[@]:$shift}" "${order[@]:0:$shift}")
    for name in "${rotated[@]}"; do
      local out
      out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" \
        -H "Authorization: Bearer $token" "${url[$name]}")
      local rps non2xx
      rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
      non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$out")
      echo -e "$round\t$name\t$rps\t${non2xx:-0}" | tee -a "$results"
    done
  done
  kill "${SERVER_PIDS[@]}" 2>/dev/null || true
  python3 benches/report.py http "$results"
}

case "$what" in
  all) machine; criterion; interleaved; alloc; http ;;
  criterion) machine; criterion ;;
  interleaved) machine; interleaved ;;
  alloc) alloc ;;
  http) machine; http ;;
  *) echo "usage: $0 [all|criterion|interleaved|alloc|http]" >&2; exit 2 ;;
esac
