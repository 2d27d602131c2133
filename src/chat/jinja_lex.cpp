// Jinja lexer (whitespace control, trim_blocks, lstrip_blocks, raw).
#include "chat/jinja_lex.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "base/utf8.h"

namespace corral::jinja {
namespace {

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

class Lexer {
 public:
  Lexer(std::string src, std::string name, const Options& o)
      : src_(std::move(src)), name_(std::move(name)), o_(o), lines_(src_) {}

  Result<std::vector<Token>> run() {
    std::vector<Token> toks;
    size_t p = 0;
    bool strip_next = false;     // previous tag ended with '-'
    bool trim_newline = false;   // previous tag was a block/comment (trim_blocks)
    while (p <= src_.size()) {
      size_t start = find_tag(p);
      std::string text = src_.substr(p, (start == std::string::npos ? src_.size() : start) - p);
      if (strip_next) {
        size_t k = 0;
        while (k < text.size() && is_ws(text[k])) ++k;
        text = text.substr(k);
      } else if (trim_newline && o_.trim_blocks && !text.empty() && text[0] == '\n') {
        text = text.substr(1);
      }
      strip_next = trim_newline = false;
      if (start == std::string::npos) {
        if (!text.empty()) toks.push_back({Token::K::kText, text, pos_at(p)});
        break;
      }
      const char kind = src_[start + 1];  // '{', '%', '#'
      const char mod = start + 2 < src_.size() ? src_[start + 2] : '\0';
      if (mod == '-') {
        while (!text.empty() && is_ws(text.back())) text.pop_back();
      } else if (mod != '+' && o_.lstrip_blocks && (kind == '%' || kind == '#')) {
        // Blanks between the start of a line and a block or comment tag are removed.
        size_t k = start;
        while (k > p && (src_[k - 1] == ' ' || src_[k - 1] == '\t')) --k;
        if (k == 0 || src_[k - 1] == '\n') {
          const size_t remove = start - k;
          text.resize(text.size() >= remove ? text.size() - remove : 0);
        }
      }
      if (!text.empty()) toks.push_back({Token::K::kText, text, pos_at(p)});
      size_t q = start + 2 + ((mod == '-' || mod == '+') ? 1 : 0);
      const SrcPos tag_pos = pos_at(start);
      if (kind == '#') {
        size_t e = src_.find("#}", q);
        if (e == std::string::npos) return err(tag_pos, "missing end of comment tag");
        strip_next = e > q && src_[e - 1] == '-';
        trim_newline = true;
        p = e + 2;
        continue;
      }
      // raw block
      if (kind == '%') {
        size_t r = q;
        while (r < src_.size() && is_ws(src_[r])) ++r;
        if (src_.compare(r, 3, "raw") == 0 && (r + 3 >= src_.size() || !std::isalnum(static_cast<unsigned char>(src_[r + 3])))) {
          size_t e = r + 3;
          while (e < src_.size() && is_ws(src_[e])) ++e;
          bool strip_after_open = false;
          if (src_.compare(e, 1, "-") == 0) { strip_after_open = true; ++e; }
          if (src_.compare(e, 2, "%}") != 0) return err(tag_pos, "expected end of raw tag");
          e += 2;
          size_t close = e;
          while (true) {
            close = src_.find("{%", close);
            if (close == std::string::npos) return err(tag_pos, "missing endraw");
            size_t c2 = close + 2;
            if (c2 < src_.size() && (src_[c2] == '-' || src_[c2] == '+')) ++c2;
            while (c2 < src_.size() && is_ws(src_[c2])) ++c2;
            if (src_.compare(c2, 6, "endraw") == 0) break;
            close += 2;
          }
          std::string body = src_.substr(e, close - e);
          if (strip_after_open) {
            size_t k = 0;
            while (k < body.size() && is_ws(body[k])) ++k;
            body = body.substr(k);
          } else if (o_.trim_blocks && !body.empty() && body[0] == '\n') {
            body = body.substr(1);
          }
          if (close + 2 < src_.size() && src_[close + 2] == '-')
            while (!body.empty() && is_ws(body.back())) body.pop_back();
          if (!body.empty()) toks.push_back({Token::K::kText, body, pos_at(e)});
          size_t end = src_.find("%}", close);
          if (end == std::string::npos) return err(tag_pos, "missing end of endraw tag");
          strip_next = end > 0 && src_[end - 1] == '-';
          trim_newline = true;
          p = end + 2;
          continue;
        }
      }
      toks.push_back({kind == '%' ? Token::K::kBlockBegin : Token::K::kVarBegin, "", tag_pos});
      const std::string close = kind == '%' ? "%}" : "}}";
      int braces = 0;
      bool closed = false;
      bool keep_newline = false;
      while (q < src_.size()) {
        char c = src_[q];
        if (is_ws(c)) {
          ++q;
          continue;
        }
        if (c == '-' && src_.compare(q + 1, 2, close) == 0 && braces == 0) {
          strip_next = true;
          q += 3;
          closed = true;
          break;
        }
        if (src_.compare(q, 2, close) == 0 && braces == 0) {
          q += 2;
          closed = true;
          break;
        }
        if (c == '+' && kind == '%' && src_.compare(q + 1, 2, "%}") == 0 && braces == 0) {
          q += 3;
          closed = true;
          keep_newline = true;
          break;
        }
        Token t;
        t.pos = pos_at(q);
        if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
          size_t e = q;
          while (e < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[e])) || src_[e] == '_')) ++e;
          t.k = Token::K::kName;
          t.text = src_.substr(q, e - q);
          q = e;
        } else if (std::isdigit(static_cast<unsigned char>(c))) {
          size_t e = q;
          while (e < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[e])) || src_[e] == '_')) ++e;
          bool is_float = false;
          if (e + 1 < src_.size() && src_[e] == '.' && std::isdigit(static_cast<unsigned char>(src_[e + 1]))) {
            is_float = true;
            ++e;
            while (e < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[e])) || src_[e] == '_')) ++e;
          }
          if (e < src_.size() && (src_[e] == 'e' || src_[e] == 'E')) {
            size_t f = e + 1;
            if (f < src_.size() && (src_[f] == '+' || src_[f] == '-')) ++f;
            if (f < src_.size() && std::isdigit(static_cast<unsigned char>(src_[f]))) {
              is_float = true;
              e = f;
              while (e < src_.size() && std::isdigit(static_cast<unsigned char>(src_[e]))) ++e;
            }
          }
          t.k = is_float ? Token::K::kFloat : Token::K::kInt;
          for (size_t k = q; k < e; ++k)
            if (src_[k] != '_') t.text += src_[k];
          q = e;
        } else if (c == '\'' || c == '"') {
          t.k = Token::K::kString;
          size_t e = q + 1;
          bool ok = false;
          while (e < src_.size()) {
            char d = src_[e];
            if (d == c) {
              ok = true;
              break;
            }
            if (d == '\\' && e + 1 < src_.size()) {
              char x = src_[e + 1];
              e += 2;
              switch (x) {
                case 'n': t.text += '\n'; break;
                case 't': t.text += '\t'; break;
                case 'r': t.text += '\r'; break;
                case 'b': t.text += '\b'; break;
                case 'f': t.text += '\f'; break;
                case 'v': t.text += '\v'; break;
                case 'a': t.text += '\a'; break;
                case '0': t.text += '\0'; break;
                case '\\': t.text += '\\'; break;
                case '\'': t.text += '\''; break;
                case '"': t.text += '"'; break;
                case '\n': break;
                case 'x': case 'u': case 'U': {
                  const size_t n = x == 'x' ? 2 : x == 'u' ? 4 : 8;
                  uint32_t cp = 0;
                  if (e + n > src_.size()) return err(t.pos, "truncated escape in string");
                  for (size_t k = 0; k < n; ++k) {
                    char h = src_[e + k];
                    if (!std::isxdigit(static_cast<unsigned char>(h))) return err(t.pos, "bad escape in string");
                    cp = cp * 16 + static_cast<uint32_t>(std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : std::tolower(h) - 'a' + 10);
                  }
                  if (cp > 0x10FFFF) return err(t.pos, "bad escape in string");
                  append_utf8(t.text, cp);
                  e += n;
                  break;
                }
                default: t.text += '\\'; t.text += x; break;  // Python keeps unknown escapes
              }
              continue;
            }
            t.text += d;
            ++e;
          }
          if (!ok) return err(t.pos, "unterminated string");
          q = e + 1;
        } else {
          static const char* ops[] = {"**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<",
                                      ">", "=", "(", ")", "[", "]", "{", "}", ",", ".", ":", "|"};
          bool found = false;
          for (const char* op : ops) {
            const size_t n = std::char_traits<char>::length(op);
            if (src_.compare(q, n, op) == 0) {
              t.k = Token::K::kOp;
              t.text = op;
              q += n;
              found = true;
              break;
            }
          }
          if (!found) return err(t.pos, fmt::format("unexpected character '{}'", std::string(1, c)));
          if (t.text == "{") ++braces;
          if (t.text == "}") --braces;
        }
        toks.push_back(std::move(t));
      }
      if (!closed) return err(tag_pos, kind == '%' ? "unclosed block tag: missing '%}'" : "unclosed expression: missing '}}'");
      toks.push_back({kind == '%' ? Token::K::kBlockEnd : Token::K::kVarEnd, "", pos_at(q - 2)});
      if (kind == '%' && !keep_newline) trim_newline = true;
      p = q;
    }
    toks.push_back({Token::K::kEof, "", pos_at(src_.size())});
    return toks;
  }

 private:
  size_t find_tag(size_t from) const {
    size_t p = from;
    while (true) {
      p = src_.find('{', p);
      if (p == std::string::npos || p + 1 >= src_.size()) return std::string::npos;
      const char c = src_[p + 1];
      if (c == '{' || c == '%' || c == '#') return p;
      ++p;
    }
  }

  SrcPos pos_at(size_t off) const { return lines_.at(off); }

  Error err(SrcPos p, const std::string& msg) const {
    return make_error("{}:{}:{}: {}", name_.empty() ? "<template>" : name_, p.line, p.col, msg);
  }

  std::string src_;
  std::string name_;
  Options o_;
  LineIndex lines_;
};
}  // namespace

Result<std::vector<Token>> lex_template(std::string src, const std::string& name, const Options& options) {
  Lexer lexer(std::move(src), name, options);
  return lexer.run();
}

}  // namespace corral::jinja
