// Opening a GGUF file for inference: the model weights and its tokenizer, validated together.
#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace corral {

struct LoadedModel {
  std::shared_ptr<const Model> model;
  std::shared_ptr<const Tokenizer> tokenizer;
};

Result<LoadedModel> load_model(const std::string& gguf_path);

}  // namespace corral
