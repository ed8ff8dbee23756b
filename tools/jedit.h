/* SPDX-License-Identifier: MIT */
/*
 * jedit.h - append hand-made metadata records to the log of an unmounted filesystem.
 *
 * fsck.guardfs repairs what the metadata API has no call for (a link count, an entry for an
 * unreachable inode or directory) by appending the records a correct filesystem would have
 * logged, in the format of docs/FORMAT.md ("Metadata records"): the next mount replays them after
 * the checkpoint, through the same apply code as every other record, and refuses them if they do
 * not fit the state. The CLI tests use the same calls to craft damage. Nothing is interpreted here.
 */
#ifndef GUARDFS_TOOLS_JEDIT_H
#define GUARDFS_TOOLS_JEDIT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/meta.h"
#include "core/ns.h"

struct jedit;

/*
 * Open @source's namespace (a file's format from its superblock), read the superblock and the
 * journal without applying anything. Logs one line on failure.
 */
int jedit_open(const char *source, struct jedit **out);

/* MREC_INODE: the whole inode as @a describes it, with link count @nlink. */
int jedit_put_inode(struct jedit *je, const struct meta_attr *a, uint32_t nlink,
		    const char *symlink_target);
/* MREC_LINK: one more entry @name in directory @dir for inode @ino (link count + 1). */
int jedit_put_link(struct jedit *je, uint64_t ino, uint64_t dir, const char *name);
/* MREC_UNLINK: remove entry @name from @dir (link count - 1). */
int jedit_put_unlink(struct jedit *je, uint64_t dir, const char *name, bool rmdir);
/*
 * MREC_RENAME: move entry @oldname of @olddir to @newdir as @newname (META_RENAME_* @flags);
 * it gets @newdir's next cookie, a moved directory's ".." and both link counts follow.
 */
int jedit_put_rename(struct jedit *je, uint64_t olddir, const char *oldname, uint64_t newdir,
		     const char *newname, unsigned flags);
/*
 * MREC_DIRENT: entry @name for inode @ino in @dir with readdir cookie @cookie, which should be
 * @dir's next cookie (meta_dir_next_cookie; replay makes the next one @cookie + 1). A directory
 * @ino gets @dir as "..". Link counts do not change: MREC_INODE records must follow. The only
 * record that gives an existing directory an entry (MREC_LINK refuses directories).
 */
int jedit_put_dirent(struct jedit *je, uint64_t dir, uint64_t cookie, uint64_t ino,
		     const char *name);

/* Commit what was appended (one log write and flush) and close. Returns the first error. */
int jedit_close(struct jedit *je);

/* Open a guardfs namespace as meta_mount would: a file's format comes from its superblock. */
int tools_ns_open(const char *source, bool read_only, struct ns **out);

#endif /* GUARDFS_TOOLS_JEDIT_H */
