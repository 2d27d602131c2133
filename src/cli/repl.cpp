#include "cli/repl.h"

#include <unistd.h>

#include <cstdio>
#include <sstream>

#include <fmt/format.h>

#include "cli/client.h"
#include "cli/line_editor.h"
#include "store/modelfile.h"

namespace corral::cli {
namespace {

constexpr const char* kPlaceholder = "Send a message (/? for help)";

void print(const std::string& s) {
  std::fwrite(s.data(), 1, s.size(), stdout);
  std::fflush(stdout);
}

std::vector<std::string> split_words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> v;
  std::string w;
  while (in >> w) v.push_back(w);
  return v;
}

// The text after the first `n` words of `line`, leading spaces removed.
std::string rest_after(const std::string& line, int n) {
  size_t i = 0;
  for (int k = 0; k < n; ++k) {
    i = line.find_first_not_of(" \t", i);
    if (i == std::string::npos) return {};
    i = line.find_first_of(" \t", i);
    if (i == std::string::npos) return {};
  }
  i = line.find_first_not_of(" \t", i);
  return i == std::string::npos ? std::string() : line.substr(i);
}

const char* kHelp =
    "Available Commands:\n"
    "  /set            Set session variables\n"
    "  /show           Show model information\n"
    "  /load <model>   Load a session or model\n"
    "  /save <model>   Save your current session\n"
    "  /clear          Clear session context\n"
    "  /bye            Exit\n"
    "  /?, /help       Help for a command\n"
    "  /? shortcuts    Help for keyboard shortcuts\n"
    "\n"
    "Use \"\"\" to begin a multi-line message.\n\n";

const char* kHelpSet =
    "Available Commands:\n"
    "  /set parameter ...     Set a parameter\n"
    "  /set system <string>   Set system message\n"
    "  /set history           Enable history\n"
    "  /set nohistory         Disable history\n"
    "  /set wordwrap          Enable wordwrap\n"
    "  /set nowordwrap        Disable wordwrap\n"
    "  /set format json       Enable JSON mode\n"
    "  /set noformat          Disable formatting\n"
    "  /set verbose           Show LLM stats\n"
    "  /set quiet             Disable LLM stats\n"
    "  /set think             Enable thinking\n"
    "  /set nothink           Disable thinking\n\n";

const char* kHelpParameters =
    "Available Parameters:\n"
    "  /set parameter seed <int>             Random number seed\n"
    "  /set parameter num_predict <int>      Max number of tokens to predict\n"
    "  /set parameter top_k <int>            Pick from top k num of tokens\n"
    "  /set parameter top_p <float>          Pick token based on sum of probabilities\n"
    "  /set parameter min_p <float>          Pick token based on top token probability * min_p\n"
    "  /set parameter num_ctx <int>          Set the context size\n"
    "  /set parameter temperature <float>    Set creativity level\n"
    "  /set parameter repeat_penalty <float> How strongly to penalize repetitions\n"
    "  /set parameter repeat_last_n <int>    Set how far back to look for repetitions\n"
    "  /set parameter stop <string> <string> ...   Set the stop parameters\n\n";

const char* kHelpShow =
    "Available Commands:\n"
    "  /show info         Show details for this model\n"
    "  /show license      Show model license\n"
    "  /show modelfile    Show Modelfile for this model\n"
    "  /show parameters   Show parameters for this model\n"
    "  /show system       Show system message\n"
    "  /show template     Show prompt template\n\n";

const char* kHelpShortcuts =
    "Available keyboard shortcuts:\n"
    "  Ctrl + a            Move to the beginning of the line (Home)\n"
    "  Ctrl + e            Move to the end of the line (End)\n"
    "   Alt + b            Move back (left) one word\n"
    "   Alt + f            Move forward (right) one word\n"
    "  Ctrl + k            Delete the sentence after the cursor\n"
    "  Ctrl + u            Delete the sentence before the cursor\n"
    "  Ctrl + w            Delete the word before the cursor\n"
    "  Up / Down           Previous / next line in the history\n"
    "\n"
    "  Ctrl + l            Clear the screen\n"
    "  Ctrl + c            Stop the model from responding\n"
    "  Ctrl + d            Exit (on an empty line)\n\n";

class Repl {
 public:
  Repl(std::string base, Session s) : base_(std::move(base)), s_(std::move(s)), editor_(&history_) {
    history_path_ = corral_home() + "/history";
    if (const char* v = std::getenv("OLLAMA_NOHISTORY"); v != nullptr && *v != '\0') use_history_ = false;
    if (use_history_) history_.load(history_path_);
    term_.tty = ::isatty(STDOUT_FILENO) != 0;
    term_.width = LineEditor::terminal_width();
  }

  int run();

 private:
  void remember(const std::string& line) {
    if (!use_history_) return;
    history_.add(line);
    (void)history_.save(history_path_);
  }
  void handle_set(const std::string& line);
  void handle_show(const std::string& what);
  void handle_load(const std::string& model);
  void handle_save(const std::string& name);
  void ask(const std::string& prompt);
  void load_model_messages(Session* session);
  Result<api::Json> show_json(const std::string& model);

  std::string base_;
  Session s_;
  History history_;
  LineEditor editor_;
  std::string history_path_;
  bool use_history_ = true;
  Terminal term_;
};

void Repl::ask(const std::string& prompt) {
  term_.width = LineEditor::terminal_width();
  std::string err;
  switch (answer(base_, s_, prompt, term_, &err)) {
    case AnswerStatus::kDone: break;
    case AnswerStatus::kInterrupted: break;  // the server stops when the stream closes
    case AnswerStatus::kFailed: std::fprintf(stderr, "Error: %s\n\n", err.c_str()); break;
  }
}

Result<api::Json> Repl::show_json(const std::string& model) {
  return post_json(base_ + "/api/show", api::Json{{"model", model}});
}

void Repl::handle_set(const std::string& line) {
  const auto w = split_words(line);
  if (w.size() < 2) {
    print(kHelpSet);
    return;
  }
  const std::string& what = w[1];
  if (what == "parameter") {
    if (w.size() < 4) {
      print(kHelpParameters);
      return;
    }
    const std::string& name = w[2];
    if (name == "stop") {
      api::Json stops = api::Json::array();
      for (size_t i = 3; i < w.size(); ++i) stops.push_back(w[i]);
      s_.options["stop"] = stops;
      print(fmt::format("Set parameter '{}' to '{}'\n\n", name, rest_after(line, 3)));
      return;
    }
    const std::string value = rest_after(line, 3);
    auto json_text = parameter_value_json(name, value);
    if (!json_text) {
      std::fprintf(stderr, "Error: %s\n\n", json_text.error().message.c_str());
      return;
    }
    s_.options[name] = api::Json::parse(*json_text);
    print(fmt::format("Set parameter '{}' to '{}'\n\n", name, value));
  } else if (what == "system") {
    std::string text = rest_after(line, 2);
    if (text.size() >= 2 && text.front() == '"' && text.back() == '"') text = text.substr(1, text.size() - 2);
    s_.system = text;
    print("Set system message.\n\n");
  } else if (what == "format") {
    if (w.size() < 3 || w[2] != "json") {
      std::fprintf(stderr, "Error: only json is supported: /set format json\n\n");
      return;
    }
    s_.format = "json";
    print("Set format to 'json' mode.\n\n");
  } else if (what == "noformat") {
    s_.format = nullptr;
    print("Disabled format.\n\n");
  } else if (what == "verbose") {
    s_.verbose = true;
    print("Set 'verbose' mode.\n\n");
  } else if (what == "quiet") {
    s_.verbose = false;
    print("Set 'quiet' mode.\n\n");
  } else if (what == "think") {
    s_.think = w.size() >= 3 ? api::Json(w[2]) : api::Json(true);
    print("Set 'think' mode.\n\n");
  } else if (what == "nothink") {
    s_.think = false;
    print("Set 'nothink' mode.\n\n");
  } else if (what == "wordwrap") {
    s_.wordwrap = true;
    print("Set 'wordwrap' mode.\n\n");
  } else if (what == "nowordwrap") {
    s_.wordwrap = false;
    print("Set 'nowordwrap' mode.\n\n");
  } else if (what == "history") {
    use_history_ = true;
    print("Set 'history' mode.\n\n");
  } else if (what == "nohistory") {
    use_history_ = false;
    print("Set 'nohistory' mode.\n\n");
  } else {
    std::fprintf(stderr, "Unknown command '/set %s'. Type /? for help\n\n", what.c_str());
  }
}

void Repl::handle_show(const std::string& what) {
  if (what.empty()) {
    print(kHelpShow);
    return;
  }
  auto j = show_json(s_.model);
  if (!j) {
    std::fprintf(stderr, "Error: %s\n\n", j.error().message.c_str());
    return;
  }
  auto text = [&](const char* key) { return j->contains(key) && (*j)[key].is_string() ? (*j)[key].get<std::string>() : std::string(); };
  if (what == "info") {
    const api::Json d = j->value("details", api::Json::object());
    std::string arch = d.value("family", "");
    std::string ctx, emb;
    const api::Json info = j->value("model_info", api::Json::object());
    for (const auto& [k, v] : info.items()) {
      if (k == "general.architecture" && v.is_string()) arch = v.get<std::string>();
      if (k.ends_with(".context_length") && v.is_number()) ctx = v.dump();
      if (k.ends_with(".embedding_length") && v.is_number()) emb = v.dump();
    }
    std::string s = "  Model\n";
    s += fmt::format("    {:<20}{}\n", "architecture", arch);
    s += fmt::format("    {:<20}{}\n", "parameters", d.value("parameter_size", ""));
    if (!ctx.empty()) s += fmt::format("    {:<20}{}\n", "context length", ctx);
    if (!emb.empty()) s += fmt::format("    {:<20}{}\n", "embedding length", emb);
    s += fmt::format("    {:<20}{}\n\n", "quantization", d.value("quantization_level", ""));
    if (const std::string p = text("parameters"); !p.empty()) {
      s += "  Parameters\n";
      std::istringstream in(p);
      std::string l;
      while (std::getline(in, l)) s += "    " + l + "\n";
      s += "\n";
    }
    print(s);
  } else if (what == "license") {
    const std::string l = text("license");
    print(l.empty() ? "No license was specified for this model.\n\n" : l + "\n\n");
  } else if (what == "modelfile") {
    print(text("modelfile") + "\n");
  } else if (what == "parameters") {
    std::string p = text("parameters");
    std::string user;
    for (const auto& [k, v] : s_.options.items()) {
      if (v.is_array()) for (const auto& x : v) user += fmt::format("{:<30} {}\n", k, x.is_string() ? x.get<std::string>() : x.dump());
      else user += fmt::format("{:<30} {}\n", k, v.is_string() ? v.get<std::string>() : v.dump());
    }
    if (p.empty() && user.empty()) {
      print("No parameters were specified for this model.\n\n");
      return;
    }
    if (!p.empty()) print("Model defined parameters:\n" + p + "\n");
    if (!user.empty()) print("User defined parameters:\n" + user + "\n");
  } else if (what == "system") {
    const std::string sys = s_.system ? *s_.system : text("system");
    print(sys.empty() ? "No system message was specified for this model.\n\n" : sys + "\n\n");
  } else if (what == "template") {
    const std::string t = text("template");
    print(t.empty() ? "No prompt template was specified for this model.\n\n" : t + "\n\n");
  } else {
    std::fprintf(stderr, "Unknown command '/show %s'. Type /? for help\n\n", what.c_str());
  }
}

void Repl::handle_load(const std::string& model) {
  if (model.empty()) {
    std::fprintf(stderr, "Usage:\n  /load <modelname>\n\n");
    return;
  }
  std::string name = model, abs;
  if (is_gguf_path(model, &abs)) name = abs;
  print(fmt::format("Loading model '{}'\n", model));
  if (Status st = ensure_model(base_, name, term_); !st.ok()) {
    std::fprintf(stderr, "Error: %s\n\n", st.error().message.c_str());
    return;
  }
  Session next;
  next.model = name;
  next.keep_alive = s_.keep_alive;
  next.verbose = s_.verbose;
  next.wordwrap = s_.wordwrap;
  next.format = s_.format;
  next.think = s_.think;
  load_model_messages(&next);
  if (Status st = preload(base_, next, term_); !st.ok()) {
    std::fprintf(stderr, "Error: %s\n\n", st.error().message.c_str());
    return;
  }
  s_ = std::move(next);
}

void Repl::load_model_messages(Session* session) {
  // A saved session (or a Modelfile's MESSAGEs) brings its conversation back, shown as it was;
  // its parameters and system prompt are the model's own, applied by the server.
  auto j = show_json(session->model);
  if (!j.ok() || !j->contains("messages") || !(*j)["messages"].is_array()) return;
  for (const auto& m : (*j)["messages"]) {
    if (!m.is_object()) continue;
    const std::string role = m.value("role", "user"), content = m.value("content", "");
    session->messages.push_back({{"role", role}, {"content", content}});
    if (role == "user") print(">>> " + content + "\n");
    else if (role == "assistant") print(content + "\n\n");
  }
}

void Repl::handle_save(const std::string& name) {
  if (name.empty()) {
    std::fprintf(stderr, "Usage:\n  /save <modelname>\n\n");
    return;
  }
  std::string abs;
  if (is_gguf_path(s_.model, &abs)) {
    std::fprintf(stderr, "Error: a session on a GGUF file cannot be saved; create a model from it first "
                         "(corral create NAME -f Modelfile with FROM %s)\n\n", s_.model.c_str());
    return;
  }
  api::Json body{{"model", name}, {"from", s_.model}, {"stream", false}};
  if (!s_.options.empty()) body["parameters"] = s_.options;
  if (s_.system) body["system"] = *s_.system;
  if (!s_.messages.empty()) body["messages"] = s_.messages;
  auto r = post_json(base_ + "/api/create", body);
  if (!r) {
    std::fprintf(stderr, "Error: %s\n\n", r.error().message.c_str());
    return;
  }
  print(fmt::format("Created new model '{}'\n\n", name));
}

int Repl::run() {
  if (s_.messages.empty()) load_model_messages(&s_);
  for (;;) {
    std::string line;
    const ReadResult rr = editor_.read(">>> ", &line, kPlaceholder);
    if (rr == ReadResult::kEof) {
      return kExitOk;
    }
    if (rr == ReadResult::kInterrupted) {
      print("Use Ctrl + d or /bye to exit.\n");
      continue;
    }
    remember(line);
    std::string trimmed = line;
    trimmed.erase(0, trimmed.find_first_not_of(" \t"));
    if (trimmed.rfind("\"\"\"", 0) == 0) {
      // Multi-line: everything up to a line that ends with """.
      std::string text = trimmed.substr(3);
      bool closed = false;
      if (text.size() >= 3 && text.ends_with("\"\"\"")) {
        text.resize(text.size() - 3);
        closed = true;
      }
      while (!closed) {
        std::string more;
        const ReadResult r2 = editor_.read("... ", &more);
        if (r2 == ReadResult::kEof) return kExitOk;
        if (r2 == ReadResult::kInterrupted) break;
        remember(more);
        if (more.ends_with("\"\"\"")) {
          more.resize(more.size() - 3);
          closed = true;
        }
        text += (text.empty() ? "" : "\n") + more;
      }
      if (!closed) continue;
      if (text.find_first_not_of(" \t\n") != std::string::npos) ask(text);
      continue;
    }
    if (trimmed.empty()) continue;
    if (trimmed[0] == '/') {
      const auto w = split_words(trimmed);
      const std::string& cmd = w[0];
      if (cmd == "/bye" || cmd == "/exit") return kExitOk;
      if (cmd == "/?" || cmd == "/help") {
        const std::string topic = w.size() > 1 ? w[1] : "";
        if (topic == "set") print(kHelpSet);
        else if (topic == "show") print(kHelpShow);
        else if (topic == "shortcuts" || topic == "shortcut") print(kHelpShortcuts);
        else print(kHelp);
      } else if (cmd == "/set") {
        handle_set(trimmed);
      } else if (cmd == "/show") {
        handle_show(w.size() > 1 ? w[1] : "");
      } else if (cmd == "/load") {
        handle_load(w.size() > 1 ? w[1] : "");
      } else if (cmd == "/save") {
        handle_save(w.size() > 1 ? w[1] : "");
      } else if (cmd == "/clear") {
        s_.messages.clear();
        print("Cleared session context\n");
      } else {
        std::fprintf(stderr, "Unknown command '%s'. Type /? for help\n", cmd.c_str());
      }
      continue;
    }
    ask(line);
  }
}

}  // namespace

int run_interactive(const std::string& base, Session session) {
  Repl repl(base, std::move(session));
  return repl.run();
}

}  // namespace corral::cli
