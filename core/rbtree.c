/* SPDX-License-Identifier: MIT */
/*
 * rbtree.c - red-black tree rebalancing (insert and erase fix-ups), traversal, validation.
 *
 * The algorithms are the textbook ones (Cormen et al., "Introduction to Algorithms", ch. 13)
 * written for NULL leaves and parent pointers, with the node layout of Linux's lib/rbtree.c:
 * the colour lives in bit 0 of the parent pointer (0 = red, 1 = black), so a freshly linked
 * node (rb_link_node stores the bare parent pointer) is red. A NULL child counts as black.
 *
 * Augmentation: before any rebalancing the tree is a valid binary search tree, so the update
 * callback is first run along the path from the lowest changed node to the root; after that
 * the only changes are rotations, and a rotation changes the subtree of exactly two nodes,
 * which are recomputed bottom-up (the one moving down first).
 */
#include "core/rbtree.h"

#include <errno.h>

#include "core/bug.h"
#include "core/log.h"

#define RB_RED	 0
#define RB_BLACK 1

static inline bool rb_is_red(const struct rb_node *node)
{
	return node && !(node->__rb_parent_color & 1);
}

static inline bool rb_is_black(const struct rb_node *node)
{
	return !rb_is_red(node);
}

static inline int rb_color(const struct rb_node *node)
{
	return node->__rb_parent_color & 1;
}

static inline void rb_set_parent(struct rb_node *node, struct rb_node *parent)
{
	node->__rb_parent_color = (uintptr_t)parent | (node->__rb_parent_color & 1);
}

static inline void rb_set_color(struct rb_node *node, int color)
{
	node->__rb_parent_color = (node->__rb_parent_color & ~(uintptr_t)1) | (uintptr_t)color;
}

static inline void rb_set_parent_color(struct rb_node *node, struct rb_node *parent, int color)
{
	node->__rb_parent_color = (uintptr_t)parent | (uintptr_t)color;
}

/* Make @parent (or the root when @parent is NULL) point at @new instead of @old. */
static void rb_change_child(struct rb_root *root, struct rb_node *parent, struct rb_node *old,
			    struct rb_node *new)
{
	if (!parent)
		root->rb_node = new;
	else if (parent->rb_left == old)
		parent->rb_left = new;
	else
		parent->rb_right = new;
}

static void rb_propagate(struct rb_node *node, rb_update_fn update)
{
	for (; node; node = rb_parent(node))
		update(node);
}

/* @x's right child takes @x's place; @x becomes its left child. Colours are unchanged. */
static void rb_rotate_left(struct rb_root *root, struct rb_node *x, rb_update_fn update)
{
	struct rb_node *y = x->rb_right;
	struct rb_node *parent = rb_parent(x);

	x->rb_right = y->rb_left;
	if (y->rb_left)
		rb_set_parent(y->rb_left, x);
	y->rb_left = x;
	rb_set_parent(y, parent);
	rb_set_parent(x, y);
	rb_change_child(root, parent, x, y);
	if (update) {
		update(x);
		update(y);
	}
}

static void rb_rotate_right(struct rb_root *root, struct rb_node *x, rb_update_fn update)
{
	struct rb_node *y = x->rb_left;
	struct rb_node *parent = rb_parent(x);

	x->rb_left = y->rb_right;
	if (y->rb_right)
		rb_set_parent(y->rb_right, x);
	y->rb_right = x;
	rb_set_parent(y, parent);
	rb_set_parent(x, y);
	rb_change_child(root, parent, x, y);
	if (update) {
		update(x);
		update(y);
	}
}

/*
 * @node is red; the only possible violation is a red parent (invariant 2). Either recolour
 * (red uncle: push the violation two levels up) or rotate once or twice (black uncle: done).
 */
static void rb_insert_fixup(struct rb_node *node, struct rb_root *root, rb_update_fn update)
{
	struct rb_node *parent, *gparent, *uncle;

	while ((parent = rb_parent(node)) && rb_is_red(parent)) {
		gparent = rb_parent(parent); /* a red node is never the root */
		GFS_BUG_ON(!gparent);
		if (parent == gparent->rb_left) {
			uncle = gparent->rb_right;
			if (rb_is_red(uncle)) {
				rb_set_color(parent, RB_BLACK);
				rb_set_color(uncle, RB_BLACK);
				rb_set_color(gparent, RB_RED);
				node = gparent;
				continue;
			}
			if (node == parent->rb_right) {
				rb_rotate_left(root, parent, update);
				node = parent;
				parent = rb_parent(node);
			}
			rb_set_color(parent, RB_BLACK);
			rb_set_color(gparent, RB_RED);
			rb_rotate_right(root, gparent, update);
		} else {
			uncle = gparent->rb_left;
			if (rb_is_red(uncle)) {
				rb_set_color(parent, RB_BLACK);
				rb_set_color(uncle, RB_BLACK);
				rb_set_color(gparent, RB_RED);
				node = gparent;
				continue;
			}
			if (node == parent->rb_left) {
				rb_rotate_right(root, parent, update);
				node = parent;
				parent = rb_parent(node);
			}
			rb_set_color(parent, RB_BLACK);
			rb_set_color(gparent, RB_RED);
			rb_rotate_left(root, gparent, update);
		}
	}
	rb_set_color(root->rb_node, RB_BLACK);
}

void rb_insert_color(struct rb_node *node, struct rb_root *root)
{
	rb_insert_fixup(node, root, NULL);
}

void rb_insert_augmented(struct rb_node *node, struct rb_root *root, rb_update_fn update)
{
	rb_propagate(node, update);
	rb_insert_fixup(node, root, update);
}

/*
 * A black node was removed above @node (which may be NULL, hence the explicit @parent): the
 * paths through @node are one black short. Move the deficit up, or absorb it with the
 * sibling's red nodes through at most three rotations.
 */
static void rb_erase_fixup(struct rb_node *node, struct rb_node *parent, struct rb_root *root,
			   rb_update_fn update)
{
	struct rb_node *sibling;

	while (node != root->rb_node && rb_is_black(node)) {
		if (node == parent->rb_left) {
			sibling = parent->rb_right; /* black height >= 1 here: never NULL */
			if (rb_is_red(sibling)) {
				rb_set_color(sibling, RB_BLACK);
				rb_set_color(parent, RB_RED);
				rb_rotate_left(root, parent, update);
				sibling = parent->rb_right;
			}
			if (rb_is_black(sibling->rb_left) && rb_is_black(sibling->rb_right)) {
				rb_set_color(sibling, RB_RED);
				node = parent;
				parent = rb_parent(node);
				continue;
			}
			if (rb_is_black(sibling->rb_right)) {
				rb_set_color(sibling->rb_left, RB_BLACK);
				rb_set_color(sibling, RB_RED);
				rb_rotate_right(root, sibling, update);
				sibling = parent->rb_right;
			}
			rb_set_color(sibling, rb_color(parent));
			rb_set_color(parent, RB_BLACK);
			rb_set_color(sibling->rb_right, RB_BLACK);
			rb_rotate_left(root, parent, update);
		} else {
			sibling = parent->rb_left;
			if (rb_is_red(sibling)) {
				rb_set_color(sibling, RB_BLACK);
				rb_set_color(parent, RB_RED);
				rb_rotate_right(root, parent, update);
				sibling = parent->rb_left;
			}
			if (rb_is_black(sibling->rb_left) && rb_is_black(sibling->rb_right)) {
				rb_set_color(sibling, RB_RED);
				node = parent;
				parent = rb_parent(node);
				continue;
			}
			if (rb_is_black(sibling->rb_left)) {
				rb_set_color(sibling->rb_right, RB_BLACK);
				rb_set_color(sibling, RB_RED);
				rb_rotate_left(root, sibling, update);
				sibling = parent->rb_left;
			}
			rb_set_color(sibling, rb_color(parent));
			rb_set_color(parent, RB_BLACK);
			rb_set_color(sibling->rb_left, RB_BLACK);
			rb_rotate_right(root, parent, update);
		}
		node = root->rb_node;
		break;
	}
	if (node)
		rb_set_color(node, RB_BLACK);
}

void rb_erase_augmented(struct rb_node *node, struct rb_root *root, rb_update_fn update)
{
	struct rb_node *zparent = rb_parent(node);
	struct rb_node *child, *parent, *succ;
	int removed_color;

	if (!node->rb_left || !node->rb_right) {
		/* At most one child: it takes @node's place. */
		child = node->rb_left ? node->rb_left : node->rb_right;
		parent = zparent;
		removed_color = rb_color(node);
		rb_change_child(root, parent, node, child);
		if (child)
			rb_set_parent(child, parent);
	} else {
		/* Two children: the in-order successor takes @node's place and colour. */
		succ = node->rb_right;
		while (succ->rb_left)
			succ = succ->rb_left;
		removed_color = rb_color(succ);
		child = succ->rb_right;
		if (rb_parent(succ) == node) {
			parent = succ;
		} else {
			parent = rb_parent(succ);
			parent->rb_left = child;
			if (child)
				rb_set_parent(child, parent);
			succ->rb_right = node->rb_right;
			rb_set_parent(node->rb_right, succ);
		}
		succ->rb_left = node->rb_left;
		rb_set_parent(node->rb_left, succ);
		rb_set_parent_color(succ, zparent, rb_color(node));
		rb_change_child(root, zparent, node, succ);
	}
	if (update)
		rb_propagate(parent, update);
	if (removed_color == RB_BLACK)
		rb_erase_fixup(child, parent, root, update);
	node->__rb_parent_color = 0;
	node->rb_left = node->rb_right = NULL;
}

void rb_erase(struct rb_node *node, struct rb_root *root)
{
	rb_erase_augmented(node, root, NULL);
}

void rb_add_augmented(struct rb_node *node, struct rb_root *root, rb_less_fn less,
		      rb_update_fn update)
{
	struct rb_node **link = &root->rb_node;
	struct rb_node *parent = NULL;

	while (*link) {
		parent = *link;
		link = less(node, parent) ? &parent->rb_left : &parent->rb_right;
	}
	rb_link_node(node, parent, link);
	if (update)
		rb_insert_augmented(node, root, update);
	else
		rb_insert_color(node, root);
}

void rb_add(struct rb_node *node, struct rb_root *root, rb_less_fn less)
{
	rb_add_augmented(node, root, less, NULL);
}

void rb_insert_next(struct rb_node *node, struct rb_node *prev, struct rb_root *root,
		    rb_update_fn update)
{
	struct rb_node **link, *parent = NULL;

	if (!prev) {
		/* left of the leftmost node */
		link = &root->rb_node;
		while (*link) {
			parent = *link;
			link = &parent->rb_left;
		}
	} else if (!prev->rb_right) {
		parent = prev;
		link = &prev->rb_right;
	} else {
		/* left of the leftmost node of prev's right subtree */
		parent = prev->rb_right;
		while (parent->rb_left)
			parent = parent->rb_left;
		link = &parent->rb_left;
	}
	rb_link_node(node, parent, link);
	if (update)
		rb_insert_augmented(node, root, update);
	else
		rb_insert_color(node, root);
}

struct rb_node *rb_first(const struct rb_root *root)
{
	struct rb_node *node = root->rb_node;

	while (node && node->rb_left)
		node = node->rb_left;
	return node;
}

struct rb_node *rb_last(const struct rb_root *root)
{
	struct rb_node *node = root->rb_node;

	while (node && node->rb_right)
		node = node->rb_right;
	return node;
}

struct rb_node *rb_next(const struct rb_node *node)
{
	struct rb_node *parent;

	if (node->rb_right) {
		node = node->rb_right;
		while (node->rb_left)
			node = node->rb_left;
		return (struct rb_node *)node;
	}
	/* Climb while we are a right child; the first left-child link's parent is next. */
	while ((parent = rb_parent(node)) && node == parent->rb_right)
		node = parent;
	return parent;
}

struct rb_node *rb_prev(const struct rb_node *node)
{
	struct rb_node *parent;

	if (node->rb_left) {
		node = node->rb_left;
		while (node->rb_right)
			node = node->rb_right;
		return (struct rb_node *)node;
	}
	while ((parent = rb_parent(node)) && node == parent->rb_left)
		node = parent;
	return parent;
}

struct rb_node *rb_find(const void *key, const struct rb_root *root, rb_cmp_fn cmp)
{
	struct rb_node *node = root->rb_node;
	int c;

	while (node) {
		c = cmp(key, node);
		if (c < 0)
			node = node->rb_left;
		else if (c > 0)
			node = node->rb_right;
		else
			return node;
	}
	return NULL;
}

struct rb_node *rb_lower_bound(const void *key, const struct rb_root *root, rb_cmp_fn cmp)
{
	struct rb_node *node = root->rb_node, *match = NULL;

	while (node) {
		if (cmp(key, node) <= 0) {
			match = node;
			node = node->rb_left;
		} else {
			node = node->rb_right;
		}
	}
	return match;
}

struct rb_node *rb_floor(const void *key, const struct rb_root *root, rb_cmp_fn cmp)
{
	struct rb_node *node = root->rb_node, *match = NULL;

	while (node) {
		if (cmp(key, node) >= 0) {
			match = node;
			node = node->rb_right;
		} else {
			node = node->rb_left;
		}
	}
	return match;
}

void rb_destroy(struct rb_root *root, void (*release)(struct rb_node *node))
{
	struct rb_node *node = root->rb_node, *parent;

	/* Post-order: unlink each leaf from its parent before releasing it. */
	while (node) {
		if (node->rb_left) {
			node = node->rb_left;
		} else if (node->rb_right) {
			node = node->rb_right;
		} else {
			parent = rb_parent(node);
			if (parent && parent->rb_left == node)
				parent->rb_left = NULL;
			else if (parent)
				parent->rb_right = NULL;
			release(node);
			node = parent;
		}
	}
	root->rb_node = NULL;
}

/* Returns the black height of @node's subtree, or -1 after logging the first violation. */
static int rb_check_subtree(const struct rb_node *node, const struct rb_node *parent,
			    size_t *nr_nodes)
{
	int left, right;

	if (!node)
		return 1;
	if (rb_parent(node) != parent) {
		gfs_err("rbtree: node %p has parent %p, expected %p", (void *)node,
			(void *)rb_parent(node), (void *)parent);
		return -1;
	}
	if (node->__rb_parent_color & 2) {
		gfs_err("rbtree: node %p has stray flag bits", (void *)node);
		return -1;
	}
	if (rb_is_red(node) && (rb_is_red(node->rb_left) || rb_is_red(node->rb_right))) {
		gfs_err("rbtree: red node %p has a red child", (void *)node);
		return -1;
	}
	(*nr_nodes)++;
	left = rb_check_subtree(node->rb_left, node, nr_nodes);
	if (left < 0)
		return -1;
	right = rb_check_subtree(node->rb_right, node, nr_nodes);
	if (right < 0)
		return -1;
	if (left != right) {
		gfs_err("rbtree: node %p has black heights %d (left) and %d (right)", (void *)node,
			left, right);
		return -1;
	}
	return left + rb_is_black(node);
}

int rb_check(const struct rb_root *root, rb_less_fn less, size_t *nr_nodes)
{
	const struct rb_node *node, *prev = NULL;
	size_t counted = 0, walked = 0;

	if (root->rb_node && rb_is_red(root->rb_node)) {
		gfs_err("rbtree: root %p is red", (void *)root->rb_node);
		return -EUCLEAN;
	}
	if (rb_check_subtree(root->rb_node, NULL, &counted) < 0)
		return -EUCLEAN;
	for (node = rb_first(root); node; prev = node, node = rb_next(node)) {
		walked++;
		if (less && prev && less(node, prev)) {
			gfs_err("rbtree: node %p sorts before its predecessor %p", (void *)node,
				(void *)prev);
			return -EUCLEAN;
		}
	}
	if (walked != counted) {
		gfs_err("rbtree: in-order walk saw %zu nodes, the tree has %zu", walked, counted);
		return -EUCLEAN;
	}
	if (nr_nodes)
		*nr_nodes = counted;
	return 0;
}
