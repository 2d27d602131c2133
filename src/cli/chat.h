// What `corral run` and its interactive mode share: the session (model, options, system prompt,
// messages), streaming one answer from /api/chat, pulling a missing model with progress bars,
// and the --verbose timing block.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/types.h"
#include "base/result.h"

namespace corral::cli {

struct Session {
  std::string model;                    // as sent to the server (a name or an absolute .gguf path)
  api::Json options = api::Json::object();  // /set parameter
  std::optional<std::string> system;    // /set system
  api::Json format;                     // null or "json"
  api::Json think;                      // null, bool or a level
  std::optional<std::string> keep_alive;
  bool verbose = false;
  bool wordwrap = true;
  bool hide_thinking = false;           // --hidethinking: think, but print only the answer
  std::vector<api::Json> messages;      // the conversation so far
};

enum class AnswerStatus { kDone, kInterrupted, kFailed };

struct Terminal {
  bool tty = false;   // stdout is a terminal: spinner, colours, word wrap
  int width = 80;
};

// Sends the session's messages plus `prompt` as a user turn and prints the answer as it streams.
// On success the user turn and the answer are appended to session.messages; on Ctrl-C (which
// closes the stream, so the server stops) or an error, nothing is appended.
AnswerStatus answer(const std::string& base, Session& session, const std::string& prompt,
                    const Terminal& term, std::string* error);

// Loads the model (an empty chat) behind a spinner, so the first prompt does not wait for it.
Status preload(const std::string& base, const Session& session, const Terminal& term);

// True when MODEL names a local GGUF file rather than a store name; `abs` gets its absolute path.
bool is_gguf_path(const std::string& model, std::string* abs);

// Makes sure the server has `model`: asks /api/show, pulls through /api/pull with progress bars
// when it is missing. Errors say what to do next.
Status ensure_model(const std::string& base, const std::string& model, const Terminal& term);

// Streams /api/pull (or /api/push) progress to stdout as `corral pull` does.
Status transfer_via_server(const std::string& base, const std::string& model, bool pull, bool insecure);

// The --verbose block for a final chunk (Ollama's order and labels).
std::string timing_block(const api::Json& done_chunk);

}  // namespace corral::cli
