// The faultline command. The command line arrives with the harness issue.
#include <cstdio>
int main() {
  std::puts("faultline: the scenario runner is not built yet");
  return 3;
}
