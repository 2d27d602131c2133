// Model management routes over the store: /api/tags, /api/show, /api/ps, /api/copy,
// /api/delete, /api/pull, /api/push, /api/create and /api/blobs/:digest.
#include <httplib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "base/log.h"
#include "base/sha256.h"
#include "gguf/gguf_file.h"
#include "server/capabilities.h"
#include "server/generation.h"
#include "server/server.h"
#include "store/registry/registry_client.h"

namespace corral::server {

namespace {

using api::OJson;

std::string hex_of(const std::string& digest) {
  return digest.rfind("sha256:", 0) == 0 ? digest.substr(7) : digest;
}

// details{} from the config blob Ollama writes, falling back to the GGUF metadata.
OJson details_for(Store* store, const Manifest& m, const std::string& gguf_path) {
  OJson d;
  d["parent_model"] = "";
  d["format"] = "gguf";
  std::string family, ptype, quant;
  if (store != nullptr && !m.config.digest.empty()) {
    if (auto text = store->read_blob_text(m.config.digest, 1 << 20)) {
      auto cj = api::Json::parse(*text, nullptr, false);
      if (cj.is_object()) {
        family = cj.value("model_family", "");
        ptype = cj.value("model_type", "");
        quant = cj.value("file_type", "");
      }
    }
  }
  if (family.empty() && !gguf_path.empty()) {
    if (auto f = GgufFile::open(gguf_path)) {
      family = (*f)->get_string("general.architecture").value_or("");
      if (auto sz = (*f)->get_string("general.size_label")) ptype = *sz;
    }
  }
  d["family"] = family;
  d["families"] = family.empty() ? OJson(nullptr) : OJson::array({family});
  d["parameter_size"] = ptype;
  d["quantization_level"] = quant;
  return d;
}

Result<ModelName> name_field(const api::Json& j, const char* key) {
  std::string s;
  if (auto st = api::get_string(j, key, &s); !st.ok()) return st.error();
  if (s.empty()) return make_error("{} is required", key);
  return ModelName::parse(s);
}

// Streams progress lines produced by `work` (run on its own thread) as NDJSON, or answers with
// the final status only when `stream` is false.
using ProgressSink = std::function<void(const OJson&)>;
void run_progress(httplib::Response& res, bool stream, std::function<Status(const ProgressSink&)> work) {
  struct Chan {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::string> lines;
    bool done = false;
  };
  if (!stream) {
    auto st = work([](const OJson&) {});
    if (!st.ok()) return send_error(res, {500, st.error().message});
    return send_json(res, OJson{{"status", "success"}});
  }
  auto ch = std::make_shared<Chan>();
  std::thread([ch, work = std::move(work)] {
    auto push = [ch](const std::string& line) {
      std::lock_guard<std::mutex> lock(ch->mu);
      ch->lines.push_back(line);
      ch->cv.notify_all();
    };
    auto st = work([&](const OJson& j) { push(json_line(j)); });
    push(st.ok() ? json_line(OJson{{"status", "success"}}) : json_line(OJson{{"error", st.error().message}}));
    std::lock_guard<std::mutex> lock(ch->mu);
    ch->done = true;
    ch->cv.notify_all();
  }).detach();
  res.set_chunked_content_provider("application/x-ndjson", [ch](size_t, httplib::DataSink& sink) {
    std::unique_lock<std::mutex> lock(ch->mu);
    ch->cv.wait(lock, [&] { return !ch->lines.empty() || ch->done; });
    while (!ch->lines.empty()) {
      std::string l = std::move(ch->lines.front());
      ch->lines.pop_front();
      if (!sink.write(l.data(), l.size())) return false;
    }
    if (ch->done) sink.done();
    return true;
  });
}

std::string parameters_text(const api::Json& params) {
  std::string out;
  if (!params.is_object()) return out;
  for (const auto& [k, v] : params.items()) {
    if (v.is_array()) {
      for (const auto& x : v) out += fmt::format("{:<30} {}\n", k, x.is_string() ? x.get<std::string>() : x.dump());
    } else {
      out += fmt::format("{:<30} {}\n", k, v.is_string() ? v.get<std::string>() : v.dump());
    }
  }
  return out;
}

}  // namespace

void register_model_routes(httplib::Server& svr, ServerState& st) {
  svr.Get("/api/tags", [&st](const httplib::Request&, httplib::Response& res) {
    OJson models = OJson::array();
    if (Store* store = st.host.store()) {
      auto list = store->list();
      if (!list) return send_error(res, {500, list.error().message});
      for (const auto& e : *list) {
        const Layer* ml = e.manifest.find_layer(kMediaModel);
        OJson j;
        j["name"] = e.name.display_shortest();
        j["model"] = e.name.display_shortest();
        j["modified_at"] = api::rfc3339_nano(e.modified_unix_s * 1000000000);
        j["size"] = e.size_bytes;
        j["digest"] = hex_of(e.manifest_digest);
        j["details"] = details_for(store, e.manifest, ml ? store->blob_path(ml->digest) : "");
        models.push_back(std::move(j));
      }
    }
    send_json(res, OJson{{"models", models}});
  });

  svr.Post("/api/show", [&st](const httplib::Request& req, httplib::Response& res) {
    auto body = api::parse_json_body(req.body);
    if (!body) return send_error(res, {400, body.error().message});
    std::string model;
    if (auto s = api::get_string(*body, "model", &model); !s.ok()) return send_error(res, {400, s.error().message});
    if (model.empty()) (void)api::get_string(*body, "name", &model);  // legacy field
    bool verbose = false;
    if (auto s = api::get_bool(*body, "verbose", &verbose); !s.ok()) return send_error(res, {400, s.error().message});
    auto ref = st.host.resolve(model);
    if (!ref.ok()) return send_error(res, ref.error);
    OJson j;
    std::string params_json = "{}", messages_json = "[]";
    Manifest manifest;
    if (Store* store = st.host.store(); store != nullptr && !ref->digest.empty()) {
      if (auto name = ModelName::parse(ref->name)) {
        if (auto rm = store->resolve_model(*name)) {
          params_json = rm->params_json;
          messages_json = rm->messages_json;
          manifest = rm->manifest;
        }
      }
    }
    auto params = api::Json::parse(params_json, nullptr, false);
    std::string license;
    for (const auto& l : ref->licenses) license += (license.empty() ? "" : "\n") + l;
    if (!license.empty()) j["license"] = license;
    std::string modelfile = fmt::format("# Modelfile generated by \"corral show\"\nFROM {}\n", ref->path);
    if (ref->has_template) modelfile += fmt::format("TEMPLATE \"\"\"{}\"\"\"\n", ref->template_text);
    if (!ref->system.empty()) modelfile += fmt::format("SYSTEM \"\"\"{}\"\"\"\n", ref->system);
    const std::string ptext = parameters_text(params);
    for (const auto& [k, v] : params.is_object() ? params.items() : api::Json::object().items()) {
      // Fallbacks live among the params but have their own Modelfile instruction.
      const std::string instruction = k == "fallback" ? "FALLBACK" : "PARAMETER " + k;
      if (v.is_array())
        for (const auto& x : v) modelfile += fmt::format("{} {}\n", instruction, x.is_string() ? x.get<std::string>() : x.dump());
      else
        modelfile += fmt::format("{} {}\n", instruction, v.is_string() ? v.get<std::string>() : v.dump());
    }
    j["modelfile"] = modelfile;
    if (!ptext.empty()) j["parameters"] = ptext;
    // The template chat requests use: the Modelfile's, else the GGUF's own (Jinja) template.
    auto f = GgufFile::open(ref->path);
    if (!f) return send_error(res, {500, f.error().message});
    const std::string chat_template =
        ref->has_template ? ref->template_text : (*f)->get_string("tokenizer.chat_template").value_or("");
    j["template"] = chat_template;
    if (!ref->system.empty()) j["system"] = ref->system;
    j["details"] = details_for(st.host.store(), manifest, ref->path);
    // The model's MESSAGE history (a saved `corral run` session), as Ollama's show returns it.
    if (auto msgs = OJson::parse(messages_json, nullptr, false); msgs.is_array() && !msgs.empty()) j["messages"] = msgs;
    OJson info = OJson::object();
    for (const auto& key : (*f)->key_order()) {
      const GgufValue* v = (*f)->find(key);
      if (v == nullptr) continue;
      if (v->is_string()) {
        info[key] = std::get<std::string>(v->data);
      } else if (v->is_float()) {
        info[key] = std::get<double>(v->data);
      } else if (v->is_array()) {
        const auto& a = std::get<GgufArray>(v->data);
        if (!verbose) {
          info[key] = nullptr;  // large arrays only with verbose, as Ollama does
        } else if (!a.strings.empty()) {
          info[key] = a.strings;
        } else if (!a.floats.empty()) {
          info[key] = a.floats;
        } else {
          info[key] = a.ints;
        }
      } else if (v->type == GgufValueType::kBool) {
        info[key] = std::get<int64_t>(v->data) != 0;
      } else {
        info[key] = std::get<int64_t>(v->data);
      }
    }
    j["model_info"] = info;
    j["capabilities"] = model_capabilities(**f, chat_template);
    j["modified_at"] = api::rfc3339_nano(ref->modified_unix_s * 1000000000);
    send_json(res, j);
  });

  svr.Get("/api/ps", [&st](const httplib::Request&, httplib::Response& res) {
    OJson models = OJson::array();
    const auto now_sys = api::unix_now_ns();
    const auto now = st.host.scheduler().now();
    for (const auto& m : st.host.scheduler().loaded()) {
      if (m.loading) continue;
      OJson j;
      j["name"] = m.name;
      j["model"] = m.name;
      j["size"] = m.size_bytes;
      std::string digest;
      if (auto ref = st.host.resolve(m.name); ref.ok()) digest = hex_of(ref->digest);
      j["digest"] = digest;
      j["details"] = OJson{{"parent_model", ""}, {"format", "gguf"}};
      int64_t expires = now_sys;
      if (m.forever || m.n_active > 0) {
        const auto ka = m.forever ? std::chrono::hours(24 * 365 * 100) : m.keep_alive;
        expires = now_sys + std::min<int64_t>(ka.count(), int64_t{3} << 60);
      } else {
        expires = now_sys + std::chrono::duration_cast<std::chrono::nanoseconds>(m.expires_at - now).count();
      }
      j["expires_at"] = api::rfc3339_nano(expires);
      j["size_vram"] = 0;
      j["context_length"] = m.n_ctx;
      models.push_back(std::move(j));
    }
    send_json(res, OJson{{"models", models}});
  });

  svr.Post("/api/copy", [&st](const httplib::Request& req, httplib::Response& res) {
    auto body = api::parse_json_body(req.body);
    if (!body) return send_error(res, {400, body.error().message});
    auto src = name_field(*body, "source");
    if (!src) return send_error(res, {400, src.error().message});
    auto dst = name_field(*body, "destination");
    if (!dst) return send_error(res, {400, dst.error().message});
    Store* store = st.host.store();
    if (store == nullptr || !store->find_manifest_path(*src).ok())
      return send_error(res, {404, fmt::format("model \"{}\" not found", src->display_shortest())});
    if (auto s = store->copy(*src, *dst); !s.ok()) return send_error(res, {500, s.error().message});
    res.status = 200;
  });

  svr.Delete("/api/delete", [&st](const httplib::Request& req, httplib::Response& res) {
    auto body = api::parse_json_body(req.body);
    if (!body) return send_error(res, {400, body.error().message});
    std::string model;
    (void)api::get_string(*body, "name", &model);  // legacy field
    if (auto s = api::get_string(*body, "model", &model); !s.ok()) return send_error(res, {400, s.error().message});
    auto name = ModelName::parse(model);
    if (!name) return send_error(res, {400, name.error().message});
    Store* store = st.host.store();
    if (store == nullptr || !store->find_manifest_path(*name).ok())
      return send_error(res, {404, fmt::format("model \"{}\" not found", model)});
    st.host.scheduler().unload(name->display_shortest());
    if (auto s = store->remove(*name); !s.ok()) return send_error(res, {500, s.error().message});
    res.status = 200;
  });

  auto transfer = [&st](const httplib::Request& req, httplib::Response& res, bool pull) {
    auto body = api::parse_json_body(req.body);
    if (!body) return send_error(res, {400, body.error().message});
    auto name = name_field(*body, "model");
    if (!name) {
      std::string legacy;
      (void)api::get_string(*body, "name", &legacy);
      if (!legacy.empty()) name = ModelName::parse(legacy);
    }
    if (!name) return send_error(res, {400, name.error().message});
    bool stream = true, insecure = false;
    if (auto s = api::get_bool(*body, "stream", &stream); !s.ok()) return send_error(res, {400, s.error().message});
    (void)api::get_bool(*body, "insecure", &insecure);
    Store* store = st.host.store();
    if (store == nullptr) return send_error(res, {500, "no model store configured"});
    ModelName n = *name;
    run_progress(res, stream, [store, n, pull, insecure](const ProgressSink& sink) -> Status {
      registry::Options o;
      o.insecure = insecure || n.scheme == "http";
      registry::Client client(*store, o);
      auto on_progress = [&](const registry::Progress& p) {
        OJson j;
        j["status"] = p.status;
        if (!p.digest.empty()) {
          j["digest"] = p.digest;
          j["total"] = p.total;
          if (p.completed > 0) j["completed"] = p.completed;
        }
        sink(j);
      };
      return pull ? client.pull(n, on_progress) : client.push(n, on_progress);
    });
  };
  svr.Post("/api/pull", [transfer](const httplib::Request& req, httplib::Response& res) { transfer(req, res, true); });
  svr.Post("/api/push", [transfer](const httplib::Request& req, httplib::Response& res) { transfer(req, res, false); });

  svr.Post("/api/create", [&st](const httplib::Request& req, httplib::Response& res) {
    auto body = api::parse_json_body(req.body);
    if (!body) return send_error(res, {400, body.error().message});
    auto name = name_field(*body, "model");
    if (!name) return send_error(res, {400, name.error().message});
    bool stream = true;
    if (auto s = api::get_bool(*body, "stream", &stream); !s.ok()) return send_error(res, {400, s.error().message});
    Store* store = st.host.store();
    if (store == nullptr) return send_error(res, {500, "no model store configured"});
    Manifest m;
    std::vector<std::string> statuses;
    std::string from;
    if (auto s = api::get_string(*body, "from", &from); !s.ok()) return send_error(res, {400, s.error().message});
    if (!from.empty()) {
      auto fn = ModelName::parse(from);
      if (!fn) return send_error(res, {400, fn.error().message});
      auto src = store->resolve(*fn);
      if (!src) return send_error(res, {404, fmt::format("model \"{}\" not found", from)});
      m = *src;
    }
    auto set_layer = [&](std::string_view media, const std::string& digest, int64_t size) {
      std::erase_if(m.layers, [&](const Layer& l) { return l.media_type == media; });
      Layer l;
      l.media_type = std::string(media);
      l.digest = digest;
      l.size = size;
      m.layers.push_back(l);
    };
    if (const auto it = body->find("files"); it != body->end() && !it->is_null()) {
      if (!it->is_object()) return send_error(res, {400, "files must be an object of file name to digest"});
      for (const auto& [file, dv] : it->items()) {
        if (!dv.is_string()) return send_error(res, {400, "files must map names to digests"});
        auto d = normalize_digest(dv.get<std::string>());
        if (!d) return send_error(res, {400, d.error().message});
        if (!store->has_blob(*d)) return send_error(res, {400, fmt::format("blob {} not found; upload it first", *d)});
        std::error_code ec;
        const auto size = static_cast<int64_t>(std::filesystem::file_size(store->blob_path(*d), ec));
        statuses.push_back("using existing layer " + *d);
        set_layer(kMediaModel, *d, size);
      }
    }
    auto text_layer = [&](const char* key, std::string_view media) -> Status {
      const auto it = body->find(key);
      if (it == body->end() || it->is_null()) return {};
      std::string text;
      if (it->is_string()) text = it->get<std::string>();
      else if (it->is_object() || it->is_array()) text = it->dump();
      else return make_error("{} has the wrong type", key);
      auto d = store->import_blob_bytes(text);
      if (!d) return d.error();
      statuses.push_back("creating new layer " + *d);
      set_layer(media, *d, static_cast<int64_t>(text.size()));
      return {};
    };
    for (auto [key, media] : {std::pair{"template", kMediaTemplate}, {"system", kMediaSystem},
                             {"license", kMediaLicense}, {"messages", kMediaMessages}}) {
      if (auto s = text_layer(key, media); !s.ok()) return send_error(res, {400, s.error().message});
    }
    if (const auto it = body->find("parameters"); it != body->end() && !it->is_null()) {
      auto opts = api::parse_options(*it);
      if (!opts) return send_error(res, {400, opts.error().message});
      if (auto s = text_layer("parameters", kMediaParams); !s.ok()) return send_error(res, {400, s.error().message});
    }
    if (m.find_layer(kMediaModel) == nullptr) return send_error(res, {400, "neither 'from' nor 'files' was specified"});
    const std::string config = R"({"model_format":"gguf","model_family":"","model_type":"","file_type":""})";
    auto cd = store->import_blob_bytes(config);
    if (!cd) return send_error(res, {500, cd.error().message});
    m.config.media_type = std::string(kConfigMediaType);
    m.config.digest = *cd;
    m.config.size = static_cast<int64_t>(config.size());
    if (auto s = store->write_manifest(*name, m); !s.ok()) return send_error(res, {500, s.error().message});
    statuses.push_back("writing manifest");
    run_progress(res, stream, [statuses](const ProgressSink& sink) -> Status {
      for (const auto& s : statuses) sink(OJson{{"status", s}});
      return {};
    });
  });

  svr.Get(R"(/api/blobs/(sha256[:-][0-9a-fA-F]+))", [&st](const httplib::Request& req, httplib::Response& res) {
    auto d = normalize_digest(req.matches[1].str());
    if (!d) return send_error(res, {400, d.error().message});
    Store* store = st.host.store();
    res.status = store != nullptr && store->has_blob(*d) ? 200 : 404;
  });
  svr.Post(R"(/api/blobs/(sha256[:-][0-9a-fA-F]+))",
           [&st](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
             auto d = normalize_digest(req.matches[1].str());
             if (!d) return send_error(res, {400, d.error().message});
             Store* store = st.host.store();
             if (store == nullptr) return send_error(res, {500, "no model store configured"});
             if (store->has_blob(*d)) {
               reader([](const char*, size_t) { return true; });
               res.status = 200;
               return;
             }
             const std::string tmp = fmt::format("{}/upload-{}-{}.tmp", store->blobs_dir(), hex_of(*d).substr(0, 12),
                                                 std::hash<std::thread::id>{}(std::this_thread::get_id()));
             std::ofstream out(tmp, std::ios::binary);
             Sha256 h;
             bool ok = out.good();
             reader([&](const char* data, size_t n) {
               h.update(data, n);
               out.write(data, static_cast<std::streamsize>(n));
               return ok = ok && out.good();
             });
             out.close();
             const std::string got = "sha256:" + h.hex_digest();
             if (!ok) {
               std::remove(tmp.c_str());
               return send_error(res, {500, "cannot write blob"});
             }
             if (got != *d) {
               std::remove(tmp.c_str());
               return send_error(res, {400, fmt::format("digest mismatch, expected \"{}\", got \"{}\"", *d, got)});
             }
             auto imported = store->import_blob_file(tmp, true);
             std::remove(tmp.c_str());
             if (!imported) return send_error(res, {500, imported.error().message});
             res.status = 201;
           });
}

}  // namespace corral::server
