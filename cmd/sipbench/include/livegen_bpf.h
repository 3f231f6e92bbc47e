/* livegen_bpf.h: the few kernel ABI definitions livegen.c needs.
 *
 * Written for sipbench, as bpf/include/sipfront_bpf.h is for the filter, so
 * that `make generate` builds with clang alone (-nostdinc) and the committed
 * objects do not depend on the host's libbpf or kernel headers. Every number
 * below is kernel ABI (include/uapi/linux/bpf.h) and never changes once
 * released.
 */
#ifndef LIVEGEN_BPF_H
#define LIVEGEN_BPF_H

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;

#define SEC(name) __attribute__((section(name), used))

#define __uint(name, val) int(*name)[val]
#define __type(name, val) typeof(val) *name

/* enum bpf_map_type */
#define BPF_MAP_TYPE_ARRAY 2
#define BPF_MAP_TYPE_PERCPU_ARRAY 6

/* enum xdp_action */
#define XDP_ABORTED 0
#define XDP_PASS 2
#define XDP_REDIRECT 4

struct xdp_md {
	__u32 data;
	__u32 data_end;
	__u32 data_meta;
	__u32 ingress_ifindex;
	__u32 rx_queue_index;
	__u32 egress_ifindex;
};

/* Helpers, by their fixed ids in enum bpf_func_id. */
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_redirect)(__u32 ifindex, __u64 flags) = (void *)23;

#endif
