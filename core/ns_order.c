// SPDX-License-Identifier: MIT
/*
 * ns_order.c - commands over the same blocks, one after the other when either writes
 * (ns_order.h says why).
 *
 * The order is a list of the commands entered and not yet completed, in submission order. A
 * command may start when no command ahead of it in the list conflicts with it (overlapping
 * LBAs, at least one of the two writing); waiting commands ahead count too, so that overlapping
 * commands run in the order they were submitted. The list holds at most the commands the
 * namespace has in flight plus those waiting, and the scans are linear in it: a few dozen
 * entries at the queue depths guardfs runs, a handful of comparisons per command.
 */
#include "core/ns_order.h"

#include "core/bug.h"
#include "core/ns_internal.h"

void ns_order_init(struct ns_order *o)
{
	pthread_mutex_init(&o->lock, NULL);
	o->head = o->tail = NULL;
}

void ns_order_destroy(struct ns_order *o)
{
	GFS_BUG_ON(o->head != NULL);
	pthread_mutex_destroy(&o->lock);
}

static bool order_conflict(const struct ns_order_link *a, const struct ns_order_link *b)
{
	return (a->writes || b->writes) && a->start < b->end && b->start < a->end;
}

/* Under the lock: whether a command ahead of cmd in the order conflicts with it. */
static bool order_blocked(const struct ns_order *o, const struct ns_cmd *cmd)
{
	for (const struct ns_cmd *c = o->head; c != cmd; c = c->order.next)
		if (order_conflict(&c->order, &cmd->order))
			return true;
	return false;
}

bool ns_order_enter(struct ns_order *o, struct ns_cmd *cmd, uint64_t start, uint64_t end,
		    bool writes)
{
	struct ns_order_link *l = &cmd->order;

	GFS_BUG_ON(l->linked || start >= end);
	*l = (struct ns_order_link){.prev = NULL,
				    .next = NULL,
				    .ready = NULL,
				    .start = start,
				    .end = end,
				    .writes = writes,
				    .linked = true,
				    .waiting = false,
				    .held = true};
	pthread_mutex_lock(&o->lock);
	l->prev = o->tail;
	if (o->tail)
		o->tail->order.next = cmd;
	else
		o->head = cmd;
	o->tail = cmd;
	l->waiting = order_blocked(o, cmd);
	pthread_mutex_unlock(&o->lock);
	return !l->waiting;
}

/* Under the lock: chain c to the ready list whose last link is *last; the new last link. */
static struct ns_cmd **order_make_ready(struct ns_cmd *c, struct ns_cmd **last)
{
	c->order.waiting = false;
	c->order.ready = NULL;
	*last = c;
	return &c->order.ready;
}

struct ns_cmd *ns_order_release(struct ns_order *o, struct ns_cmd **cmds, unsigned count)
{
	struct ns_cmd *ready = NULL, **last = &ready;

	pthread_mutex_lock(&o->lock);
	for (unsigned i = 0; i < count; i++) {
		struct ns_cmd *c = cmds[i];

		if (!c->order.linked || !c->order.held)
			continue;
		c->order.held = false;
		if (c->order.waiting && !order_blocked(o, c))
			last = order_make_ready(c, last);
	}
	pthread_mutex_unlock(&o->lock);
	return ready;
}

struct ns_cmd *ns_order_exit(struct ns_order *o, struct ns_cmd *cmd)
{
	struct ns_order_link *l = &cmd->order;
	struct ns_cmd *ready = NULL, **last = &ready;

	if (!l->linked)
		return NULL;
	GFS_BUG_ON(l->waiting); /* only a started command completes */
	pthread_mutex_lock(&o->lock);
	if (l->prev)
		l->prev->order.next = l->next;
	else
		o->head = l->next;
	if (l->next)
		l->next->order.prev = l->prev;
	else
		o->tail = l->prev;
	l->linked = false;
	/* Only commands behind cmd can have waited for it. */
	for (struct ns_cmd *c = l->next; c; c = c->order.next)
		if (c->order.waiting && !c->order.held && !order_blocked(o, c))
			last = order_make_ready(c, last);
	pthread_mutex_unlock(&o->lock);
	return ready;
}
