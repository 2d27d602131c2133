// Store commands through the server's API (list, show, cp, rm, create): used when a server
// answers, so the CLI and every other client see one store through one code path.
#pragma once

#include <string>
#include <vector>

#include "store/modelfile.h"

namespace corral::cli {

// `model "x" not found, try "corral pull x"`.
std::string not_found_message(const std::string& model);

int remote_list(const std::string& base);
// which: "" (summary), "modelfile", "template", "parameters", "license", "system".
int remote_show(const std::string& base, const std::string& model, const std::string& which);
int remote_copy(const std::string& base, const std::string& src, const std::string& dst);
int remote_remove(const std::string& base, const std::vector<std::string>& models);
// Uploads a FROM file as a blob (HEAD/POST /api/blobs) and sends the Modelfile as /api/create JSON.
int remote_create(const std::string& base, const std::string& model, const Modelfile& mf,
                  const std::string& base_dir);

// One block of `corral show`'s summary: the title, then each line of `body` indented.
void print_section(const char* title, const std::string& body);

// "2 minutes ago", like Ollama's format.HumanTime.
std::string time_ago(int64_t then_unix_s);

}  // namespace corral::cli
