// GGUF summaries for show/list/create.
#include "store/model_info.h"

#include <cctype>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "gguf/gguf_file.h"

namespace corral {

std::string file_type_name(int64_t t) {
  static const std::map<int64_t, const char*> names = {
      {0, "F32"},     {1, "F16"},      {2, "Q4_0"},    {3, "Q4_1"},    {7, "Q8_0"},
      {8, "Q5_0"},    {9, "Q5_1"},     {10, "Q2_K"},   {11, "Q3_K_S"}, {12, "Q3_K_M"},
      {13, "Q3_K_L"}, {14, "Q4_K_S"},  {15, "Q4_K_M"}, {16, "Q5_K_S"}, {17, "Q5_K_M"},
      {18, "Q6_K"},   {19, "IQ2_XXS"}, {20, "IQ2_XS"}, {21, "Q2_K_S"}, {22, "IQ3_XS"},
      {23, "IQ3_XXS"}, {24, "IQ1_S"},  {25, "IQ4_NL"}, {26, "IQ3_S"},  {27, "IQ3_M"},
      {28, "IQ2_S"},  {29, "IQ2_M"},   {30, "IQ4_XS"}, {31, "IQ1_M"},  {32, "BF16"},
      {36, "TQ1_0"},  {37, "TQ2_0"},
  };
  auto it = names.find(t);
  return it == names.end() ? "unknown" : it->second;
}

std::string human_number(uint64_t n) {
  // Whole numbers print without decimals, others with one (8030261248 -> "8.0B").
  auto fmt1 = [](double v, const char* unit) {
    if (v == std::floor(v)) return fmt::format("{:.0f}{}", v, unit);
    return fmt::format("{:.1f}{}", v, unit);
  };
  const double v = static_cast<double>(n);
  if (n >= 1'000'000'000) return fmt1(v / 1e9, "B");
  if (n >= 1'000'000) return fmt1(v / 1e6, "M");
  if (n >= 1'000) return fmt::format("{:.0f}K", v / 1e3);
  return std::to_string(n);
}

std::string human_bytes(int64_t n) {
  const double v = static_cast<double>(n);
  const char* unit = nullptr;
  double value = 0;
  if (n >= 1'000'000'000'000) {
    value = v / 1e12, unit = "TB";
  } else if (n >= 1'000'000'000) {
    value = v / 1e9, unit = "GB";
  } else if (n >= 1'000'000) {
    value = v / 1e6, unit = "MB";
  } else if (n >= 1'000) {
    value = v / 1e3, unit = "KB";
  } else {
    return fmt::format("{} B", n);
  }
  if (value >= 10 || value == std::trunc(value)) return fmt::format("{} {}", static_cast<int64_t>(value), unit);
  return fmt::format("{:.1f} {}", value, unit);
}

Result<GgufSummary> summarize_gguf(const std::string& path) {
  auto f = GgufFile::open(path);
  if (!f) return f.error();
  const GgufFile& g = **f;
  GgufSummary s;
  s.architecture = g.get_string("general.architecture").value_or("unknown");
  for (const auto& t : g.tensors()) s.n_params += t.n_elements();
  s.parameter_size = human_number(static_cast<uint64_t>(s.n_params));
  if (auto ft = g.get_int("general.file_type")) {
    s.quantization = file_type_name(*ft);
  } else {
    // No file_type: name the type most weights use.
    std::map<std::string, int64_t> by_type;
    for (const auto& t : g.tensors()) {
      std::string type_name(ggml_type_name(t.type));
      for (char& c : type_name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      by_type[type_name] += t.n_elements();  // "F32", "Q8_0", as Ollama prints them
    }
    int64_t best = -1;
    for (const auto& [name, n] : by_type) {
      if (n > best) best = n, s.quantization = name;
    }
  }
  s.context_length = g.get_int(s.architecture + ".context_length").value_or(0);
  s.embedding_length = g.get_int(s.architecture + ".embedding_length").value_or(0);
  return s;
}

}  // namespace corral
