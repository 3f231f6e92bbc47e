//go:build ignore

/*
 * filter.c: sipfront's XDP flood filter.
 *
 * One program, attached to the listening interfaces. For UDP datagrams and
 * TCP SYNs addressed to a configured SIP port it applies, in this order:
 *
 *   1. allow list (LPM trie)         -> pass, REASON_ALLOWED, no other rule
 *   2. operator ban list (LPM trie)  -> drop, REASON_DROPPED_OPERATOR_BAN
 *   3. automatic ban (LRU hash)      -> drop, REASON_DROPPED_BANNED
 *      (looked up first, which is the same thing as long as no automatic
 *      ban covers a listed source; see check_source)
 *   4. rate limit (LRU hash)         -> the packet past the limit is dropped
 *                                       as REASON_DROPPED_RATE and bans the
 *                                       source for ban_ns
 *   5. (UDP only) SIP start line     -> drop, REASON_DROPPED_NOT_SIP
 *   6. (UDP only) User-Agent prefix  -> drop, REASON_DROPPED_USER_AGENT
 *   otherwise                        -> pass, REASON_PASSED
 *
 * Everything else (other ports, other protocols, fragments, TCP segments
 * other than a SYN, packets too short or odd to parse) passes untouched and
 * is counted as REASON_IGNORED. policy.go and userspace.go implement the same
 * rules byte for byte, and filter_test.go runs one fixture table through
 * both: a change here must be made there too.
 *
 * Verifier notes. Every packet read follows a comparison with data_end, and
 * every loop has a constant bound. The payload rules live in global
 * functions (sip_payload, ua_check, ua_header, ua_prefix): the verifier
 * checks a global function once, knowing only its arguments' types, instead
 * of once for every header layout and every path that reaches it: about
 * 150,000 instructions checked instead of more than the limit of a million
 * (TestLoadVerifierBudget watches the number). The header scan runs under
 * bpf_loop for the same reason. Hence the kernel floor: 5.17 (bpf_loop); the
 * loader needs 5.9 (XDP links). Word loads from the packet may be unaligned,
 * which the verifier accepts on architectures with efficient unaligned access
 * (x86-64, arm64, ppc64, s390x).
 */

#include "sipfront_bpf.h"

#define PORT_BITMAP_BYTES 8192 /* one bit per port */
#define UA_MAX 8               /* User-Agent prefixes */
#define UA_LEN 32              /* bytes per prefix */
#define SCAN_LIMIT 1024        /* LFs searched for the User-Agent line, from the start line on */
#define BLOCK 8                /* bytes per bpf_loop step of that search: one word */
#define CRLF_MAX 8             /* leading CR/LF bytes skipped before the start line */
#define METHOD_MAX 32          /* longest method token */
#define SEP_MAX 16             /* bytes of "  :  " between User-Agent and its value */
#define VLAN_MAX 2             /* 802.1Q / 802.1ad tags */
#define EXT_MAX 4              /* IPv6 extension headers walked */
#define PAYLOAD_OFF_MAX 0x3fff /* payload offsets beyond this pass (only deep IPv6 extension chains) */

/* Full key length of an LPM lookup: 32 bits of family, 128 of address. */
#define LPM_FULL_BITS 160

/* The last part of an automatic ban that is checked against the exact clock
 * rather than the coarse one (see check_source): 100 ms, ten ticks at the
 * slowest tick rate (HZ=100). */
#define COARSE_SLACK_NS 100000000ULL

/* RFC 3261 token characters, as bitmaps of the bytes 0-63 and 64-127. */
#define TOKEN_LO 0x03ff6ca200000000ULL
#define TOKEN_HI 0x47ffffff87fffffeULL

/* "user-age" as it lies in memory, and the mask that lower-cases its letters
 * (not the '-'), for an 8-byte compare. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define UA_WORD 0x6567612d72657375ULL
#define UA_CASE 0x2020200020202020ULL
#else
#define UA_WORD 0x757365722d616765ULL
#define UA_CASE 0x2020202000202020ULL
#endif

/* A global function: not inlined, verified on its own. */
#define __global __attribute__((noinline))

/* Makes clang compute x here, in a register. Without it clang may sink a
 * pointer computation past a helper call and redo it from a spilled copy of
 * the offset, which does not carry the bound just checked. */
#define barrier_var(x) asm volatile("" : "+r"(x))

enum reason {
	REASON_PASSED = 0,
	REASON_ALLOWED = 1,
	REASON_IGNORED = 2,
	/* Every reason from here on drops the packet. */
	REASON_DROPPED_OPERATOR_BAN = 3,
	REASON_DROPPED_BANNED = 4,
	REASON_DROPPED_RATE = 5,
	REASON_DROPPED_NOT_SIP = 6,
	REASON_DROPPED_USER_AGENT = 7,
	REASON_MAX = 8,
};

/* A source address: family 4 (addr[0..3], the rest zero) or 6. IPv4-mapped
 * IPv6 sources are stored as family 4 so that a dual-stack socket in user
 * space and this program name a source the same way. */
struct src_key {
	__u32 family;
	__u8 addr[16];
};

/* LPM key: prefixlen counts the 32 family bits plus the prefix bits, so an
 * IPv6 ::/0 entry never matches an IPv4 source. */
struct lpm_key {
	__u32 prefixlen;
	struct src_key src;
};

struct rate_state {
	__u64 window_start; /* ns, the program's clock */
	__u32 count;        /* packets seen in the window */
	__u32 _pad;
};

/* Written by the loader as one value; read once per packet. */
struct filter_config {
	__u64 window_ns;       /* rate window */
	__u64 ban_ns;          /* automatic ban length */
	__u64 clock_offset_ns; /* added to the clock; 0 except in tests */
	__u32 rate_packets;    /* packets allowed per window; 0 disables rate limiting */
	__u32 ua_count;        /* prefixes in ua[] */
	__u8 ua_len[UA_MAX];
	__u8 ua[UA_MAX][UA_LEN]; /* lower-case */
	__u8 ports[PORT_BITMAP_BYTES];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct filter_config);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, REASON_MAX);
	__type(key, __u32); /* enum reason */
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_key);
	__type(value, __u8);
} allow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_key);
	__type(value, __u8);
} operator_bans SEC(".maps");

/* Per-source rate state and automatic bans are separate LRU maps so that a
 * flood of new (spoofed) sources evicts rate state, not the bans already
 * made. The loader sets max_entries from Config.MaxSources. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct src_key);
	__type(value, struct rate_state);
} rates SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct src_key);
	__type(value, __u64); /* ban expiry, ns */
} autobans SEC(".maps");

static __always_inline int verdict(__u32 r)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &r);

	if (c)
		*c += 1;
	return r >= REASON_DROPPED_OPERATOR_BAN ? XDP_DROP : XDP_PASS;
}

static __always_inline const struct filter_config *get_config(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&config, &zero);
}

static __always_inline int port_listed(const struct filter_config *cfg, __u16 port)
{
	return cfg->ports[port >> 3] & (1 << (port & 7));
}

static __always_inline int is_token(__u8 c)
{
	if (c < 64)
		return (TOKEN_LO >> c) & 1;
	if (c < 128)
		return (TOKEN_HI >> (c - 64)) & 1;
	return 0;
}

static __always_inline int is_alpha(__u8 c)
{
	c |= 0x20;
	return c >= 'a' && c <= 'z';
}

static __always_inline __u8 lower(__u8 c)
{
	return (c >= 'A' && c <= 'Z') ? c | 0x20 : c;
}

/* check_source applies the per-source rules (1-4 above), shared by UDP
 * datagrams and TCP SYNs. REASON_PASSED means "go on".
 *
 * The automatic ban is looked up first, although it comes third in the
 * policy: under a flood nearly every packet comes from a banned source, and
 * this way such a packet costs one hash lookup and a cheap clock read instead
 * of two trie lookups, the hash lookup and a clock read. That is the same
 * policy only because of an invariant: no automatic ban is in force for a
 * source on the allow list or the operator ban list. The loader keeps it when
 * a list grows (it lifts the automatic bans the new prefixes cover, see
 * liftCovered in loader.go), and this program never makes such a ban (the
 * lists are checked before the rate limit, and again after a ban is made, for
 * a list edit that raced this packet).
 *
 * The ban's expiry is compared with the coarse clock (the time of the last
 * tick, a few ns to read) while more than COARSE_SLACK_NS of the ban remain,
 * and with the exact clock (bpf_ktime_get_ns, tens of ns in a VM) only in
 * its last COARSE_SLACK_NS. Both clocks are CLOCK_MONOTONIC and the coarse
 * one lags by at most a tick or two (the timekeeping is brought up to date
 * on every interrupt to an idle CPU), so the verdict is the one the exact
 * clock gives. */
static __always_inline __u32 check_source(const struct filter_config *cfg, struct lpm_key *key)
{
	struct src_key *src = &key->src;
	struct rate_state *st;
	__u64 now, expiry, *until;

	until = bpf_map_lookup_elem(&autobans, src);
	if (until) {
		expiry = *until;
		if (expiry > bpf_ktime_get_coarse_ns() + cfg->clock_offset_ns + COARSE_SLACK_NS)
			return REASON_DROPPED_BANNED;
		if (expiry > bpf_ktime_get_ns() + cfg->clock_offset_ns)
			return REASON_DROPPED_BANNED;
		bpf_map_delete_elem(&autobans, src);
	}
	if (bpf_map_lookup_elem(&allow, key))
		return REASON_ALLOWED;
	if (bpf_map_lookup_elem(&operator_bans, key))
		return REASON_DROPPED_OPERATOR_BAN;
	if (cfg->rate_packets == 0)
		return REASON_PASSED;

	now = bpf_ktime_get_ns() + cfg->clock_offset_ns;
	st = bpf_map_lookup_elem(&rates, src);
	if (!st) {
		struct rate_state fresh = {.window_start = now, .count = 1};

		/* NOEXIST: if another CPU inserted first, its entry wins and
		 * this packet goes uncounted; harmless. */
		bpf_map_update_elem(&rates, src, &fresh, BPF_NOEXIST);
		return REASON_PASSED;
	}
	if (now - st->window_start >= cfg->window_ns) {
		/* Racy reset, benign: a concurrent CPU may lose a count. */
		st->window_start = now;
		st->count = 1;
		return REASON_PASSED;
	}
	__sync_fetch_and_add(&st->count, 1);
	if (st->count <= cfg->rate_packets)
		return REASON_PASSED;

	/* Past the limit: ban, and forget the rate state so the source
	 * starts afresh when the ban ends. */
	expiry = now + cfg->ban_ns;
	bpf_map_update_elem(&autobans, src, &expiry, BPF_ANY);
	/* A fetching atomic is a full barrier: the ban is visible before the
	 * lists are read again below. The loader writes a list, then reads
	 * autobans; the program writes autobans, then reads the lists: one of
	 * the two sees the other, so a ban made while its source was being
	 * allow-listed (or operator-banned) is lifted by one side or the
	 * other and the invariant above holds. */
	if (__sync_fetch_and_add(&st->count, 0) != 0 &&
	    (bpf_map_lookup_elem(&allow, key) || bpf_map_lookup_elem(&operator_bans, key)))
		bpf_map_delete_elem(&autobans, src);
	bpf_map_delete_elem(&rates, src);
	return REASON_DROPPED_RATE;
}

/* ua_prefix reports whether the User-Agent value at payload offset v matches
 * a configured prefix, case-insensitively for ASCII letters. The payload is
 * n bytes at packet offset poff. */
__global int ua_prefix(struct xdp_md *ctx, __u32 poff, __u32 n, __u32 v)
{
	const __u8 *q = (const __u8 *)(long)ctx->data;
	const void *end = (const void *)(long)ctx->data_end;
	const struct filter_config *cfg;
	__u32 u, j;

	if (poff > PAYLOAD_OFF_MAX || v >= 2 * SCAN_LIMIT || n > 0xffff)
		return 0;
	barrier_var(poff);
	barrier_var(v);
	q += poff;
	q += v;
	barrier_var(q);
	cfg = get_config();
	if (!cfg)
		return 0;
	for (u = 0; u < UA_MAX; u++) {
		__u32 len;

		if (u >= cfg->ua_count)
			break;
		len = cfg->ua_len[u];
		if (len == 0 || len > UA_LEN || v + len > n)
			continue;
		for (j = 0; j < UA_LEN; j++) {
			if (j >= len)
				break;
			if ((const void *)(q + j + 1) > end)
				break;
			if (lower(q[j]) != cfg->ua[u][j])
				break;
		}
		if (j >= len)
			return 1;
	}
	return 0;
}

/* ua_header parses the header line at payload offset h, which begins with
 * "user-age" (any case): the rest of the name, then a separator of at most
 * SEP_MAX bytes made of spaces, tabs and one colon; the value starts at the
 * first byte after it. Returns REASON_DROPPED_USER_AGENT when the value
 * matches a prefix, else REASON_PASSED (also when the line is not a
 * well-formed User-Agent header). One loop with a one-bit state rather than
 * a whitespace loop on each side of the colon keeps the verifier's paths to
 * two per byte. */
__global int ua_header(struct xdp_md *ctx, __u32 poff, __u32 n, __u32 h)
{
	const __u8 *b = (const __u8 *)(long)ctx->data;
	const void *end = (const void *)(long)ctx->data_end;
	const __u8 *l;
	__u32 q, w, colon = 0;

	if (poff > PAYLOAD_OFF_MAX || h >= 2 * SCAN_LIMIT || n > 0xffff)
		return REASON_PASSED;
	b += poff;
	l = b + h;
	if (h + 10 > n || (const void *)(l + 10) > end)
		return REASON_PASSED;
	if (lower(l[8]) != 'n' || lower(l[9]) != 't')
		return REASON_PASSED;
	q = h + 10;
	for (w = 0; w <= SEP_MAX; w++, q++) {
		__u8 c;

		if (q >= n || (const void *)(b + q + 1) > end)
			return REASON_PASSED;
		c = b[q];
		if (c == ' ' || c == '\t')
			continue;
		if (c == ':' && !colon) {
			colon = 1;
			continue;
		}
		if (!colon)
			return REASON_PASSED;
		return ua_prefix(ctx, poff, n, q) ? REASON_DROPPED_USER_AGENT : REASON_PASSED;
	}
	return REASON_PASSED;
}

/* ua_scan is the state of the header scan that bpf_loop hands to ua_block. */
struct ua_scan {
	const __u8 *b;   /* payload */
	const void *end; /* data_end */
	__u32 start;     /* the scan covers LFs at payload[start : start+SCAN_LIMIT] */
	__u32 n;         /* payload length */
	__u32 h;         /* result: offset of the candidate line, 0 for none */
	__u32 _pad;
};

/* ua_block looks at the BLOCK (8) payload bytes at start + BLOCK*idx. For
 * each LF it looks at the line after it: an empty line (end of the headers)
 * or one with no room for "User-Agent" ends the scan without a candidate; a
 * line that begins with "user-age" (any case) ends it with that line.
 * Returns 1 to stop bpf_loop. A word without LF costs one load and a few ALU
 * operations. One word per call: with two or more, the verifier tracks every
 * combination of where LFs may fall in the block and runs past its limit. */
static long ua_block(__u64 idx, void *arg)
{
	struct ua_scan *st = arg;
	const __u8 *b = st->b, *p, *l;
	const void *end = st->end;
	__u32 n = st->n, k, o, h;
	__u64 x;

	if (idx >= SCAN_LIMIT / BLOCK || st->start > CRLF_MAX || n > 0xffff)
		return 1;
	k = st->start + (__u32)idx * BLOCK;
	p = b + k;
	if (k + 8 <= n && (const void *)(p + 8) <= end) {
		/* A zero byte in x <=> an LF in the word (exact for "any"). */
		x = *(const __u64 *)p ^ 0x0a0a0a0a0a0a0a0aULL;
		if (((x - 0x0101010101010101ULL) & ~x & 0x8080808080808080ULL) == 0)
			return 0;
	}
	for (o = 0; o < BLOCK; o++) {
		if (k + o >= n || (const void *)(p + o + 1) > end)
			return 1;
		if (p[o] != '\n')
			continue;
		h = k + o + 1;
		l = p + o + 1;
		if (h + 10 > n || (const void *)(l + 10) > end)
			return 1;
		if (l[0] == '\r' || l[0] == '\n')
			return 1;
		if ((*(const __u64 *)l | UA_CASE) == UA_WORD) {
			st->h = h;
			return 1;
		}
	}
	return 0;
}

/* ua_check finds the User-Agent line (ua_block) of the message whose start
 * line begins at payload offset i, and checks it (ua_header). */
__global int ua_check(struct xdp_md *ctx, __u32 poff, __u32 n, __u32 i)
{
	const __u8 *data = (const __u8 *)(long)ctx->data;
	struct ua_scan st = {
		.end = (const void *)(long)ctx->data_end,
		.start = i,
		.n = n,
	};

	if (poff > PAYLOAD_OFF_MAX || i > CRLF_MAX || n > 0xffff)
		return REASON_PASSED;
	st.b = data + poff;
	bpf_loop(SCAN_LIMIT / BLOCK, ua_block, &st, 0);
	if (st.h == 0)
		return REASON_PASSED;
	return ua_header(ctx, poff, n, st.h);
}

/* sip_payload applies rules 5 and 6 to the UDP payload: n bytes at packet
 * offset poff. */
__global int sip_payload(struct xdp_md *ctx, __u32 poff, __u32 n)
{
	const __u8 *b = (const __u8 *)(long)ctx->data;
	const void *end = (const void *)(long)ctx->data_end;
	const struct filter_config *cfg;
	const __u8 *s;
	__u32 i, j;

	if (poff > PAYLOAD_OFF_MAX || n > 0xffff)
		return REASON_PASSED;
	b += poff;
	barrier_var(b);
	cfg = get_config();
	if (!cfg)
		return REASON_PASSED;

	/* Leading CR/LF: a keep-alive when nothing follows; otherwise
	 * skipped before the start line (RFC 3261 section 7.5). */
	for (i = 0; i < CRLF_MAX; i++) {
		if (i >= n)
			break;
		if ((const void *)(b + i + 1) > end)
			return REASON_DROPPED_NOT_SIP;
		if (b[i] != '\r' && b[i] != '\n')
			break;
	}
	if (i >= n)
		return n ? REASON_PASSED : REASON_DROPPED_NOT_SIP;

	s = b + i;
	if (i + 9 <= n && (const void *)(s + 9) <= end && (s[0] | 0x20) == 's' && (s[1] | 0x20) == 'i' &&
	    (s[2] | 0x20) == 'p' && s[3] == '/' && s[4] == '2' && s[5] == '.' && s[6] == '0' && s[7] == ' ' &&
	    s[8] >= '0' && s[8] <= '9')
		goto sip; /* a status line */

	/* A request line: 1..METHOD_MAX token bytes, SP, a URI scheme. */
	for (j = 0; j < METHOD_MAX; j++) {
		if (i + j >= n)
			return REASON_DROPPED_NOT_SIP;
		if ((const void *)(s + j + 1) > end)
			return REASON_DROPPED_NOT_SIP;
		if (!is_token(s[j]))
			break;
	}
	if (j == 0 || i + j + 2 > n)
		return REASON_DROPPED_NOT_SIP;
	s += j;
	if ((const void *)(s + 2) > end)
		return REASON_DROPPED_NOT_SIP;
	if (s[0] != ' ' || !is_alpha(s[1]))
		return REASON_DROPPED_NOT_SIP;

sip:
	if (cfg->ua_count == 0)
		return REASON_PASSED;
	return ua_check(ctx, poff, n, i);
}

SEC("xdp")
int sipfront_filter(struct xdp_md *ctx)
{
	const __u8 *data = (const __u8 *)(long)ctx->data;
	const void *end = (const void *)(long)ctx->data_end;
	const struct filter_config *cfg;
	struct lpm_key key = {};
	const __u8 *p = data, *l4;
	__u16 proto, port;
	__u8 l4proto;
	__u32 t, r;

	cfg = get_config();
	if (!cfg)
		return XDP_PASS;

	if ((const void *)(p + 14) > end)
		return verdict(REASON_IGNORED);
	proto = *(const __u16 *)(p + 12);
	p += 14;
#pragma unroll
	for (t = 0; t < VLAN_MAX; t++) {
		if (proto != bpf_htons(0x8100) && proto != bpf_htons(0x88a8))
			break;
		if ((const void *)(p + 4) > end)
			return verdict(REASON_IGNORED);
		proto = *(const __u16 *)(p + 2);
		p += 4;
	}

	key.prefixlen = LPM_FULL_BITS;
	if (proto == bpf_htons(0x0800)) {
		__u32 ihl;

		if ((const void *)(p + 20) > end)
			return verdict(REASON_IGNORED);
		if ((p[0] >> 4) != 4)
			return verdict(REASON_IGNORED);
		ihl = (p[0] & 0x0f) * 4;
		if (ihl < 20)
			return verdict(REASON_IGNORED);
		/* More-fragments flag or a fragment offset: pass. */
		if (*(const __u16 *)(p + 6) & bpf_htons(0x3fff))
			return verdict(REASON_IGNORED);
		l4proto = p[9];
		key.src.family = 4;
		__builtin_memcpy(key.src.addr, p + 12, 4);
		l4 = p + ihl;
	} else if (proto == bpf_htons(0x86dd)) {
		if ((const void *)(p + 40) > end)
			return verdict(REASON_IGNORED);
		if ((p[0] >> 4) != 6)
			return verdict(REASON_IGNORED);
		l4proto = p[6];
		if (*(const __u64 *)(p + 8) == 0 && *(const __u16 *)(p + 16) == 0 &&
		    *(const __u16 *)(p + 18) == 0xffff) {
			key.src.family = 4;
			__builtin_memcpy(key.src.addr, p + 20, 4);
		} else {
			key.src.family = 6;
			__builtin_memcpy(key.src.addr, p + 8, 16);
		}
		l4 = p + 40;
		/* Hop-by-hop, routing and destination options headers;
		 * a fragment header (44) or anything else ends the walk. */
#pragma unroll
		for (t = 0; t < EXT_MAX; t++) {
			if (l4proto != 0 && l4proto != 43 && l4proto != 60)
				break;
			if ((const void *)(l4 + 2) > end)
				return verdict(REASON_IGNORED);
			l4proto = l4[0];
			l4 += (l4[1] + 1) * 8;
		}
	} else {
		return verdict(REASON_IGNORED);
	}

	if (l4proto == 17) {
		__u32 ulen, n;

		if ((const void *)(l4 + 8) > end)
			return verdict(REASON_IGNORED);
		port = bpf_ntohs(*(const __u16 *)(l4 + 2));
		if (!port_listed(cfg, port))
			return verdict(REASON_IGNORED);
		/* A UDP length the packet does not hold: the stack
		 * discards it; let it. */
		ulen = bpf_ntohs(*(const __u16 *)(l4 + 4));
		if (ulen < 8)
			return verdict(REASON_IGNORED);
		n = ulen - 8;
		if ((const void *)(l4 + 8 + n) > end)
			return verdict(REASON_IGNORED);
		r = check_source(cfg, &key);
		if (r != REASON_PASSED)
			return verdict(r);
		return verdict(sip_payload(ctx, (__u32)(l4 + 8 - data), n));
	}
	if (l4proto == 6) {
		if ((const void *)(l4 + 20) > end)
			return verdict(REASON_IGNORED);
		port = bpf_ntohs(*(const __u16 *)(l4 + 2));
		if (!port_listed(cfg, port))
			return verdict(REASON_IGNORED);
		/* Only connection attempts: SYN without ACK. */
		if ((l4[13] & 0x12) != 0x02)
			return verdict(REASON_IGNORED);
		return verdict(check_source(cfg, &key));
	}
	return verdict(REASON_IGNORED);
}
