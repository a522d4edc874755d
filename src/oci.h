/* oci.h — container images coming into the store: `ajail fs import NAME IMAGE` where IMAGE is
 *   - an OCI image layout directory (oci-layout, index.json, blobs/sha256/...),
 *   - a tar of one (`podman save --format oci-archive`, `skopeo copy ... oci-archive:`),
 *   - a `docker save` / `podman save --format docker-archive` archive (manifest.json naming a Config
 *     and Layers: "<id>/layer.tar", "<hex>.tar" or "blobs/sha256/<hex>"), or such a tar unpacked.
 * An image that has both (newer `docker save`) is read through its OCI index.
 *
 * Found by content, never by name: a directory is an image when it has an oci-layout file, or a
 * manifest.json that is a valid docker-archive manifest, and none of the top-level directories of a
 * root tree (etc, bin, usr, ...); a tar is one when every entry has a name an image archive has
 * (nothing else: a rootfs tarball that happens to hold a manifest.json has etc/ beside it) and it
 * holds an oci-layout or a valid manifest.json. Anything else is left to archive_import.
 *
 * The image is data from whoever made it. Every blob is named by a digest that must be "sha256:" and
 * 64 lowercase hex digits (so no digest can become a path of its own), is opened beneath the layout's
 * directory fd without following any symlink (a regular file only, without blocking), and is checked
 * against its digest (and size) while it is read; JSON (index, manifests, config) is read with a size
 * limit (OCI_JSON_MAX) by the strict parser of json.h; at most OCI_MAX_LAYERS layers, and nested
 * indexes at most OCI_MAX_NESTING deep. The layers are applied in order into the new rootfs by the
 * safe writer of extract.h (one struct xtract for the whole image, so directories get their final
 * modes at the very end), with OCI's whiteouts: "dir/.wh.NAME" removes dir/NAME of the layers below,
 * "dir/.wh..wh..opq" everything they had in dir; each layer is read twice, its whiteouts first, so
 * that a marker never removes what its own layer adds. The image's Env, WorkingDir, Entrypoint, Cmd
 * and User go into the rootfs's metadata (store_meta). Makes syscalls; not thread-safe. */
#ifndef AJAIL_OCI_H
#define AJAIL_OCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "archive.h"
#include "error.h"

struct store;
struct store_txn;

#define OCI_JSON_MAX	((size_t)4 << 20) /* bytes of one index, manifest or config */
#define OCI_MAX_LAYERS	256
#define OCI_MAX_NESTING 2 /* image indexes followed below index.json */

struct oci_import_result {
	struct archive_stats st; /* what was written, as archive_import counts it */
	size_t layers;		 /* layers applied */
	uint64_t whiteouts;	 /* whiteout and opaque markers applied (layers above the first) */
	const char *format;	 /* "OCI image layout", "OCI image archive", "docker-archive" (static) */
	char *platform;		 /* "linux/amd64", from the image's config; NULL when it says none */
};
void oci_import_result_release(struct oci_import_result *r);

/* If source (a path; real is its canonical form, for the rootfs's recorded source) is an image as
 * described above, import it as the new rootfs name, atomically (store_txn), and return 1. Return 0,
 * having done nothing, when it is not an image: import it as a root tree. -1 with err (one line: what
 * was wrong and what to do) when it is an image that cannot be imported; nothing is left behind,
 * neither the rootfs nor the scratch copy of a tar image (fs/.tmp/NAME@oci, STORE_OCI_SUFFIX).
 * progress: draw a progress bar on stderr (when it is a terminal). */
int oci_import(struct store *s, const char *name, const char *source, const char *real, bool progress,
	       struct oci_import_result *res, struct aj_err *err);

/* Standard input can be read only once, so `fs import NAME -` extracts it as a root tree first; then
 * this looks at what came (t's directory, not yet committed): when it is an image (`podman save ... |
 * ajail fs import NAME -`), that tree becomes the scratch copy and the image is imported into t's
 * directory, emptied, and committed: 1. 0: not an image, nothing done (commit the tree as it is).
 * -1 with err: the caller aborts t. */
int oci_import_unpacked(struct store *s, struct store_txn *t, bool progress, struct oci_import_result *res,
			struct aj_err *err);

#endif
