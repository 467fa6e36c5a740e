// Default AddressSanitizer options of the test binary, read only when the tests run under
// `swift test --sanitize=address` (elsewhere nothing calls it). In C, because ASan calls it
// before it has set itself up, when instrumented code would crash.
//
// Memory errors stay fatal. Leak checking is off here because, on Linux, LeakSanitizer lists
// the objects XCTest keeps for the whole run and Foundation buffers made by test helpers; the
// project's own code is leak-checked by scripts/asan, which turns detection back on
// (ASAN_OPTIONS wins over these defaults) and fails on any leak with a frame in Sources/.
#include "sanitizer_defaults.h"

__attribute__((no_sanitize("address"), used, visibility("default")))
const char *__asan_default_options(void) {
    return "detect_leaks=0";
}
