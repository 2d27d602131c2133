// An in-process OCI registry on 127.0.0.1 (cpp-httplib) with fault injection for the registry
// client tests: token challenges, redirects to a separate blob host, 500s, cut connections,
// stalls and wrong bytes. Push endpoints follow the distribution upload flow.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include "base/sha256.h"

namespace corral::test {

class FakeRegistry {
 public:
  // Faults (set before a pull; counters are consumed by blob GETs on the registry or blob host).
  bool require_token = false;
  bool redirect_blobs = false;
  bool refuse_tokens = false;  // the token service answers 401
  std::atomic<int> blob_500s{0};         // next N blob GETs answer 500
  std::atomic<int> manifest_500s{0};     // next N manifest GETs answer 500
  std::atomic<int> cuts{0};              // next N blob GETs send half their bytes, then close
  std::atomic<int> stalls{0};            // next N blob GETs send some bytes, then stall
  int stall_ms = 2500;
  std::string fault_digest;  // when set, 500s/cuts/stalls apply only to this blob
  std::map<std::string, std::string> corrupt;  // digest -> bytes served instead

  // Observations.
  std::atomic<int> blob_gets{0};
  std::atomic<int> token_requests{0};
  std::atomic<int> uploads_started{0};
  std::atomic<int> patches{0};
  std::atomic<bool> auth_sent_to_blob_host{false};
  std::vector<std::string> ranges;  // Range headers seen on blob GETs

  std::map<std::string, std::string> blobs;      // digest -> bytes
  std::map<std::string, std::string> manifests;  // "ns/model:tag" -> bytes

  FakeRegistry() {
    setup_registry();
    setup_blob_host();
    port_ = srv_.bind_to_any_port("127.0.0.1");
    blob_port_ = cdn_.bind_to_any_port("127.0.0.1");
    t1_ = std::thread([this] { srv_.listen_after_bind(); });
    t2_ = std::thread([this] { cdn_.listen_after_bind(); });
    while (!srv_.is_running() || !cdn_.is_running()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  ~FakeRegistry() {
    srv_.stop();
    cdn_.stop();
    t1_.join();
    t2_.join();
  }

  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }

  std::string add_blob(const std::string& bytes) {
    const std::string d = "sha256:" + sha256_hex(bytes);
    std::lock_guard<std::mutex> lk(mu_);
    blobs[d] = bytes;
    return d;
  }

 private:
  bool authorized(const httplib::Request& req, httplib::Response& res) {
    if (!require_token) return true;
    if (req.get_header_value("Authorization") == "Bearer tok-123") return true;
    res.status = 401;
    res.set_header("WWW-Authenticate",
                   "Bearer realm=\"http://" + host() + "/token\",service=\"fake\",scope=\"repository:x:pull\"");
    res.set_content(R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})",
                    "application/json");
    return false;
  }

  void serve_blob(const std::string& digest, const httplib::Request& req, httplib::Response& res) {
    ++blob_gets;
    std::string bytes;
    {
      std::lock_guard<std::mutex> lk(mu_);
      ranges.push_back(req.get_header_value("Range"));
      auto it = blobs.find(digest);
      if (it == blobs.end()) {
        res.status = 404;
        res.set_content(R"({"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]})", "application/json");
        return;
      }
      bytes = corrupt.count(digest) ? corrupt[digest] : it->second;
    }
    const bool faulty = fault_digest.empty() || fault_digest == digest;
    if (faulty && blob_500s > 0) {
      --blob_500s;
      res.status = 500;  // no body: httplib would apply the Range to it and answer 416
      return;
    }
    const bool cut = faulty && cuts > 0 ? (--cuts, true) : false;
    const bool stall = faulty && !cut && stalls > 0 ? (--stalls, true) : false;
    auto shared = std::make_shared<std::string>(std::move(bytes));
    const int stall_for = stall_ms;
    res.set_content_provider(
        shared->size(), "application/octet-stream",
        [shared, cut, stall, stall_for](size_t offset, size_t length, httplib::DataSink& sink) {
          if (cut || stall) {
            const size_t half = length / 2;
            sink.write(shared->data() + offset, half);
            if (stall) std::this_thread::sleep_for(std::chrono::milliseconds(stall_for));
            return false;  // closes the connection mid-body
          }
          sink.write(shared->data() + offset, length);
          return true;
        });
  }

  void setup_registry() {
    srv_.Get("/token", [this](const httplib::Request& req, httplib::Response& res) {
      ++token_requests;
      if (refuse_tokens) {
        res.status = 401;
        res.set_content(R"({"errors":[{"code":"DENIED","message":"no anonymous access"}]})", "application/json");
        return;
      }
      if (req.get_param_value("service") != "fake") {
        res.status = 400;
        return;
      }
      res.set_content(R"({"token":"tok-123","expires_in":300})", "application/json");
    });
    srv_.Get(R"(/v2/(.+)/manifests/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
      if (!authorized(req, res)) return;
      if (manifest_500s > 0) {
        --manifest_500s;
        res.status = 500;
        res.set_content(R"({"errors":[{"code":"INTERNAL","message":"injected failure"}]})", "application/json");
        return;
      }
      if (req.get_header_value("Accept").find("application/vnd.docker.distribution.manifest.v2+json") ==
          std::string::npos) {
        res.status = 406;
        return;
      }
      std::lock_guard<std::mutex> lk(mu_);
      auto it = manifests.find(req.matches[1].str() + ":" + req.matches[2].str());
      if (it == manifests.end()) {
        res.status = 404;
        res.set_content(R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})", "application/json");
        return;
      }
      res.set_content(it->second, "application/vnd.docker.distribution.manifest.v2+json");
    });
    srv_.Get(R"(/v2/(.+)/blobs/(sha256:[0-9a-f]{64}))", [this](const httplib::Request& req, httplib::Response& res) {
      if (!authorized(req, res)) return;
      const std::string digest = req.matches[2].str();
      if (req.method == "HEAD") {
        std::lock_guard<std::mutex> lk(mu_);
        auto it = blobs.find(digest);
        res.status = it == blobs.end() ? 404 : 200;
        if (it != blobs.end()) res.set_header("Content-Length", std::to_string(it->second.size()));
        return;
      }
      if (redirect_blobs) {
        res.status = 307;
        res.set_header("Location", "http://127.0.0.1:" + std::to_string(blob_port_) + "/cdn/" + digest);
        return;
      }
      serve_blob(digest, req, res);
    });
    srv_.Post(R"(/v2/(.+)/blobs/uploads/)", [this](const httplib::Request& req, httplib::Response& res) {
      if (!authorized(req, res)) return;
      const std::string id = std::to_string(++uploads_started);
      {
        std::lock_guard<std::mutex> lk(mu_);
        uploads_[id].clear();
      }
      res.status = 202;
      res.set_header("Location", "/v2/" + req.matches[1].str() + "/blobs/uploads/" + id + "?state=s" + id);
    });
    srv_.Patch(R"(/v2/(.+)/blobs/uploads/(\d+))", [this](const httplib::Request& req, httplib::Response& res) {
      if (!authorized(req, res)) return;
      ++patches;
      std::lock_guard<std::mutex> lk(mu_);
      std::string& buf = uploads_[req.matches[2].str()];
      const std::string range = req.get_header_value("Content-Range");
      if (range.rfind(std::to_string(buf.size()) + "-", 0) != 0) {
        res.status = 416;
        return;
      }
      buf += req.body;
      res.status = 202;
      res.set_header("Location", "/v2/" + req.matches[1].str() + "/blobs/uploads/" + req.matches[2].str());
    });
    srv_.Put(R"(/v2/(.+)/blobs/uploads/(\d+))", [this](const httplib::Request& req, httplib::Response& res) {
      if (!authorized(req, res)) return;
      std::lock_guard<std::mutex> lk(mu_);
      std::string data = uploads_[req.matches[2].str()] + req.body;
      const std::string digest = req.get_param_value("digest");
      if ("sha256:" + sha256_hex(data) != digest) {
        res.status = 400;
        res.set_content(R"({"errors":[{"code":"DIGEST_INVALID","message":"digest mismatch"}]})", "application/json");
        return;
      }
      blobs[digest] = data;
      res.status = 201;
    });
    srv_.Put(R"(/v2/(.+)/manifests/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
      if (!authorized(req, res)) return;
      std::lock_guard<std::mutex> lk(mu_);
      manifests[req.matches[1].str() + ":" + req.matches[2].str()] = req.body;
      res.status = 201;
    });
  }

  void setup_blob_host() {
    cdn_.Get(R"(/cdn/(sha256:[0-9a-f]{64}))", [this](const httplib::Request& req, httplib::Response& res) {
      if (req.has_header("Authorization")) auth_sent_to_blob_host = true;
      serve_blob(req.matches[1].str(), req, res);
    });
  }

  httplib::Server srv_, cdn_;
  int port_ = 0, blob_port_ = 0;
  std::thread t1_, t2_;
  std::mutex mu_;
  std::map<std::string, std::string> uploads_;
};

}  // namespace corral::test
