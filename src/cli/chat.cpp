#include "cli/chat.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "api/http_client.h"
#include "base/file_util.h"
#include "cli/client.h"
#include "cli/spinner.h"
#include "cli/term/format.h"
#include "cli/term/word_wrap.h"
#include "store/registry/progress_view.h"

namespace corral::cli {
namespace {

void out(std::string_view s) {
  std::fwrite(s.data(), 1, s.size(), stdout);
  std::fflush(stdout);
}

api::Json chat_body(const Session& s, const std::vector<api::Json>& messages) {
  api::Json b{{"model", s.model}, {"messages", messages}, {"stream", true}};
  if (!s.options.empty()) b["options"] = s.options;
  if (!s.format.is_null()) b["format"] = s.format;
  if (!s.think.is_null()) b["think"] = s.think;
  if (s.keep_alive) b["keep_alive"] = *s.keep_alive;
  return b;
}

}  // namespace

std::string timing_block(const api::Json& d) {
  auto i64 = [&](const char* k) { return d.contains(k) && d[k].is_number() ? d[k].get<int64_t>() : int64_t{0}; };
  std::string s;
  s += fmt::format("{:<22}{}\n", "total duration:", go_duration(i64("total_duration")));
  s += fmt::format("{:<22}{}\n", "load duration:", go_duration(i64("load_duration")));
  const int64_t pc = i64("prompt_eval_count"), pd = i64("prompt_eval_duration");
  const int64_t ec = i64("eval_count"), ed = i64("eval_duration");
  s += fmt::format("{:<22}{} token(s)\n", "prompt eval count:", pc);
  if (pd > 0) {
    s += fmt::format("{:<22}{}\n", "prompt eval duration:", go_duration(pd));
    s += fmt::format("{:<22}{:.2f} tokens/s\n", "prompt eval rate:", static_cast<double>(pc) / (static_cast<double>(pd) / 1e9));
  }
  s += fmt::format("{:<22}{} token(s)\n", "eval count:", ec);
  if (ed > 0) {
    s += fmt::format("{:<22}{}\n", "eval duration:", go_duration(ed));
    s += fmt::format("{:<22}{:.2f} tokens/s\n", "eval rate:", static_cast<double>(ec) / (static_cast<double>(ed) / 1e9));
  }
  return s;
}

bool is_gguf_path(const std::string& model, std::string* abs) {
  std::error_code ec;
  const bool looks_like_path = model.ends_with(".gguf") || model.find('/') != std::string::npos ||
                               model.rfind('.', 0) == 0 || model.rfind('~', 0) == 0;
  if (!looks_like_path) return false;
  // Store names contain '/' too (hf.co/user/repo): only an existing file counts, or a .gguf name.
  if (!model.ends_with(".gguf") && !std::filesystem::is_regular_file(model, ec)) return false;
  *abs = absolute_as_seen(model);
  return true;
}

Status transfer_via_server(const std::string& base, const std::string& model, bool pull, bool insecure) {
  registry::ProgressView view(stdout, ::isatty(STDOUT_FILENO) != 0);
  std::string stream_error;
  api::Json body{{"model", model}, {"stream", true}};
  if (insecure) body["insecure"] = true;
  api::HttpClientOptions opts;
  opts.total_timeout_s = 24 * 3600;  // a large model takes a while
  opts.cancel = &g_interrupted;
  InterruptScope scope;
  auto r = api::http_post_stream(base + (pull ? "/api/pull" : "/api/push"), body.dump(),
                                 [&](std::string_view line) {
                                   auto j = api::Json::parse(line, nullptr, false);
                                   if (j.is_discarded() || !j.is_object()) return true;
                                   if (j.contains("error")) {
                                     stream_error = j["error"].is_string() ? j["error"].get<std::string>() : j["error"].dump();
                                     return false;
                                   }
                                   registry::Progress p;
                                   p.status = j.value("status", "");
                                   p.digest = j.value("digest", "");
                                   p.total = j.value("total", int64_t{0});
                                   p.completed = j.value("completed", int64_t{0});
                                   view.update(p);
                                   return true;
                                 },
                                 opts);
  view.finish();
  if (g_interrupted) return make_error("interrupted");
  if (!r) return r.error();
  if (r->status >= 400) return make_error("{}", error_message(*r));
  if (!stream_error.empty()) return make_error("{}", stream_error);
  return {};
}

Status ensure_model(const std::string& base, const std::string& model, const Terminal& term) {
  auto r = api::http_post_json(base + "/api/show", api::Json{{"model", model}}.dump());
  if (!r) return r.error();
  if (r->status == 200) return {};
  if (r->status != 404) return make_error("{}", error_message(*r));
  std::string abs;
  if (is_gguf_path(model, &abs)) return make_error("no such GGUF file: {}", model);
  (void)term;
  if (Status s = transfer_via_server(base, model, true, false); !s.ok()) {
    return make_error("model \"{}\" not found, and pulling it failed: {}", model, s.error().message);
  }
  return {};
}

Status preload(const std::string& base, const Session& session, const Terminal& term) {
  InterruptScope scope;
  Spinner spin(term.tty);
  api::Json body{{"model", session.model}, {"messages", api::Json::array()}, {"stream", false}};
  if (!session.options.empty()) body["options"] = session.options;
  if (session.keep_alive) body["keep_alive"] = *session.keep_alive;
  api::HttpClientOptions opts;
  opts.cancel = &g_interrupted;
  auto r = api::http_post_json(base + "/api/chat", body.dump(), opts);
  spin.stop();
  if (g_interrupted) return make_error("interrupted while loading the model");
  if (!r) return r.error();
  if (r->status >= 400) return make_error("{}", error_message(*r));
  return {};
}

AnswerStatus answer(const std::string& base, Session& session, const std::string& prompt,
                    const Terminal& term, std::string* error) {
  std::vector<api::Json> messages;
  if (session.system) messages.push_back({{"role", "system"}, {"content", *session.system}});
  for (const auto& m : session.messages) messages.push_back(m);
  messages.push_back({{"role", "user"}, {"content", prompt}});

  InterruptScope scope;
  Spinner spin(term.tty);
  WordWrapper wrap(term.tty && session.wordwrap ? static_cast<size_t>(std::max(term.width - 1, 10)) : 0);
  std::string content, stream_error;
  api::Json last;
  bool thinking_open = false, any_output = false;
  api::HttpClientOptions opts;
  opts.total_timeout_s = 24 * 3600;
  opts.cancel = &g_interrupted;
  auto emit = [&](const std::string& s) {
    if (s.empty()) return;
    spin.stop();
    any_output = true;
    out(s);
  };
  auto r = api::http_post_stream(
      base + "/api/chat", chat_body(session, messages).dump(),
      [&](std::string_view line) {
        if (g_interrupted) return false;
        auto j = api::Json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object()) return true;
        if (j.contains("error")) {
          stream_error = j["error"].is_string() ? j["error"].get<std::string>() : j["error"].dump();
          return false;
        }
        const api::Json msg = j.value("message", api::Json::object());
        const std::string think = msg.is_object() ? msg.value("thinking", "") : "";
        std::string text = msg.is_object() ? msg.value("content", "") : "";
        // The answer starts at its first visible character (models often begin with a space).
        if (content.empty()) text.erase(0, text.find_first_not_of(" \t\r\n"));
        if (!think.empty() && !session.hide_thinking) {
          if (!thinking_open) {
            emit(term.tty ? "\x1b[2mThinking...\n" : "Thinking...\n");
            thinking_open = true;
          }
          emit(wrap.feed(think));
        }
        if (!text.empty()) {
          if (thinking_open) {
            emit(wrap.finish() + (term.tty ? "\n...done thinking.\n\n\x1b[0m" : "\n...done thinking.\n\n"));
            thinking_open = false;
          }
          content += text;
          emit(wrap.feed(text));
        }
        if (j.value("done", false)) last = j;
        return true;
      },
      opts);
  spin.stop();
  if (g_interrupted) {
    out(wrap.finish());
    if (thinking_open && term.tty) out("\x1b[0m");
    out("\n");
    return AnswerStatus::kInterrupted;
  }
  if (!r) {
    *error = r.error().message;
    if (any_output) out("\n");
    return AnswerStatus::kFailed;
  }
  if (r->status >= 400 || !stream_error.empty()) {
    *error = !stream_error.empty() ? stream_error : error_message(*r);
    if (any_output) out("\n");
    return AnswerStatus::kFailed;
  }
  std::string tail = wrap.finish();
  if (thinking_open && term.tty) tail += "\x1b[0m";
  out(tail);
  // Ollama ends an answer with a blank line in a terminal and a single newline in a pipe.
  out(term.tty ? "\n\n" : "\n");
  if (session.verbose && last.is_object()) {
    const std::string block = timing_block(last);
    std::fwrite(block.data(), 1, block.size(), stderr);
    if (term.tty) std::fputc('\n', stderr);
  }
  session.messages.push_back({{"role", "user"}, {"content", prompt}});
  session.messages.push_back({{"role", "assistant"}, {"content", content}});
  return AnswerStatus::kDone;
}

}  // namespace corral::cli
