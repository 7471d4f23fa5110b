// Child processes of live mode (app servers, PostgreSQL's tools): spawned with
// a control pipe on stdin and output to a log file, signalled by pid, reaped.
// Everything here acts on one pid the caller started: never on a name.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace fl::live {

struct Child {
  pid_t pid = -1;
  int control_fd = -1;  // write end of the child's stdin (-1: none)
  bool running() const { return pid > 0; }
};

// Starts argv[0] (a path) with stdin a pipe (kept by the caller) and stdout
// and stderr appended to `log_path`. pid -1 and *error on failure.
Child spawn_child(const std::vector<std::string>& argv, const std::string& log_path, std::string* error);
// Writes one control line ("\n" added); false when the child is gone.
bool send_line(const Child& child, const std::string& line);
// SIGKILL and reap; closes the pipe. No-op on a child not running.
void kill_child(Child& child);
// Closes the pipe (the child exits at end of file) and waits up to `wait_ms`
// for it, then SIGKILL.
void end_child(Child& child, int wait_ms);
// Runs a command to its end; returns its exit status (-1 if it could not run).
int run_command(const std::vector<std::string>& argv, const std::string& log_path);

}  // namespace fl::live
