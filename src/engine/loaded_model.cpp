// load_model: weights + tokenizer from one GGUF file, with errors naming the file.
#include "engine/loaded_model.h"

namespace corral {

Result<LoadedModel> load_model(const std::string& gguf_path) {
  auto model = Model::load(gguf_path);
  if (!model) return model.error();
  auto tok = Tokenizer::from_gguf(*(*model)->file);
  if (!tok) return make_error("{}: {}", gguf_path, tok.error().message);
  if ((*tok)->n_vocab() != (*model)->hp.n_vocab)
    return make_error("{}: the tokenizer has {} tokens but the model has {}", gguf_path,
                      (*tok)->n_vocab(), (*model)->hp.n_vocab);
  return LoadedModel{*model, *tok};
}

}  // namespace corral
