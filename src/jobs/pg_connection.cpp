// SqlConnection over one libpq connection. `?` placeholders become $1..; every value is sent as
// text and PostgreSQL infers its type from the column it meets. A broken connection is reset
// before the next statement.
#include <libpq-fe.h>

#include "jobs/sql.h"

namespace corral::jobs {
namespace {

std::string to_dollar_params(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  int n = 0;
  bool in_string = false;
  for (char c : sql) {
    if (c == '\'') in_string = !in_string;
    if (c == '?' && !in_string) {
      out += '$';
      out += std::to_string(++n);
    } else {
      out += c;
    }
  }
  return out;
}

class PgConnection final : public SqlConnection {
 public:
  explicit PgConnection(PGconn* c) : conn_(c) {}
  ~PgConnection() override { PQfinish(conn_); }
  SqlDialect dialect() const override { return SqlDialect::kPostgres; }

  Result<SqlResult> run(std::string_view sql, const std::vector<SqlValue>& params) override {
    if (PQstatus(conn_) != CONNECTION_OK) PQreset(conn_);
    if (PQstatus(conn_) != CONNECTION_OK) return make_error("postgres: {}", PQerrorMessage(conn_));
    std::vector<std::string> texts(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    for (size_t i = 0; i < params.size(); ++i) {
      if (const auto* n = std::get_if<int64_t>(&params[i])) {
        texts[i] = std::to_string(*n);
        values[i] = texts[i].c_str();
      } else if (const auto* s = std::get_if<std::string>(&params[i])) {
        values[i] = s->c_str();
      }
    }
    const std::string q = params.empty() ? std::string(sql) : to_dollar_params(sql);
    PGresult* res = params.empty() ? PQexec(conn_, q.c_str())
                                   : PQexecParams(conn_, q.c_str(), static_cast<int>(params.size()), nullptr,
                                                  values.data(), nullptr, nullptr, 0);
    const auto st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      std::string msg = PQresultErrorMessage(res);
      PQclear(res);
      while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
      return make_error("postgres: {}", msg);
    }
    SqlResult out;
    const int nr = PQntuples(res), nc = PQnfields(res);
    out.rows.reserve(static_cast<size_t>(nr));
    for (int r = 0; r < nr; ++r) {
      SqlRow row(static_cast<size_t>(nc));
      for (int c = 0; c < nc; ++c)
        if (!PQgetisnull(res, r, c))
          row[static_cast<size_t>(c)] = std::string(PQgetvalue(res, r, c), static_cast<size_t>(PQgetlength(res, r, c)));
      out.rows.push_back(std::move(row));
    }
    const char* tuples = PQcmdTuples(res);
    out.changed = tuples != nullptr && *tuples != '\0' ? std::stoll(tuples) : 0;
    PQclear(res);
    return out;
  }

  Status begin() override {
    auto r = run("BEGIN", {});
    if (!r) return r.error();
    return {};
  }

 private:
  PGconn* conn_;
};

}  // namespace

Result<std::unique_ptr<SqlConnection>> open_postgres(const std::string& dsn) {
  PGconn* c = PQconnectdb(dsn.c_str());
  if (c == nullptr) return make_error("postgres: out of memory");
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(c);
    PQfinish(c);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    return make_error("cannot connect to the job database: {}", msg);
  }
  PQsetNoticeProcessor(c, [](void*, const char*) {}, nullptr);  // "relation already exists" notices
  return std::unique_ptr<SqlConnection>(std::make_unique<PgConnection>(c));
}

}  // namespace corral::jobs
