#ifndef DZ_SHIMS_H
#define DZ_SHIMS_H

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <spawn.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <sys/wait.h>

/* Counts a directory's entries other than . and .. in C, so that the loop over a million entries runs at C speed
   whatever Swift's build mode; -1 with errno set when the directory cannot be opened. */
static inline long dz_count_entries(const char *path) {
    DIR *dir = opendir(path);
    if (dir == NULL) return -1;
    long count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        const char *name = entry->d_name;
        if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
        count++;
    }
    closedir(dir);
    return count;
}

/* renameat2 and RENAME_NOREPLACE are hidden by glibc without _GNU_SOURCE. */
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags);
static inline unsigned int dz_rename_noreplace(void) { return RENAME_NOREPLACE; }

/* `stat` and `statvfs` name both a struct and a function; Swift sees only the struct. */
static inline int dz_stat(const char *path, struct stat *st) { return stat(path, st); }
static inline int dz_lstat(const char *path, struct stat *st) { return lstat(path, st); }
static inline int dz_statvfs(const char *path, struct statvfs *st) { return statvfs(path, st); }
/* statfs's f_type (the file system's magic number), which statvfs does not give. */
static inline int dz_statfs_type(const char *path, long long *type) {
    struct statfs st;
    int result = statfs(path, &st);
    if (result == 0) *type = (long long)st.f_type;
    return result;
}

/* pipe2 is hidden without _GNU_SOURCE. */
int pipe2(int pipefd[2], int flags);

/* posix_spawn_file_actions_addchdir_np is a GNU extension (glibc 2.29). */
int posix_spawn_file_actions_addchdir_np(posix_spawn_file_actions_t *actions, const char *path);
/* posix_spawn_file_actions_addclosefrom_np is a GNU extension (glibc 2.34). */
int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);

/* The W* status macros are not importable. */
static inline int dz_wexitstatus(int status) { return WEXITSTATUS(status); }
static inline int dz_wifsignaled(int status) { return WIFSIGNALED(status); }
static inline int dz_wtermsig(int status) { return WTERMSIG(status); }

#endif
