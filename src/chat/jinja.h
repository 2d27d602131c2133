// Jinja chat-template engine: lexer, parser and interpreter for the Jinja2 subset that
// Hugging Face chat templates use, with Python semantics for values and output.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "chat/jinja_value.h"

namespace corral::jinja {

struct Options {
  // transformers renders chat templates with trim_blocks and lstrip_blocks on.
  bool trim_blocks = true;
  bool lstrip_blocks = true;
  bool keep_trailing_newline = false;
  int max_parse_depth = 256;        // nested statements and expressions
  int max_call_depth = 256;         // nested macro calls
  size_t max_steps = 1'000'000;     // statements executed and loop iterations, together (~4 s)
  size_t max_output_bytes = size_t{64} << 20;
  // Bytes all operations together may produce or compare (see WorkMeter): about a second at
  // most. Real chat templates do up to 11 bytes of work per byte they print (every template in
  // ../shared over the test conversations), so this admits prompts of about 6 MB.
  size_t max_work_bytes = size_t{64} << 20;
  // strftime_now uses this time (seconds since the epoch, UTC) when >= 0; else the clock.
  int64_t fixed_time = -1;
};

struct Stmt;

class Template {
 public:
  // `name` appears in error messages: "NAME:LINE:COL: message".
  static Result<Template> parse(std::string_view source, std::string name = "",
                                const Options& options = {});

  // Renders with the top-level variables of `context` (a JSON object).
  Result<std::string> render(const nlohmann::ordered_json& context) const;
  Result<std::string> render(const std::vector<std::pair<std::string, Value>>& vars) const;

  const std::string& name() const { return name_; }

 private:
  std::string name_;
  Options options_;
  std::shared_ptr<std::vector<std::shared_ptr<Stmt>>> body_;
};

}  // namespace corral::jinja
