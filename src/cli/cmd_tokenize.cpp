// `corral tokenize -m FILE TEXT`: print the token ids of a text.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/command.h"
#include "gguf/gguf_file.h"
#include "tokenizer/tokenizer.h"

namespace corral::cli {
namespace {

int cmd_tokenize(int argc, char** argv) {
  CLI::App app{"Print the token ids of a text", "corral tokenize"};
  std::string model_path, text;
  bool no_special = false, no_parse_special = false, pieces = false;
  app.add_option("-m,--model", model_path, "GGUF file (a vocab-only file works)")->required();
  app.add_option("text", text, "Text to tokenize")->required();
  app.add_flag("--no-add-special", no_special, "Do not add BOS/EOS");
  app.add_flag("--no-parse-special", no_parse_special, "Treat special-token text as plain text");
  app.add_flag("--pieces", pieces, "Print id and piece per line");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  auto file = GgufFile::open(model_path);
  if (!file) {
    std::fprintf(stderr, "Error: %s\n", file.error().message.c_str());
    return 1;
  }
  auto tok = Tokenizer::from_gguf(**file);
  if (!tok) {
    std::fprintf(stderr, "Error: %s: %s\n", model_path.c_str(), tok.error().message.c_str());
    return 1;
  }
  const auto ids = (*tok)->encode(text, !no_special, !no_parse_special);
  for (size_t i = 0; i < ids.size(); ++i) {
    if (pieces) {
      std::printf("%d\t'%s'\n", ids[i], (*tok)->token_to_piece(ids[i], true).c_str());
    } else {
      std::printf(i ? " %d" : "%d", ids[i]);
    }
  }
  if (!pieces) std::printf("\n");
  return 0;
}

}  // namespace

CORRAL_COMMAND("tokenize", "Print the token ids of a text", cmd_tokenize);

}  // namespace corral::cli
