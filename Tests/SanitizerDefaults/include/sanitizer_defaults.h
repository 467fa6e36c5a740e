#ifndef KMSINDEX_SANITIZER_DEFAULTS_H
#define KMSINDEX_SANITIZER_DEFAULTS_H
const char *__asan_default_options(void);
#endif
