// Probe outputs: a terminal summary of tables, a JSON document for pipelines, and a
// self-contained HTML page (inline CSS and SVG plots, no network) written next to report.json.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "probe/runner.h"

namespace corral::probe {

std::string terminal_report(const ProbeResult& r);
nlohmann::json json_report(const ProbeResult& r);
std::string html_report(const ProbeResult& r);

// Writes DIR/report.html and DIR/report.json (creating DIR), atomically each.
Status write_report_dir(const ProbeResult& r, const std::string& dir);

std::string html_escape(std::string_view s);

}  // namespace corral::probe
