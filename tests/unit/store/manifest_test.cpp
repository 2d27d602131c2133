// Manifest parsing (untrusted input) and Ollama-shaped serialisation.
#include "store/manifest.h"

#include <gtest/gtest.h>

namespace corral {
namespace {

const std::string kHexA(64, 'a');
const std::string kHexB(64, 'b');

std::string sample() {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",)"
         R"("config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:)" +
         kHexA + R"(","size":12},"layers":[{"mediaType":"application/vnd.ollama.image.model",)"
         R"("digest":"sha256:)" + kHexB + R"(","size":1000}]})";
}

TEST(Manifest, RoundTripKeepsOllamaFieldOrder) {
  auto m = Manifest::parse(sample());
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->config.size, 12);
  ASSERT_EQ(m->layers.size(), 1u);
  EXPECT_EQ(m->layers[0].media_type, kMediaModel);
  EXPECT_EQ(m->total_size(), 1012);
  EXPECT_EQ(m->serialize(), sample());
  ASSERT_NE(m->find_layer(kMediaModel), nullptr);
  EXPECT_EQ(m->find_layer(kMediaTemplate), nullptr);
}

TEST(Manifest, RejectsBadInput) {
  const std::string good = sample();
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  const std::string cases[] = {
      "",
      "[]",
      "{",
      R"({"schemaVersion":1})",
      replace(R"("schemaVersion":2)", R"("schemaVersion":"2")"),
      replace("manifest.v2+json", "manifest.list.v2+json"),
      replace(R"("size":12)", R"("size":-1)"),
      replace(R"("size":12)", R"("size":1.5)"),
      replace(R"("size":12)", R"("size":18446744073709551615)"),
      replace("sha256:" + kHexA, "sha256:" + kHexA.substr(1)),
      replace("sha256:" + kHexA, "md5:" + kHexA),
      replace("sha256:" + kHexA, "sha256-" + kHexA),
      replace(R"("layers":[)", R"("layers":{"x":)"),
      replace(R"("config":)", R"("konfig":)"),
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c);
    EXPECT_FALSE(Manifest::parse(c).ok());
  }
}

}  // namespace
}  // namespace corral
