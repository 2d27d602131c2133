#include "cli/remote_store.h"

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>

#include "api/http_client.h"
#include "base/file_util.h"
#include "base/sha256.h"
#include "cli/client.h"
#include "cli/table.h"
#include "store/model_info.h"

namespace corral::cli {
namespace {

std::string str(const api::Json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

}  // namespace

void print_section(const char* title, const std::string& body) {
  std::printf("  %s\n", title);
  std::istringstream in(body);
  std::string line;
  while (std::getline(in, line)) std::printf("    %s\n", line.c_str());
  std::printf("\n");
}

std::string not_found_message(const std::string& model) {
  return fmt::format("model \"{}\" not found, try \"corral pull {}\"", model, model);
}

std::string time_ago(int64_t then_s) {
  const int64_t d = std::max<int64_t>(0, static_cast<int64_t>(std::time(nullptr)) - then_s);
  auto unit = [](int64_t n, const char* one, const char* many) {
    return n == 1 ? std::string(one) : fmt::format("{} {} ago", n, many);
  };
  if (d < 1) return "Less than a second ago";
  if (d < 60) return unit(d, "1 second ago", "seconds");
  if (d < 120) return "About a minute ago";
  if (d < 3600) return unit(d / 60, "1 minute ago", "minutes");
  if (d < 7200) return "About an hour ago";
  if (d < 86400 * 2) return unit(d / 3600, "1 hour ago", "hours");
  if (d < 86400 * 7 * 2) return unit(d / 86400, "1 day ago", "days");
  if (d < 86400 * 30 * 3) return unit(d / (86400 * 7), "1 week ago", "weeks");
  if (d < 86400 * 365 * 2) return unit(d / (86400 * 30), "1 month ago", "months");
  return unit(d / (86400 * 365), "1 year ago", "years");
}

int remote_list(const std::string& base) {
  auto j = get_json(base + "/api/tags");
  if (!j) return fail(j.error().message);
  std::vector<std::vector<std::string>> rows = {{"NAME", "ID", "SIZE", "MODIFIED"}};
  for (const auto& m : j->value("models", api::Json::array())) {
    rows.push_back({str(m, "name"), str(m, "digest").substr(0, 12), human_bytes(m.value("size", int64_t{0})),
                    time_ago(parse_rfc3339_s(str(m, "modified_at")))});
  }
  print_table(rows);
  return kExitOk;
}

int remote_show(const std::string& base, const std::string& model, const std::string& which) {
  auto r = api::http_post_json(base + "/api/show", api::Json{{"model", model}}.dump());
  if (!r) return fail(r.error().message);
  if (r->status == 404) return fail(not_found_message(model));
  if (r->status >= 400) return fail(error_message(*r));
  auto j = api::Json::parse(r->body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail("the server sent a malformed answer");
  if (which == "modelfile") return std::printf("%s", str(j, "modelfile").c_str()) < 0;
  if (which == "template") return std::printf("%s\n", str(j, "template").c_str()) < 0;
  if (which == "system") return std::printf("%s\n", str(j, "system").c_str()) < 0;
  if (which == "license") return std::printf("%s\n", str(j, "license").c_str()) < 0;
  if (which == "parameters") return std::printf("%s", str(j, "parameters").c_str()) < 0;
  const api::Json d = j.value("details", api::Json::object());
  std::string arch = str(d, "family"), ctx, emb;
  const api::Json info = j.value("model_info", api::Json::object());  // items() needs it alive
  for (const auto& [k, v] : info.items()) {
    if (k == "general.architecture" && v.is_string()) arch = v.get<std::string>();
    if (k.ends_with(".context_length") && v.is_number()) ctx = v.dump();
    if (k.ends_with(".embedding_length") && v.is_number()) emb = v.dump();
  }
  std::string m;
  m += fmt::format("{:<20}{}\n", "architecture", arch);
  m += fmt::format("{:<20}{}\n", "parameters", str(d, "parameter_size"));
  if (!ctx.empty()) m += fmt::format("{:<20}{}\n", "context length", ctx);
  if (!emb.empty()) m += fmt::format("{:<20}{}\n", "embedding length", emb);
  m += fmt::format("{:<20}{}\n", "quantization", str(d, "quantization_level"));
  print_section("Model", m);
  std::string caps;
  for (const auto& c : j.value("capabilities", api::Json::array()))
    if (c.is_string()) caps += c.get<std::string>() + "\n";
  if (!caps.empty()) print_section("Capabilities", caps);
  if (const std::string p = str(j, "parameters"); !p.empty()) print_section("Parameters", p);
  if (const std::string s = str(j, "system"); !s.empty()) print_section("System", s);
  if (const std::string l = str(j, "license"); !l.empty()) {
    std::istringstream in(l);
    std::string line, head;
    for (int i = 0; i < 2 && std::getline(in, line); ++i) head += line + "\n";
    print_section("License", head);
  }
  return kExitOk;
}

int remote_copy(const std::string& base, const std::string& src, const std::string& dst) {
  auto r = api::http_post_json(base + "/api/copy", api::Json{{"source", src}, {"destination", dst}}.dump());
  if (!r) return fail(r.error().message);
  if (r->status == 404) return fail(fmt::format("model \"{}\" not found; \"corral list\" shows the models", src));
  if (r->status >= 400) return fail(error_message(*r));
  std::printf("copied '%s' to '%s'\n", src.c_str(), dst.c_str());
  return kExitOk;
}

int remote_remove(const std::string& base, const std::vector<std::string>& models) {
  int rc = kExitOk;
  for (const auto& m : models) {
    auto r = api::http_delete_json(base + "/api/delete", api::Json{{"model", m}}.dump());
    if (!r) return fail(r.error().message);
    if (r->status >= 400) {
      rc = fail(r->status == 404 ? fmt::format("model \"{}\" not found; \"corral list\" shows the models", m)
                                 : error_message(*r));
      continue;
    }
    std::printf("deleted '%s'\n", m.c_str());
  }
  return rc;
}

int remote_create(const std::string& base, const std::string& model, const Modelfile& mf,
                  const std::string& base_dir) {
  if (!mf.adapters.empty()) return fail("ADAPTER is not supported through the server yet; stop the server to create it on the store directly");
  api::Json body{{"model", model}, {"stream", true}};
  std::string from = mf.from;
  if (!from.empty() && from[0] == '~') {
    if (const char* home = std::getenv("HOME")) from = home + from.substr(1);
  }
  std::filesystem::path path(from);
  if (path.is_relative()) path = std::filesystem::path(base_dir.empty() ? "." : base_dir) / path;
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec)) {
    // Hashed and sent from disk in pieces: a model file is never read into memory whole.
    auto hex = sha256_file_hex(path.string());
    if (!hex) return fail(hex.error().message);
    const std::string digest = "sha256:" + *hex;
    auto head = api::http_get(base + "/api/blobs/" + digest);
    if (!head) return fail(head.error().message);
    if (head->status != 200) {
      std::printf("copying file %s 100%%\n", digest.c_str());
      auto up = api::http_post_file(base + "/api/blobs/" + digest, path.string());
      if (!up) return fail(up.error().message);
      if (up->status >= 400) return fail(error_message(*up));
    }
    body["files"] = api::Json{{path.filename().string(), digest}};
  } else {
    body["from"] = from;
  }
  if (mf.has_template) body["template"] = mf.template_text;
  if (mf.has_system) body["system"] = mf.system;
  if (!mf.licenses.empty()) body["license"] = mf.licenses;
  if (mf.has_params) body["parameters"] = api::Json::parse(mf.params_json, nullptr, false);
  if (!mf.messages.empty()) {
    api::Json msgs = api::Json::array();
    for (const auto& m : mf.messages) msgs.push_back({{"role", m.role}, {"content", m.content}});
    body["messages"] = msgs;
  }
  std::string stream_error;
  auto r = api::http_post_stream(base + "/api/create", body.dump(), [&](std::string_view line) {
    auto j = api::Json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return true;
    if (j.contains("error")) {
      stream_error = str(j, "error");
      return false;
    }
    if (const std::string s = str(j, "status"); !s.empty()) std::printf("%s\n", s.c_str());
    return true;
  });
  if (!r) return fail(r.error().message);
  if (r->status == 404 && !body.contains("files"))
    return fail(fmt::format("FROM \"{}\" is neither a file nor a model; try \"corral pull {}\"", from, from));
  if (r->status >= 400) return fail(error_message(*r));
  if (!stream_error.empty()) return fail(stream_error);
  return kExitOk;
}

}  // namespace corral::cli
