// Suite-file parsing with located error messages, and the built-in suite of the note's experiments.
#include "probe/suite.h"

#include <set>

namespace corral::probe {

using nlohmann::json;

const char* kind_name(ExperimentKind k) {
  switch (k) {
    case ExperimentKind::kLatency: return "latency";
    case ExperimentKind::kVariation: return "variation";
    case ExperimentKind::kStructure: return "structure";
    case ExperimentKind::kVagueness: return "vagueness";
  }
  return "?";
}

json schema_for_fields(const std::vector<std::string>& fields) {
  json props = json::object();
  for (const auto& f : fields) {
    if (f == "age") props[f] = {{"type", "integer"}};
    else if (f == "name") props[f] = {{"type", "string"}};
    else props[f] = json::object();
  }
  return {{"type", "object"}, {"properties", props}, {"required", fields}, {"additionalProperties", false}};
}

namespace {

Status positive_int(const json& e, const char* key, const std::string& where, std::optional<int>* out) {
  if (!e.contains(key)) return {};
  const json& v = e.at(key);
  if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > 100000) {
    return make_error("{}.{}: expected a positive integer, got {}", where, key, v.dump());
  }
  *out = static_cast<int>(v.get<int64_t>());
  return {};
}

Result<Experiment> parse_experiment(const json& e, const std::string& where) {
  if (!e.is_object()) return make_error("{}: expected an object, got {}", where, e.type_name());
  static const std::set<std::string> kKeys = {"kind", "prompt", "prompts", "runs", "concurrency", "num_predict",
                                              "temperature", "seed", "fields", "schema"};
  for (const auto& [k, v] : e.items()) {
    if (!kKeys.count(k)) return make_error("{}: unknown key '{}'", where, k);
  }
  if (!e.contains("kind") || !e["kind"].is_string()) {
    return make_error("{}: missing \"kind\" (latency, variation, structure or vagueness)", where);
  }
  Experiment x;
  const std::string kind = e["kind"];
  if (kind == "latency") x.kind = ExperimentKind::kLatency;
  else if (kind == "variation") x.kind = ExperimentKind::kVariation;
  else if (kind == "structure") x.kind = ExperimentKind::kStructure;
  else if (kind == "vagueness") x.kind = ExperimentKind::kVagueness;
  else return make_error("{}.kind: unknown kind '{}' (expected latency, variation, structure or vagueness)", where, kind);
  if (e.contains("prompt")) {
    if (!e["prompt"].is_string()) return make_error("{}.prompt: expected a string", where);
    x.prompts.push_back(e["prompt"]);
  }
  if (e.contains("prompts")) {
    const json& p = e["prompts"];
    if (!p.is_array()) return make_error("{}.prompts: expected an array of strings", where);
    for (size_t i = 0; i < p.size(); ++i) {
      if (!p[i].is_string()) return make_error("{}.prompts[{}]: expected a string, got {}", where, i, p[i].type_name());
      x.prompts.push_back(p[i]);
    }
  }
  if (x.prompts.empty()) return make_error("{}: needs \"prompt\" or a non-empty \"prompts\"", where);
  CORRAL_TRY(positive_int(e, "runs", where, &x.runs));
  CORRAL_TRY(positive_int(e, "concurrency", where, &x.concurrency));
  std::optional<int> np;
  CORRAL_TRY(positive_int(e, "num_predict", where, &np));
  if (np) x.num_predict = *np;
  if (e.contains("temperature")) {
    if (!e["temperature"].is_number() || e["temperature"].get<double>() < 0) {
      return make_error("{}.temperature: expected a number >= 0", where);
    }
    x.temperature = e["temperature"].get<double>();
  }
  if (e.contains("seed")) {
    if (!e["seed"].is_number_integer()) return make_error("{}.seed: expected an integer", where);
    x.seed = e["seed"].get<int64_t>();
  }
  if (e.contains("fields")) {
    const json& f = e["fields"];
    if (!f.is_array() || f.empty()) return make_error("{}.fields: expected a non-empty array of strings", where);
    for (size_t i = 0; i < f.size(); ++i) {
      if (!f[i].is_string()) return make_error("{}.fields[{}]: expected a string", where, i);
      x.fields.push_back(f[i]);
    }
  }
  if (e.contains("schema")) {
    if (!e["schema"].is_object()) return make_error("{}.schema: expected a JSON Schema object", where);
    x.schema = e["schema"];
  }
  if (x.kind == ExperimentKind::kStructure) {
    if (x.fields.empty()) return make_error("{}: a structure experiment needs \"fields\"", where);
    if (x.schema.is_null()) x.schema = schema_for_fields(x.fields);
  } else if (e.contains("fields") || e.contains("schema")) {
    return make_error("{}: \"fields\"/\"schema\" only apply to kind structure", where);
  }
  if (e.contains("concurrency") && x.kind != ExperimentKind::kLatency) {
    return make_error("{}: \"concurrency\" only applies to kind latency", where);
  }
  return x;
}

}  // namespace

Result<Suite> parse_suite(std::string_view text, std::string_view origin) {
  json j;
  try {
    j = json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    return make_error("{}: not valid JSON (byte {}): {}", origin, e.byte, e.what());
  }
  if (!j.is_object()) return make_error("{}: expected a JSON object at the top", origin);
  for (const auto& [k, v] : j.items()) {
    if (k != "name" && k != "experiments" && k != "thresholds") {
      return make_error("{}: unknown top-level key '{}' (expected name, experiments, thresholds)", origin, k);
    }
  }
  Suite s;
  s.name = j.value("name", std::string(origin));
  if (!j.contains("experiments") || !j["experiments"].is_array() || j["experiments"].empty()) {
    return make_error("{}: \"experiments\" must be a non-empty array", origin);
  }
  std::set<ExperimentKind> seen;
  for (size_t i = 0; i < j["experiments"].size(); ++i) {
    const std::string where = fmt::format("{}: experiments[{}]", origin, i);
    auto x = parse_experiment(j["experiments"][i], where);
    if (!x) return x.error();
    if (!seen.insert(x->kind).second) {
      return make_error("{}: a second '{}' experiment (at most one per kind)", where, kind_name(x->kind));
    }
    s.experiments.push_back(std::move(*x));
  }
  if (j.contains("thresholds")) {
    const json& t = j["thresholds"];
    if (!t.is_array()) return make_error("{}: \"thresholds\" must be an array of strings", origin);
    for (size_t i = 0; i < t.size(); ++i) {
      if (!t[i].is_string()) return make_error("{}: thresholds[{}]: expected a string like \"p95_total_ms < 2000\"", origin, i);
      auto th = parse_threshold(t[i].get<std::string>());
      if (!th) return make_error("{}: thresholds[{}]: {}", origin, i, th.error().message);
      s.thresholds.push_back(std::move(*th));
    }
  }
  return s;
}

Suite builtin_suite() {
  Suite s;
  s.name = "built-in (the note's experiments)";
  Experiment lat;
  lat.kind = ExperimentKind::kLatency;
  // Growing prompt lengths, so TTFT vs prompt length has a slope to show.
  const std::string sentence = "The quick brown fox jumps over the lazy dog. ";
  std::string grow;
  for (int reps : {1, 4, 16, 48}) {
    grow.clear();
    for (int i = 0; i < reps; ++i) grow += sentence;
    lat.prompts.push_back(grow + "Summarise the text above in one sentence.");
  }
  lat.num_predict = 32;
  s.experiments.push_back(lat);
  Experiment var;
  var.kind = ExperimentKind::kVariation;
  var.prompts = {"Write one sentence about a cat."};
  var.num_predict = 32;
  s.experiments.push_back(var);
  Experiment st;
  st.kind = ExperimentKind::kStructure;
  st.prompts = {"Give me a JSON object with name and age."};
  st.fields = {"name", "age"};
  st.schema = schema_for_fields(st.fields);
  st.num_predict = 64;
  s.experiments.push_back(st);
  Experiment vg;
  vg.kind = ExperimentKind::kVagueness;
  vg.prompts = {"Judge whether this plan is reasonable.", "Is this approach good enough for production?",
                "Fix the bug in my function."};
  vg.num_predict = 96;
  s.experiments.push_back(vg);
  return s;
}

}  // namespace corral::probe
