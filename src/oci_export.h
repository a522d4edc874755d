/* oci_export.h — a store rootfs leaving the machine: as a tarball of what a jail on it sees (a layer
 * merged with its bases), as an OCI image archive that podman, skopeo and umoci take (layers kept as
 * layers), or as a Kubernetes Job manifest that runs an agent on that image.
 *
 * oci_export.c does the store's side (the chain of layers, their use locks, the merge in a user
 * namespace, the image's JSON, the outer tar, the YAML); export.c writes each tar stream. Makes
 * syscalls; not thread-safe. */
#ifndef AJAIL_OCI_EXPORT_H
#define AJAIL_OCI_EXPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "archive.h"
#include "error.h"
#include "output.h"
#include "sha256.h"

struct store;

/* How export.c writes a tree. */
enum export_flavor {
	EXPORT_PLAIN,	  /* archive_export's tarball: "./etc/passwd", the root's own entry, sparse files */
	EXPORT_OCI_BASE,  /* an OCI image's bottom layer: "etc/passwd", no root entry, no sparse entries,
			   * whole-second mtimes and no atime/ctime (the same tree, the same digest) */
	EXPORT_OCI_LAYER, /* the same for an ajail layer, in OCI's whiteout form: a whiteout (a character
			   * device 0/0) becomes the empty file "dir/.wh.NAME", an opaque directory
			   * (user.overlay.opaque=y) is followed by the empty file "dir/.wh..wh..opq" */
};

/* Write the tree at dirfd as one uncompressed tar stream at fd's position (export.c), with
 * archive_export's rules; hash (when not NULL) gets every byte, *size their number. The progress
 * line (prog, already started) shows prog_bytes/prog_files more than this stream's own. In the OCI
 * flavors a name beginning with ".wh." is refused: it would mean a deletion. -1 with err set. */
int export_tar_fd(int dirfd, int fd, enum export_flavor flavor, struct sha256 *hash, struct output_progress *prog,
		  uint64_t prog_bytes, uint64_t prog_files, uint64_t *size, struct archive_stats *st, struct aj_err *err);

/* `fs export NAME FILE`: archive_export of the rootfs, or for a layer of the tree a jail on it sees:
 * the layers stacked read-only by overlayfs in a forked child (its own user and mount namespace,
 * nothing mounted anywhere else), so whiteouts and opaque directories are resolved exactly as in a
 * jail. Every rootfs of the chain holds its use lock (store_register_jail) meanwhile, so `fs rm`
 * cannot take one away. */
int oci_export_tarball(struct store *s, const char *name, const char *file, bool progress, struct archive_stats *st,
		       struct aj_err *err);

/* `fs export NAME --oci FILE`: an OCI image archive (oci-layout, index.json, blobs/sha256/...): one
 * uncompressed image layer per rootfs of the chain, the bottom first; the config from the rootfs's
 * metadata (the nearest rootfs of the chain that records each field; else ajail's defaults); the
 * manifest named by oci_ref_name(name, tag). The file is built as an
 * unnamed temp file in FILE's directory and appears as FILE only when complete: a failure or a kill
 * leaves nothing. *layers gets the number of layers, st the sum over them, *ref the image's name
 * (caller frees). */
int oci_export_image(struct store *s, const char *name, const char *file, const char *tag, bool progress,
		     struct archive_stats *st, size_t *layers, char **ref, struct aj_err *err);

/* The image's name in the archive (index.json's org.opencontainers.image.ref.name), which podman
 * load takes as the image's name ("localhost/" in front when it names no registry): tag alone ("v1")
 * gives "ajail/NAME:v1" (NAME as a repository allows it: lowercase, see oci_repo_name); a tag with
 * ':' or '/' is a whole name ("registry.example/team/agent:v1") and is used as it is. NULL with err
 * set (a usage error) when it is neither. Pure. */
char *oci_ref_name(const char *name, const char *tag, struct aj_err *err);
/* A rootfs name as a Docker repository path component: lowercase, separators that the grammar
 * refuses replaced by '-'. Caller frees. Pure. */
char *oci_repo_name(const char *name);

/* `fs export NAME --k8s-job`: a Kubernetes batch/v1 Job (YAML) on out that runs an agent in the
 * image (image; NULL: "ajail/NAME:latest", NAME as oci_repo_name makes it): it clones $REPO_URL, runs $AGENT_CMD (default: the
 * rootfs's Entrypoint and Cmd) and pushes the work as the branch ajail/<job name>. Every value taken
 * from the metadata is a double-quoted YAML scalar with escapes (and '$' doubled, which Kubernetes
 * would expand), so no image can add a line or a key. */
int oci_export_k8s_job(struct store *s, const char *name, const char *image, FILE *out, struct aj_err *err);

#endif
