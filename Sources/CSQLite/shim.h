#ifndef DZ_CSQLITE_SHIM_H
#define DZ_CSQLITE_SHIM_H
#include <sqlite3.h>

/* SQLITE_TRANSIENT is a cast macro Swift cannot import: copy bound text and blobs. */
static inline sqlite3_destructor_type dz_sqlite_transient(void) { return SQLITE_TRANSIENT; }

/* sqlite3_db_config is variadic: a read-only reader never checkpoints (nor removes) the log on close. */
static inline int dz_sqlite_no_checkpoint_on_close(sqlite3 *db) {
    return sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)0);
}

#endif
