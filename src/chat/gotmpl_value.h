// GoValue: the data model the Go text/template engine evaluates over. It mirrors the Go values
// Ollama passes to its templates: strings, numbers, slices, maps (iterated in sorted key order)
// and structs (fixed field order, JSON names for the `json` function, optional String() method).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace corral::gotmpl {

struct GoStruct;

struct GoValue {
  enum class Kind { kNil, kBool, kInt, kFloat, kString, kList, kMap, kStruct };
  Kind kind = Kind::kNil;
  bool b = false;
  int64_t i = 0;
  double f = 0.0;
  std::string s;
  std::shared_ptr<std::vector<GoValue>> list;
  std::shared_ptr<std::map<std::string, GoValue>> map;
  std::shared_ptr<GoStruct> st;
  // A map whose Go type has a String() method returning its JSON (Ollama's
  // ToolCallFunctionArguments): printing it prints the JSON.
  bool prints_as_json = false;

  static GoValue nil() { return {}; }
  static GoValue boolean(bool v) { GoValue r; r.kind = Kind::kBool; r.b = v; return r; }
  static GoValue integer(int64_t v) { GoValue r; r.kind = Kind::kInt; r.i = v; return r; }
  static GoValue number(double v) { GoValue r; r.kind = Kind::kFloat; r.f = v; return r; }
  static GoValue string(std::string v) { GoValue r; r.kind = Kind::kString; r.s = std::move(v); return r; }
  static GoValue make_list(std::vector<GoValue> v = {});
  static GoValue make_map(std::map<std::string, GoValue> v = {});

  bool is_nil() const { return kind == Kind::kNil; }
};

// One struct field: Go name (for `.Name`), JSON name and omitempty (for `json`).
struct GoField {
  std::string name;
  std::string json_name;
  bool omitempty = false;
  GoValue value;
};

struct GoStruct {
  std::vector<GoField> fields;
  // True when the Go type has a String() method that returns its JSON (api.Tool, ToolFunction,
  // ToolCallFunctionArguments in Ollama): printing the value then prints its JSON.
  bool prints_as_json = false;
  const GoValue* field(const std::string& name) const;
};

GoValue make_struct(std::vector<GoField> fields, bool prints_as_json = false);

// Converts decoded JSON the way Go's encoding/json fills an `any`: objects become maps, arrays
// slices, every number a float64.
GoValue from_json_any(const nlohmann::ordered_json& j);

// Go truthiness as text/template's `if` sees it.
bool truth(const GoValue& v);

// fmt.Sprint of one value (%v).
std::string print_value(const GoValue& v);

// encoding/json.Marshal: compact, map keys sorted, HTML characters escaped.
std::string json_marshal(const GoValue& v);

}  // namespace corral::gotmpl
