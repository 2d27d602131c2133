// libFuzzer target for the tokenizer.json converter: arbitrary JSON must give a value or an
// error; whatever converts must load as a tokenizer and encode without crashing.
#include <cstddef>
#include <cstdint>
#include <string>

#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  // An optional tokenizer_config.json follows the first NUL byte.
  const size_t nul = input.find('\0');
  const std::string tj = input.substr(0, nul);
  const std::string config = nul == std::string::npos ? "" : input.substr(nul + 1);
  corral::GgufWriter w;
  if (!corral::tokenizer_json_to_gguf_metadata(tj, config, w).ok()) return 0;
  const std::string bytes = w.serialize();
  auto f = corral::GgufFile::parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                                   "fuzz");
  if (!f.ok()) return 0;
  auto tok = corral::Tokenizer::from_gguf(**f);
  if (!tok.ok()) return 0;
  const auto ids = (*tok)->encode("Hello world 123 <|end|> \xe4\xbd\xa0\xe5\xa5\xbd", true, true);
  (void)(*tok)->decode(ids, true);
  return 0;
}
