// absolute_as_seen: a relative path is joined to the working directory the user sees ($PWD),
// symbolic links kept, so `corral ps` lists a GGUF path run as the user could type it again.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "base/file_util.h"

namespace corral {
namespace {

namespace fs = std::filesystem;

class AbsoluteAsSeen : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/corral_abs_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    fs::create_directories(root_ / "real" / "models");
    fs::create_directory_symlink(root_ / "real", root_ / "link");
    old_cwd_ = fs::current_path();
    if (const char* p = std::getenv("PWD")) old_pwd_ = p;
  }
  void TearDown() override {
    fs::current_path(old_cwd_);
    ::setenv("PWD", old_pwd_.c_str(), 1);
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  // What a shell does on `cd DIR`: chdir, and PWD set to the path as typed.
  void shell_cd(const fs::path& dir) {
    fs::current_path(dir);
    ::setenv("PWD", dir.c_str(), 1);
  }
  fs::path root_, old_cwd_;
  std::string old_pwd_;
};

TEST_F(AbsoluteAsSeen, KeepsTheSymbolicLinkTheUserWentThrough) {
  shell_cd(root_ / "link" / "models");
  // getcwd() says .../real/models: the kernel resolves links. The user typed .../link/models.
  EXPECT_EQ(fs::current_path(), root_ / "real" / "models");
  EXPECT_EQ(absolute_as_seen("./m.gguf"), (root_ / "link" / "models" / "m.gguf").string());
  EXPECT_EQ(absolute_as_seen("../x/../m.gguf"), (root_ / "link" / "m.gguf").string());
  EXPECT_EQ(absolute_as_seen("m.gguf"), (root_ / "link" / "models" / "m.gguf").string());
}

TEST_F(AbsoluteAsSeen, AbsolutePathsAreOnlyNormalised) {
  EXPECT_EQ(absolute_as_seen((root_ / "link" / "." / "models" / "m.gguf").string()),
            (root_ / "link" / "models" / "m.gguf").string());
}

TEST_F(AbsoluteAsSeen, StalePwdFallsBackToThePhysicalDirectory) {
  shell_cd(root_ / "link" / "models");
  fs::current_path(root_);  // a chdir that did not update PWD
  EXPECT_EQ(absolute_as_seen("m.gguf"), (fs::current_path() / "m.gguf").string());
  ::setenv("PWD", "relative/not/trusted", 1);
  EXPECT_EQ(absolute_as_seen("m.gguf"), (fs::current_path() / "m.gguf").string());
  ::unsetenv("PWD");
  EXPECT_EQ(absolute_as_seen("m.gguf"), (fs::current_path() / "m.gguf").string());
}

}  // namespace
}  // namespace corral
