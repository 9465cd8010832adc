#ifndef DZ_SHIMS_H
#define DZ_SHIMS_H

#include <fcntl.h>
#include <stdio.h>

/* renameat2 and RENAME_NOREPLACE are hidden by glibc without _GNU_SOURCE. */
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags);

static inline unsigned int dz_rename_noreplace(void) { return RENAME_NOREPLACE; }

#include <sys/random.h>

/* `stat` and `statvfs` name both a struct and a function; Swift sees only the struct. */
#include <sys/stat.h>
#include <sys/statvfs.h>
static inline int dz_stat(const char *path, struct stat *st) { return stat(path, st); }
static inline int dz_lstat(const char *path, struct stat *st) { return lstat(path, st); }
static inline int dz_statvfs(const char *path, struct statvfs *st) { return statvfs(path, st); }

#endif
