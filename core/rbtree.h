/* SPDX-License-Identifier: MIT */
/*
 * rbtree.h - intrusive red-black tree, in the manner of the Linux kernel's lib/rbtree.c.
 *
 * A struct rb_node is embedded in the caller's object; the tree never allocates. The caller
 * owns the ordering: either it walks down itself and links the new node with rb_link_node()
 * followed by rb_insert_color(), or it calls rb_add() with a "less" callback, or, knowing the
 * neighbour already (or keeping the order implicit), rb_insert_next(). Lookups take a
 * "cmp(key, node)" callback (negative when key sorts before node).
 *
 * Invariants (checked by rb_check()):
 *   1. every node is red or black; the root is black;
 *   2. a red node has no red child;
 *   3. every path from a node down to a NULL child crosses the same number of black nodes;
 *   4. parent pointers agree with child pointers, the root has no parent;
 *   5. in-order traversal is sorted (when the caller passes its "less").
 * Together 1-3 bound the height by 2*log2(n+1), so every operation is O(log n).
 *
 * Augmented trees (a value computed from a node and its subtree, e.g. the largest key below
 * it) use the *_augmented variants with an update callback that recomputes one node from its
 * two children. The tree calls it bottom-up for every node whose subtree changed: along the
 * path to the root after a link or unlink, and for both nodes of each rotation.
 *
 * Memory: 24 bytes per node on LP64 (colour kept in the low bit of the parent pointer).
 * Not thread-safe: the owner of the tree serialises access.
 */
#ifndef GUARDFS_RBTREE_H
#define GUARDFS_RBTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rb_node {
	uintptr_t __rb_parent_color; /* parent pointer | colour bit (0 red, 1 black) */
	struct rb_node *rb_right;
	struct rb_node *rb_left;
} __attribute__((aligned(sizeof(long))));

struct rb_root {
	struct rb_node *rb_node;
};

#define RB_ROOT ((struct rb_root){NULL})

#define rb_entry(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
#define rb_entry_safe(ptr, type, member)                                                           \
	({                                                                                         \
		__typeof__(ptr) __rb_p = (ptr);                                                    \
		__rb_p ? rb_entry(__rb_p, type, member) : NULL;                                    \
	})

/* Recompute the augmented value of @node from @node and its (already correct) children. */
typedef void (*rb_update_fn)(struct rb_node *node);
/* Strict weak order between two nodes. */
typedef bool (*rb_less_fn)(const struct rb_node *a, const struct rb_node *b);
/* <0 when @key sorts before @node, 0 when equal, >0 after. */
typedef int (*rb_cmp_fn)(const void *key, const struct rb_node *node);

static inline bool rb_empty_root(const struct rb_root *root)
{
	return root->rb_node == NULL;
}

static inline struct rb_node *rb_parent(const struct rb_node *node)
{
	return (struct rb_node *)(node->__rb_parent_color & ~(uintptr_t)3);
}

/*
 * Attach @node as a red leaf at *@link below @parent (NULL for the root); the caller found
 * @link by walking down. Follow with rb_insert_color() to restore the invariants.
 */
static inline void rb_link_node(struct rb_node *node, struct rb_node *parent, struct rb_node **link)
{
	node->__rb_parent_color = (uintptr_t)parent;
	node->rb_left = node->rb_right = NULL;
	*link = node;
}

void rb_insert_color(struct rb_node *node, struct rb_root *root);
void rb_erase(struct rb_node *node, struct rb_root *root);
void rb_insert_augmented(struct rb_node *node, struct rb_root *root, rb_update_fn update);
void rb_erase_augmented(struct rb_node *node, struct rb_root *root, rb_update_fn update);

/*
 * Link @node right after @prev in order (as the first node when @prev is NULL) and
 * rebalance, without comparing anything: for callers that already found the neighbour, or
 * whose order is implicit. @update may be NULL.
 */
void rb_insert_next(struct rb_node *node, struct rb_node *prev, struct rb_root *root,
		    rb_update_fn update);

/* Insert after every node not greater than @node (equal keys keep insertion order). */
void rb_add(struct rb_node *node, struct rb_root *root, rb_less_fn less);
void rb_add_augmented(struct rb_node *node, struct rb_root *root, rb_less_fn less,
		      rb_update_fn update);

struct rb_node *rb_first(const struct rb_root *root);
struct rb_node *rb_last(const struct rb_root *root);
struct rb_node *rb_next(const struct rb_node *node);
struct rb_node *rb_prev(const struct rb_node *node);

/* Any node equal to @key, or NULL. */
struct rb_node *rb_find(const void *key, const struct rb_root *root, rb_cmp_fn cmp);
/* The first node not less than @key (cmp(key, node) <= 0), or NULL. */
struct rb_node *rb_lower_bound(const void *key, const struct rb_root *root, rb_cmp_fn cmp);
/* The last node not greater than @key (cmp(key, node) >= 0), or NULL. */
struct rb_node *rb_floor(const void *key, const struct rb_root *root, rb_cmp_fn cmp);

/*
 * Empty the tree, handing every node to @release (which may free it) children first, without
 * rebalancing: O(n). The tree is empty afterwards.
 */
void rb_destroy(struct rb_root *root, void (*release)(struct rb_node *node));

/*
 * Validate invariants 1-5 over the whole tree (O(n)); @less may be NULL. Stores the number
 * of nodes in *@nr_nodes when non-NULL. Returns 0, or -EUCLEAN naming the first violation
 * through gfs_err().
 */
int rb_check(const struct rb_root *root, rb_less_fn less, size_t *nr_nodes);

#endif /* GUARDFS_RBTREE_H */
