/* sipfront_bpf.h: the few kernel ABI definitions filter.c needs.
 *
 * Written for sipfront rather than vendoring libbpf's bpf_helpers.h and the
 * kernel's uapi headers: filter.c uses six helpers, four map types and a
 * handful of constants, and keeping them here lets `make generate` build with
 * clang alone (-nostdinc), independent of the host's libbpf-dev and
 * linux-libc-dev versions, so the committed objects are byte-identical on any
 * machine with the pinned clang. Every number below is kernel ABI
 * (include/uapi/linux/bpf.h) and never changes once released.
 */
#ifndef SIPFRONT_BPF_H
#define SIPFRONT_BPF_H

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;

/* Sections and inlining. */
#define SEC(name) __attribute__((section(name), used))
#define __always_inline inline __attribute__((always_inline))

/* BTF-style map definitions: the loader reads the map's type, sizes and
 * limits from the BTF of these pointer-typed members. */
#define __uint(name, val) int(*name)[val]
#define __type(name, val) typeof(val) *name

/* enum bpf_map_type */
#define BPF_MAP_TYPE_ARRAY 2
#define BPF_MAP_TYPE_PERCPU_ARRAY 6
#define BPF_MAP_TYPE_LRU_HASH 9
#define BPF_MAP_TYPE_LPM_TRIE 11

/* Map update flags and map_flags. */
#define BPF_ANY 0
#define BPF_NOEXIST 1
#define BPF_F_NO_PREALLOC 1 /* required for LPM tries */

/* enum xdp_action */
#define XDP_ABORTED 0
#define XDP_DROP 1
#define XDP_PASS 2

/* The XDP context as the program sees it (struct xdp_md). */
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
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, __u64 flags) = (void *)2;
static long (*bpf_map_delete_elem)(void *map, const void *key) = (void *)3;
static __u64 (*bpf_ktime_get_ns)(void) = (void *)5;
static __u64 (*bpf_ktime_get_coarse_ns)(void) = (void *)160; /* 5.11 */
static long (*bpf_loop)(__u32 nr_loops, void *callback_fn, void *callback_ctx, __u64 flags) = (void *)181;

/* Network byte order. The bpfel and bpfeb targets define the usual macros. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define bpf_htons(x) ((__u16)__builtin_bswap16(x))
#else
#define bpf_htons(x) ((__u16)(x))
#endif
#define bpf_ntohs(x) bpf_htons(x)

#endif
