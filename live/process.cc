// Child processes (see process.h), with posix_spawn: no fork of a process that
// may hold threads and locks.
#include "live/process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

extern char** environ;

namespace fl::live {

namespace {
std::vector<char*> c_argv(const std::vector<std::string>& argv) {
  std::vector<char*> out;
  for (const auto& a : argv) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}
}  // namespace

Child spawn_child(const std::vector<std::string>& argv, const std::string& log_path, std::string* error) {
  Child c;
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    if (error) *error = std::string("pipe: ") + std::strerror(errno);
    return c;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipe_fds[0], 0);
  posix_spawn_file_actions_addopen(&fa, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  auto args = c_argv(argv);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(pipe_fds[0]);
  if (rc != 0) {
    ::close(pipe_fds[1]);
    if (error) *error = "cannot start " + argv[0] + ": " + std::strerror(rc);
    return c;
  }
  c.pid = pid;
  c.control_fd = pipe_fds[1];
  return c;
}

bool send_line(const Child& child, const std::string& line) {
  if (child.control_fd < 0) return false;
  const std::string text = line + "\n";
  // A child that died leaves a broken pipe: SIGPIPE is ignored by the harness.
  return ::write(child.control_fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
}

void kill_child(Child& child) {
  if (child.pid > 0) {
    ::kill(child.pid, SIGKILL);
    ::kill(child.pid, SIGCONT);  // a stopped process dies only once continued on some kernels
    int status = 0;
    ::waitpid(child.pid, &status, 0);
  }
  if (child.control_fd >= 0) ::close(child.control_fd);
  child = Child{};
}

void end_child(Child& child, int wait_ms) {
  if (child.control_fd >= 0) ::close(child.control_fd);
  child.control_fd = -1;
  if (child.pid <= 0) return;
  ::kill(child.pid, SIGCONT);
  for (int waited = 0; waited < wait_ms; waited += 20) {
    int status = 0;
    if (::waitpid(child.pid, &status, WNOHANG) == child.pid) {
      child = Child{};
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill_child(child);
}

int run_command(const std::vector<std::string>& argv, const std::string& log_path) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  auto args = c_argv(argv);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -1;
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace fl::live
