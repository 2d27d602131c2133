// The architecture table.
#include "model/family.h"

#include "model/families/families.h"

namespace corral {
namespace {

using namespace families;

// arch, id, neox, biases, qk norms, post norms, hyper-parameters, layer
constexpr Family kFamilies[] = {
    {"llama", Arch::kLlama, false, false, false, false, read_llama, llama_layer},
    {"qwen2", Arch::kQwen2, true, true, false, false, read_llama, llama_layer},
    {"qwen3", Arch::kQwen3, true, false, true, false, read_llama, llama_layer},
    {"qwen3moe", Arch::kQwen3Moe, true, false, true, false, read_qwen3moe, llama_layer},
    {"smollm3", Arch::kSmolLM3, false, false, false, false, read_smollm3, llama_layer},
    {"gemma2", Arch::kGemma2, true, false, false, true, read_gemma2, gemma_layer},
    {"gemma3", Arch::kGemma3, true, false, true, true, read_gemma3, gemma_layer},
    {"phi3", Arch::kPhi3, true, false, false, false, read_phi3, llama_layer},
    {"gpt-oss", Arch::kGptOss, true, true, false, false, read_gptoss, gptoss_layer},
    {"qwen35", Arch::kQwen35, true, false, true, false, read_qwen35, qwen35_layer},
    {"gemma4", Arch::kGemma4, true, false, true, true, read_gemma4, gemma4_layer},
    {"qwen35moe", Arch::kQwen35Moe, true, false, true, false, read_qwen35moe, qwen35_layer},
    {"bert", Arch::kBert, false, true, false, false, read_bert, nullptr},
    {"nomic-bert", Arch::kNomicBert, true, false, false, false, read_bert, nullptr},
};

}  // namespace

const Family* find_family(std::string_view arch) {
  for (const Family& f : kFamilies)
    if (arch == f.arch) return &f;
  return nullptr;
}

const Family& family_of(Arch arch) {
  for (const Family& f : kFamilies)
    if (f.id == arch) return f;
  return kFamilies[0];
}

const char* arch_name(Arch a) { return family_of(a).arch; }

std::string supported_architectures() {
  std::string s;
  for (const Family& f : kFamilies) s += (s.empty() ? "" : ", ") + std::string(f.arch);
  return s;
}

}  // namespace corral
