/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The `events` ring buffer: what must reach userspace in time order (exec,
 * exit, timeline points, call marks, executable mappings, return sites to
 * probe). Every record starts with struct mt_rec_hdr (abi.h); a record that
 * finds the ring full is counted in stats.ringbuf_drops.
 */
#ifndef MEMTRACE_RECORDS_BPF_H
#define MEMTRACE_RECORDS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "memtrace/abi.h"
#include "stats.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

/* Reserves a record of `size` bytes on `events` with its header filled in;
 * NULL (counted as a drop) if the ring is full. Submit it with
 * bpf_ringbuf_submit(). */
static __always_inline void *record_reserve(__u32 size, __u32 type, __u32 tgid, __u64 ts_ns)
{
	struct mt_rec_hdr *hdr = bpf_ringbuf_reserve(&events, size, 0);

	if (!hdr) {
		MT_COUNT(ringbuf_drops);
		return NULL;
	}
	hdr->type = type;
	hdr->tgid = tgid;
	hdr->ts_ns = ts_ns;
	return hdr;
}

/* For records nobody waits for (timeline points, call marks, stack copies):
 * waking memtrace for each costs the traced program ~30 us on a VM (an
 * interrupt to this CPU, then one to memtrace's). memtrace reads them at least
 * every MT_DRAIN_MS; it is woken early only once a quarter of the ring waits. */
static __always_inline __u64 lazy_wakeup(void *ring)
{
	return bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA) > bpf_ringbuf_query(ring, BPF_RB_RING_SIZE) / 4 ?
		       BPF_RB_FORCE_WAKEUP :
		       BPF_RB_NO_WAKEUP;
}

#endif /* MEMTRACE_RECORDS_BPF_H */
