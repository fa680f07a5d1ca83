// libFuzzer target: arbitrary bytes as an admin API form body (Kong's dotted/bracketed keys),
// through the form parser, the schema typing and the config builder. Fails on a crash, a
// sanitizer report, an exception, a long refusal message or a result larger than linear in the
// input (see admin_form_check.hpp).
//
// Build (clang only, see tests/CMakeLists.txt) and run with the seed corpus:
//   cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ && \
//   cmake --build build-fuzz --target fuzz_admin_form
//   cp -r tests/fuzz/admin_form_corpus /tmp/corpus && \
//   build-fuzz/tests/fuzz_admin_form -max_total_time=60 -max_len=4096 /tmp/corpus
#include <cstdint>

#include "fuzz/admin_form_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)aigw::test::checkAdminForm(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
