package dispatcher

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
//
// Select reads one atomic word per destination and allocates nothing.
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
