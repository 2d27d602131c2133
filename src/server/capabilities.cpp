#include "server/capabilities.h"

#include "chat/harmony.h"
#include "chat/thinking.h"
#include "model/hparams.h"

namespace corral::server {

std::vector<std::string> model_capabilities(const GgufFile& file, const std::string& template_text) {
  const std::string arch = file.get_string("general.architecture").value_or("");
  const auto hp = read_hparams(file);
  if ((hp.ok() && hp->encoder) || file.find(arch + ".pooling_type") != nullptr) return {"embedding"};
  std::vector<std::string> caps{"completion"};
  // Go templates read .Tools and .Suffix; Jinja templates (GGUF) read `tools` and `suffix`.
  if (template_text.find(".Tools") != std::string::npos || template_text.find("tools") != std::string::npos)
    caps.emplace_back("tools");
  if (template_text.find(".Suffix") != std::string::npos) caps.emplace_back("insert");
  if (thinking_tags_for_template(template_text) || is_harmony_template(template_text)) caps.emplace_back("thinking");
  return caps;
}

}  // namespace corral::server
