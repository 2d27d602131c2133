#!/usr/bin/env python3
"""Runs reference engines' llama-bench and `corral bench` on the same files, same threads and
same test sizes, one after the other in one run, and prints a markdown table of tokens/s with
corral's ratio to the better reference, plus the machine's limits corral measured in the run.

    python3 bench/side_by_side.py --corral build/release/src/corral \
        --ref llama.cpp=/path/to/llama.cpp/build/bin/llama-bench \
        --ref "ik_llama.cpp=/path/to/ik_llama.cpp/build/bin/llama-bench -rtr 1" \
        -t 2 -p 512 -n 128 -r 3 [-d 4096] model1.gguf model2.gguf

With --embed N (encoder models) it compares embedding rates on inputs of -p tokens instead: each
reference's `llama-bench -embd 1 -p P -n 0 -b P -ub P` (one input per evaluation) beside
`corral bench --embed 1` and `corral bench --embed N` (N inputs packed into shared passes).

Each --ref is NAME=PATH [extra llama-bench arguments]. The reference binaries are built by you
from snapshots outside this repository; this script only runs them. A reference that fails on a
file (unknown architecture or type) shows as "failed" and the ratio uses the others.
"""
import argparse
import json
import os
import shlex
import subprocess
import sys


def run_json(cmd):
    """Runs cmd, returns its stdout parsed as JSON (None and a message on failure)."""
    try:
        out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as e:
        err = getattr(e, "stderr", "") or str(e)
        print(f"note: {' '.join(cmd)} failed: {err.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    text = out.stdout
    start = min((i for i in (text.find("["), text.find("{")) if i >= 0), default=-1)
    try:
        return json.loads(text[start:]) if start >= 0 else None
    except json.JSONDecodeError:
        print(f"note: {' '.join(cmd)} printed no JSON", file=sys.stderr)
        return None


def llama_bench_results(binary, extra, model, args):
    """{test name: (mean t/s, sd)} from llama-bench -o json (one entry per pp / tg test)."""
    cmd = [binary, *extra, "-m", model, "-t", str(args.threads), "-p", str(args.n_prompt),
           "-n", str(args.n_gen), "-r", str(args.reps), "-o", "json"]
    if args.depth:
        cmd += ["-d", str(args.depth)]
    rows = run_json(cmd)
    if not isinstance(rows, list):
        return None
    out = {}
    for r in rows:
        n_prompt, n_gen = int(r.get("n_prompt", 0)), int(r.get("n_gen", 0))
        name = f"pp{n_prompt}" if n_gen == 0 else f"tg{n_gen}"
        depth = int(r.get("n_depth", 0))
        if depth:
            name += f" @ d{depth}"
        out[name] = (float(r["avg_ts"]), float(r.get("stddev_ts", 0.0)))
    return out


def llama_bench_embed(binary, extra, model, args):
    """{"embed 1xP": (mean t/s, sd)}: llama-bench's embedding rate, one input of P tokens per decode."""
    p = str(args.n_prompt)
    rows = run_json([binary, *extra, "-m", model, "-t", str(args.threads), "-embd", "1", "-p", p, "-n", "0",
                     "-b", p, "-ub", p, "-r", str(args.reps), "-o", "json"])
    if not isinstance(rows, list) or not rows:
        return None
    return {f"embed 1x{args.n_prompt}": (float(rows[0]["avg_ts"]), float(rows[0].get("stddev_ts", 0.0)))}


def corral_embed(binary, model, args):
    """corral's embedding rate (tokens/s) for 1 and for N inputs of P tokens per call."""
    res, full = {}, None
    for batch in sorted({1, args.embed}):
        j = run_json([binary, "bench", "-m", model, "-t", str(args.threads), "--embed", str(batch),
                      "-p", str(args.n_prompt), "-r", str(args.reps), "--json"])
        if not isinstance(j, dict):
            return None, None
        full = j
        for r in j["results"]:
            sd = r["embeddings_per_s_sd"] * r["tokens_per_input"]
            res[r["test"]] = (r["tokens_per_s_mean"], sd, r.get("fraction", 0.0), r.get("fraction_of", ""))
    return res, full


def corral_results(binary, model, args):
    cmd = [binary, "bench", "-m", model, "-t", str(args.threads), "-p", str(args.n_prompt),
           "-n", str(args.n_gen), "-r", str(args.reps), "--json"]
    if args.depth:
        cmd += ["-d", str(args.depth)]
    j = run_json(cmd)
    if not isinstance(j, dict):
        return None, None
    res = {r["test"]: (r["tokens_per_s_mean"], r["tokens_per_s_sd"], r.get("fraction", 0.0), r.get("fraction_of", ""))
           for r in j["results"]}
    return res, j


def parse_ref(spec):
    if "=" not in spec:
        raise argparse.ArgumentTypeError(f"--ref wants NAME=PATH [args], got {spec!r}")
    name, rest = spec.split("=", 1)
    parts = shlex.split(rest)
    if not parts:
        raise argparse.ArgumentTypeError(f"--ref {name}: no binary")
    return name, parts[0], parts[1:]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corral", required=True, help="the corral binary")
    ap.add_argument("--ref", action="append", type=parse_ref, default=[],
                    help="NAME=PATH [extra llama-bench args] (repeatable)")
    ap.add_argument("-t", "--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("-p", "--n-prompt", type=int, default=512)
    ap.add_argument("-n", "--n-gen", type=int, default=128)
    ap.add_argument("-r", "--reps", type=int, default=3)
    ap.add_argument("-d", "--depth", type=int, default=0)
    ap.add_argument("--embed", type=int, default=0,
                    help="compare embedding rates: N inputs of -p tokens per call (encoder models)")
    ap.add_argument("--json", help="also write every figure to this file")
    ap.add_argument("models", nargs="+")
    args = ap.parse_args(argv)

    names = [r[0] for r in args.ref]
    header = ["model", "test", *[f"{n} t/s" for n in names], "corral t/s", "corral ÷ best reference", "corral of limit"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * 2 + "---:|" * (len(names) + 3)]
    record = {"threads": args.threads, "depth": args.depth, "embed": args.embed, "models": []}
    limits = None
    for model in args.models:
        if args.embed:
            refs = [llama_bench_embed(path, extra, model, args) for _, path, extra in args.ref]
            ours, full = corral_embed(args.corral, model, args)
        else:
            refs = [llama_bench_results(path, extra, model, args) for _, path, extra in args.ref]
            ours, full = corral_results(args.corral, model, args)
        if full is not None:
            limits = full.get("limits", limits)
        tests = list(ours) if ours else sorted({t for r in refs if r for t in r})
        entry = {"model": os.path.basename(model), "tests": []}
        for test in tests:
            ref_ts = [r.get(test) if r else None for r in refs]
            cells = [f"{v[0]:.2f} ± {v[1]:.2f}" if v else "failed" for v in ref_ts]
            if args.embed and test != f"embed 1x{args.n_prompt}":
                # The references evaluate one input at a time: packed corral is divided by that rate.
                ref_ts = [r.get(f"embed 1x{args.n_prompt}") if r else None for r in refs]
                cells = ["—" if v else "failed" for v in ref_ts]
            mine = ours.get(test) if ours else None
            best = max((v[0] for v in ref_ts if v), default=None)
            ratio = mine[0] / best if mine and best else None
            lines.append("| " + " | ".join([
                os.path.basename(model), test, *cells,
                f"{mine[0]:.2f} ± {mine[1]:.2f}" if mine else "failed",
                f"{ratio:.2f}×" if ratio is not None else "—",
                f"{100 * mine[2]:.1f}% {mine[3]}" if mine and mine[2] else "—"]) + " |")
            ref_test = f"embed 1x{args.n_prompt}" if args.embed else test
            entry["tests"].append({"test": test, "references": dict(zip(names, [v[0] if v else None for v in ref_ts])),
                                   "references_test": ref_test, "corral": mine[0] if mine else None,
                                   "ratio_to_best": ratio})
        record["models"].append(entry)
    print("\n".join(lines))
    if args.embed:
        print(f"\nRates are tokens/s. The references run one input per evaluation (llama-bench -embd 1); the "
              f"embed {args.embed}x{args.n_prompt} row divides corral's packed rate by their embed 1x{args.n_prompt} rate.")
    if limits and "read_bytes_per_s" in limits:
        print(f"\nLimits corral measured in this run: read bandwidth {limits['read_bytes_per_s'] / 1e9:.1f} GB/s "
              f"(median; {limits.get('read_bytes_per_s_low', 0) / 1e9:.1f} to "
              f"{limits.get('read_bytes_per_s_high', 0) / 1e9:.1f}), int8 peak {limits['int8_ops_per_s'] / 1e9:.0f} GOP/s; "
              f"{args.threads} threads.")
    elif limits:  # the embedding mode measures the int8 peak only
        print(f"\nLimit corral measured in this run: int8 peak {limits['int8_ops_per_s'] / 1e9:.0f} GOP/s; "
              f"{args.threads} threads.")
    if limits:
        record["limits"] = limits
    if args.json:
        with open(args.json, "w") as f:
            json.dump(record, f, indent=1)
    return 0 if all(e["tests"] for e in record["models"]) else 1


if __name__ == "__main__":
    sys.exit(main())
