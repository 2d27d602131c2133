// Table-driven tests of model-name parsing against Ollama's rules.
#include "store/model_name.h"

#include <gtest/gtest.h>

namespace corral {
namespace {

struct Good {
  const char* in;
  const char* host;
  const char* ns;
  const char* model;
  const char* tag;
  const char* shortest;
};

TEST(ModelName, GoodNames) {
  const Good cases[] = {
      {"llama3.2", "registry.ollama.ai", "library", "llama3.2", "latest", "llama3.2:latest"},
      {"llama3.2:3b", "registry.ollama.ai", "library", "llama3.2", "3b", "llama3.2:3b"},
      {"user/model:v1", "registry.ollama.ai", "user", "model", "v1", "user/model:v1"},
      {"example.com/user/model", "example.com", "user", "model", "latest",
       "example.com/user/model:latest"},
      {"localhost:5000/ns/m:t", "localhost:5000", "ns", "m", "t", "localhost:5000/ns/m:t"},
      {"127.0.0.1:8080/a/b", "127.0.0.1:8080", "a", "b", "latest", "127.0.0.1:8080/a/b:latest"},
      {"hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M", "hf.co", "bartowski",
       "Llama-3.2-1B-Instruct-GGUF", "Q4_K_M", "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M"},
      {"_x/_y:_z", "registry.ollama.ai", "_x", "_y", "_z", "_x/_y:_z"},
      {"qwen3:0.6b-q4_K_M", "registry.ollama.ai", "library", "qwen3", "0.6b-q4_K_M",
       "qwen3:0.6b-q4_K_M"},
      {"https://h.io/n/m:t", "h.io", "n", "m", "t", "h.io/n/m:t"},
      {"REGISTRY.OLLAMA.AI/LIBRARY/Mistral", "REGISTRY.OLLAMA.AI", "LIBRARY", "Mistral", "latest",
       "Mistral:latest"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.in);
    auto n = ModelName::parse(c.in);
    ASSERT_TRUE(n.ok()) << n.error().message;
    EXPECT_EQ(n->host, c.host);
    EXPECT_EQ(n->ns, c.ns);
    EXPECT_EQ(n->model, c.model);
    EXPECT_EQ(n->tag, c.tag);
    EXPECT_EQ(n->display_shortest(), c.shortest);
  }
}

TEST(ModelName, BadNames) {
  const char* cases[] = {
      "",                 // empty
      ":tag",             // empty model
      "model:",           // empty tag
      "/model",           // empty namespace
      "host//model",      // empty namespace
      "a/b/c/d",          // too many parts
      "-model",           // must start with alnum or _
      "model:-tag",
      ".model",
      "ns.x/model",       // '.' not allowed in namespace
      "mo del",           // space
      "model:ta/g",       // '/' after ':' makes "g" the model of namespace "model:ta" -> ':' bad
      "ns/mo:del:x",      // ':' in model
      "ftp://h/n/m",      // scheme
      "mødel",            // non-ASCII
      "model\ttag",
  };
  for (const char* c : cases) {
    SCOPED_TRACE(c);
    auto n = ModelName::parse(c);
    EXPECT_FALSE(n.ok());
    if (!n.ok()) {
      EXPECT_NE(n.error().message.find("invalid"), std::string::npos);
    }
  }
}

TEST(ModelName, LengthLimits) {
  const std::string m80(80, 'a'), m81(81, 'a');
  EXPECT_TRUE(ModelName::parse(m80).ok());
  EXPECT_FALSE(ModelName::parse(m81).ok());
  EXPECT_TRUE(ModelName::parse("m:" + m80).ok());
  EXPECT_FALSE(ModelName::parse("m:" + m81).ok());
  EXPECT_TRUE(ModelName::parse(m80 + "/m").ok());
  EXPECT_FALSE(ModelName::parse(m81 + "/m").ok());
  const std::string h350(350, 'h'), h351(351, 'h');
  EXPECT_TRUE(ModelName::parse(h350 + "/n/m").ok());
  EXPECT_FALSE(ModelName::parse(h351 + "/n/m").ok());
}

TEST(ModelName, CaseInsensitiveEquality) {
  auto a = ModelName::parse("Llama3:Latest");
  auto b = ModelName::parse("registry.ollama.ai/library/llama3");
  auto c = ModelName::parse("llama3:8b");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_TRUE(a->equal_fold(*b));
  EXPECT_FALSE(a->equal_fold(*c));
}

TEST(ModelName, SchemeAndPaths) {
  auto n = ModelName::parse("http://127.0.0.1:5000/ns/m:t");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->scheme, "http");
  EXPECT_EQ(n->filepath(), "127.0.0.1:5000/ns/m/t");
  EXPECT_EQ(n->repository(), "ns/m");
  EXPECT_EQ(ModelName::parse("m")->scheme, "https");
}

TEST(Digest, Validation) {
  const std::string hex(64, 'a');
  EXPECT_TRUE(is_valid_digest("sha256:" + hex));
  EXPECT_TRUE(is_valid_digest("sha256-" + hex));
  EXPECT_FALSE(is_valid_digest("sha256:" + std::string(63, 'a')));
  EXPECT_FALSE(is_valid_digest("sha256:" + std::string(64, 'A')));
  EXPECT_FALSE(is_valid_digest("sha512:" + hex));
  EXPECT_EQ(*normalize_digest("sha256-" + hex), "sha256:" + hex);
  EXPECT_FALSE(normalize_digest("nope").ok());
}

}  // namespace
}  // namespace corral
