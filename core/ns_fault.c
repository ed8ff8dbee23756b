// SPDX-License-Identifier: MIT
/*
 * ns_fault.c - the file backend's fault hooks: matching commands against registered faults and
 * the seeded choices (random block, target LBA, torn prefix, bit) they make.
 *
 * Every decision is taken under faults->lock from one splitmix64 stream, in the order commands
 * are queued (and, for read bit flips, completed), so a seed replays the same faults for the
 * same I/O sequence. With no fault registered, ns_fault_plan_cmd() is one relaxed atomic load.
 *
 * Lock order: faults->lock is a leaf lock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/ns_fault.h"
#include "core/ns_internal.h"

struct ns_fault_slot {
	struct ns_fault spec;
	uint64_t matched; /* commands that matched the op and LBA filter */
	uint64_t fired;
};

struct ns_faults {
	pthread_mutex_t lock; /* leaf lock: everything below */
	atomic_uint count;    /* registered faults; read without the lock on the fast path */
	uint64_t seed;
	struct ns_fault_slot slots[NS_FAULT_MAX];
	struct ns_fault_event last;
	bool has_last;
};

static uint64_t fault_next_random(struct ns_faults *faults)
{
	uint64_t z = (faults->seed += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static unsigned fault_default_ops(enum ns_fault_kind kind)
{
	switch (kind) {
	case NS_FAULT_BIT_FLIP:
		return NS_FAULT_OP(NS_OP_READ) | NS_FAULT_OP(NS_OP_WRITE);
	case NS_FAULT_IO_ERROR:
		return ~0u;
	default:
		return NS_FAULT_OP(NS_OP_WRITE);
	}
}

int ns_faults_create(struct ns *ns)
{
	struct ns_faults *faults = calloc(1, sizeof(*faults));

	if (!faults)
		return -ENOMEM;
	pthread_mutex_init(&faults->lock, NULL);
	atomic_init(&faults->count, 0);
	ns->faults = faults;
	return 0;
}

void ns_faults_destroy(struct ns *ns)
{
	if (!ns->faults)
		return;
	pthread_mutex_destroy(&ns->faults->lock);
	free(ns->faults);
	ns->faults = NULL;
}

static int fault_check_spec(const struct ns *ns, const struct ns_fault *f)
{
	unsigned allowed = fault_default_ops(f->kind);

	if ((unsigned)f->kind > NS_FAULT_IO_ERROR || (f->ops & ~allowed))
		return -EINVAL;
	if (f->lba_last < f->lba_first)
		return -EINVAL;
	if (f->kind == NS_FAULT_BIT_FLIP) {
		if ((unsigned)f->field > PI_FIELD_REF || f->block < -1)
			return -EINVAL;
		if (f->field != PI_FIELD_DATA && ns->fmt.pi.type == PI_TYPE_NONE)
			return -EINVAL;
	}
	if (f->kind == NS_FAULT_MISDIRECT &&
	    (f->target_lba < -1 || (f->target_lba >= 0 && (uint64_t)f->target_lba >= ns->fmt.nlb)))
		return -EINVAL;
	if (f->kind == NS_FAULT_TORN && f->torn_blocks < -1)
		return -EINVAL;
	return 0;
}

int ns_fault_add(struct ns *ns, const struct ns_fault *fault)
{
	struct ns_faults *faults = ns->faults;
	unsigned id;
	int ret;

	if (!faults)
		return -EOPNOTSUPP;
	ret = fault_check_spec(ns, fault);
	if (ret) {
		gfs_err("%s: fault hook refused: bad kind, op mask or parameter", ns->path);
		return ret;
	}
	pthread_mutex_lock(&faults->lock);
	id = atomic_load(&faults->count);
	if (id == NS_FAULT_MAX) {
		pthread_mutex_unlock(&faults->lock);
		return -ENOSPC;
	}
	memset(&faults->slots[id], 0, sizeof(faults->slots[id]));
	faults->slots[id].spec = *fault;
	if (!faults->slots[id].spec.ops)
		faults->slots[id].spec.ops = fault_default_ops(fault->kind);
	atomic_store(&faults->count, id + 1);
	pthread_mutex_unlock(&faults->lock);
	return (int)id;
}

void ns_fault_clear(struct ns *ns)
{
	if (!ns->faults)
		return;
	pthread_mutex_lock(&ns->faults->lock);
	atomic_store(&ns->faults->count, 0);
	ns->faults->has_last = false;
	pthread_mutex_unlock(&ns->faults->lock);
}

void ns_fault_set_seed(struct ns *ns, uint64_t seed)
{
	if (!ns->faults)
		return;
	pthread_mutex_lock(&ns->faults->lock);
	ns->faults->seed = seed;
	pthread_mutex_unlock(&ns->faults->lock);
}

uint64_t ns_fault_fired(const struct ns *ns, int id)
{
	struct ns_faults *faults = ns->faults;
	uint64_t fired = 0;

	if (!faults || id < 0 || id >= NS_FAULT_MAX)
		return 0;
	pthread_mutex_lock(&faults->lock);
	if ((unsigned)id < atomic_load(&faults->count))
		fired = faults->slots[id].fired;
	pthread_mutex_unlock(&faults->lock);
	return fired;
}

int ns_fault_last_event(const struct ns *ns, struct ns_fault_event *out)
{
	struct ns_faults *faults = ns->faults;
	int ret = -ENOENT;

	if (!faults)
		return -EOPNOTSUPP;
	pthread_mutex_lock(&faults->lock);
	if (faults->has_last) {
		*out = faults->last;
		ret = 0;
	}
	pthread_mutex_unlock(&faults->lock);
	return ret;
}

static bool fault_matches(struct ns_fault_slot *slot, enum ns_op op, const struct ns_cmd *cmd)
{
	const struct ns_fault *f = &slot->spec;
	uint64_t nth = f->nth ? f->nth : 1;
	uint64_t last = cmd->slba + (cmd->nlb ? cmd->nlb - 1 : 0);

	if (!(f->ops & NS_FAULT_OP(op)))
		return false;
	if ((f->lba_first || f->lba_last) && op != NS_OP_FLUSH &&
	    (last < f->lba_first || cmd->slba > f->lba_last))
		return false;
	slot->matched++;
	if (f->every ? slot->matched % nth != 0 : slot->matched != nth)
		return false;
	slot->fired++;
	return true;
}

static void fault_record(struct ns_faults *faults, int id, enum ns_op op, const struct ns_cmd *cmd,
			 uint64_t lba, uint32_t blocks_written)
{
	faults->last = (struct ns_fault_event){
		.id = id,
		.kind = faults->slots[id].spec.kind,
		.op = op,
		.slba = cmd->slba,
		.nlb = cmd->nlb,
		.lba = lba,
		.blocks_written = blocks_written,
	};
	faults->has_last = true;
}

/* A seeded LBA other than slba where nlb blocks still fit. */
static uint64_t fault_pick_target(struct ns_faults *faults, const struct ns *ns,
				  const struct ns_cmd *cmd)
{
	uint64_t span = ns->fmt.nlb - cmd->nlb + 1;
	uint64_t target;

	if (span <= 1)
		return cmd->slba;
	target = fault_next_random(faults) % (span - 1);
	return target >= cmd->slba ? target + 1 : target;
}

static void fault_plan_one(struct ns_faults *faults, struct ns *ns, int id, enum ns_op op,
			   const struct ns_cmd *cmd, struct ns_fault_plan *plan)
{
	const struct ns_fault *f = &faults->slots[id].spec;

	switch (f->kind) {
	case NS_FAULT_IO_ERROR:
		plan->io_error = true;
		fault_record(faults, id, op, cmd, cmd->slba, 0);
		break;
	case NS_FAULT_LOST:
		plan->lost = true;
		fault_record(faults, id, op, cmd, cmd->slba, 0);
		break;
	case NS_FAULT_MISDIRECT:
		plan->misdirect = true;
		plan->target_lba = f->target_lba >= 0 ? (uint64_t)f->target_lba
						      : fault_pick_target(faults, ns, cmd);
		if (plan->target_lba + cmd->nlb > ns->fmt.nlb)
			plan->target_lba = ns->fmt.nlb - cmd->nlb;
		fault_record(faults, id, op, cmd, plan->target_lba, cmd->nlb);
		break;
	case NS_FAULT_TORN:
		plan->torn = true;
		plan->torn_blocks = f->torn_blocks >= 0
					    ? (uint32_t)f->torn_blocks
					    : (uint32_t)(fault_next_random(faults) % cmd->nlb);
		if (plan->torn_blocks > cmd->nlb)
			plan->torn_blocks = cmd->nlb;
		fault_record(faults, id, op, cmd, cmd->slba, plan->torn_blocks);
		break;
	case NS_FAULT_BIT_FLIP:
		/* The event is recorded when the flip is applied and its bit is known. */
		plan->flip = true;
		plan->flip_id = id;
		plan->flip_field = f->field;
		plan->flip_block = f->block >= 0 && f->block < cmd->nlb ? f->block : -1;
		break;
	}
}

bool ns_fault_plan_cmd(struct ns *ns, enum ns_op op, const struct ns_cmd *cmd,
		       struct ns_fault_plan *plan)
{
	struct ns_faults *faults = ns->faults;
	bool any = false;
	unsigned count;

	memset(plan, 0, sizeof(*plan));
	if (!faults || !atomic_load_explicit(&faults->count, memory_order_relaxed))
		return false;
	pthread_mutex_lock(&faults->lock);
	count = atomic_load(&faults->count);
	for (unsigned id = 0; id < count; id++) {
		if (!fault_matches(&faults->slots[id], op, cmd))
			continue;
		fault_plan_one(faults, ns, (int)id, op, cmd, plan);
		any = true;
	}
	pthread_mutex_unlock(&faults->lock);
	return any;
}

void ns_fault_flip(struct ns *ns, const struct ns_fault_plan *plan, enum ns_op op, uint64_t slba,
		   const struct iovec *iov, int iovcnt, void *md, uint32_t nlb)
{
	struct ns_faults *faults = ns->faults;
	struct pi_injection inj;
	struct ns_cmd cmd = {.slba = slba, .nlb = nlb};

	if (!plan->flip || !nlb)
		return;
	pthread_mutex_lock(&faults->lock);
	if (pi_inject_error(&ns->pi, iov, iovcnt, md, nlb, plan->flip_field, plan->flip_block,
			    &faults->seed, &inj) == 0) {
		fault_record(faults, plan->flip_id, op, &cmd, slba + inj.block, 0);
		faults->last.field = inj.field;
		faults->last.bit = inj.bit;
	}
	pthread_mutex_unlock(&faults->lock);
}
