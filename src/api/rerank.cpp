#include "api/rerank.h"

namespace corral::api {

Result<RerankRequest> parse_rerank_request(const Json& j) {
  if (!j.is_object()) return make_error("the request body must be a JSON object");
  RerankRequest r;
  CORRAL_TRY(get_string(j, "model", &r.model));
  auto q = j.find("query");
  if (q == j.end() || !q->is_string()) return make_error("query must be a string");
  r.query = q->get<std::string>();
  auto d = j.find("documents");
  if (d == j.end() || !d->is_array()) return make_error("documents must be an array of strings");
  for (const auto& doc : *d) {
    if (!doc.is_string()) return make_error("documents must be an array of strings");
    r.documents.push_back(doc.get<std::string>());
  }
  if (r.documents.empty()) return make_error("documents must not be empty");
  r.top_n = static_cast<int64_t>(r.documents.size());
  CORRAL_TRY(get_int(j, "top_n", &r.top_n));
  if (r.top_n < 1) return make_error("top_n must be a positive integer");
  CORRAL_TRY(get_bool(j, "return_documents", &r.return_documents));
  return r;
}

}  // namespace corral::api
