// Modelfile parsing (FROM, PARAMETER, TEMPLATE, SYSTEM, ADAPTER, LICENSE, MESSAGE, FALLBACK)
// and `create`: turning a Modelfile into layers and a manifest in the store. FALLBACK (corral's
// own) names a model that answers when this one cannot; the names go into the params layer as
// "fallback": [...], so `show` lists them.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "store/model_name.h"
#include "store/store.h"

namespace corral {

struct ModelfileMessage {
  std::string role;  // system, user, assistant
  std::string content;
};

struct Modelfile {
  std::string from;
  int from_line = 0;
  std::string params_json = "{}";  // typed values; "stop" and "fallback" are arrays
  bool has_params = false;
  bool has_template = false;
  std::string template_text;
  bool has_system = false;
  std::string system;
  std::vector<std::string> licenses;
  std::vector<std::string> adapters;
  std::vector<int> adapter_lines;
  std::vector<ModelfileMessage> messages;
  std::vector<std::string> warnings;  // e.g. removed parameters, ignored with a warning

  // Untrusted text: errors name the line ("line 3: unknown parameter \"foo\"").
  static Result<Modelfile> parse(std::string_view text);
};

// Types of Modelfile PARAMETER keys (Ollama's options): validates and converts `value`.
// Returns the JSON text of the value, or an error for unknown keys and bad values.
Result<std::string> parameter_value_json(const std::string& key, const std::string& value);

// Creates (or replaces) model `name` from a parsed Modelfile. FROM is a GGUF path (relative to
// `base_dir`; hard-linked into blobs/ when possible, else copied, and stored once), a blob digest
// in the store, or an existing model name. On any error the store is left as it was.
Status create_model(Store& store, const ModelName& name, const Modelfile& mf,
                    const std::string& base_dir,
                    const std::function<void(const std::string&)>& status);

// Regenerates a Modelfile for `show --modelfile`.
std::string modelfile_text(const ResolvedModel& m);
// One "key value" line per parameter, as `show --parameters` prints it.
std::string parameters_text(const std::string& params_json);

}  // namespace corral
