// Validation of untrusted job input: POST /api/jobs bodies, lines of an OpenAI batch JSONL file,
// and the lines `corral jobs submit` reads. A bad input is an error naming the field (and line);
// nothing is queued from it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/types.h"
#include "base/result.h"
#include "jobs/job.h"

namespace corral::jobs {

// The route a job type runs through ("generate" -> "/api/generate"); nullopt for unknown types.
std::optional<std::string_view> job_type_path(std::string_view type);
// An OpenAI batch endpoint ("/v1/chat/completions") -> job type ("openai.chat").
std::optional<std::string_view> job_type_for_endpoint(std::string_view endpoint);

// Checks the inner request of a job of `type` (the same parsers the routes use for Ollama
// requests; the required fields for OpenAI ones), forces "stream": false, and fills
// job->type/model/request.
Status validate_job_request(std::string_view type, const api::Json& request, NewJob* job);

// POST /api/jobs: {"type", "request", "priority"?, "deadline_ms"?, "webhook"?: {"url", "secret"?}}.
Result<NewJob> parse_job_submission(const api::Json& body);

// One line of an OpenAI batch input file: {"custom_id", "method": "POST", "url", "body"}; `url`
// must equal the batch's endpoint.
Result<NewJob> parse_batch_line(std::string_view line, std::string_view endpoint);
// A whole batch input file; errors name the 1-based line. Blank lines are skipped; custom_id
// must be unique.
Result<std::vector<NewJob>> parse_batch_jsonl(std::string_view text, std::string_view endpoint,
                                              size_t max_lines = 50000);

// A line of a file for `corral jobs submit`: either a /api/jobs body or an OpenAI batch line.
// Returns the /api/jobs body for it (validated).
Result<api::Json> job_body_from_line(std::string_view line);

// "24h", "1d", "1h30m", "250ms", or a bare number of seconds (base/duration.h) -> milliseconds,
// at least 1.
Result<int64_t> parse_duration_ms(std::string_view text);

}  // namespace corral::jobs
