/* git_boundary.h — the libgit2 boundary shared by workspace.c, deliver.c and clone_cmd.c: the one
 * place a libgit2 error becomes a struct aj_err (git_fail), cleanup attributes for libgit2 objects,
 * and two checks on names. Header only: every function is static inline, so each user compiles
 * what it calls. The libgit2 calls go through lazy_git2.h (loaded with dlopen); git_fail reads
 * libgit2's thread-local error and makes no syscall. */
#ifndef AJAIL_GIT_BOUNDARY_H
#define AJAIL_GIT_BOUNDARY_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "lazy_git2.h"

/* "<context>: <libgit2's message>". Returns -1. */
static inline int git_fail(struct aj_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline int git_fail(struct aj_err *err, const char *fmt, ...)
{
	char ctx[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof ctx, fmt, ap);
	va_end(ap);
	const git_error *ge = LG(git_error_last)();
	return aj_fail(err, 0, "%s: %s", ctx, ge && ge->message ? ge->message : "unknown libgit2 error");
}

#define GIT_CLEANUP(type, fn)                                                                           \
	static inline void fn##p(type **p)                                                              \
	{                                                                                               \
		if (*p)                                                                                 \
			LG(fn)(*p);                                                                     \
	}
GIT_CLEANUP(git_repository, git_repository_free)
GIT_CLEANUP(git_reference, git_reference_free)
GIT_CLEANUP(git_commit, git_commit_free)
GIT_CLEANUP(git_tree, git_tree_free)
GIT_CLEANUP(git_tree_entry, git_tree_entry_free)
GIT_CLEANUP(git_blob, git_blob_free)
GIT_CLEANUP(git_odb, git_odb_free)
GIT_CLEANUP(git_index, git_index_free)
GIT_CLEANUP(git_revwalk, git_revwalk_free)
GIT_CLEANUP(git_packbuilder, git_packbuilder_free)
GIT_CLEANUP(git_status_list, git_status_list_free)
GIT_CLEANUP(git_diff, git_diff_free)
GIT_CLEANUP(git_reference_iterator, git_reference_iterator_free)
#undef GIT_CLEANUP
#define cleanup_repo __attribute__((cleanup(git_repository_freep)))
#define cleanup_ref __attribute__((cleanup(git_reference_freep)))
#define cleanup_commit __attribute__((cleanup(git_commit_freep)))
#define cleanup_tree __attribute__((cleanup(git_tree_freep)))
#define cleanup_tree_entry __attribute__((cleanup(git_tree_entry_freep)))
#define cleanup_blob __attribute__((cleanup(git_blob_freep)))
#define cleanup_odb __attribute__((cleanup(git_odb_freep)))
#define cleanup_index __attribute__((cleanup(git_index_freep)))
#define cleanup_revwalk __attribute__((cleanup(git_revwalk_freep)))
#define cleanup_packbuilder __attribute__((cleanup(git_packbuilder_freep)))
#define cleanup_status __attribute__((cleanup(git_status_list_freep)))
#define cleanup_diff __attribute__((cleanup(git_diff_freep)))
#define cleanup_refiter __attribute__((cleanup(git_reference_iterator_freep)))

/* A full ref name git would accept ("refs/heads/x"). */
static inline bool git_refname_valid(const char *name)
{
	int valid = 0;
	return LG(git_reference_name_is_valid)(&valid, name) == 0 && valid;
}

/* Exactly 40 lower-case hex digits: the only form of an object id ajail writes or believes. */
static inline bool git_hex_oid_valid(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");
	return n == GIT_OID_HEXSZ && s[n] == '\0';
}

#endif
