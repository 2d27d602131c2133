// Jinja builtins (internal to chat/): filters, tests, attribute and item access with Python's
// str/dict methods, and the arithmetic and comparison operators.
#pragma once

#include <string>

#include "base/result.h"
#include "chat/jinja_value.h"

namespace corral::jinja {

Result<Value> apply_filter(const std::string& name, const Value& v, CallArgs& args);
Result<bool> apply_test(const std::string& name, const Value& v, CallArgs& args);

// `obj.name` (Jinja: attribute first, then item) and `obj[key]` (item first, then attribute).
Result<Value> get_attr(const Value& obj, const std::string& name);
Result<Value> get_item(const Value& obj, const Value& key);
Result<Value> get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step);

Result<Value> binary_op(const std::string& op, const Value& a, const Value& b);
Result<bool> compare_op(const std::string& op, const Value& a, const Value& b);
// Python ordering for sort/min/max; errors on incomparable types.
Result<int> compare_values(const Value& a, const Value& b, bool case_sensitive = true);

// Python's `str % args` (the subset templates use: %s %d %i %r %f %x %%).
Result<std::string> percent_format(const std::string& fmt, const Value& args);

// Iterating a value in a for loop or a filter: lists, dict keys, string characters.
Result<std::vector<Value>> iterate(const Value& v);

// Python's str and dict methods: a bound callable for `obj.name`, or undefined when `name` is
// not a method of that type (jinja_methods.cpp).
Result<Value> string_method(const Value& obj, const std::string& name);
Result<Value> dict_method(const Value& obj, const std::string& name);
// str.strip/lstrip/rstrip (chars: null for whitespace), str.title, str.replace (count < 0: all),
// str.split/rsplit.
std::string strip_chars(const std::string& s, const Value* chars, bool left, bool right);
std::string title_case(const std::string& s);
std::string replace_all(const std::string& s, const std::string& from, const std::string& to, int64_t count);
Result<Value> split(const std::string& s, const Value* sep, const Value* maxsplit, bool from_right);

std::string utf8_lower(const std::string& s);
std::string utf8_upper(const std::string& s);

}  // namespace corral::jinja
