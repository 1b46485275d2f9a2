#!/usr/bin/env bash
# Runs every fuzz target (or those named) for SECONDS each, one after the other, and prints
# the executions and findings of each.
#
#   fuzz/run.sh SECONDS [TARGET...]
#
# Uses the nightly toolchain when rustup has one; otherwise the stable toolchain with
# RUSTC_BOOTSTRAP=1 (cargo-fuzz passes -Z flags). SANITIZER=address turns on ASan (slower;
# the library forbids unsafe code, so the default is none). Needs `cargo install cargo-fuzz`.
# New inputs go to fuzz/corpus/TARGET (ignored by git); crashes to fuzz/artifacts/TARGET.
set -euo pipefail
cd "$(dirname "$0")"

seconds=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi

toolchain=()
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  toolchain=(+nightly)
else
  export RUSTC_BOOTSTRAP=1
fi
sanitizer=${SANITIZER:-none}

mkdir -p logs
status=0
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target"
  log="logs/$target.log"
  echo "== $target: ${seconds}s (log: fuzz/$log)"
  if cargo "${toolchain[@]}" fuzz run -s "$sanitizer" "$target" "corpus/$target" "seeds/$target" -- \
      -max_total_time="$seconds" -max_len=16384 -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
      >"$log" 2>&1; then
    result=ok
  else
    result="FAILED (see fuzz/artifacts/$target and $log)"
    status=1
  fi
  runs=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | tail -1 || true)
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1 || true)
  echo "   $result; ${runs:-no summary}; ${cov}; corpus $(find "corpus/$target" -type f | wc -l) files"
done
exit $status
