// Verdicts on single answers: does a reply hold the JSON object that was asked for, and how does a
// reply to a vague prompt handle the missing context (heuristics documented in classify.cpp).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace corral::probe {

struct JsonVerdict {
  bool parses = false;        // the whole reply (trimmed) is one JSON object
  bool has_object = false;    // a JSON object can be cut out of the reply
  bool exact_fields = false;  // that object has exactly the asked fields, no more, no fewer
  bool prose = false;         // non-space text outside the object (markdown fences excepted)
  bool valid() const { return parses && exact_fields; }  // what a program could use as-is
};
JsonVerdict check_json_answer(std::string_view reply, const std::vector<std::string>& fields);

enum class Vagueness { kAsksClarification, kStatesAssumptions, kInventsContext };
const char* vagueness_name(Vagueness v);  // "asks_clarification", ...
bool parse_vagueness(std::string_view name, Vagueness* out);

struct VaguenessVerdict {
  Vagueness verdict = Vagueness::kInventsContext;
  std::string reason;  // which cue decided it
};
VaguenessVerdict classify_vague_answer(std::string_view reply);

}  // namespace corral::probe
