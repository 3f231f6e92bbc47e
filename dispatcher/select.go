package dispatcher

import (
	"math"
	"time"
)

// Select returns the destination of the set for key, or nil when no
// destination is usable (or s is nil, so tbl.Set(id).Select(...) is safe for
// an unknown set). key is a hash of what the algorithm routes by, computed by
// the caller with Hash/HashMore/HashFold:
//
//   - 0 hash-callid, 1 hash-from, 2 hash-to, 3 hash-ruri, 5 hash-authuser:
//     the hash of that field. Weighted rendezvous over the usable
//     destinations, weight = the weight attr, 1 when unset.
//   - 4 round-robin, 6 random: in stateless mode, the hash of the
//     transaction identity (Call-ID + the client's Via branch), so that a
//     retransmission, its CANCEL and the ACK to a non-2xx reply land where
//     the INVITE went; rendezvous with equal weights, uniform over many calls.
//   - 9 weight, 11 relative-weight: as the hash algorithms, weighted by the
//     weight (or rweight) attr; 0 gets no share unless every usable
//     destination has 0, and then they share equally.
//   - 8 priority: the first usable destination in Kamailio order (highest
//     priority first, equal priorities in reverse file order).
//   - 13 latency: among the usable destinations of the highest priority that
//     has one, those whose latency is near the lowest; rendezvous with equal
//     weights among them, key as for round-robin. See selectLatency.
//
// Select reads one atomic word per destination (two for latency) and
// allocates nothing.
func (s *Set) Select(alg Alg, key uint64) *Dest {
	if s == nil {
		return nil
	}
	switch alg {
	case HashCallID, HashFrom, HashTo, HashRURI, HashAuthUser:
		if s.uniform[wkHash] {
			return pickEqual(s.ents, key)
		}
		return pickWeighted(s.ents, key, wkHash)
	case RoundRobin, Random:
		return pickEqual(s.ents, key)
	case Weight:
		return s.selectWeighted(key, wkWeight)
	case RelWeight:
		return s.selectWeighted(key, wkRWeight)
	case Latency:
		return s.selectLatency(key)
	case Priority:
		for i := range s.ents {
			if State(s.ents[i].rt.state.Load())&unusable == 0 {
				return s.ents[i].d
			}
		}
	}
	return nil
}

func (s *Set) selectWeighted(key uint64, k weightKind) *Dest {
	if s.uniform[k] {
		return pickEqual(s.ents, key)
	}
	if d := pickWeighted(s.ents, key, k); d != nil {
		return d
	}
	// Every usable destination has weight 0: they share equally.
	return pickEqual(s.ents, key)
}

// Algorithm 13, latency.
//
// Kamailio's alg 13 (ds_manage_route_algo13) lowers each destination's
// priority by one point per `priority` milliseconds of its latency estimate
// (nothing below `priority` ms, never below 1) and round-robins over the
// destinations left with the highest priority. With the default priority 0 it
// ignores latency altogether. sipfront keeps the intent, statelessly:
//
//  1. Priority first: only the usable destinations of the highest priority
//     that has a usable one compete (failover to a lower priority happens
//     when none of the higher is usable, never because of latency).
//  2. Among them, let best be the lowest latency known. A destination is
//     near-best when its latency is at most best + tolerance, with tolerance
//     the largest of best/4, 1 ms and `priority` ms (the step at which
//     Kamailio's handicap starts to separate destinations). So 10 ms and
//     12 ms share the calls; 10 ms and 40 ms do not; noise in the estimate
//     does not make the calls flap between two equal back ends.
//  3. The near-best share the calls by rendezvous over the key with equal
//     weights: deterministic, so a retransmission lands where its INVITE
//     went, and when one leaves only its calls move.
//
// The latency of a destination is Runtime.LatencyEWMA (the health prober's
// moving average of OPTIONS round trips), else the latency attr (an initial
// estimate in milliseconds), else unknown. A destination whose latency is
// unknown (not probed yet) is always near-best: a new back end takes calls at
// once, as DESIGN.md promises, and the prober's first answer places it.
func (s *Set) selectLatency(key uint64) *Dest {
	top := -1
	for i := range s.ents {
		if State(s.ents[i].rt.state.Load())&unusable == 0 {
			top = i
			break
		}
	}
	if top < 0 {
		return nil
	}
	prio := s.ents[top].d.Priority
	end := top + 1
	for end < len(s.ents) && s.ents[end].d.Priority == prio {
		end++
	}
	ents := s.ents[top:end]
	best := int64(-1)
	for i := range ents {
		e := &ents[i]
		if State(e.rt.state.Load())&unusable != 0 {
			continue
		}
		if l := latencyOf(e); l >= 0 && (best < 0 || l < best) {
			best = l
		}
	}
	limit := int64(math.MaxInt64)
	if best >= 0 {
		tol := max(best/4, int64(time.Millisecond), int64(prio)*int64(time.Millisecond))
		limit = best + tol
	}
	var pick *Dest
	var pickH, pickSeed uint64
	for i := range ents {
		e := &ents[i]
		if State(e.rt.state.Load())&unusable != 0 || latencyOf(e) > limit {
			continue
		}
		h := mix(key ^ e.seed)
		if pick == nil || h > pickH || (h == pickH && e.seed > pickSeed) {
			pick, pickH, pickSeed = e.d, h, e.seed
		}
	}
	if pick == nil {
		// The state or latency words changed between the passes (the
		// near-best went away): any usable destination of the group.
		return pickEqual(ents, key)
	}
	return pick
}

// latencyOf is a destination's latency in nanoseconds for algorithm 13, or
// -1 when unknown.
func latencyOf(e *entry) int64 {
	if l := e.rt.LatencyEWMA.Load(); l > 0 {
		return l
	}
	if ms := e.d.Attrs.Latency; ms > 0 {
		return int64(ms) * int64(time.Millisecond)
	}
	return -1
}
