// libFuzzer target: job bodies (POST /api/jobs), OpenAI batch JSONL files and `corral jobs
// submit` lines on arbitrary bytes; also durations (CORRAL_JOBS_* settings, completion_window).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/types.h"
#include "jobs/job_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)corral::jobs::parse_duration_ms(text.substr(0, 32));
  (void)corral::jobs::parse_batch_jsonl(text, "/v1/chat/completions", 1000);
  (void)corral::jobs::parse_batch_jsonl(text, "/v1/embeddings", 1000);
  (void)corral::jobs::job_body_from_line(text);
  auto j = corral::api::parse_json_body(text);
  if (j.ok()) (void)corral::jobs::parse_job_submission(*j);
  return 0;
}
