/* lazy_git2.h — libgit2, loaded when --clone or `ajail clone` first needs it.
 *
 * Linking libgit2 would load it (and OpenSSL, libssh2, libhttp_parser, zlib behind it) at every exec
 * of ajail, slowing the start-up of every jail for a library only --clone calls. So the functions
 * workspace.c, deliver.c and clone_cmd.c use are looked up with dlopen/dlsym on first use instead
 * (as lazy_archive.h does for libarchive); each keeps its exact type through __typeof__ of
 * libgit2's own declaration. deliver.c forks its reader after the load: the child loads nothing. */
#ifndef AJAIL_LAZY_GIT2_H
#define AJAIL_LAZY_GIT2_H

#include <git2.h>
#include <zlib.h>

#include "error.h"

#define LAZY_GIT2_FUNCS(X) \
	X(git_blob_free) \
	X(git_blob_lookup) \
	X(git_blob_rawcontent) \
	X(git_blob_rawsize) \
	X(git_branch_iterator_free) \
	X(git_branch_iterator_new) \
	X(git_branch_next) \
	X(git_commit_free) \
	X(git_config_free) \
	X(git_config_get_string) \
	X(git_commit_id) \
	X(git_commit_lookup) \
	X(git_commit_time) \
	X(git_commit_tree) \
	X(git_diff_free) \
	X(git_diff_get_delta) \
	X(git_diff_num_deltas) \
	X(git_diff_tree_to_index) \
	X(git_diff_tree_to_tree) \
	X(git_error_last) \
	X(git_graph_descendant_of) \
	X(git_ignore_path_is_ignored) \
	X(git_index_add) \
	X(git_index_free) \
	X(git_index_has_conflicts) \
	X(git_index_open) \
	X(git_index_write) \
	X(git_index_write_tree_to) \
	X(git_libgit2_init) \
	X(git_object_free) \
	X(git_object_id) \
	X(git_odb_add_backend) \
	X(git_odb_add_disk_alternate) \
	X(git_odb_backend_loose) \
	X(git_odb_backend_pack) \
	X(git_odb_exists) \
	X(git_odb_foreach) \
	X(git_odb_free) \
	X(git_odb_hash) \
	X(git_odb_hashfile) \
	X(git_odb_new) \
	X(git_odb_read_header) \
	X(git_odb_refresh) \
	X(git_odb_write) \
	X(git_oid_cpy) \
	X(git_oid_equal) \
	X(git_oid_fromstr) \
	X(git_oid_tostr) \
	X(git_packbuilder_free) \
	X(git_packbuilder_insert_walk) \
	X(git_packbuilder_new) \
	X(git_packbuilder_write) \
	X(git_reference_create) \
	X(git_reference_free) \
	X(git_reference_is_branch) \
	X(git_reference_iterator_free) \
	X(git_reference_iterator_new) \
	X(git_reference_name) \
	X(git_reference_name_is_valid) \
	X(git_reference_name_to_id) \
	X(git_reference_next) \
	X(git_reference_peel) \
	X(git_reference_target) \
	X(git_repository_commondir) \
	X(git_repository_config_snapshot) \
	X(git_repository_free) \
	X(git_repository_head) \
	X(git_repository_head_unborn) \
	X(git_repository_init) \
	X(git_repository_is_bare) \
	X(git_repository_is_worktree) \
	X(git_repository_odb) \
	X(git_repository_open_bare) \
	X(git_repository_open_ext) \
	X(git_repository_path) \
	X(git_repository_workdir) \
	X(git_repository_wrap_odb) \
	X(git_revwalk_free) \
	X(git_revwalk_hide) \
	X(git_revwalk_new) \
	X(git_revwalk_next) \
	X(git_revwalk_push) \
	X(git_status_byindex) \
	X(git_status_list_entrycount) \
	X(git_status_list_free) \
	X(git_status_list_new) \
	X(git_status_options_init) \
	X(git_tree_entry_byindex) \
	X(git_tree_entry_byname) \
	X(git_tree_entry_bypath) \
	X(git_tree_entry_filemode) \
	X(git_tree_entry_free) \
	X(git_tree_entry_id) \
	X(git_tree_entry_name) \
	X(git_tree_entry_type) \
	X(git_tree_entrycount) \
	X(git_tree_free) \
	X(git_tree_id) \
	X(git_tree_lookup) \
	X(git_tree_walk)

struct lazy_git2 {
#define LAZY_GIT2_FIELD(f) __typeof__(f) *f;
	LAZY_GIT2_FUNCS(LAZY_GIT2_FIELD)
#undef LAZY_GIT2_FIELD
};

extern struct lazy_git2 lazy_git2;

/* Load libgit2 once and call git_libgit2_init(); returns -1 with err set when it is not installed. */
int lazy_git2_load(struct aj_err *err);

/* A call through the table: LG(git_repository_open_ext)(...). */
#define LG(f) (lazy_git2.f)

/* zlib's inflate, for deliver.c to check a clone's loose objects itself before libgit2 reads one
 * (libgit2 1.5 overruns a buffer on some truncated ones). libgit2 has loaded libz already: this only
 * looks the functions up, with lazy_git2_load. */
#define LAZY_Z_FUNCS(X) \
	X(inflateInit_) \
	X(inflate) \
	X(inflateEnd)

struct lazy_z {
#define LAZY_Z_FIELD(f) __typeof__(f) *f;
	LAZY_Z_FUNCS(LAZY_Z_FIELD)
#undef LAZY_Z_FIELD
};

extern struct lazy_z lazy_z;

#define LZ(f) (lazy_z.f)

#endif
