package bpf

import (
	"hash/maphash"
	"net/netip"
	"sync"
)

// sourceTable is the user-space twin of the XDP program's rates and
// autobans maps: per-source rate state and automatic bans in a fixed-size
// open-addressing table.
//
// Memory: capacity slots of 48 bytes (capacity is MaxSources rounded up to a
// power of two), allocated once; 65536 sources take 3 MiB. Nothing is
// allocated per packet.
//
// Layout: the table is split into shards, each a power-of-two array of
// slots behind its own mutex; a source's hash picks the shard and the first
// slot, and it lives within probeLen slots of it (linear probing, no
// wrap-around into other shards). Slots are never emptied, only reused, so a
// search may stop at the first empty slot.
//
// When full: a new source takes, among its probeLen slots, the one whose
// owner is least worth keeping: a source that is not banned and whose window
// started longest ago; only when every slot holds an active ban is the ban
// closest to its end overwritten. Like the kernel's LRU maps, a flood of new
// (spoofed) sources thus forgets old rate state first and bans last. The
// hash is keyed per table (maphash), so a sender cannot aim its addresses at
// one shard or probe run.
type sourceTable struct {
	shards   []tableShard
	shardBit uint   // log2(len(shards))
	mask     uint64 // slots per shard - 1
	probeLen int
	seed     maphash.Seed
}

type tableShard struct {
	mu    sync.Mutex
	slots []srcSlot
	_     [32]byte // keep neighbouring shards' mutexes off one cache line
}

// srcSlot is one source. addr is the zero Addr while the slot is empty.
type srcSlot struct {
	addr        netip.Addr
	windowStart uint64 // ns on the filter's clock
	bannedUntil uint64 // ns; 0 when not banned
	count       uint32 // packets in the window; 0 means "no window" (the XDP entry is absent)
}

const (
	maxShards = 64
	maxProbe  = 16
)

func newSourceTable(maxSources int) *sourceTable {
	capacity := 1
	for capacity < maxSources {
		capacity <<= 1
	}
	shards := maxShards
	for shards > 1 && capacity/shards < maxProbe {
		shards >>= 1
	}
	per := capacity / shards
	t := &sourceTable{
		shards:   make([]tableShard, shards),
		mask:     uint64(per - 1),
		probeLen: min(maxProbe, per),
		seed:     maphash.MakeSeed(),
	}
	for s := shards; s > 1; s >>= 1 {
		t.shardBit++
	}
	for i := range t.shards {
		t.shards[i].slots = make([]srcSlot, per)
	}
	return t
}

func (t *sourceTable) hash(a netip.Addr) uint64 {
	b := a.As16()
	return maphash.Bytes(t.seed, b[:])
}

// check applies rules 3 and 4 (automatic ban, rate limit) to a packet from
// src at time now: check_source in filter.c from the autobans lookup on.
func (t *sourceTable) check(src netip.Addr, h, now uint64, r *rules) Reason {
	sh := &t.shards[h&(1<<t.shardBit-1)]
	sh.mu.Lock()
	s := sh.find(src, h>>t.shardBit, t.mask, t.probeLen)
	if s != nil && s.bannedUntil != 0 {
		if s.bannedUntil > now {
			sh.mu.Unlock()
			return DroppedBanned
		}
		s.bannedUntil = 0
	}
	if r.ratePackets == 0 {
		sh.mu.Unlock()
		return Passed
	}
	if s == nil {
		s = sh.claim(h>>t.shardBit, t.mask, t.probeLen, now)
		*s = srcSlot{addr: src, windowStart: now, count: 1}
		sh.mu.Unlock()
		return Passed
	}
	if s.count == 0 || now-s.windowStart >= r.window {
		s.windowStart, s.count = now, 1
		sh.mu.Unlock()
		return Passed
	}
	s.count++
	if s.count <= r.ratePackets {
		sh.mu.Unlock()
		return Passed
	}
	s.bannedUntil = now + r.ban
	s.count = 0
	sh.mu.Unlock()
	return DroppedRate
}

// find returns src's slot, or nil.
func (sh *tableShard) find(src netip.Addr, h, mask uint64, probe int) *srcSlot {
	for i := 0; i < probe; i++ {
		s := &sh.slots[(h+uint64(i))&mask]
		if s.addr == src {
			return s
		}
		if !s.addr.IsValid() {
			return nil
		}
	}
	return nil
}

// claim returns the slot a new source takes (see sourceTable).
func (sh *tableShard) claim(h, mask uint64, probe int, now uint64) *srcSlot {
	var victim *srcSlot
	for i := 0; i < probe; i++ {
		s := &sh.slots[(h+uint64(i))&mask]
		if !s.addr.IsValid() {
			return s
		}
		if victim == nil || worseToKeep(s, victim, now) {
			victim = s
		}
	}
	return victim
}

// worseToKeep reports whether a is a better eviction victim than b.
func worseToKeep(a, b *srcSlot, now uint64) bool {
	aBanned, bBanned := a.bannedUntil > now, b.bannedUntil > now
	if aBanned != bBanned {
		return !aBanned
	}
	if aBanned {
		return a.bannedUntil < b.bannedUntil
	}
	return a.windowStart < b.windowStart
}

// each calls fn for every occupied slot, one shard locked at a time.
func (t *sourceTable) each(fn func(s *srcSlot)) {
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		for j := range sh.slots {
			if sh.slots[j].addr.IsValid() {
				fn(&sh.slots[j])
			}
		}
		sh.mu.Unlock()
	}
}

// unban lifts src's automatic ban; it reports whether one was in force.
func (t *sourceTable) unban(src netip.Addr, now uint64) bool {
	h := t.hash(src)
	sh := &t.shards[h&(1<<t.shardBit-1)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	s := sh.find(src, h>>t.shardBit, t.mask, t.probeLen)
	if s == nil || s.bannedUntil <= now {
		return false
	}
	s.bannedUntil = 0
	return true
}
