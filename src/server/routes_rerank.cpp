// /v1/rerank (and llama.cpp's aliases /rerank, /reranking, /v1/reranking) in the request and
// response shape of llama.cpp's server (Jina's): `model`, `query`, `documents`, `top_n`,
// `return_documents` in; `results[]` of `index` and `relevance_score`, best first, with
// `document: {text}` when asked, and `usage` out. Errors are OpenAI-shaped, as llama.cpp's are.
#include <httplib.h>

#include <algorithm>
#include <numeric>

#include "server/server.h"

namespace corral::server {

using api::OJson;

namespace {

void rerank(ServerState& st, const httplib::Request& req, httplib::Response& res) {
  auto body = api::parse_json_body(req.body);
  if (!body) return send_openai_error(res, {400, body.error().message});
  if (!body->is_object()) return send_openai_error(res, {400, "the request body must be a JSON object"});
  std::string model, query;
  if (auto s = api::get_string(*body, "model", &model); !s.ok()) return send_openai_error(res, {400, s.error().message});
  auto q = body->find("query");
  if (q == body->end() || !q->is_string()) return send_openai_error(res, {400, "query must be a string"});
  query = q->get<std::string>();
  auto d = body->find("documents");
  if (d == body->end() || !d->is_array()) return send_openai_error(res, {400, "documents must be an array of strings"});
  std::vector<std::string> docs;
  for (const auto& doc : *d) {
    if (!doc.is_string()) return send_openai_error(res, {400, "documents must be an array of strings"});
    docs.push_back(doc.get<std::string>());
  }
  if (docs.empty()) return send_openai_error(res, {400, "documents must not be empty"});
  int64_t top_n = static_cast<int64_t>(docs.size());
  if (auto s = api::get_int(*body, "top_n", &top_n); !s.ok()) return send_openai_error(res, {400, s.error().message});
  if (top_n < 1) return send_openai_error(res, {400, "top_n must be a positive integer"});
  bool return_documents = false;
  if (auto s = api::get_bool(*body, "return_documents", &return_documents); !s.ok())
    return send_openai_error(res, {400, s.error().message});

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
