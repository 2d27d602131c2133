// libFuzzer target: Modelfile parsing never crashes on untrusted text; an accepted Modelfile
// keeps valid JSON params, and its FALLBACK names are non-empty single words.
#include <cstdint>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "store/modelfile.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string s(reinterpret_cast<const char*>(data), size);
  auto mf = corral::Modelfile::parse(s);
  if (!mf.ok()) return 0;
  if (mf->from.empty()) std::abort();
  auto params = nlohmann::json::parse(mf->params_json, nullptr, false);
  if (params.is_discarded() || !params.is_object()) std::abort();
  if (params.contains("fallback")) {
    const auto& fb = params["fallback"];
    if (!fb.is_array() || fb.empty() || fb.size() > 16) std::abort();
    for (const auto& n : fb) {
      if (!n.is_string() || n.get<std::string>().empty()) std::abort();
      for (char c : n.get<std::string>())
        if (c == ' ' || c == '\t' || c == '\n') std::abort();
    }
  }
  return 0;
}
