"""Reads the wrk outputs of tests/bench/peers.sh (one file per cell, named
ROUND.SCENARIO.CONNECTIONS.SERVER, with a `peak_rss_kb N` line appended) and prints a Markdown
table (medians over rounds; errors summed; the highest peak RSS) and the issue-14 targets this
bench can judge, each met or missed."""

import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}
SERVER_ORDER = ["push-advisor", "axum", "rmcp", "ts"]
SERVER_NAMES = {
    "push-advisor": "push-advisor",
    "axum": "axum + reqwest",
    "rmcp": "rmcp + axum",
    "ts": "TS SDK + express",
}


def milliseconds(text):
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * UNIT_MS[unit]


def parse(path):
    text = path.read_text()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    p50 = milliseconds(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1))
    p99 = milliseconds(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1))
    errors = 0
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    if non2xx:
        errors += int(non2xx.group(1))
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if sockets:
        errors += sum(int(n) for n in sockets.groups())
    rss = re.search(r"peak_rss_kb (\d+)", text)
    return rps, p50, p99, errors, int(rss.group(1)) if rss else 0


def scenario_key(name):
    if name == "vibe-check":
        return (0, 0)
    if name.startswith("tokens-"):
        return (1, int(name.split("-")[1]))
    return (2, 0)


def scenario_label(name):
    if name == "vibe-check":
        return "GET /vibe-check"
    if name.startswith("tokens-"):
        count = int(name.split("-")[1])
        return f"GET /deploy-history, {count:,} token{'s' if count > 1 else ''}"
    return "POST /mcp tools/call get_deploy_history"


def main(directory):
    runs = defaultdict(list)
    for path in Path(directory).iterdir():
        _round, scenario, conns, server = path.name.split(".")
        runs[(scenario, int(conns), server)].append(parse(path))
    cells = {}
    for key, values in runs.items():
        cells[key] = {
            "rps": statistics.median(v[0] for v in values),
            "p50": statistics.median(v[1] for v in values),
            "p99": statistics.median(v[2] for v in values),
            "errors": sum(v[3] for v in values),
            "rss": max(v[4] for v in values) / 1024,
            "rounds": len(values),
        }
    print("| scenario | conns | server | req/s | p50 ms | p99 ms | errors | peak RSS MB | push-advisor ÷ server |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    for scenario, conns in sorted({(s, c) for s, c, _ in cells}, key=lambda k: (scenario_key(k[0]), k[1])):
        ours = cells.get((scenario, conns, "push-advisor"))
        for server in SERVER_ORDER:
            cell = cells.get((scenario, conns, server))
            if not cell:
                continue
            ratio = f"{ours['rps'] / cell['rps']:.2f}×" if ours and server != "push-advisor" and cell["rps"] else ""
            print(
                f"| {scenario_label(scenario)} | {conns} | {SERVER_NAMES[server]} | {cell['rps']:,.0f} | "
                f"{cell['p50']:.2f} | {cell['p99']:.2f} | {cell['errors']:,} | {cell['rss']:.1f} | {ratio} |"
            )
    print()
    print_targets(cells)


def print_targets(cells):
    """The targets of issue 14 that this table decides."""
    connections = sorted({c for _, c, _ in cells})
    checks = []

    def get(scenario, conns, server):
        return cells.get((scenario, conns, server))

    for conns in connections:
        many, one, axum_many = get("tokens-10000", conns, "push-advisor"), get("tokens-1", conns, "push-advisor"), get("tokens-10000", conns, "axum")
        if many and one:
            checks.append((f"{conns} conns: 10,000 tokens ≥ 0.9× 1 token", many["rps"] / one["rps"], 0.9, "≥"))
        if many and axum_many:
            checks.append((f"{conns} conns: 10,000 tokens ≥ 1.3× axum", many["rps"] / axum_many["rps"], 1.3, "≥"))
            checks.append((f"{conns} conns: peak RSS at 10,000 tokens ≤ axum's (MB)", many["rss"], axum_many["rss"], "≤"))
        for scenario, label in (("vibe-check", "/vibe-check"), ("tokens-1", "1-token /deploy-history")):
            ours, axum = get(scenario, conns, "push-advisor"), get(scenario, conns, "axum")
            if ours and axum:
                checks.append((f"{conns} conns: {label} ≥ 1.3× axum", ours["rps"] / axum["rps"], 1.3, "≥"))
                checks.append((f"{conns} conns: {label} p99 ≤ axum's (ms)", ours["p99"], axum["p99"], "≤"))
        ours = get("mcp", conns, "push-advisor")
        for peer, factor in (("rmcp", 3.0), ("ts", 40.0)):
            other = get("mcp", conns, peer)
            if ours and other:
                checks.append((f"{conns} conns: /mcp tools/call ≥ {factor:g}× {SERVER_NAMES[peer]}", ours["rps"] / other["rps"], factor, "≥"))
    print("| target | measured | bound | |")
    print("|---|---:|---:|---|")
    for label, measured, bound, relation in checks:
        met = measured >= bound if relation == "≥" else measured <= bound
        print(f"| {label} | {measured:.2f} | {relation} {bound:.2f} | {'met' if met else 'missed'} |")


if __name__ == "__main__":
    main(sys.argv[1])
