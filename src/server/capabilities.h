// What a model can do, in the words of Ollama's /api/show `capabilities` (types/model/capability.go).
#pragma once

#include <string>
#include <vector>

#include "gguf/gguf_file.h"

namespace corral::server {

// An embedding model (an encoder, or a decoder whose GGUF names a pooling type, as
// Qwen3-Embedding's does) lists only "embedding"; any other model "completion", then "tools"
// when its chat template takes tools, "insert" when it takes a suffix and "thinking" when it
// thinks (tags or harmony channels). `template_text` is the template chat requests use: the
// Modelfile's TEMPLATE, else the GGUF's tokenizer.chat_template.
std::vector<std::string> model_capabilities(const GgufFile& file, const std::string& template_text);

}  // namespace corral::server
