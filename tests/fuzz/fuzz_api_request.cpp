// libFuzzer target: the JSON request parsers of the Ollama API (and /v1/rerank) on arbitrary bodies.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/rerank.h"
#include "api/types.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto j = corral::api::parse_json_body(body);
  if (!j.ok()) return 0;
  (void)corral::api::parse_generate_request(*j);
  (void)corral::api::parse_chat_request(*j);
  (void)corral::api::parse_embed_request(*j, false);
  (void)corral::api::parse_embed_request(*j, true);
  (void)corral::api::parse_rerank_request(*j);
  if (j->contains("options")) (void)corral::api::parse_options((*j)["options"]);
  return 0;
}
