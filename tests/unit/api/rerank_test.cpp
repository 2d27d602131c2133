// The /v1/rerank request: fields, defaults and the 400 messages the route returns.
#include "api/rerank.h"

#include <gtest/gtest.h>

namespace corral::api {
namespace {

Result<RerankRequest> parse(const char* body) {
  auto j = parse_json_body(body);
  EXPECT_TRUE(j.ok()) << body;
  return parse_rerank_request(*j);
}

TEST(RerankRequest, FieldsAndDefaults) {
  auto r = parse(R"({"model":"m","query":"q","documents":["a","b","c"]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->model, "m");
  EXPECT_EQ(r->query, "q");
  EXPECT_EQ(r->documents, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(r->top_n, 3);  // every document
  EXPECT_FALSE(r->return_documents);
  r = parse(R"({"model":"m","query":"","documents":["a"],"top_n":7,"return_documents":true})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->top_n, 7);
  EXPECT_TRUE(r->return_documents);
}

TEST(RerankRequest, BadFieldsAreNamed) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"model":"m","documents":["a"]})", "query must be a string"},
      {R"({"model":"m","query":3,"documents":["a"]})", "query must be a string"},
      {R"({"model":"m","query":"q"})", "documents must be an array of strings"},
      {R"({"model":"m","query":"q","documents":"a"})", "documents must be an array of strings"},
      {R"({"model":"m","query":"q","documents":["a",1]})", "documents must be an array of strings"},
      {R"({"model":"m","query":"q","documents":[]})", "documents must not be empty"},
      {R"({"model":"m","query":"q","documents":["a"],"top_n":0})", "top_n must be a positive integer"},
      {R"({"model":"m","query":"q","documents":["a"],"top_n":"2"})", "top_n"},
      {R"({"model":"m","query":"q","documents":["a"],"return_documents":"yes"})", "return_documents"},
      {R"({"model":5,"query":"q","documents":["a"]})", "model"},
      {R"([1,2])", "JSON object"},
  };
  for (const auto& [body, want] : cases) {
    auto j = parse_json_body(body);
    auto r = j.ok() ? parse_rerank_request(*j) : Result<RerankRequest>(j.error());
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_NE(r.error().message.find(want), std::string::npos) << body << " -> " << r.error().message;
  }
}

}  // namespace
}  // namespace corral::api
