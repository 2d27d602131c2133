// The /v1/rerank request (llama.cpp server's shape, Jina's): a query, the documents to order,
// how many results to return and whether to echo the documents.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "api/types.h"
#include "base/result.h"

namespace corral::api {

struct RerankRequest {
  std::string model;
  std::string query;
  std::vector<std::string> documents;  // at least one
  int64_t top_n = 0;                   // >= 1; default: every document
  bool return_documents = false;
};

// Errors name the field ("query must be a string", "documents must not be empty", ...).
Result<RerankRequest> parse_rerank_request(const Json& j);

}  // namespace corral::api
