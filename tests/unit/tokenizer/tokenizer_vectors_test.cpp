// The llama.cpp tokenizer test vectors in ../shared/testdata/tokenizer (see its README).
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "base/file_util.h"
#include "gguf/gguf_file.h"
#include "tokenizer/tokenizer.h"

namespace corral {
namespace {

const std::string kDir = CORRAL_SHARED_DIR "/testdata/tokenizer/";

std::vector<std::string> split_cases(const std::string& inp) {
  static const std::string kSep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> cases;
  size_t pos = 0;
  while (true) {
    const size_t next = inp.find(kSep, pos);
    if (next == std::string::npos) break;
    cases.push_back(inp.substr(pos, next - pos));
    pos = next + kSep.size();
  }
  if (pos < inp.size()) cases.push_back(inp.substr(pos));
  return cases;
}

std::vector<std::vector<int32_t>> parse_out(const std::string& out) {
  std::vector<std::vector<int32_t>> lines;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::vector<int32_t> ids;
    int32_t id;
    while (ls >> id) ids.push_back(id);
    lines.push_back(std::move(ids));
  }
  return lines;
}

std::string ids_string(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) s += " " + std::to_string(id);
  return s;
}

class TokenizerVectors : public ::testing::TestWithParam<std::string> {};

TEST_P(TokenizerVectors, MatchReferenceIds) {
  const std::string name = GetParam();
  auto file = GgufFile::open(kDir + name + ".gguf");
  ASSERT_TRUE(file.ok()) << file.error().message;
  auto tok = Tokenizer::from_gguf(**file);
  ASSERT_TRUE(tok.ok()) << tok.error().message;
  auto inp = read_file(kDir + name + ".gguf.inp");
  auto out = read_file(kDir + name + ".gguf.out");
  ASSERT_TRUE(inp.ok() && out.ok());
  const auto cases = split_cases(*inp);
  const auto expected = parse_out(*out);
  ASSERT_EQ(cases.size(), 46u);
  ASSERT_EQ(expected.size(), cases.size());
  size_t passed = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto ids = (*tok)->encode(cases[i], /*add_special=*/false, /*parse_special=*/false);
    if (ids == expected[i]) {
      ++passed;
    } else {
      ADD_FAILURE() << name << " case " << i << " '" << cases[i] << "'\n  got     "
                    << ids_string(ids) << "\n  expected" << ids_string(expected[i]);
    }
  }
  std::printf("[ vectors  ] %-28s %zu/%zu passed\n", name.c_str(), passed, cases.size());
}

INSTANTIATE_TEST_SUITE_P(Vocabs, TokenizerVectors,
                         ::testing::Values("ggml-vocab-llama-spm", "ggml-vocab-phi-3", "ggml-vocab-bert-bge",
                                           "ggml-vocab-gpt-2", "ggml-vocab-deepseek-coder",
                                           "ggml-vocab-deepseek-llm", "ggml-vocab-falcon",
                                           "ggml-vocab-mpt", "ggml-vocab-refact",
                                           "ggml-vocab-starcoder"),
                         [](const auto& param_info) {
                           std::string s = param_info.param.substr(11);
                           for (char& c : s) {
                             if (c == '-') c = '_';
                           }
                           return s;
                         });

// corral's own vectors over the shared vocabularies (testdata/vectors/, ids from llama.cpp; its
// README names the snapshot): special tokens beside whitespace, which strip it per their
// lstrip/rstrip attributes. Each case runs with special-token parsing off and on.
class TokenizerStripVectors : public ::testing::TestWithParam<std::string> {};

TEST_P(TokenizerStripVectors, MatchReferenceIds) {
  const std::string name = GetParam();
  const std::string own = CORRAL_SOURCE_DIR "/tests/unit/tokenizer/testdata/vectors/" + name;
  auto file = GgufFile::open(kDir + name + ".gguf");
  ASSERT_TRUE(file.ok()) << file.error().message;
  auto tok = Tokenizer::from_gguf(**file);
  ASSERT_TRUE(tok.ok()) << tok.error().message;
  auto inp = read_file(own + ".inp");
  ASSERT_TRUE(inp.ok()) << inp.error().message;
  const auto cases = split_cases(*inp);
  ASSERT_GE(cases.size(), 5u);
  size_t passed = 0;
  for (const bool parse_special : {false, true}) {
    auto out = read_file(own + (parse_special ? ".special.out" : ".out"));
    ASSERT_TRUE(out.ok()) << out.error().message;
    const auto expected = parse_out(*out);
    ASSERT_EQ(expected.size(), cases.size());
    for (size_t i = 0; i < cases.size(); ++i) {
      const auto ids = (*tok)->encode(cases[i], /*add_special=*/false, parse_special);
      if (ids == expected[i]) {
        ++passed;
      } else {
        ADD_FAILURE() << name << " case " << i << (parse_special ? " (special)" : "") << " '" << cases[i]
                      << "'\n  got     " << ids_string(ids) << "\n  expected" << ids_string(expected[i]);
      }
    }
  }
  std::printf("[ vectors  ] %-28s %zu/%zu passed (strip cases)\n", name.c_str(), passed, 2 * cases.size());
}

INSTANTIATE_TEST_SUITE_P(Vocabs, TokenizerStripVectors, ::testing::Values("ggml-vocab-phi-3", "ggml-vocab-llama-spm"),
                         [](const auto& param_info) {
                           std::string s = param_info.param.substr(11);
                           for (char& c : s) {
                             if (c == '-') c = '_';
                           }
                           return s;
                         });

}  // namespace
}  // namespace corral
