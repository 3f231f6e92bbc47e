//go:build ignore

/*
 * livegen.c: the frame generator of `sipbench flood -inject xdp-live`.
 *
 * sipbench runs this program with BPF_PROG_TEST_RUN and the flag
 * BPF_F_TEST_XDP_LIVE_FRAMES (Linux 5.18+): the kernel builds each frame from
 * a template (Ethernet, IPv4, UDP with checksum 0, a flood payload) in a page
 * of its own, runs the program on it, and carries out the verdict for real.
 * The program gives every frame the next source address of a range, fixes
 * the IPv4 header checksum incrementally, and redirects the frame out of a
 * veth; the veth's ndo_xdp_xmit hands it to its peer as an xdp_frame, as a
 * NIC driver hands a received frame to XDP: no socket buffer is built for it
 * and nothing is copied before the peer's XDP program (sipfront's filter)
 * runs on it. A frame that program passes (or, with no program there, every
 * frame) becomes a socket buffer only then, on the peer.
 *
 * The frame's page may keep what the program wrote from one run to the next,
 * so the checksum update reads the source address the frame holds now rather
 * than assuming the template's.
 */

#include "livegen_bpf.h"

struct live_config {
	__u32 ifindex;  /* veth to send out of */
	__u32 src_base; /* first source address, host byte order */
	__u32 sources;  /* addresses in the range; 0 leaves the template's */
	__u8 mac[6];    /* the veth's address: the templates' source MAC */
	__u8 _pad[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct live_config);
} live_config SEC(".maps");

/* Frames generated so far on each CPU: the index of the next source. A
 * test run stays on one CPU, and sipbench runs one generator thread per CPU,
 * so a plain increment of this CPU's count is enough. Each thread cycles over
 * the whole range. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} live_count SEC(".maps");

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define be16(x) ((__u16)__builtin_bswap16((__u16)(x)))
#else
#define be16(x) ((__u16)(x))
#endif

/* fold adds the carries of a one's complement sum back in. */
static inline __u32 fold(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	return (s & 0xffff) + (s >> 16);
}

SEC("xdp")
int sipbench_livegen(struct xdp_md *ctx)
{
	__u8 *data = (__u8 *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct live_config *cfg;
	__u16 *ip, old0, old1, new0, new1;
	__u64 *cnt, i;
	__u32 zero = 0, src, sum;

	cfg = bpf_map_lookup_elem(&live_config, &zero);
	cnt = bpf_map_lookup_elem(&live_count, &zero);
	if (!cfg || !cnt)
		return XDP_ABORTED;
	/* Only sipbench's templates (Ethernet from the veth's address, IPv4
	 * without options): the program is also attached, in generic mode, to
	 * the namespace's loopback (see live.go), whose frames it passes
	 * untouched. */
	if ((void *)(data + 14 + 20) > end)
		return XDP_PASS;
	if (*(__u32 *)(data + 6) != *(__u32 *)cfg->mac || *(__u16 *)(data + 10) != *(__u16 *)(cfg->mac + 4))
		return XDP_PASS;
	if (cfg->sources) {
		ip = (__u16 *)(data + 14);
		i = *cnt;
		*cnt = i + 1;
		src = cfg->src_base + (__u32)(i % cfg->sources);
		/* The address in network byte order, as two 16-bit words in
		 * memory order; the checksum is a sum of such words, so the
		 * update is the same on either host byte order. */
		new0 = be16(src >> 16);
		new1 = be16(src);
		old0 = ip[6];
		old1 = ip[7];
		/* RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m'). */
		sum = (__u16)~ip[5];
		sum += (__u16)~old0;
		sum += (__u16)~old1;
		sum += new0;
		sum += new1;
		ip[5] = (__u16)~fold(sum);
		ip[6] = new0;
		ip[7] = new1;
	}
	return bpf_redirect(cfg->ifindex, 0);
}
