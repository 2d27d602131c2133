// JSON-answer verdicts and the vagueness heuristics.
#include <gtest/gtest.h>

#include "probe/classify.h"

namespace corral::probe {
namespace {

const std::vector<std::string> kFields = {"name", "age"};

TEST(ProbeClassify, ExactJson) {
  auto v = check_json_answer(" {\"age\": 3, \"name\": \"A\"}\n", kFields);
  EXPECT_TRUE(v.parses);
  EXPECT_TRUE(v.has_object);
  EXPECT_TRUE(v.exact_fields);  // field order does not matter
  EXPECT_FALSE(v.prose);
  EXPECT_TRUE(v.valid());
}

TEST(ProbeClassify, ProseAroundJson) {
  auto v = check_json_answer("Sure! Here it is:\n{\"name\": \"A\", \"age\": 3}\nAnything else?", kFields);
  EXPECT_FALSE(v.parses);
  EXPECT_TRUE(v.has_object);
  EXPECT_TRUE(v.exact_fields);
  EXPECT_TRUE(v.prose);
  EXPECT_FALSE(v.valid());
}

TEST(ProbeClassify, CodeFenceIsNotProse) {
  auto v = check_json_answer("```json\n{\"name\": \"A\", \"age\": 3}\n```", kFields);
  EXPECT_FALSE(v.parses);
  EXPECT_TRUE(v.has_object);
  EXPECT_FALSE(v.prose);
}

TEST(ProbeClassify, ExtraOrMissingFields) {
  EXPECT_FALSE(check_json_answer("{\"name\": \"A\", \"age\": 3, \"city\": \"P\"}", kFields).exact_fields);
  EXPECT_FALSE(check_json_answer("{\"name\": \"A\"}", kFields).exact_fields);
  EXPECT_TRUE(check_json_answer("{\"name\": \"A\"}", kFields).parses);
}

TEST(ProbeClassify, Unparseable) {
  auto v = check_json_answer("name: Ada, age: 36", kFields);
  EXPECT_FALSE(v.parses);
  EXPECT_FALSE(v.has_object);
  EXPECT_FALSE(v.exact_fields);
  EXPECT_TRUE(v.prose);
  auto w = check_json_answer("{\"name\": \"A\", \"age\": ", kFields);  // truncated
  EXPECT_FALSE(w.parses);
  EXPECT_FALSE(w.has_object);
  EXPECT_FALSE(check_json_answer("[1, 2]", kFields).parses);  // not an object
  EXPECT_FALSE(check_json_answer("", kFields).prose);
}

TEST(ProbeClassify, VaguenessHeuristics) {
  EXPECT_EQ(classify_vague_answer("Could you share the plan? I need more details.").verdict,
            Vagueness::kAsksClarification);
  EXPECT_EQ(classify_vague_answer("You haven't included a plan, so I can't judge it.").verdict,
            Vagueness::kAsksClarification);
  EXPECT_EQ(classify_vague_answer("Assuming a typical web service, it is fine.").verdict,
            Vagueness::kStatesAssumptions);
  EXPECT_EQ(classify_vague_answer("It depends on your budget and timeline.").verdict,
            Vagueness::kStatesAssumptions);
  EXPECT_EQ(classify_vague_answer("The plan to migrate on Friday is reasonable; backups exist.").verdict,
            Vagueness::kInventsContext);
  // A request cue without a question is not asking.
  EXPECT_EQ(classify_vague_answer("Please provide feedback to the team after launch.").verdict,
            Vagueness::kInventsContext);
  auto v = classify_vague_answer("WHICH PLAN do you mean?");
  EXPECT_EQ(v.verdict, Vagueness::kAsksClarification);
  EXPECT_NE(v.reason.find("which plan"), std::string::npos);
}

TEST(ProbeClassify, VaguenessNames) {
  Vagueness v;
  for (auto k : {Vagueness::kAsksClarification, Vagueness::kStatesAssumptions, Vagueness::kInventsContext}) {
    ASSERT_TRUE(parse_vagueness(vagueness_name(k), &v));
    EXPECT_EQ(v, k);
  }
  EXPECT_FALSE(parse_vagueness("maybe", &v));
}

}  // namespace
}  // namespace corral::probe
