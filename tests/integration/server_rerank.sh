#!/usr/bin/env bash
# Reranking through `corral serve`: the random-weight cross-encoder of the golden suite
# (build/<preset>/tests/encoder_models/bert-rank-pair.gguf, reference scores in
# tests/golden/testdata/rerank/bert-rank-pair.json) over /v1/rerank and its aliases: order,
# scores, index, top_n, return_documents and usage, and the 400s (no documents, bad fields, a
# model that is not a reranker).
set -euo pipefail
BIN=${CORRAL_BIN:?} SRC=${CORRAL_SOURCE_DIR:?} BUILD=${CORRAL_BINARY_DIR:?}
MODEL=$BUILD/tests/encoder_models/bert-rank-pair.gguf
[ -f "$MODEL" ] || { echo "SKIP: $MODEL not built (target encoder_models)"; exit 0; }
source "$(dirname "$0")/lib.sh"

E=$BUILD/tests/encoder_models
export CORRAL_MODEL_PATHS="reranker=$MODEL,minilm=$E/bert.gguf,qwen3rr=$E/qwen3-rerank.gguf,qwen3emb=$E/qwen3-embed.gguf"
start_server 300

# Errors: 400 in the OpenAI shape (as llama.cpp's server answers), 404 for an unknown model.
expect 400 'documents must not be empty' -d '{"model":"reranker","query":"q","documents":[]}' "$B/v1/rerank"
expect 400 'documents must be an array of strings' -d '{"model":"reranker","query":"q"}' "$B/v1/rerank"
expect 400 'documents must be an array of strings' -d '{"model":"reranker","query":"q","documents":["a",1]}' "$B/v1/rerank"
expect 400 'query must be a string' -d '{"model":"reranker","documents":["a"]}' "$B/v1/rerank"
expect 400 'top_n must be a positive integer' -d '{"model":"reranker","query":"q","documents":["a"],"top_n":0}' "$B/v1/rerank"
expect 400 '"invalid_request_error"' -d '{"model":"reranker","query":"q","documents":["a"],"top_n":0}' "$B/v1/rerank"
expect 400 '\"minilm\" does not support reranking' -d '{"model":"minilm","query":"q","documents":["a"]}' "$B/v1/rerank"
expect 400 '\"qwen3emb\" does not support reranking' -d '{"model":"qwen3emb","query":"q","documents":["a"]}' "$B/v1/rerank"
expect 400 'use /v1/rerank' -d '{"model":"reranker","input":"q"}' "$B/api/embed"
expect 400 'does not support chat' -d '{"model":"reranker","messages":[{"role":"user","content":"hi"}]}' "$B/api/chat"
expect 404 'not found' -d '{"model":"nosuch","query":"q","documents":["a"]}' "$B/v1/rerank"

# Scores, order, top_n, return_documents and usage against mainline llama.cpp's scores.
python3 - "$B" "$SRC/tests/golden/testdata/rerank/bert-rank-pair.json" <<'PY' || fail "rerank values"
import json, sys, urllib.request
base, ref_path = sys.argv[1], sys.argv[2]
cases = json.load(open(ref_path))["cases"]
def post(path, body):
    req = urllib.request.Request(base + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req))
n_docs = 8
scale = max(abs(c["score"]) for c in cases)
for q in range(0, len(cases), n_docs):
    group = cases[q:q + n_docs]
    query, docs = group[0]["query"], [c["document"] for c in group]
    r = post("/v1/rerank", {"model": "reranker", "query": query, "documents": docs})
    assert r["object"] == "list" and r["model"] == "reranker", r
    res = r["results"]
    assert sorted(x["index"] for x in res) == list(range(n_docs)), res
    scores = [x["relevance_score"] for x in res]
    assert scores == sorted(scores, reverse=True), "not best first"
    want = sorted(range(n_docs), key=lambda i: -group[i]["score"])
    assert [x["index"] for x in res] == want, ([x["index"] for x in res], want)
    for x in res:
        assert abs(x["relevance_score"] - group[x["index"]]["score"]) <= 1e-4 * scale, (x, group[x["index"]]["score"])
        assert "document" not in x
    tokens = sum(len(c["ids"]) for c in group)
    assert r["usage"] == {"prompt_tokens": tokens, "total_tokens": tokens}, r["usage"]
    top = post("/v1/rerank", {"model": "reranker", "query": query, "documents": docs, "top_n": 3, "return_documents": True})
    assert [x["index"] for x in top["results"]] == want[:3], top["results"]
    for x in top["results"]:
        assert x["document"] == {"text": docs[x["index"]]}, x
    big = post("/v1/rerank", {"model": "reranker", "query": query, "documents": docs, "top_n": 100})
    assert len(big["results"]) == n_docs
# The aliases answer the same; a single document too.
query, docs = cases[0]["query"], [c["document"] for c in cases[:n_docs]]
first = post("/v1/rerank", {"model": "reranker", "query": query, "documents": docs})
for alias in ("/rerank", "/reranking", "/v1/reranking"):
    assert post(alias, {"model": "reranker", "query": query, "documents": docs}) == first, alias
one = post("/v1/rerank", {"model": "reranker", "query": query, "documents": [docs[5]]})["results"]
assert len(one) == 1 and one[0]["index"] == 0
assert one[0]["relevance_score"] == [x for x in first["results"] if x["index"] == 5][0]["relevance_score"], "packed and alone differ"
print("rerank values ok")
PY

# Qwen3-Reranker's layout (a qwen3 decoder named "...reranker"): sigmoid(logit_yes - logit_no)
# against ik_llama.cpp's logits (rerank_test.cpp explains the 1e-3).
python3 - "$B" "$SRC/tests/golden/testdata/rerank/qwen3-rerank.json" <<'PY' || fail "qwen3 rerank values"
import json, sys, urllib.request
base, ref_path = sys.argv[1], sys.argv[2]
cases = json.load(open(ref_path))["cases"]
n_docs = 6
for q in range(0, len(cases), n_docs):
    group = cases[q:q + n_docs]
    body = {"model": "qwen3rr", "query": group[0]["query"], "documents": [c["document"] for c in group], "top_n": 4}
    req = urllib.request.Request(base + "/v1/rerank", json.dumps(body).encode(), {"Content-Type": "application/json"})
    r = json.load(urllib.request.urlopen(req))
    want = sorted(range(n_docs), key=lambda i: -group[i]["score"])[:4]
    assert [x["index"] for x in r["results"]] == want, (r["results"], want)
    for x in r["results"]:
        ref = group[x["index"]]["score"]
        assert 0 < x["relevance_score"] < 1 and abs(x["relevance_score"] - ref) <= 1e-3 * ref, (x, ref)
    tokens = sum(len(c["ids"]) for c in group)
    assert r["usage"]["prompt_tokens"] == tokens, (r["usage"], tokens)
print("qwen3 rerank values ok")
PY
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
echo "server_rerank: ok"
