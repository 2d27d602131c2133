// SqlConnection over one SQLite handle: WAL journal (readers never block the writer), a busy
// timeout so two servers on one file wait instead of failing, BEGIN IMMEDIATE for claims.
#include <sqlite3.h>

#include "jobs/sql.h"

namespace corral::jobs {
namespace {

class SqliteConnection final : public SqlConnection {
 public:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}
  ~SqliteConnection() override { sqlite3_close_v2(db_); }
  SqlDialect dialect() const override { return SqlDialect::kSqlite; }

  Result<SqlResult> run(std::string_view sql, const std::vector<SqlValue>& params) override {
    SqlResult out;
    std::string_view rest = sql;
    // Several statements (schema) run one after another; parameters go to the last one.
    while (true) {
      sqlite3_stmt* st = nullptr;
      const char* tail = nullptr;
      int rc = sqlite3_prepare_v2(db_, rest.data(), static_cast<int>(rest.size()), &st, &tail);
      if (rc != SQLITE_OK) return make_error("sqlite: {} in \"{}\"", sqlite3_errmsg(db_), first_line(rest));
      rest.remove_prefix(static_cast<size_t>(tail - rest.data()));
      if (st == nullptr) break;  // only whitespace left
      const bool last = rest.find_first_not_of(" \t\r\n;") == std::string_view::npos;
      if (last) {
        for (size_t i = 0; i < params.size(); ++i) {
          const int idx = static_cast<int>(i + 1);
          if (const auto* n = std::get_if<int64_t>(&params[i])) {
            sqlite3_bind_int64(st, idx, *n);
          } else if (const auto* s = std::get_if<std::string>(&params[i])) {
            sqlite3_bind_text(st, idx, s->data(), static_cast<int>(s->size()), SQLITE_TRANSIENT);
          } else {
            sqlite3_bind_null(st, idx);
          }
        }
      }
      while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const int n = sqlite3_column_count(st);
        SqlRow row(static_cast<size_t>(n));
        for (int c = 0; c < n; ++c) {
          if (sqlite3_column_type(st, c) == SQLITE_NULL) continue;
          const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(st, c));
          row[static_cast<size_t>(c)] = std::string(text, static_cast<size_t>(sqlite3_column_bytes(st, c)));
        }
        out.rows.push_back(std::move(row));
      }
      sqlite3_finalize(st);
      if (rc != SQLITE_DONE) return make_error("sqlite: {} in \"{}\"", sqlite3_errmsg(db_), first_line(sql));
      out.changed = sqlite3_changes64(db_);
      if (last) break;
    }
    return out;
  }

  Status begin() override {
    auto r = run("BEGIN IMMEDIATE", {});
    if (!r) return r.error();
    return {};
  }

 private:
  static std::string first_line(std::string_view s) {
    return std::string(s.substr(0, std::min(s.find('\n'), size_t{80})));
  }
  sqlite3* db_;
};

}  // namespace

Result<std::unique_ptr<SqlConnection>> open_sqlite(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    return make_error("cannot open job database {}: {}", path, msg);
  }
  sqlite3_busy_timeout(db, 10000);
  auto conn = std::make_unique<SqliteConnection>(db);
  // WAL: pollers read while a worker writes; synchronous=NORMAL is durable across process
  // crashes (the case jobs must survive), only a power loss can drop the last commits.
  auto wal = conn->run("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF", {});
  if (!wal) return make_error("job database {}: {}", path, wal.error().message);
  return std::unique_ptr<SqlConnection>(std::move(conn));
}

}  // namespace corral::jobs
