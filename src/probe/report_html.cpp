// The self-contained HTML report: inline CSS, inline SVG plots (latency histogram, latency
// timeline, TTFT vs prompt length, variation matrix, validity bars) and the answers as tables.
#include <algorithm>
#include <cmath>

#include "probe/report.h"

namespace corral::probe {

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

constexpr int kW = 520, kH = 260, kL = 56, kR = 16, kT = 28, kB = 40;  // plot box and margins (px)

std::string fmtn(double v) { return std::isnan(v) ? "-" : fmt::format("{:.1f}", v); }

// A plot frame with axes, title and axis labels; `body` receives the drawing.
std::string frame(const std::string& id, const std::string& title, const std::string& xlabel,
                  const std::string& ylabel, const std::string& body, double x0, double x1, double y0, double y1) {
  std::string s = fmt::format(
      "<svg id=\"{}\" class=\"plot\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\">"
      "<text x=\"{}\" y=\"18\" class=\"title\">{}</text>"
      "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" class=\"axis\"/><line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" class=\"axis\"/>"
      "<text x=\"{}\" y=\"{}\" class=\"lbl\" text-anchor=\"middle\">{}</text>"
      "<text x=\"14\" y=\"{}\" class=\"lbl\" text-anchor=\"middle\" transform=\"rotate(-90 14 {})\">{}</text>",
      id, kW, kH, kW, kH, kL, html_escape(title), kL, kH - kB, kW - kR, kH - kB, kL, kT, kL, kH - kB,
      (kL + kW - kR) / 2, kH - 6, html_escape(xlabel), (kT + kH - kB) / 2, (kT + kH - kB) / 2, html_escape(ylabel));
  if (!std::isnan(x0)) {
    s += fmt::format("<text x=\"{}\" y=\"{}\" class=\"tick\" text-anchor=\"middle\">{}</text>", kL, kH - kB + 14, fmtn(x0));
    s += fmt::format("<text x=\"{}\" y=\"{}\" class=\"tick\" text-anchor=\"end\">{}</text>", kW - kR, kH - kB + 14, fmtn(x1));
  }
  if (!std::isnan(y0)) {
    s += fmt::format("<text x=\"{}\" y=\"{}\" class=\"tick\" text-anchor=\"end\">{}</text>", kL - 4, kH - kB, fmtn(y0));
    s += fmt::format("<text x=\"{}\" y=\"{}\" class=\"tick\" text-anchor=\"end\">{}</text>", kL - 4, kT + 8, fmtn(y1));
  }
  return s + body + "</svg>";
}

double sx(double v, double lo, double hi) { return kL + (hi > lo ? (v - lo) / (hi - lo) : 0.5) * (kW - kL - kR); }
double sy(double v, double lo, double hi) { return (kH - kB) - (hi > lo ? (v - lo) / (hi - lo) : 0.5) * (kH - kB - kT); }

std::vector<const Call*> latency_calls(const ProbeResult& r) {
  std::vector<const Call*> v;
  for (const auto& c : r.latency.sequential) v.push_back(&c);
  for (const auto& c : r.latency.concurrent) v.push_back(&c);
  return v;
}

std::string histogram(const ProbeResult& r) {
  std::vector<double> t;
  for (const Call* c : latency_calls(r)) if (c->ok) t.push_back(c->total_ms);
  if (t.empty()) return "<p>No successful latency calls.</p>";
  const double lo = *std::min_element(t.begin(), t.end()), hi0 = *std::max_element(t.begin(), t.end());
  const double hi = hi0 > lo ? hi0 : lo + 1;
  const size_t nb = std::clamp<size_t>(t.size(), 4, 12);
  std::vector<int> bins(nb, 0);
  for (double x : t) bins[std::min(nb - 1, static_cast<size_t>((x - lo) / (hi - lo) * static_cast<double>(nb)))]++;
  const int top = *std::max_element(bins.begin(), bins.end());
  std::string body;
  const double bw = (kW - kL - kR) / static_cast<double>(nb);
  for (size_t i = 0; i < nb; ++i) {
    const double h = (kH - kB - kT) * bins[i] / static_cast<double>(top);
    body += fmt::format("<rect class=\"bar\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\"><title>{} calls</title></rect>",
                        kL + bw * static_cast<double>(i) + 1, (kH - kB) - h, bw - 2, h, bins[i]);
  }
  return frame("plot-histogram", "Latency histogram (total time)", "total ms", "calls", body, lo, hi, 0, top);
}

std::string timeline(const ProbeResult& r) {
  auto calls = latency_calls(r);
  if (calls.empty()) return "";
  double end = 1;
  for (const Call* c : calls) end = std::max(end, c->start_ms + c->total_ms);
  const double row_h = (kH - kB - kT) / static_cast<double>(calls.size());
  std::string body;
  for (size_t i = 0; i < calls.size(); ++i) {
    const Call& c = *calls[i];
    const double y = kT + row_h * static_cast<double>(i);
    const double x0 = sx(c.start_ms, 0, end), x1 = sx(c.start_ms + c.total_ms, 0, end);
    const char* cls = !c.ok ? "err" : (c.concurrent ? "conc" : "seq");
    body += fmt::format("<rect class=\"{}\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\"><title>call {}: {} ms</title></rect>",
                        cls, x0, y + 1, std::max(1.0, x1 - x0), std::max(1.0, row_h - 2), i, fmtn(c.total_ms));
    if (c.ok && !std::isnan(c.ttft_ms)) {
      const double xt = sx(c.start_ms + c.ttft_ms, 0, end);
      body += fmt::format("<line class=\"ttft\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>", xt, y, xt, y + row_h);
    }
  }
  return frame("plot-timeline", "Latency timeline (bar = call, tick = first token)", "ms since start", "call", body,
               0, end, std::nan(""), std::nan(""));
}

std::string ttft_scatter(const ProbeResult& r) {
  std::vector<std::pair<double, double>> pts;
  bool tokens = true;
  for (const Call& c : r.latency.sequential) if (c.ok && std::isnan(c.prompt_tokens)) tokens = false;
  for (const Call& c : r.latency.sequential) {
    if (c.ok) pts.push_back({tokens ? c.prompt_tokens : static_cast<double>(c.prompt.size()), c.ttft_ms});
  }
  if (pts.empty()) return "";
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  for (auto [x, y] : pts) {
    x1 = std::max(x1, x);
    y1 = std::max(y1, y);
  }
  std::string body;
  for (size_t i = 0; i < pts.size(); ++i) {
    body += fmt::format("<circle class=\"pt{}\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"5\"><title>{} -> {} ms</title></circle>",
                        i == 0 ? " cold" : "", sx(pts[i].first, x0, x1), sy(pts[i].second, y0, y1), pts[i].first,
                        fmtn(pts[i].second));
  }
  return frame("plot-ttft", "Time to first token vs prompt length (red = cold)",
               tokens ? "prompt tokens" : "prompt characters", "TTFT ms", body, x0, x1, y0, y1);
}

std::string variation_matrix(const ProbeResult& r) {
  const auto& v = r.variation;
  const size_t n = v.free_runs.size();
  if (n == 0) return "";
  const double cell = std::min(40.0, (kH - kT - kB) / static_cast<double>(n));
  std::string body;
  for (size_t a = 0; a < n; ++a) {
    for (size_t b = 0; b < n; ++b) {
      const double len = static_cast<double>(std::max({v.free_runs[a].text.size(), v.free_runs[b].text.size(), size_t{1}}));
      const double d = static_cast<double>(v.distance[a][b]) / len;  // 0 = identical, 1 = all different
      const int shade = static_cast<int>(255 - 200 * std::clamp(d, 0.0, 1.0));
      body += fmt::format("<rect class=\"cell\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"rgb({},{},255)\">"
                          "<title>runs {} and {}: edit distance {}</title></rect>",
                          kL + cell * static_cast<double>(b), kT + cell * static_cast<double>(a), cell - 1, cell - 1,
                          shade, shade, a, b, v.distance[a][b]);
    }
  }
  return frame("plot-variation", "Variation: pairwise edit distance (darker = more different)", "run", "run",
               body, std::nan(""), std::nan(""), std::nan(""), std::nan(""));
}

std::string validity_bars(const ProbeResult& r) {
  static const char* kNames[] = {"parse_rate", "exact_fields_rate", "prose_rate", "valid_rate"};
  static const char* kLabels[] = {"parses", "exact fields", "prose around", "valid"};
  std::string body;
  const double group = (kW - kL - kR) / 4.0;
  for (int i = 0; i < 4; ++i) {
    for (int k = 0; k < 2; ++k) {
      const std::string key = std::string(k == 0 ? "free_" : "schema_") + kNames[i];
      auto it = r.metrics.find(key);
      const double v = it == r.metrics.end() ? 0.0 : it->second;
      const double h = (kH - kB - kT) * v;
      body += fmt::format("<rect class=\"{}\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\"><title>{}: {:.2f}</title></rect>",
                          k == 0 ? "free" : "schema", kL + group * i + 8 + k * (group / 2 - 8), (kH - kB) - h,
                          group / 2 - 12, h, key, v);
    }
    body += fmt::format("<text class=\"tick\" x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                        kL + group * i + group / 2, kH - kB + 14, kLabels[i]);
  }
  body += fmt::format("<rect class=\"free\" x=\"{}\" y=\"8\" width=\"10\" height=\"10\"/><text class=\"tick\" x=\"{}\" y=\"17\">no constraint</text>"
                      "<rect class=\"schema\" x=\"{}\" y=\"8\" width=\"10\" height=\"10\"/><text class=\"tick\" x=\"{}\" y=\"17\">JSON schema</text>",
                      kW - 200, kW - 186, kW - 100, kW - 86);
  return frame("plot-validity", "Validity", "", "fraction", body, std::nan(""), std::nan(""), 0, 1);
}

std::string calls_table(const std::vector<Call>& calls, const std::vector<std::string>& extra_head,
                        const std::vector<std::vector<std::string>>& extra) {
  std::string s = "<table><tr><th>#</th><th>TTFT ms</th><th>total ms</th><th>tokens</th>";
  for (const auto& h : extra_head) s += "<th>" + html_escape(h) + "</th>";
  s += "<th>output</th></tr>";
  for (size_t i = 0; i < calls.size(); ++i) {
    const Call& c = calls[i];
    s += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td>", i, fmtn(c.ttft_ms), fmtn(c.total_ms), c.tokens);
    for (const auto& e : i < extra.size() ? extra[i] : std::vector<std::string>(extra_head.size(), "")) s += "<td>" + html_escape(e) + "</td>";
    s += c.ok ? "<td><pre>" + html_escape(c.text) + "</pre></td></tr>"
              : "<td class=\"errtext\">" + html_escape(c.error) + "</td></tr>";
  }
  return s + "</table>";
}

const char* kStyle = R"(
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1150px}
h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:28px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 6px;vertical-align:top;text-align:left}
pre{margin:0;white-space:pre-wrap;max-width:560px;font-size:12px}
.plots{display:flex;flex-wrap:wrap;gap:12px}.plot{border:1px solid #eee;background:#fcfcfc}
.title{font-size:13px;font-weight:600}.lbl{font-size:11px;fill:#555}.tick{font-size:10px;fill:#555}
.axis{stroke:#888}.bar{fill:#4a78c2}.seq{fill:#4a78c2}.conc{fill:#e39b2d}.err{fill:#c33}.ttft{stroke:#111;stroke-width:2}
.pt{fill:#4a78c2}.pt.cold{fill:#c33}.free{fill:#bbb}.schema{fill:#2a9d58}
.pass{color:#2a9d58;font-weight:600}.fail{color:#c33;font-weight:600}.partial{background:#fee;border:1px solid #c33;padding:8px}
.errtext{color:#c33}
)";

}  // namespace

std::string html_report(const ProbeResult& r) {
  auto m = [&](const std::string& k, int prec = 1) {
    auto it = r.metrics.find(k);
    return it == r.metrics.end() || std::isnan(it->second) ? std::string("-") : fmt::format("{:.{}f}", it->second, prec);
  };
  std::string s = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>corral probe: " + html_escape(r.config.model) +
                  "</title><style>" + kStyle + "</style></head><body>";
  s += fmt::format("<h1>corral probe: {}</h1><p>{} ({} API) &middot; suite: {} &middot; started {}</p>",
                   html_escape(r.config.model), html_escape(r.config.host),
                   r.config.api == ApiKind::kOllama ? "Ollama" : "OpenAI", html_escape(r.suite_name), html_escape(r.started_at));
  if (r.partial) s += "<p class=\"partial\">Partial run: " + html_escape(r.stop_reason) + "</p>";
  if (!r.thresholds.empty()) {
    s += "<h2>Thresholds</h2><table><tr><th>result</th><th>threshold</th><th>actual</th></tr>";
    for (const auto& t : r.thresholds) {
      s += fmt::format("<tr><td class=\"{}\">{}</td><td>{}</td><td>{}</td></tr>", t.passed ? "pass" : "fail",
                       t.passed ? "PASS" : "FAIL", html_escape(t.threshold.text), t.measured ? fmt::format("{:.3f}", t.actual) : "not measured");
    }
    s += "</table>";
  }
  s += "<h2>Plots</h2><div class=\"plots\">";
  if (r.latency.ran) s += histogram(r) + timeline(r) + ttft_scatter(r);
  if (r.variation.ran) s += variation_matrix(r);
  if (r.structure.ran) s += validity_bars(r);
  s += "</div>";
  if (r.latency.ran) {
    s += "<h2>Latency</h2><table><tr><th></th><th>min</th><th>median</th><th>p90</th><th>p99</th><th>max</th><th>spread</th></tr>";
    for (const char* k : {"total_ms", "ttft_ms"}) {
      const std::string K(k);
      s += fmt::format("<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", K,
                       m("min_" + K), m("median_" + K), m("p90_" + K), m("p99_" + K), m("max_" + K), m("spread_" + K));
    }
    s += fmt::format("</table><p>cold total {} ms, warm median total {} ms; median {} tokens/s; median queue {} ms; "
                     "concurrent median total {} ms, concurrent median queue {} ms.</p>",
                     m("cold_total_ms"), m("warm_median_total_ms"), m("median_tokens_per_s"), m("median_queue_ms"),
                     m("concurrent_median_total_ms"), m("concurrent_median_queue_ms"));
    s += "<table><tr><th>#</th><th>kind</th><th>TTFT</th><th>total</th><th>tok/s</th><th>queue</th><th>server total</th>"
         "<th>server load</th><th>server prompt</th><th>server eval</th><th>status</th></tr>";
    size_t i = 0;
    for (const Call* c : latency_calls(r)) {
      s += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                       i, c->concurrent ? "concurrent" : (i == 0 ? "cold" : "warm"), fmtn(c->ttft_ms), fmtn(c->total_ms),
                       fmtn(c->tokens_per_s), fmtn(c->queue_ms), fmtn(c->srv_total_ms), fmtn(c->srv_load_ms),
                       fmtn(c->srv_prompt_ms), fmtn(c->srv_eval_ms), c->ok ? "ok" : html_escape(c->error));
      ++i;
    }
    s += "</table>";
  }
  if (r.variation.ran) {
    s += fmt::format("<h2>Variation</h2><p>Prompt: <code>{}</code>. {} distinct of {} outputs without a seed, mean "
                     "pairwise edit distance {}; with seed {}: {}.</p>",
                     html_escape(r.variation.prompt), m("distinct_outputs", 0), r.variation.free_runs.size(),
                     m("mean_edit_distance"), r.variation.seed,
                     m("seeded_identical", 0) == "1" ? "all outputs identical" : "outputs DIFFER");
    s += "<h3>Without a seed</h3>" + calls_table(r.variation.free_runs, {}, {});
    s += "<h3>Fixed seed</h3>" + calls_table(r.variation.seeded_runs, {}, {});
  }
  if (r.structure.ran) {
    auto verdict_rows = [](const std::vector<JsonVerdict>& vs) {
      std::vector<std::vector<std::string>> rows;
      for (const auto& v : vs) {
        rows.push_back({v.parses ? "yes" : "no", v.exact_fields ? "yes" : "no", v.prose ? "yes" : "no", v.valid() ? "VALID" : "invalid"});
      }
      return rows;
    };
    s += fmt::format("<h2>Structure</h2><p>Prompt: <code>{}</code></p>", html_escape(r.structure.prompt));
    s += "<table><tr><th></th><th>parses</th><th>exact fields</th><th>prose around</th><th>valid</th></tr>";
    for (const char* pre : {"free_", "schema_"}) {
      const std::string P(pre);
      s += fmt::format("<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                       P == "free_" ? "no constraint" : "JSON schema", m(P + "parse_rate", 2), m(P + "exact_fields_rate", 2),
                       m(P + "prose_rate", 2), m(P + "valid_rate", 2));
    }
    s += "</table>";
    const std::vector<std::string> head = {"parses", "exact fields", "prose", "verdict"};
    s += "<h3>No constraint</h3>" + calls_table(r.structure.free_runs, head, verdict_rows(r.structure.free_verdicts));
    s += "<h3>With JSON schema</h3>" + calls_table(r.structure.constrained_runs, head, verdict_rows(r.structure.constrained_verdicts));
  }
  if (r.vagueness.ran) {
    s += fmt::format("<h2>Vagueness</h2><p>asks for clarification {}, states assumptions {}, invents context {}.</p>",
                     m("asks_clarification_rate", 2), m("states_assumptions_rate", 2), m("invents_context_rate", 2));
    s += "<table><tr><th>prompt</th><th>answer</th><th>verdict</th><th>why</th><th>judged by</th></tr>";
    for (const auto& a : r.vagueness.answers) {
      s += fmt::format("<tr><td>{}</td><td><pre>{}</pre></td><td>{}</td><td>{}</td><td>{}</td></tr>", html_escape(a.call.prompt),
                       html_escape(a.call.text), vagueness_name(a.verdict.verdict), html_escape(a.verdict.reason),
                       html_escape(a.judged_by));
    }
    s += "</table>";
  }
  return s + "</body></html>\n";
}

}  // namespace corral::probe
