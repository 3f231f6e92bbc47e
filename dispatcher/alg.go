package dispatcher

import (
	"strconv"
	"strings"
)

// Alg is a selection algorithm, numbered as Kamailio's ds_select_dst.
type Alg uint8

// Algorithms. In stateless mode round-robin and random are rendezvous
// hashes of the transaction identity (see Set.Select).
const (
	HashCallID   Alg = 0
	HashFrom     Alg = 1
	HashTo       Alg = 2
	HashRURI     Alg = 3
	RoundRobin   Alg = 4
	HashAuthUser Alg = 5
	Random       Alg = 6
	Priority     Alg = 8
	Weight       Alg = 9
	CallLoad     Alg = 10
	RelWeight    Alg = 11
	Latency      Alg = 13
)

var algNames = [...]string{
	HashCallID:   "hash-callid",
	HashFrom:     "hash-from",
	HashTo:       "hash-to",
	HashRURI:     "hash-ruri",
	RoundRobin:   "round-robin",
	HashAuthUser: "hash-authuser",
	Random:       "random",
	Priority:     "priority",
	Weight:       "weight",
	CallLoad:     "call-load",
	RelWeight:    "relative-weight",
	Latency:      "latency",
}

// String gives the algorithm's name as ParseAlg reads it ("hash-callid"),
// or "alg(N)" for a number with no name.
func (a Alg) String() string {
	if int(a) < len(algNames) && algNames[a] != "" {
		return algNames[a]
	}
	return "alg(" + strconv.Itoa(int(a)) + ")"
}

// ParseAlg reads an algorithm by Kamailio number ("0") or by name
// ("hash-callid", case-insensitive; "serial" is accepted for priority, as
// Kamailio's documentation calls it). It refuses algorithms sipfront cannot
// run here: 10 (call-load) needs stateful mode; 7 (hash over a
// pseudo-variable), 12 (parallel) and 64 (overload control) have no
// stateless meaning. 13 (latency) is accepted: it reads the latency that the
// health prober writes into each destination's Runtime, and without a prober
// it spreads calls like round-robin (see Set.Select). ErrAlgProber is left
// for callers that refuse algorithm 13 when they run no prober.
func ParseAlg(s string) (Alg, error) {
	s = strings.TrimSpace(s)
	a, found := Alg(0), false
	if n, err := strconv.Atoi(s); err == nil {
		if n >= 0 && n < len(algNames) && algNames[n] != "" {
			a, found = Alg(n), true
		}
	} else {
		name := strings.ToLower(s)
		if name == "serial" {
			name = "priority"
		}
		for i, nm := range algNames {
			if nm != "" && nm == name {
				a, found = Alg(i), true
				break
			}
		}
	}
	if !found {
		return 0, detail(ErrBadAlg, "unknown algorithm "+quoteToken(s)+
			" (want 0-6, 8, 9, 11, 13 or a name such as hash-callid, round-robin, weight, latency)")
	}
	if a == CallLoad {
		return 0, detail(ErrAlgStateful, "algorithm 10 (call-load) counts active calls, which needs stateful mode")
	}
	return a, nil
}
