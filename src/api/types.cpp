// Strict parsing of the Ollama wire types: every field's JSON type is checked before use.
#include "api/types.h"

#include <chrono>
#include <cmath>
#include <ctime>

#include <fmt/format.h>

#include "base/log.h"

namespace corral::api {

namespace {

const char* type_name(const Json& v) {
  switch (v.type()) {
    case Json::value_t::string: return "string";
    case Json::value_t::boolean: return "bool";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float: return "number";
    case Json::value_t::array: return "array";
    case Json::value_t::object: return "object";
    default: return "null";
  }
}

Error field_type_error(const char* key, const char* want, const Json& got) {
  return make_error("json: cannot unmarshal {} into field \"{}\" of type {}", type_name(got), key, want);
}

const Json* field(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return nullptr;
  return &*it;
}

// Go's int fields accept integral JSON numbers only; Ollama's options accept any number.
bool to_int(const Json& v, bool allow_fraction, int64_t* out) {
  if (v.is_number_integer()) {
    *out = v.get<int64_t>();
    return true;
  }
  if (v.is_number_unsigned()) {
    const auto u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) return false;
    *out = static_cast<int64_t>(u);
    return true;
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!std::isfinite(d) || d < -9.2e18 || d > 9.2e18) return false;
    if (!allow_fraction && d != std::floor(d)) return false;
    *out = static_cast<int64_t>(d);
    return true;
  }
  return false;
}

}  // namespace

Status get_string(const Json& j, const char* key, std::string* out) {
  const Json* v = field(j, key);
  if (v == nullptr) return {};
  if (!v->is_string()) return field_type_error(key, "string", *v);
  *out = v->get<std::string>();
  return {};
}

Status get_bool(const Json& j, const char* key, bool* out) {
  const Json* v = field(j, key);
  if (v == nullptr) return {};
  if (!v->is_boolean()) return field_type_error(key, "bool", *v);
  *out = v->get<bool>();
  return {};
}

Status get_int(const Json& j, const char* key, int64_t* out) {
  const Json* v = field(j, key);
  if (v == nullptr) return {};
  if (!to_int(*v, false, out)) return field_type_error(key, "int", *v);
  return {};
}

Status get_number(const Json& j, const char* key, double* out) {
  const Json* v = field(j, key);
  if (v == nullptr) return {};
  if (!v->is_number()) return field_type_error(key, "float", *v);
  *out = v->get<double>();
  return {};
}

Status get_duration_text(const Json& j, const char* key, std::optional<std::string>* out) {
  const Json* v = field(j, key);
  if (v == nullptr) return {};
  if (v->is_string()) {
    *out = v->get<std::string>();
  } else if (v->is_number()) {
    const double d = v->get<double>();
    if (!std::isfinite(d)) return make_error("invalid {}", key);
    *out = fmt::format("{}", d);
  } else {
    return make_error("json: cannot unmarshal {} into field \"{}\" of type duration", type_name(*v), key);
  }
  return {};
}

void Options::merge(const Options& o) {
#define CORRAL_MERGE(f) \
  if (o.f) f = o.f;
  CORRAL_MERGE(num_keep) CORRAL_MERGE(seed) CORRAL_MERGE(num_predict) CORRAL_MERGE(top_k)
  CORRAL_MERGE(repeat_last_n) CORRAL_MERGE(num_ctx) CORRAL_MERGE(num_batch) CORRAL_MERGE(num_gpu)
  CORRAL_MERGE(main_gpu) CORRAL_MERGE(num_thread) CORRAL_MERGE(top_p) CORRAL_MERGE(min_p)
  CORRAL_MERGE(typical_p) CORRAL_MERGE(temperature) CORRAL_MERGE(repeat_penalty)
  CORRAL_MERGE(presence_penalty) CORRAL_MERGE(frequency_penalty) CORRAL_MERGE(use_mmap)
  CORRAL_MERGE(stop)
#undef CORRAL_MERGE
}

Result<Options> parse_options(const Json& j) {
  Options o;
  if (j.is_null()) return o;
  if (!j.is_object()) return make_error("options must be an object, got {}", type_name(j));
  struct IntKey { const char* name; std::optional<int64_t> Options::*field; };
  struct FloatKey { const char* name; std::optional<double> Options::*field; };
  static const IntKey kInts[] = {
      {"num_keep", &Options::num_keep},     {"seed", &Options::seed},
      {"num_predict", &Options::num_predict}, {"top_k", &Options::top_k},
      {"repeat_last_n", &Options::repeat_last_n}, {"num_ctx", &Options::num_ctx},
      {"num_batch", &Options::num_batch},   {"num_gpu", &Options::num_gpu},
      {"main_gpu", &Options::main_gpu},     {"num_thread", &Options::num_thread}};
  static const FloatKey kFloats[] = {
      {"top_p", &Options::top_p},           {"min_p", &Options::min_p},
      {"typical_p", &Options::typical_p},   {"temperature", &Options::temperature},
      {"repeat_penalty", &Options::repeat_penalty},
      {"presence_penalty", &Options::presence_penalty},
      {"frequency_penalty", &Options::frequency_penalty}};
  for (const auto& [key, v] : j.items()) {
    if (v.is_null()) continue;
    bool known = false;
    for (const auto& k : kInts) {
      if (key != k.name) continue;
      known = true;
      int64_t n = 0;
      if (!to_int(v, true, &n)) return make_error("option \"{}\" must be of type integer", key);
      o.*(k.field) = n;
    }
    for (const auto& k : kFloats) {
      if (key != k.name) continue;
      known = true;
      if (!v.is_number()) return make_error("option \"{}\" must be of type float", key);
      o.*(k.field) = v.get<double>();
    }
    if (key == "use_mmap") {
      known = true;
      if (!v.is_boolean()) return make_error("option \"{}\" must be of type boolean", key);
      o.use_mmap = v.get<bool>();
    } else if (key == "stop") {
      known = true;
      std::vector<std::string> stops;
      if (v.is_string()) {
        stops.push_back(v.get<std::string>());
      } else if (v.is_array()) {
        for (const auto& s : v) {
          if (!s.is_string()) return make_error("option \"stop\" must be of type array of strings");
          stops.push_back(s.get<std::string>());
        }
      } else {
        return make_error("option \"stop\" must be of type array of strings");
      }
      o.stop = std::move(stops);
    }
    // Read from the raw body by the server's dispatch (deadlines and fallbacks), not here.
    if (key == "deadline_ms" || key == "fallback") known = true;
    if (!known) CORRAL_LOG_WARN("invalid option provided: {}", key);
  }
  return o;
}

Result<Message> parse_message(const Json& j) {
  if (!j.is_object()) return make_error("json: cannot unmarshal {} into messages of type api.Message", type_name(j));
  Message m;
  CORRAL_TRY(get_string(j, "role", &m.role));
  CORRAL_TRY(get_string(j, "content", &m.content));
  CORRAL_TRY(get_string(j, "thinking", &m.thinking));
  CORRAL_TRY(get_string(j, "tool_name", &m.tool_name));
  CORRAL_TRY(get_string(j, "tool_call_id", &m.tool_call_id));
  if (const Json* imgs = field(j, "images")) {
    if (!imgs->is_array()) return field_type_error("images", "[]string", *imgs);
    for (const auto& i : *imgs) {
      if (!i.is_string()) return field_type_error("images", "string", i);
      m.images.push_back(i.get<std::string>());
    }
  }
  if (const Json* tc = field(j, "tool_calls")) {
    if (!tc->is_array()) return field_type_error("tool_calls", "[]api.ToolCall", *tc);
    for (const auto& c : *tc) {
      if (!c.is_object()) return field_type_error("tool_calls", "api.ToolCall", c);
      const Json* fn = field(c, "function");
      if (fn == nullptr || !fn->is_object()) return make_error("tool call has no function object");
      const Json* args = field(*fn, "arguments");
      if (args != nullptr && !args->is_object())
        return field_type_error("arguments", "object", *args);
    }
    m.tool_calls = *tc;
  }
  return m;
}

namespace {

Status parse_common(const Json& j, std::string* model, bool* stream,
                    std::optional<std::string>* keep_alive, Options* options) {
  CORRAL_TRY(get_string(j, "model", model));
  CORRAL_TRY(get_bool(j, "stream", stream));
  CORRAL_TRY(get_duration_text(j, "keep_alive", keep_alive));
  if (const Json* o = field(j, "options")) {
    auto opts = parse_options(*o);
    if (!opts) return opts.error();
    *options = std::move(*opts);
  }
  return {};
}

Status parse_logprobs(const Json& j, bool* logprobs, int32_t* top) {
  CORRAL_TRY(get_bool(j, "logprobs", logprobs));
  int64_t t = 0;
  CORRAL_TRY(get_int(j, "top_logprobs", &t));
  if (t < 0 || t > 20) return make_error("top_logprobs must be between 0 and 20");
  *top = static_cast<int32_t>(t);
  return {};
}

Status check_think(const Json& j, Json* out) {
  const Json* v = field(j, "think");
  if (v == nullptr) return {};
  if (v->is_boolean()) {
    *out = *v;
    return {};
  }
  if (v->is_string()) {
    const auto s = v->get<std::string>();
    if (s == "low" || s == "medium" || s == "high" || s == "max" || s == "true" || s == "false") {
      *out = *v;
      return {};
    }
    return make_error("invalid think value: \"{}\" (must be \"high\", \"medium\", \"low\", true, or false)", s);
  }
  return make_error("think must be a boolean or string");
}

Status check_format(const Json& j, Json* out) {
  const Json* v = field(j, "format");
  if (v == nullptr) return {};
  if (v->is_string()) {
    const auto s = v->get<std::string>();
    if (!s.empty() && s != "json") return make_error("invalid format: \"{}\" (expected \"json\" or a JSON schema)", s);
    if (!s.empty()) *out = *v;
    return {};
  }
  if (v->is_object()) {
    if (const Json* t = field(*v, "type"); t != nullptr && !t->is_string() && !t->is_array())
      return make_error("invalid JSON schema in format: \"type\" must be a string or an array");
    *out = *v;
    return {};
  }
  return make_error("invalid format: must be \"json\" or a JSON schema object");
}

}  // namespace

Result<GenerateRequest> parse_generate_request(const Json& j) {
  if (!j.is_object()) return make_error("request body must be a JSON object");
  GenerateRequest r;
  CORRAL_TRY(parse_common(j, &r.model, &r.stream, &r.keep_alive, &r.options));
  CORRAL_TRY(get_string(j, "prompt", &r.prompt));
  CORRAL_TRY(get_string(j, "suffix", &r.suffix));
  if (field(j, "system") != nullptr) {
    std::string s;
    CORRAL_TRY(get_string(j, "system", &s));
    r.system_override = s;
    r.system = s;
  }
  if (field(j, "template") != nullptr) {
    std::string t;
    CORRAL_TRY(get_string(j, "template", &t));
    r.template_text = t;
  }
  CORRAL_TRY(get_bool(j, "raw", &r.raw));
  CORRAL_TRY(get_bool(j, "truncate", &r.truncate));
  CORRAL_TRY(get_bool(j, "shift", &r.shift));
  if (const Json* c = field(j, "context")) {
    if (!c->is_array()) return field_type_error("context", "[]int", *c);
    for (const auto& t : *c) {
      int64_t v = 0;
      if (!to_int(t, false, &v) || v < 0 || v > INT32_MAX) return field_type_error("context", "int", t);
      r.context.push_back(static_cast<int32_t>(v));
    }
  }
  if (const Json* imgs = field(j, "images")) {
    if (!imgs->is_array()) return field_type_error("images", "[]string", *imgs);
    r.has_images = !imgs->empty();
  }
  CORRAL_TRY(check_format(j, &r.format));
  CORRAL_TRY(check_think(j, &r.think));
  CORRAL_TRY(parse_logprobs(j, &r.logprobs, &r.top_logprobs));
  if (r.raw && (r.template_text || r.system_override || !r.context.empty()))
    return make_error("raw mode does not support template, system, or context");
  return r;
}

Result<ChatRequest> parse_chat_request(const Json& j) {
  if (!j.is_object()) return make_error("request body must be a JSON object");
  ChatRequest r;
  CORRAL_TRY(parse_common(j, &r.model, &r.stream, &r.keep_alive, &r.options));
  if (const Json* ms = field(j, "messages")) {
    if (!ms->is_array()) return field_type_error("messages", "[]api.Message", *ms);
    for (const auto& m : *ms) {
      auto msg = parse_message(m);
      if (!msg) return msg.error();
      r.messages.push_back(std::move(*msg));
    }
  }
  if (const Json* t = field(j, "tools")) {
    if (!t->is_array()) return field_type_error("tools", "[]api.Tool", *t);
    for (const auto& tool : *t)
      if (!tool.is_object()) return field_type_error("tools", "api.Tool", tool);
    r.tools = *t;
  }
  CORRAL_TRY(get_bool(j, "truncate", &r.truncate));
  CORRAL_TRY(get_bool(j, "shift", &r.shift));
  CORRAL_TRY(check_format(j, &r.format));
  CORRAL_TRY(check_think(j, &r.think));
  CORRAL_TRY(parse_logprobs(j, &r.logprobs, &r.top_logprobs));
  return r;
}

Result<EmbedRequest> parse_embed_request(const Json& j, bool legacy) {
  if (!j.is_object()) return make_error("request body must be a JSON object");
  EmbedRequest r;
  bool unused_stream = false;
  CORRAL_TRY(parse_common(j, &r.model, &unused_stream, &r.keep_alive, &r.options));
  if (legacy) {
    std::string p;
    CORRAL_TRY(get_string(j, "prompt", &p));
    r.input.push_back(std::move(p));
    return r;
  }
  CORRAL_TRY(get_bool(j, "truncate", &r.truncate));
  int64_t dims = 0;
  CORRAL_TRY(get_int(j, "dimensions", &dims));
  if (dims < 0 || dims > INT32_MAX) return make_error("dimensions must be a non-negative integer");
  r.dimensions = static_cast<int32_t>(dims);
  if (const Json* in = field(j, "input")) {
    if (in->is_string()) {
      r.input.push_back(in->get<std::string>());
    } else if (in->is_array()) {
      for (const auto& s : *in) {
        if (!s.is_string()) return make_error("invalid input type: input must be a string or an array of strings");
        r.input.push_back(s.get<std::string>());
      }
    } else {
      return make_error("invalid input type: input must be a string or an array of strings");
    }
  }
  return r;
}

Result<Json> parse_json_body(std::string_view body) {
  if (body.empty()) return make_error("missing request body");
  Json j = Json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return make_error("invalid JSON in request body");
  if (!j.is_object()) return make_error("request body must be a JSON object");
  return j;
}

int64_t unix_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string rfc3339_nano(int64_t unix_ns) {
  int64_t secs = unix_ns / 1000000000;
  int64_t nanos = unix_ns % 1000000000;
  if (nanos < 0) {
    nanos += 1000000000;
    secs -= 1;
  }
  const auto t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::string frac;
  if (nanos != 0) {  // Go's RFC3339Nano trims trailing zeros
    frac = fmt::format(".{:09d}", nanos);
    while (frac.back() == '0') frac.pop_back();
  }
  return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}{}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

std::string error_body(std::string_view message) {
  return Json{{"error", std::string(message)}}.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string openai_error_body(std::string_view message, std::string_view type) {
  OJson e;
  e["error"]["message"] = std::string(message);
  e["error"]["type"] = std::string(type);
  e["error"]["param"] = nullptr;
  e["error"]["code"] = nullptr;
  return e.dump(-1, ' ', false, OJson::error_handler_t::replace);
}

}  // namespace corral::api
