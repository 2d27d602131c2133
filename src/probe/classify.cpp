// JSON-answer checks and the no-judge heuristics for vague prompts.
//
// Vagueness heuristics (case-insensitive, first rule that fires wins):
//  1. asks_clarification: the reply contains a question mark AND a request cue ("could you",
//     "can you share", "please provide", "more details", "which plan", ...), or it says the
//     needed material is missing ("you haven't", "no plan was", "i don't see").
//  2. states_assumptions: an assumption cue ("assum", "without more", "without knowing",
//     "it depends", "in general", "generally", "if the plan", "hypothetical").
//  3. otherwise invents_context: it answered as if it knew the plan.
// They are cheap and transparent, not clever; --judge replaces them with a model's verdict.
#include "probe/classify.h"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

namespace corral::probe {
namespace {

bool blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
}

// Text outside the object, with markdown code fences (``` or ```json) removed.
bool is_prose(std::string_view outside) {
  std::string s(outside);
  for (;;) {
    const size_t f = s.find("```");
    if (f == std::string::npos) break;
    size_t end = f + 3;
    while (end < s.size() && std::isalpha(static_cast<unsigned char>(s[end]))) ++end;
    s.erase(f, end - f);
  }
  return !blank(s);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool contains_any(const std::string& hay, std::initializer_list<const char*> cues, std::string* hit) {
  for (const char* c : cues) {
    if (hay.find(c) != std::string::npos) {
      *hit = c;
      return true;
    }
  }
  return false;
}

}  // namespace

JsonVerdict check_json_answer(std::string_view reply, const std::vector<std::string>& fields) {
  JsonVerdict v;
  using nlohmann::json;
  auto j = json::parse(reply.begin(), reply.end(), nullptr, false);
  std::string_view obj_text;
  if (!j.is_discarded() && j.is_object()) {
    v.parses = true;
    obj_text = reply;
  } else {
    // Cut out the widest {...} that parses, trying each '{' from the left against the last '}'.
    const size_t last = reply.rfind('}');
    for (size_t first = reply.find('{'); first != std::string_view::npos && last != std::string_view::npos &&
                                          first < last;
         first = reply.find('{', first + 1)) {
      std::string_view cand = reply.substr(first, last - first + 1);
      auto k = json::parse(cand.begin(), cand.end(), nullptr, false);
      if (!k.is_discarded() && k.is_object()) {
        j = std::move(k);
        obj_text = cand;
        v.prose = is_prose(reply.substr(0, first)) || is_prose(reply.substr(last + 1));
        break;
      }
    }
    if (obj_text.empty()) {
      v.prose = !blank(reply);
      return v;
    }
  }
  v.has_object = true;
  if (j.size() == fields.size()) {
    v.exact_fields = std::all_of(fields.begin(), fields.end(), [&](const std::string& f) { return j.contains(f); });
  }
  return v;
}

const char* vagueness_name(Vagueness v) {
  switch (v) {
    case Vagueness::kAsksClarification: return "asks_clarification";
    case Vagueness::kStatesAssumptions: return "states_assumptions";
    case Vagueness::kInventsContext: return "invents_context";
  }
  return "?";
}

bool parse_vagueness(std::string_view name, Vagueness* out) {
  for (Vagueness v : {Vagueness::kAsksClarification, Vagueness::kStatesAssumptions, Vagueness::kInventsContext}) {
    if (name == vagueness_name(v)) {
      *out = v;
      return true;
    }
  }
  return false;
}

VaguenessVerdict classify_vague_answer(std::string_view reply) {
  const std::string s = lower(reply);
  std::string hit;
  VaguenessVerdict out;
  const bool question = s.find('?') != std::string::npos;
  if (contains_any(s, {"you haven't", "you have not", "no plan was", "i don't see", "i do not see",
                       "didn't include", "did not include", "not provided", "wasn't provided"},
                   &hit) ||
      (question && contains_any(s, {"could you", "can you share", "can you provide", "please provide",
                                    "please share", "more details", "more information", "more context",
                                    "which plan", "what plan", "what is the plan", "share the plan",
                                    "tell me more", "what are"},
                                &hit))) {
    out.verdict = Vagueness::kAsksClarification;
    out.reason = "cue '" + hit + "'" + (question ? " with a question" : "");
    return out;
  }
  if (contains_any(s, {"assum", "without more", "without knowing", "without further", "it depends",
                       "depends on", "in general", "generally", "if the plan", "hypothetical"},
                   &hit)) {
    out.verdict = Vagueness::kStatesAssumptions;
    out.reason = "cue '" + hit + "'";
    return out;
  }
  out.verdict = Vagueness::kInventsContext;
  out.reason = "no clarification or assumption cue";
  return out;
}

}  // namespace corral::probe
