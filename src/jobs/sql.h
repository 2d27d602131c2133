// A minimal SQL connection the job store is written against, so one set of queries serves SQLite
// and PostgreSQL. Queries use `?` placeholders (rewritten to $1.. for PostgreSQL); values are
// NULL, integers or text.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/result.h"

namespace corral::jobs {

using SqlValue = std::variant<std::monostate, int64_t, std::string>;
using SqlRow = std::vector<std::optional<std::string>>;  // text form of each column; nullopt = NULL

struct SqlResult {
  std::vector<SqlRow> rows;
  int64_t changed = 0;  // rows inserted/updated/deleted
};

enum class SqlDialect { kSqlite, kPostgres };

class SqlConnection {
 public:
  virtual ~SqlConnection() = default;
  virtual SqlDialect dialect() const = 0;
  virtual Result<SqlResult> run(std::string_view sql, const std::vector<SqlValue>& params = {}) = 0;
  // A write transaction: SQLite takes the write lock at BEGIN (BEGIN IMMEDIATE).
  virtual Status begin() = 0;
};

// SQLite file at `path` (created), WAL mode, busy timeout.
Result<std::unique_ptr<SqlConnection>> open_sqlite(const std::string& path);
// PostgreSQL via libpq (`dsn`: a URI or key=value string).
Result<std::unique_ptr<SqlConnection>> open_postgres(const std::string& dsn);

}  // namespace corral::jobs
