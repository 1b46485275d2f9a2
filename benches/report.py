#!/usr/bin/env python3
"""Ratios for BENCHMARKS.md.

report.py criterion       criterion medians of the last `cargo bench --bench validate`
report.py http RESULTS    requests per second per server from benches/run.sh's wrk rounds
"""
import json
import statistics
import sys
from pathlib import Path

CRITERION = Path(__file__).resolve().parent.parent / "target" / "criterion"


def median_ns(group, name):
    path = CRITERION / group / name / "new" / "estimates.json"
    return json.loads(path.read_text())["median"]["point_estimate"]


def criterion():
    m = {f"{g}/{n}": median_ns(g, n) for g, names in {
        "valid": ["bearer-guard", "jsonwebtoken"],
        "parts": ["hmac-sha256", "base64url", "serde_json", "all-in-a-row"],
        "rejected": ["oversized", "garbage", "wrong-alg", "bad-signature"],
    }.items() for n in names}
    print("| benchmark | median |")
    print("|---|---:|")
    for key, ns in m.items():
        print(f"| {key} | {ns:,.0f} ns |")
    parts = m["parts/hmac-sha256"] + m["parts/base64url"] + m["parts/serde_json"]
    bg = m["valid/bearer-guard"]
    print()
    print(f"sum of parts (hmac + base64url + serde_json): {parts:,.0f} ns")
    print(f"bearer-guard / jsonwebtoken:  {bg / m['valid/jsonwebtoken']:.3f}  (target <= 0.5)")
    print(f"bearer-guard / sum of parts:  {bg / parts:.3f}  (target <= 1.2)")
    print(f"bearer-guard / all-in-a-row:  {bg / m['parts/all-in-a-row']:.3f}")
    for r in ["oversized", "garbage", "wrong-alg", "bad-signature"]:
        print(f"rejected/{r} / hmac-sha256:  {m['rejected/' + r] / m['parts/hmac-sha256']:.3f}")


def http(path):
    rows = [line.split("\t") for line in Path(path).read_text().splitlines() if line.strip()]
    rps, cpu = {}, {}
    for _, name, value, non2xx, *cpu_us in rows:
        if int(non2xx) != 0:
            sys.exit(f"{name}: {non2xx} answers were not 2xx: the run is invalid")
        rps.setdefault(name, []).append(float(value))
        if cpu_us:
            cpu.setdefault(name, []).append(float(cpu_us[0]))
    rounds = sorted({int(r[0]) for r in rows})
    names = list(rps)
    print("| round | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for i, round_ in enumerate(rounds):
        print(f"| {round_} | " + " | ".join(f"{rps[n][i]:,.0f}" for n in names) + " |")
    med = {n: statistics.median(v) for n, v in rps.items()}
    print("| median | " + " | ".join(f"{med[n]:,.0f}" for n in names) + " |")
    print()

    def ratio(a, b):
        per_round = [x / y for x, y in zip(rps[a], rps[b])]
        return statistics.median(per_round), min(per_round), max(per_round)

    for a, b, target in [
        ("bearer-guard", "public", 0.85),
        ("bearer-guard", "jsonwebtoken", 1.2),
        ("bearer-guard", "jwt-authorizer", 1.2),
    ]:
        m, lo, hi = ratio(a, b)
        print(f"{a} / {b}: median of rounds {m:.3f} (range {lo:.3f}-{hi:.3f}; target >= {target})")
    if "public" in cpu:
        # Server CPU per request, and what each protected route adds over the public one
        # (the same axum stack without a guard).
        print()
        base = statistics.median(cpu["public"])
        for name, values in cpu.items():
            m = statistics.median(values)
            added = "" if name == "public" else f", {m - base:.2f} us more than public"
            print(f"server CPU per request, {name}: median {m:.2f} us{added}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["criterion"]:
        criterion()
    elif sys.argv[1:2] == ["http"] and len(sys.argv) == 3:
        http(sys.argv[2])
    else:
        sys.exit(__doc__)
