// libFuzzer target for the scenario loader (built only with -DFL_FUZZ=ON and
// clang): whatever bytes arrive, the loader returns a Scenario or positioned
// errors; a crash, a hang or a sanitizer report is a bug.
//   cmake -S . -B build-fuzz -DFL_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ && make -C build-fuzz faultline-fuzz-loader
//   build-fuzz/faultline-fuzz-loader -max_len=8192 scenarios/
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "harness/scenario_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const fl::harness::LoadResult r = fl::harness::parse_scenario(text, "fuzz.toml");
  if (r.ok() != r.errors.empty()) std::abort();
  for (const auto& e : r.errors)
    if (e.line == 0 || e.column == 0 || e.message.empty()) std::abort();
  if (r.ok() && !fl::harness::validate_scenario(*r.scenario).empty()) std::abort();
  return 0;
}
