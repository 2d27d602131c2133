// `corral run MODEL [PROMPT]`: one answer (prompt on the command line or piped on stdin), or the
// interactive session when there is no prompt. A client of the server's API: starts `corral serve`
// in the background when none answers, and pulls the model first when the server lacks it.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "cli/chat.h"
#include "cli/client.h"
#include "cli/command.h"
#include "cli/line_editor.h"
#include "cli/repl.h"

namespace corral::cli {
namespace {

int cmd_run(int argc, char** argv) {
  CLI::App app{"Run a model: answer a prompt, or chat interactively when no prompt is given", "corral run"};
  app.footer(
      "Examples:\n"
      "  corral run llama3.2                      chat interactively (/? for help)\n"
      "  corral run llama3.2 \"Why is the sky blue?\"\n"
      "  echo \"Summarize: ...\" | corral run llama3.2\n"
      "  corral run ./models/tiny.gguf \"Hello\"     run a GGUF file in place\n"
      "  corral run llama3.2 --verbose --format json \"List 3 colours as JSON\"\n"
      "\n"
      "The model is pulled first when missing. When no server answers on CORRAL_HOST /\n"
      "OLLAMA_HOST (default 127.0.0.1:11434), `corral serve` is started in the background\n"
      "(log: ~/.corral/logs/server.log).");
  std::string model, format, think, keepalive;
  std::vector<std::string> prompt_words;
  bool verbose = false, nowordwrap = false, insecure = false, hidethinking = false;
  app.add_option("model", model, "Model name or path to a .gguf file")->required();
  app.add_option("prompt", prompt_words, "Prompt (no prompt: interactive mode)");
  app.add_flag("--verbose", verbose, "Show timings for the response");
  app.add_option("--format", format, "Response format (json)");
  app.add_option("--think", think, "Thinking: --think (on), --think=false, --think=low|medium|high");
  app.add_option("--keepalive", keepalive, "How long the model stays loaded (e.g. 5m, 1h, 0, -1)");
  app.add_flag("--nowordwrap", nowordwrap, "Don't wrap words to the next line automatically");
  app.add_flag("--hidethinking", hidethinking, "Hide the thinking output (when thinking is on)");
  app.add_flag("--insecure", insecure, "Use an insecure registry when pulling");
  // A bare --think means true (Ollama's NoOptDefVal); only --think=VALUE takes a value, so a
  // prompt after --think stays the prompt.
  std::vector<std::string> args(argv, argv + argc);
  for (auto& a : args) {
    if (a == "--think") a = "--think=true";
  }
  std::vector<char*> ptrs;
  for (auto& a : args) ptrs.push_back(a.data());
  try {
    app.parse(static_cast<int>(ptrs.size()), ptrs.data());
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }
  Session session;
  session.model = model;
  std::string abs;
  if (is_gguf_path(model, &abs)) session.model = abs;
  session.verbose = verbose;
  session.wordwrap = !nowordwrap;
  if (!keepalive.empty()) session.keep_alive = keepalive;
  if (!format.empty()) {
    if (format == "json") {
      session.format = "json";
    } else {
      auto schema = api::Json::parse(format, nullptr, false);
      if (schema.is_discarded() || !schema.is_object())
        return fail("--format must be json or a JSON schema object, got \"" + format + "\"", kExitUsage);
      session.format = schema;
    }
  }
  if (!think.empty()) {
    if (think == "true" || think == "false") session.think = think == "true";
    else if (think == "low" || think == "medium" || think == "high" || think == "max") session.think = think;
    else return fail("--think must be true, false, low, medium or high, got \"" + think + "\"", kExitUsage);
  }
  session.hide_thinking = hidethinking;

  std::string prompt;
  for (const auto& w : prompt_words) prompt += (prompt.empty() ? "" : " ") + w;
  const bool stdin_tty = ::isatty(STDIN_FILENO) != 0;
  if (!stdin_tty) {
    std::string piped((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    // `echo` ends with a newline that is not part of the question.
    while (!piped.empty() && (piped.back() == '\n' || piped.back() == '\r')) piped.pop_back();
    prompt = prompt.empty() ? piped : piped + " " + prompt;
  }
  const bool interactive = prompt_words.empty() && stdin_tty;
  if (!interactive && prompt.find_first_not_of(" \t\r\n") == std::string::npos)
    return fail("the prompt is empty; give one as an argument or on stdin", kExitUsage);

  auto base = ensure_server();
  if (!base) return fail(base.error().message, kExitNoServer);
  Terminal term;
  term.tty = ::isatty(STDOUT_FILENO) != 0;
  term.width = LineEditor::terminal_width();
  if (Status st = ensure_model(*base, session.model, term); !st.ok()) return fail(st.error().message);

  if (interactive) {
    if (Status st = preload(*base, session, term); !st.ok()) return fail(st.error().message);
    return run_interactive(*base, std::move(session));
  }
  std::string err;
  switch (answer(*base, session, prompt, term, &err)) {
    case AnswerStatus::kDone: return kExitOk;
    case AnswerStatus::kInterrupted: return kExitInterrupted;
    case AnswerStatus::kFailed: return fail(err);
  }
  return kExitError;
}

}  // namespace

CORRAL_COMMAND("run", "Run a model", cmd_run);

}  // namespace corral::cli
