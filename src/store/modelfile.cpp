// Modelfile parser and model creation.
#include "store/modelfile.h"

#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "store/model_info.h"

namespace corral {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

enum class ParamType { kInt, kFloat, kBool, kStringList };

const std::map<std::string, ParamType>& param_types() {
  static const std::map<std::string, ParamType> t = {
      {"num_keep", ParamType::kInt},       {"seed", ParamType::kInt},
      {"num_predict", ParamType::kInt},    {"top_k", ParamType::kInt},
      {"top_p", ParamType::kFloat},        {"min_p", ParamType::kFloat},
      {"typical_p", ParamType::kFloat},    {"repeat_last_n", ParamType::kInt},
      {"temperature", ParamType::kFloat},  {"repeat_penalty", ParamType::kFloat},
      {"presence_penalty", ParamType::kFloat}, {"frequency_penalty", ParamType::kFloat},
      {"stop", ParamType::kStringList},    {"num_ctx", ParamType::kInt},
      {"num_batch", ParamType::kInt},      {"num_gpu", ParamType::kInt},
      {"main_gpu", ParamType::kInt},       {"use_mmap", ParamType::kBool},
      {"num_thread", ParamType::kInt},     {"draft_num_predict", ParamType::kInt},
  };
  return t;
}

// Removed by Ollama in 2025; accepted with a warning so old Modelfiles still build.
const std::set<std::string>& removed_params() {
  static const std::set<std::string> r = {"mirostat", "mirostat_tau", "mirostat_eta",
                                          "penalize_newline", "numa", "low_vram", "f16_kv",
                                          "logits_all", "vocab_only", "use_mlock", "tfs_z"};
  return r;
}

std::string trim(std::string_view s) {
  size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return std::string(s.substr(a, b - a));
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// Reads a value starting at text[pos] (after the instruction or key): a """block""" that may
// span lines, a "quoted string", or the rest of the line. Advances pos and line.
Result<std::string> read_value(std::string_view text, size_t& pos, int& line, int start_line) {
  while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
  if (text.substr(pos, 3) == "\"\"\"") {
    const size_t begin = pos + 3;
    const size_t end = text.find("\"\"\"", begin);
    if (end == std::string_view::npos) {
      return make_error("line {}: unterminated \"\"\" block", start_line);
    }
    std::string v(text.substr(begin, end - begin));
    for (char c : v) line += c == '\n';
    pos = end + 3;
    // Anything after the closing quotes on that line must be blank.
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    if (!trim(text.substr(pos, eol - pos)).empty()) {
      return make_error("line {}: unexpected text after closing \"\"\"", line);
    }
    pos = eol;
    return v;
  }
  size_t eol = text.find('\n', pos);
  if (eol == std::string_view::npos) eol = text.size();
  std::string v = trim(text.substr(pos, eol - pos));
  pos = eol;
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
    std::string out;
    for (size_t i = 1; i + 1 < v.size(); ++i) {
      if (v[i] == '\\' && i + 2 < v.size() && (v[i + 1] == '"' || v[i + 1] == '\\')) ++i;
      out += v[i];
    }
    return out;
  }
  if (!v.empty() && v.front() == '"') return make_error("line {}: unterminated quoted string", start_line);
  return v;
}

}  // namespace

namespace {

// Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF): the params layer is
// JSON, which cannot carry other bytes.
bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) { ++i; continue; }
    if ((c & 0xE0) == 0xC0) { n = 1; cp = c & 0x1Fu; }
    else if ((c & 0xF0) == 0xE0) { n = 2; cp = c & 0x0Fu; }
    else if ((c & 0xF8) == 0xF0) { n = 3; cp = c & 0x07u; }
    else return false;
    if (i + n >= s.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

}  // namespace

Result<std::string> parameter_value_json(const std::string& key, const std::string& value) {
  auto it = param_types().find(key);
  if (it == param_types().end()) return make_error("unknown parameter \"{}\"", key);
  const std::string v = trim(value);
  if (v.empty()) return make_error("parameter \"{}\" needs a value", key);
  switch (it->second) {
    case ParamType::kInt: {
      errno = 0;
      char* end = nullptr;
      long long n = std::strtoll(v.c_str(), &end, 10);
      if (errno != 0 || *end != '\0') {
        return make_error("invalid value \"{}\" for parameter \"{}\": want an integer", v, key);
      }
      return json(n).dump();
    }
    case ParamType::kFloat: {
      errno = 0;
      char* end = nullptr;
      double d = std::strtod(v.c_str(), &end);
      if (errno != 0 || *end != '\0' || !std::isfinite(d)) {
        return make_error("invalid value \"{}\" for parameter \"{}\": want a number", v, key);
      }
      return json(d).dump();
    }
    case ParamType::kBool: {
      if (v == "true" || v == "false") return v;
      return make_error("invalid value \"{}\" for parameter \"{}\": want true or false", v, key);
    }
    case ParamType::kStringList:
      if (!valid_utf8(v)) return make_error("parameter \"{}\": the value is not valid UTF-8", key);
      return json(v).dump();
  }
  return make_error("unknown parameter \"{}\"", key);
}

Result<Modelfile> Modelfile::parse(std::string_view text) {
  Modelfile mf;
  json params = json::object();
  size_t pos = 0;
  int line = 1;
  while (pos < text.size()) {
    // One instruction per iteration; pos is at the start of a line.
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    const std::string whole = trim(text.substr(pos, eol - pos));
    if (whole.empty() || whole[0] == '#') {
      pos = eol + 1;
      ++line;
      continue;
    }
    const int start_line = line;
    while (pos < eol && std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
    size_t word_end = pos;
    while (word_end < eol && !std::isspace(static_cast<unsigned char>(text[word_end]))) ++word_end;
    const std::string instr = upper(std::string(text.substr(pos, word_end - pos)));
    pos = word_end;
    auto next_word = [&]() {
      while (pos < eol && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
      size_t e = pos;
      while (e < eol && !std::isspace(static_cast<unsigned char>(text[e]))) ++e;
      std::string w(text.substr(pos, e - pos));
      pos = e;
      return w;
    };
    auto fail = [&](const Error& e) { return make_error("line {}: {}", start_line, e.message); };
    // A model to answer when this one cannot (kept in the params layer as "fallback": [...]).
    auto add_fallback = [&](const std::string& raw) -> Status {
      const std::string name = trim(raw);
      if (name.empty()) return make_error("line {}: FALLBACK needs a model name", start_line);
      if (!valid_utf8(name)) return make_error("line {}: FALLBACK name is not valid UTF-8", start_line);
      for (char c : name)
        if (std::isspace(static_cast<unsigned char>(c)) || static_cast<unsigned char>(c) < 0x20)
          return make_error("line {}: FALLBACK takes one model name, not \"{}\"", start_line, name);
      if (!params.contains("fallback")) params["fallback"] = json::array();
      if (params["fallback"].size() >= 16) return make_error("line {}: at most 16 FALLBACK lines", start_line);
      params["fallback"].push_back(name);
      mf.has_params = true;
      return {};
    };
    if (instr == "PARAMETER") {
      const std::string key = next_word();
      if (key.empty()) return make_error("line {}: PARAMETER needs a name and a value", start_line);
      auto value = read_value(text, pos, line, start_line);
      if (!value) return value.error();
      const std::string k = [&] {
        std::string s = key;
        for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return s;
      }();
      if (k == "fallback") {  // "PARAMETER fallback x", as a server's show prints it, is FALLBACK x
        if (auto st = add_fallback(*value); !st.ok()) return st.error();
      } else if (removed_params().count(k)) {
        mf.warnings.push_back(fmt::format("line {}: parameter \"{}\" is no longer supported; ignored",
                                          start_line, k));
      } else {
        auto j = parameter_value_json(k, *value);
        if (!j) return fail(j.error());
        if (k == "stop") {
          if (!params.contains("stop")) params["stop"] = json::array();
          params["stop"].push_back(json::parse(*j));
        } else {
          params[k] = json::parse(*j);
        }
        mf.has_params = true;
      }
    } else if (instr == "FALLBACK") {
      auto value = read_value(text, pos, line, start_line);
      if (!value) return value.error();
      if (auto st = add_fallback(*value); !st.ok()) return st.error();
    } else if (instr == "MESSAGE") {
      const std::string role = next_word();
      if (role != "system" && role != "user" && role != "assistant") {
        return make_error("line {}: MESSAGE role must be system, user or assistant, not \"{}\"",
                          start_line, role);
      }
      auto value = read_value(text, pos, line, start_line);
      if (!value) return value.error();
      mf.messages.push_back({role, *value});
    } else if (instr == "FROM" || instr == "TEMPLATE" || instr == "SYSTEM" ||
               instr == "LICENSE" || instr == "ADAPTER") {
      auto value = read_value(text, pos, line, start_line);
      if (!value) return value.error();
      if (instr == "FROM") {
        if (!mf.from.empty()) return make_error("line {}: a second FROM", start_line);
        if (value->empty()) return make_error("line {}: FROM needs a model name or file", start_line);
        mf.from = *value;
        mf.from_line = start_line;
      } else if (instr == "TEMPLATE") {
        mf.has_template = true;
        mf.template_text = *value;
      } else if (instr == "SYSTEM") {
        mf.has_system = true;
        mf.system = *value;
      } else if (instr == "LICENSE") {
        mf.licenses.push_back(*value);
      } else {
        if (value->empty()) return make_error("line {}: ADAPTER needs a file", start_line);
        mf.adapters.push_back(*value);
        mf.adapter_lines.push_back(start_line);
      }
    } else {
      return make_error("line {}: unknown instruction \"{}\"", start_line,
                        std::string(text.substr(word_end - std::min(word_end, instr.size()), instr.size())));
    }
    // pos is at the end of the instruction's last line.
    if (pos < text.size() && text[pos] == '\n') ++pos;
    ++line;
  }
  if (mf.from.empty()) return make_error("no FROM line: a Modelfile must name a base model or file");
  mf.params_json = params.dump();
  return mf;
}

namespace {

std::string expand_path(const std::string& p, const std::string& base_dir) {
  if (p.rfind("~/", 0) == 0) {
    const char* home = std::getenv("HOME");
    return std::string(home ? home : "") + p.substr(1);
  }
  if (!p.empty() && p[0] == '/') return p;
  return (fs::path(base_dir.empty() ? "." : base_dir) / p).string();
}

bool looks_like_path(const std::string& s) {
  return s.rfind("/", 0) == 0 || s.rfind("./", 0) == 0 || s.rfind("../", 0) == 0 ||
         s.rfind("~/", 0) == 0 || (s.size() > 5 && s.substr(s.size() - 5) == ".gguf");
}

Layer text_layer(Store& store, std::string_view media, const std::string& text, Status* err) {
  auto d = store.import_blob_bytes(text);
  if (!d) {
    *err = d.error();
    return {};
  }
  return {std::string(media), *d, static_cast<int64_t>(text.size()), "", ""};
}

}  // namespace

Status create_model(Store& store, const ModelName& name, const Modelfile& mf,
                    const std::string& base_dir,
                    const std::function<void(const std::string&)>& status) {
  auto say = [&](const std::string& s) {
    if (status) status(s);
  };
  std::vector<std::string> added;  // blobs this create put in the store
  auto track = [&](const std::string& digest, bool had) {
    if (!had) added.push_back(digest);
  };
  Status result;
  {
    auto lk = store.lock_shared();
    if (!lk) return lk.error();
    result = [&]() -> Status {
      std::vector<Layer> layers;
      json params = json::object();
      std::string model_blob;
      const std::string& from = mf.from;
      const std::string from_path = expand_path(from, base_dir);
      struct stat st {};
      if (is_valid_digest(from)) {
        const std::string d = *normalize_digest(from);
        if (!store.has_blob(d)) return make_error("line {}: FROM blob {} is not in the store", mf.from_line, d);
        auto sz = fs::file_size(store.blob_path(d));
        layers.push_back({std::string(kMediaModel), d, static_cast<int64_t>(sz), "", ""});
        model_blob = store.blob_path(d);
      } else if (::stat(from_path.c_str(), &st) == 0) {
        if (!S_ISREG(st.st_mode)) {
          return make_error("line {}: FROM {}: only GGUF files are supported", mf.from_line, from);
        }
        say("parsing GGUF");
        auto info = summarize_gguf(from_path);
        if (!info) return make_error("line {}: FROM {}: {}", mf.from_line, from, info.error().message);
        auto d = store.import_blob_file(from_path, /*allow_link=*/true);
        if (!d) return d.error();
        track(*d, false);
        say("using layer " + *d);
        layers.push_back({std::string(kMediaModel), *d, static_cast<int64_t>(st.st_size), "", ""});
        model_blob = store.blob_path(*d);
      } else if (looks_like_path(from)) {
        return make_error("line {}: FROM {}: no such file", mf.from_line, from);
      } else {
        auto base = ModelName::parse(from);
        if (!base) return make_error("line {}: FROM: {}", mf.from_line, base.error().message);
        auto r = store.resolve_model(*base);
        if (!r) {
          return make_error("line {}: FROM: model \"{}\" not found (and no such file)", mf.from_line, from);
        }
        for (const Layer& l : r->manifest.layers) layers.push_back(l);
        params = json::parse(r->params_json);
        model_blob = r->model_path;
      }
      auto info = summarize_gguf(model_blob);
      if (!info) return make_error("model layer is not a valid GGUF: {}", info.error().message);
      for (size_t i = 0; i < mf.adapters.size(); ++i) {
        const std::string p = expand_path(mf.adapters[i], base_dir);
        if (::stat(p.c_str(), &st) != 0) {
          return make_error("line {}: ADAPTER {}: no such file", mf.adapter_lines[i], mf.adapters[i]);
        }
        auto d = store.import_blob_file(p, true);
        if (!d) return d.error();
        track(*d, false);
        layers.push_back({std::string(kMediaAdapter), *d, static_cast<int64_t>(st.st_size), "", ""});
      }
      auto drop = [&](std::initializer_list<std::string_view> types) {
        std::erase_if(layers, [&](const Layer& l) {
          for (auto t : types) {
            if (l.media_type == t) return true;
          }
          return false;
        });
      };
      Status err;
      if (mf.has_template) {
        drop({kMediaTemplate, kMediaPrompt});
        layers.push_back(text_layer(store, kMediaTemplate, mf.template_text, &err));
      }
      if (mf.has_system) {
        drop({kMediaSystem});
        layers.push_back(text_layer(store, kMediaSystem, mf.system, &err));
      }
      if (!mf.licenses.empty()) {
        drop({kMediaLicense});
        for (const auto& l : mf.licenses) layers.push_back(text_layer(store, kMediaLicense, l, &err));
      }
      if (!mf.messages.empty()) {
        json msgs = json::array();
        for (const auto& m : mf.messages) msgs.push_back({{"role", m.role}, {"content", m.content}});
        drop({kMediaMessages});
        layers.push_back(text_layer(store, kMediaMessages, msgs.dump(), &err));
      }
      if (mf.has_params) {
        const json overrides = json::parse(mf.params_json);  // named: items() needs it alive
        for (auto& [k, v] : overrides.items()) params[k] = v;
        drop({kMediaParams});
        layers.push_back(text_layer(store, kMediaParams, params.dump(), &err));
      }
      if (!err) return err;
      json diff_ids = json::array();
      for (const auto& l : layers) diff_ids.push_back(l.digest);
      json config = {{"model_format", "gguf"},
                     {"model_family", info->architecture},
                     {"model_families", json::array({info->architecture})},
                     {"model_type", info->parameter_size},
                     {"file_type", info->quantization},
                     {"architecture", "amd64"},
                     {"os", "linux"},
                     {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}};
      const std::string cfg = config.dump();
      Manifest m;
      m.config = text_layer(store, kConfigMediaType, cfg, &err);
      if (!err) return err;
      m.layers = std::move(layers);
      say("writing manifest");
      return store.write_manifest(name, m);
    }();
  }
  if (!result) {
    (void)store.remove_unreferenced(added);
    return result;
  }
  say("success");
  return {};
}

std::string parameters_text(const std::string& params_json) {
  auto j = json::parse(params_json, nullptr, false);
  std::string out;
  if (j.is_discarded() || !j.is_object()) return out;
  for (auto& [k, v] : j.items()) {
    if (v.is_array()) {
      for (const auto& e : v) out += fmt::format("{:<30} {}\n", k, e.dump());
    } else {
      out += fmt::format("{:<30} {}\n", k, v.is_string() ? v.get<std::string>() : v.dump());
    }
  }
  return out;
}

std::string modelfile_text(const ResolvedModel& m) {
  std::string out = "# Modelfile generated by \"corral show\"\n# To build a new Modelfile based on this, replace FROM with:\n# FROM " +
                    m.name.display_shortest() + "\n\nFROM " + m.model_path + "\n";
  for (const auto& a : m.adapter_paths) out += "ADAPTER " + a + "\n";
  if (m.has_template) out += "TEMPLATE \"\"\"" + m.template_text + "\"\"\"\n";
  if (m.has_system) out += "SYSTEM \"\"\"" + m.system + "\"\"\"\n";
  auto params = json::parse(m.params_json, nullptr, false);
  if (!params.is_discarded() && params.is_object()) {
    for (auto& [k, v] : params.items()) {
      if (k == "fallback" && v.is_array()) {
        for (const auto& e : v)
          if (e.is_string()) out += "FALLBACK " + e.get<std::string>() + "\n";
      } else if (v.is_array()) {
        for (const auto& e : v) out += "PARAMETER " + k + " " + e.dump() + "\n";
      } else {
        out += "PARAMETER " + k + " " + (v.is_string() ? v.get<std::string>() : v.dump()) + "\n";
      }
    }
  }
  for (const auto& l : m.licenses) out += "LICENSE \"\"\"" + l + "\"\"\"\n";
  auto msgs = json::parse(m.messages_json, nullptr, false);
  if (!msgs.is_discarded() && msgs.is_array()) {
    for (const auto& msg : msgs) {
      if (msg.is_object() && msg.contains("role") && msg.contains("content") &&
          msg["role"].is_string() && msg["content"].is_string()) {
        out += "MESSAGE " + msg["role"].get<std::string>() + " \"\"\"" +
               msg["content"].get<std::string>() + "\"\"\"\n";
      }
    }
  }
  return out;
}

}  // namespace corral
