#!/usr/bin/env python3
"""Concurrent streams through a running server: for each N in --streams, starts N /api/generate
requests at once (one thread each, streamed), waits for all of them, and reports the tokens/s
generated in all (sum of eval_count over the wall time from the moment all requests are sent to
the last token of all, so a short prompt's evaluation is included) beside one stream's rate, so the table is the concurrency curve of issue 21.

    python3 bench/serve_streams.py --url http://127.0.0.1:11434 --model tinyllama \
        --streams 1,2,4,8 --num-predict 128 [--rounds 3] [--json]

The server must allow N requests at once (OLLAMA_NUM_PARALLEL >= N) for the streams to share
decode steps; otherwise the extra ones queue and the curve stays flat. Each round sends the same
prompts; the median round per N is reported, with the lowest and highest.
"""
import argparse
import json
import statistics
import sys
import threading
import time
import urllib.request


def one_stream(url, model, prompt, num_predict, seed, out, index, start_barrier):
    """Runs one streamed generate; records first/last token times and the final eval_count."""
    body = json.dumps({"model": model, "prompt": prompt, "stream": True,
                       "options": {"num_predict": num_predict, "temperature": 0.8, "seed": seed}}).encode()
    req = urllib.request.Request(url + "/api/generate", data=body, headers={"Content-Type": "application/json"})
    start_barrier.wait()
    sent = time.monotonic()
    first = last = None
    final = {}
    try:
        with urllib.request.urlopen(req, timeout=600) as resp:
            for line in resp:
                if not line.strip():
                    continue
                chunk = json.loads(line)
                if "error" in chunk:
                    raise RuntimeError(chunk["error"])
                now = time.monotonic()
                if chunk.get("response") and first is None:
                    first = now
                if chunk.get("response"):
                    last = now
                if chunk.get("done"):
                    final = chunk
    except Exception as e:  # noqa: BLE001 - reported per stream
        out[index] = {"error": str(e)}
        return
    out[index] = {"sent": sent, "first": first, "last": last, "eval_count": final.get("eval_count", 0),
                  "eval_duration": final.get("eval_duration", 0), "done_reason": final.get("done_reason")}


def run_round(args, n):
    out = [None] * n
    barrier = threading.Barrier(n)
    threads = [threading.Thread(target=one_stream,
                                args=(args.url, args.model, args.prompt, args.num_predict, 1000 + i, out, i, barrier))
               for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    errors = [o["error"] for o in out if "error" in o]
    if errors:
        raise SystemExit(f"error: {errors[0]}")
    tokens = sum(o["eval_count"] for o in out)
    lasts = [o["last"] for o in out if o["last"] is not None]
    wall = max(lasts) - min(o["sent"] for o in out) if lasts else 0.0
    # Per-stream rates as the server measured them (eval_count over eval_duration).
    per_stream = [o["eval_count"] / (o["eval_duration"] / 1e9) for o in out if o["eval_duration"] > 0]
    return {"tokens": tokens, "wall_s": wall, "tokens_per_s": tokens / wall if wall > 0 else 0.0,
            "per_stream_tokens_per_s": per_stream, "eval_counts": [o["eval_count"] for o in out]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--streams", default="1,2,4,8", help="comma-separated stream counts")
    ap.add_argument("--num-predict", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--prompt", default="Once upon a time")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    counts = [int(s) for s in args.streams.split(",") if s]
    if not counts or min(counts) < 1:
        ap.error("--streams needs positive counts")
    run_round(args, 1)  # warm-up: loads the model, pages the weights in
    rows = []
    for n in counts:
        rounds = [run_round(args, n) for _ in range(args.rounds)]
        rates = sorted(r["tokens_per_s"] for r in rounds)
        med = statistics.median(rates)
        rows.append({"streams": n, "tokens_per_s": med, "low": rates[0], "high": rates[-1],
                     "rounds": rounds})
    base = next((r["tokens_per_s"] for r in rows if r["streams"] == 1), None)
    for r in rows:
        r["vs_one_stream"] = r["tokens_per_s"] / base if base else None
    if args.json:
        print(json.dumps({"model": args.model, "num_predict": args.num_predict, "rows": rows}, indent=2))
        return
    print(f"| streams | tokens/s in all (median of {args.rounds}) | low – high | × one stream |")
    print("| ---: | ---: | --- | ---: |")
    for r in rows:
        ratio = f"{r['vs_one_stream']:.2f}×" if r["vs_one_stream"] else "—"
        print(f"| {r['streams']} | {r['tokens_per_s']:.1f} | {r['low']:.1f} – {r['high']:.1f} | {ratio} |")


if __name__ == "__main__":
    sys.exit(main())
