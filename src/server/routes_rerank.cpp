// /v1/rerank (and llama.cpp's aliases /rerank, /reranking, /v1/reranking) in the request and
// response shape of llama.cpp's server (Jina's): `model`, `query`, `documents`, `top_n`,
// `return_documents` in; `results[]` of `index` and `relevance_score`, best first, with
// `document: {text}` when asked, and `usage` out. Errors are OpenAI-shaped, as llama.cpp's are.
#include <httplib.h>

#include <algorithm>
#include <numeric>

#include "api/rerank.h"
#include "server/server.h"

namespace corral::server {

using api::OJson;

namespace {

void rerank(ServerState& st, const httplib::Request& req, httplib::Response& res) {
  auto body = api::parse_json_body(req.body);
  if (!body) return send_openai_error(res, {400, body.error().message});
  auto parsed = api::parse_rerank_request(*body);
  if (!parsed) return send_openai_error(res, {400, parsed.error().message});
  const std::string& model = parsed->model;
  const std::string& query = parsed->query;
  const std::vector<std::string>& docs = parsed->documents;
  const int64_t top_n = parsed->top_n;
  const bool return_documents = parsed->return_documents;

  auto ref = st.host.resolve(model);
  if (!ref.ok()) return send_openai_error(res, ref.error);
  if (auto no = model_forbidden(st, req, ref->name)) return send_openai_error(res, *no);
  auto lease = st.host.acquire(*ref, ref->params, std::nullopt);
  if (!lease.ok()) return send_openai_error(res, lease.error);
  ModelExtras& ex = ModelHost::extras(*lease);
  const int64_t n_ctx = lease->runner() != nullptr ? lease->runner()->params().n_ctx : 2048;
  int64_t n_tokens = 0;
  auto scores = ModelHost::rerank(ex, model, query, docs, n_ctx, &n_tokens);
  if (!scores.ok()) return send_openai_error(res, scores.error);
  st.metrics.add_tokens(n_tokens, 0);

  // Best first; equal scores keep the documents' order.
  std::vector<size_t> order(docs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return (*scores)[a] > (*scores)[b]; });
  order.resize(std::min(order.size(), static_cast<size_t>(top_n)));
  OJson results = OJson::array();
  for (size_t i : order) {
    OJson r{{"index", i}, {"relevance_score", (*scores)[i]}};
    if (return_documents) r["document"] = OJson{{"text", docs[i]}};
    results.push_back(std::move(r));
  }
  OJson j;
  j["model"] = model;
  j["object"] = "list";
  j["usage"] = OJson{{"prompt_tokens", n_tokens}, {"total_tokens", n_tokens}};
  j["results"] = std::move(results);
  send_json(res, j);
}

}  // namespace

void register_rerank_routes(httplib::Server& svr, ServerState& st) {
  for (const char* path : {"/v1/rerank", "/rerank", "/v1/reranking", "/reranking"})
    svr.Post(path, [&st](const httplib::Request& req, httplib::Response& res) { rerank(st, req, res); });
}

}  // namespace corral::server
