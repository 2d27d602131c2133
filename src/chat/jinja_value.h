// Jinja runtime values with Python semantics: None/bool/int/float/str, lists and tuples,
// insertion-ordered dicts, namespaces, undefined and callables (macros, builtins).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace corral::jinja {

class Value;

// The work one render may do, counted in bytes produced or compared (a string by its size, any
// other value as 8 bytes). Steps bound statements and loop iterations; this bounds what a single
// step can cost (a repeated string, printing a list whose elements share a large value, deep
// equality), so that no expression runs for long. Every builtin adds to the meter of the render
// on its thread and stops early once it is exceeded; the interpreter then fails the render.
struct WorkMeter {
  size_t used = 0;
  size_t limit = SIZE_MAX;
  bool exceeded() const { return used > limit; }
  // Adds `bytes`; false once the limit is passed.
  bool add(size_t bytes) {
    used = bytes > SIZE_MAX - used ? SIZE_MAX : used + bytes;
    return !exceeded();
  }
};
// The meter of the render running on this thread (an unlimited one outside a render).
WorkMeter& work_meter();

// The largest string or list (bytes, items) a single operation may build.
inline constexpr size_t kMaxValueBytes = size_t{16} << 20;
inline constexpr size_t kMaxListItems = 1'000'000;

struct CallArgs {
  std::vector<Value> pos;
  std::vector<std::pair<std::string, Value>> kw;
  const Value* get(size_t index, const char* name) const;
};

class Interpreter;
using NativeFn = std::function<Result<Value>(CallArgs& args)>;

struct Dict {
  std::vector<std::pair<std::string, Value>> items;
  Value* find(const std::string& key);
  const Value* find(const std::string& key) const;
  void set(const std::string& key, Value v);
};

class Value {
 public:
  enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kFunction };

  Value() = default;
  static Value none() { Value v; v.kind_ = Kind::kNone; return v; }
  static Value boolean(bool b) { Value v; v.kind_ = Kind::kBool; v.i_ = b ? 1 : 0; return v; }
  static Value integer(int64_t i) { Value v; v.kind_ = Kind::kInt; v.i_ = i; return v; }
  static Value number(double f) { Value v; v.kind_ = Kind::kFloat; v.f_ = f; return v; }
  static Value string(std::string s);
  static Value list(std::vector<Value> items = {}, bool tuple = false);
  static Value dict(std::shared_ptr<Dict> d = nullptr, bool ns = false);
  static Value function(NativeFn fn, std::string name = "");
  static Value from_json(const nlohmann::ordered_json& j);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_int() const { return kind_ == Kind::kInt; }
  bool is_float() const { return kind_ == Kind::kFloat; }
  bool is_number() const { return kind_ == Kind::kInt || kind_ == Kind::kFloat; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_tuple() const { return kind_ == Kind::kList && tuple_; }
  bool is_dict() const { return kind_ == Kind::kDict; }
  bool is_namespace() const { return kind_ == Kind::kDict && namespace_; }
  bool is_function() const { return kind_ == Kind::kFunction; }

  bool as_bool() const { return i_ != 0; }
  int64_t as_int() const { return i_; }
  double as_double() const { return kind_ == Kind::kFloat ? f_ : static_cast<double>(i_); }
  const std::string& str() const { return *s_; }
  std::vector<Value>& items() const { return *list_; }
  Dict& dict_ref() const { return *dict_; }
  const NativeFn& fn() const { return *fn_; }
  const std::string& fn_name() const { return *s_; }

  bool truthy() const;
  // Python str(): what {{ value }} prints.
  std::string to_str() const;
  // Python repr().
  std::string repr() const;
  bool equals(const Value& o) const;
  std::string type_name() const;
  // Identity for `is sameas`.
  const void* identity() const;

 private:
  Kind kind_ = Kind::kUndefined;
  int64_t i_ = 0;
  double f_ = 0.0;
  bool tuple_ = false;
  bool namespace_ = false;
  std::shared_ptr<const std::string> s_;
  std::shared_ptr<std::vector<Value>> list_;
  std::shared_ptr<Dict> dict_;
  std::shared_ptr<NativeFn> fn_;
};

struct JsonOptions {
  int indent = -1;  // < 0: none
  std::string item_sep;
  std::string key_sep;
  bool sort_keys = false;
  bool ensure_ascii = false;
};

// Python json.dumps (transformers' tojson: ensure_ascii=False by default).
Result<std::string> to_json(const Value& v, const JsonOptions& opts);

// Python float repr.
std::string float_repr(double f);

// UTF-8 helpers: code point count and splitting into code points.
std::vector<std::string> utf8_chars(const std::string& s);
size_t utf8_length(const std::string& s);  // utf8_chars(s).size(), without building them

}  // namespace corral::jinja
