#ifndef KMSINDEX_CSQLITECONFIG_SHIM_H
#define KMSINDEX_CSQLITECONFIG_SHIM_H
#include <sqlite3.h>

// sqlite3_config is variadic, which Swift cannot call. It only works before SQLite initializes
// (before the first connection opens); later it changes nothing and returns SQLITE_MISUSE.

// Memory statistics take a global mutex on every sqlite3_malloc and sqlite3_free; kmsindex
// never reads them (sqlite3_memory_used) nor sets heap limits, which need them.
static inline int kmsindex_sqlite3_disable_memstatus(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

// URI filenames (`file:PATH?mode=ro`) in sqlite3_open and ATTACH: merge attaches each shard
// read-only this way. Debian's libsqlite3 is built with SQLITE_USE_URI, others may not be.
static inline int kmsindex_sqlite3_enable_uri(void) {
    return sqlite3_config(SQLITE_CONFIG_URI, 1);
}
#endif
