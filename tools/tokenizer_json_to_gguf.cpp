// tokenizer_json_to_gguf: writes a vocab-only GGUF from a Hugging Face tokenizer.json.
// Usage: tokenizer_json_to_gguf TOKENIZER_JSON [TOKENIZER_CONFIG_JSON] OUT.gguf [--pre NAME]
#include <cstdio>
#include <string>
#include <vector>

#include "base/file_util.h"
#include "gguf/gguf_writer.h"
#include "tokenizer/tokenizer_json.h"

int main(int argc, char** argv) {
  std::vector<std::string> paths;
  corral::TokenizerJsonOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--pre" && i + 1 < argc) {
      options.pre = argv[++i];
    } else {
      paths.push_back(arg);
    }
  }
  if (paths.size() != 2 && paths.size() != 3) {
    std::fprintf(stderr,
                 "usage: %s TOKENIZER_JSON [TOKENIZER_CONFIG_JSON] OUT.gguf [--pre NAME]\n",
                 argv[0]);
    return 2;
  }
  auto tj = corral::read_file(paths[0]);
  if (!tj.ok()) {
    std::fprintf(stderr, "error: %s\n", tj.error().message.c_str());
    return 1;
  }
  std::string config;
  if (paths.size() == 3) {
    auto c = corral::read_file(paths[1]);
    if (!c.ok()) {
      std::fprintf(stderr, "error: %s\n", c.error().message.c_str());
      return 1;
    }
    config = std::move(*c);
  }
  corral::GgufWriter writer;
  writer.set_string("general.name", "tokenizer");
  const corral::Status st = corral::tokenizer_json_to_gguf_metadata(*tj, config, writer, options);
  if (!st.ok()) {
    std::fprintf(stderr, "error: %s: %s\n", paths[0].c_str(), st.error().message.c_str());
    return 1;
  }
  const corral::Status w = writer.write(paths.back());
  if (!w.ok()) {
    std::fprintf(stderr, "error: %s\n", w.error().message.c_str());
    return 1;
  }
  return 0;
}
