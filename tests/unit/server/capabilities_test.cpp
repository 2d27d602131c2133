// /api/show's capabilities from a GGUF's metadata and the chat template in use.
#include "server/capabilities.h"

#include <gtest/gtest.h>

#include "gguf/gguf_writer.h"

namespace corral::server {
namespace {

// A GGUF with just the metadata read_hparams needs (no tensors: capabilities never bind them).
struct Meta {
  std::string bytes;
  std::shared_ptr<GgufFile> file;
  Meta(const std::string& arch, bool pooling) {
    GgufWriter w;
    w.set_string("general.architecture", arch);
    for (const char* k : {"embedding_length", "feed_forward_length"}) w.set_u32(arch + "." + k, 64);
    w.set_u32(arch + ".block_count", 2);
    w.set_u32(arch + ".attention.head_count", 4);
    if (pooling) w.set_u32(arch + ".pooling_type", 3);
    bytes = w.serialize();
    auto f = GgufFile::parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "meta.gguf");
    EXPECT_TRUE(f.ok()) << f.error().message;
    if (f.ok()) file = *f;
  }
};

using Caps = std::vector<std::string>;

TEST(ModelCapabilities, EncodersAndPooledDecodersOnlyEmbed) {
  EXPECT_EQ(model_capabilities(*Meta("bert", false).file, ""), Caps{"embedding"});
  EXPECT_EQ(model_capabilities(*Meta("nomic-bert", false).file, ""), Caps{"embedding"});
  // Qwen3-Embedding: a qwen3 decoder whose GGUF names its pooling, even with a chat template.
  EXPECT_EQ(model_capabilities(*Meta("qwen3", true).file, "{% if tools %}{% endif %}"), Caps{"embedding"});
}

TEST(ModelCapabilities, DecodersCompleteAndTheirTemplateAddsTheRest) {
  const Meta qwen3("qwen3", false);
  EXPECT_EQ(model_capabilities(*qwen3.file, ""), Caps{"completion"});
  EXPECT_EQ(model_capabilities(*qwen3.file, "{{ .Prompt }}"), Caps{"completion"});
  EXPECT_EQ(model_capabilities(*qwen3.file, "{{ if .Tools }}{{ end }}{{ .Prompt }}"), (Caps{"completion", "tools"}));
  EXPECT_EQ(model_capabilities(*qwen3.file, "{{ .Prompt }}<fim>{{ .Suffix }}"), (Caps{"completion", "insert"}));
  EXPECT_EQ(model_capabilities(*qwen3.file, "{%- if tools %}x{% endif %}{% if enable_thinking %}<think>{% endif %}"),
            (Caps{"completion", "tools", "thinking"}));
  EXPECT_EQ(model_capabilities(*qwen3.file, "<|start|>assistant<|channel|>analysis<|message|>"),
            (Caps{"completion", "thinking"}));
  // An architecture corral cannot run still gets an answer (show works on any GGUF).
  EXPECT_EQ(model_capabilities(*Meta("mamba", false).file, ""), Caps{"completion"});
}

}  // namespace
}  // namespace corral::server
