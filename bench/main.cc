// faultline-bench: the engine benchmark arrives with the simulator.
#include <cstdio>
int main() {
  std::puts("faultline-bench: no benchmark yet");
  return 3;
}
