package dispatcher

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// mkTable loads a list built from lines, failing the test on any warning.
func mkTable(t testing.TB, lines ...string) *Table {
	t.Helper()
	tbl, warns, err := Load("test.list", []byte(strings.Join(lines, "\n")), Options{Strict: true})
	if err != nil || len(warns) > 0 {
		t.Fatalf("load: %v %v", err, warns)
	}
	return tbl
}

// nDests is a list of n destinations in set 1 with the given attrs.
func nDests(n int, attrs func(i int) string) []string {
	lines := make([]string, n)
	for i := range lines {
		lines[i] = fmt.Sprintf("1 sip:10.0.%d.%d:5060 0 0 %s", i/200, i%200+1, attrs(i))
		lines[i] = strings.TrimSpace(lines[i])
	}
	return lines
}

func noAttrs(int) string { return "" }

// testKeys are hashes of distinct Call-IDs, computed once.
var testKeys = func() []uint64 {
	keys := make([]uint64, 100000)
	var b []byte
	for i := range keys {
		b = append(strconv.AppendInt(append(b[:0], "call-"...), int64(i), 10), "@example.com"...)
		keys[i] = Hash(b)
	}
	return keys
}()

func keyOf(i int) uint64 {
	if i < len(testKeys) {
		return testKeys[i]
	}
	return HashString("call-" + strconv.Itoa(i) + "@example.com")
}

// counts selects nKeys keys and counts hits per destination index.
func counts(t testing.TB, s *Set, alg Alg, nKeys int) map[*Dest]int {
	t.Helper()
	c := map[*Dest]int{}
	for i := 0; i < nKeys; i++ {
		d := s.Select(alg, keyOf(i))
		if d == nil {
			t.Fatalf("no destination for key %d", i)
		}
		c[d]++
	}
	return c
}

// chiSquare of observed counts against expected shares.
func chiSquare(obs []int, expShare []float64, total int) float64 {
	var x float64
	for i, o := range obs {
		e := expShare[i] * float64(total)
		x += (float64(o) - e) * (float64(o) - e) / e
	}
	return x
}

// chi2Crit999 holds the 0.999 quantiles of chi-square for 1..31 degrees of
// freedom (rounded up), so a fair hash fails one run in a thousand at most;
// the keys are fixed, so a run that passes always passes.
var chi2Crit999 = [...]float64{0, 10.9, 13.9, 16.3, 18.5, 20.6, 22.5, 24.4, 26.2, 27.9, 29.6,
	31.3, 32.95, 34.6, 36.2, 37.7, 39.3, 40.8, 42.4, 43.9, 45.4, 46.8, 48.3, 49.8, 51.2, 52.7,
	54.1, 55.5, 56.9, 58.4, 59.8, 61.1}

func TestSelectUniform(t *testing.T) {
	for _, n := range []int{2, 3, 8, 31} {
		for _, alg := range []Alg{HashCallID, RoundRobin, Random, Weight, RelWeight} {
			t.Run(fmt.Sprintf("%d-%s", n, alg), func(t *testing.T) {
				s := mkTable(t, nDests(n, noAttrs)...).Set(1)
				const keys = 60000
				c := counts(t, s, alg, keys)
				obs := make([]int, n)
				exp := make([]float64, n)
				for i, d := range s.Dests() {
					obs[i], exp[i] = c[d], 1/float64(n)
				}
				if x := chiSquare(obs, exp, keys); x > chi2Crit999[n-1] {
					t.Errorf("chi-square %.1f > %.1f (df %d): %v", x, chi2Crit999[n-1], n-1, obs)
				}
			})
		}
	}
}

func TestSelectWeights(t *testing.T) {
	weights := []int{10, 20, 30, 40}
	cases := []struct {
		name  string
		alg   Alg
		attrs func(i int) string
		share []float64 // by file order
	}{
		{"hash weight", HashFrom, func(i int) string { return fmt.Sprintf("weight=%d", weights[i]) }, []float64{.1, .2, .3, .4}},
		{"hash unset weight is 1", HashTo, func(i int) string {
			if i == 0 {
				return ""
			}
			return "weight=3"
		}, []float64{.1, .3, .3, .3}},
		{"weight", Weight, func(i int) string { return fmt.Sprintf("weight=%d", weights[i]) }, []float64{.1, .2, .3, .4}},
		{"weight zero gets none", Weight, func(i int) string {
			if i == 0 {
				return "weight=0"
			}
			return fmt.Sprintf("weight=%d", weights[i])
		}, []float64{0, 2. / 9, 3. / 9, 4. / 9}},
		{"rweight", RelWeight, func(i int) string { return fmt.Sprintf("rweight=%d;weight=%d", weights[3-i], weights[i]) }, []float64{.4, .3, .2, .1}},
		{"round-robin ignores weights", RoundRobin, func(i int) string { return fmt.Sprintf("weight=%d", weights[i]) }, []float64{.25, .25, .25, .25}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lines := nDests(4, tc.attrs)
			tbl, _, err := Load("w", []byte(strings.Join(lines, "\n")), Options{})
			if err != nil {
				t.Fatal(err)
			}
			s := tbl.Set(1)
			const keys = 100000
			c := counts(t, s, tc.alg, keys)
			for i, want := range tc.share {
				d := tbl.Dests()[3-i] // Kamailio order reverses the file
				got := float64(c[d]) / keys
				if math.Abs(got-want) > 0.01 {
					t.Errorf("%s: share %.4f, want %.2f ± 0.01", d.URI, got, want)
				}
			}
		})
	}
}

// TestSelectMinimalMovement: when a destination leaves, only its keys move,
// evenly over the others; when it returns it gets exactly its keys back.
func TestSelectMinimalMovement(t *testing.T) {
	for _, tc := range []struct {
		name  string
		alg   Alg
		attrs func(int) string
	}{
		{"equal", HashCallID, noAttrs},
		{"weighted", Weight, func(i int) string { return fmt.Sprintf("weight=%d", 10+i*10) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mkTable(t, nDests(8, tc.attrs)...).Set(1)
			const keys = 40000
			before := make([]*Dest, keys)
			for i := range before {
				before[i] = s.Select(tc.alg, keyOf(i))
			}
			gone := s.Dests()[3]
			gone.Transition(0, Inactive, "test")
			moved := map[*Dest]int{}
			nMoved := 0
			for i, b := range before {
				d := s.Select(tc.alg, keyOf(i))
				if d == gone {
					t.Fatal("an inactive destination was selected")
				}
				if b != gone && d != b {
					t.Fatalf("key %d moved from %s to %s though its destination stayed", i, b.URI, d.URI)
				}
				if b == gone {
					moved[d]++
					nMoved++
				}
			}
			// The moved keys spread over the survivors in proportion to their weights.
			var obs []int
			var exp []float64
			var wsum float64
			for _, d := range s.Dests() {
				if d != gone {
					wsum += float64(d.hashWeightFor(tc.alg))
				}
			}
			for _, d := range s.Dests() {
				if d != gone {
					obs = append(obs, moved[d])
					exp = append(exp, float64(d.hashWeightFor(tc.alg))/wsum)
				}
			}
			if x := chiSquare(obs, exp, nMoved); x > chi2Crit999[len(obs)-1] {
				t.Errorf("moved keys spread unevenly: chi-square %.1f over %v", x, obs)
			}
			gone.Transition(Inactive, 0, "test")
			for i, b := range before {
				if d := s.Select(tc.alg, keyOf(i)); d != b {
					t.Fatalf("key %d: %s after return, %s before", i, d.URI, b.URI)
				}
			}
		})
	}
}

// hashWeightFor is the weight the algorithm uses, for the test's expectations.
func (d *Dest) hashWeightFor(alg Alg) int {
	if alg == Weight {
		return d.Attrs.Weight
	}
	return int(d.hashWeight())
}

// TestSelectOrderIndependent: the choice depends on identities, not on list
// order, nor on which table (reload, another sipfront copy) is asked.
func TestSelectOrderIndependent(t *testing.T) {
	lines := nDests(12, func(i int) string { return fmt.Sprintf("weight=%d", 1+i*7%100) })
	a := mkTable(t, lines...)
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(lines), func(i, j int) { lines[i], lines[j] = lines[j], lines[i] })
	b := mkTable(t, lines...)
	for _, alg := range []Alg{HashCallID, HashRURI, RoundRobin, Weight} {
		for i := 0; i < 5000; i++ {
			da, db := a.Set(1).Select(alg, keyOf(i)), b.Set(1).Select(alg, keyOf(i))
			if da.URI != db.URI {
				t.Fatalf("%s key %d: %s in one order, %s in another", alg, i, da.URI, db.URI)
			}
		}
	}
}

// TestSelectKnownAnswers pins the choice for a few keys, so that a change to
// the hash or the scoring (which would re-route calls across an upgrade of a
// farm of sipfront copies) is a deliberate one.
func TestSelectKnownAnswers(t *testing.T) {
	s := mkTable(t, nDests(5, func(i int) string { return fmt.Sprintf("duid=pbx%d;weight=%d", i, 10*(i+1)) })...).Set(1)
	var got []string
	for _, key := range []string{"a84b4c76e66710@pc33.atlanta.com", "f81d4fae-7dec-11d0-a765-00a0c91e6bf6", "1-2-3"} {
		h := HashString(key)
		got = append(got, s.Select(HashCallID, h).Attrs.DUID+"/"+s.Select(RoundRobin, h).Attrs.DUID)
	}
	want := "pbx3/pbx3 pbx3/pbx0 pbx2/pbx2"
	if g := strings.Join(got, " "); g != want {
		t.Errorf("got %s, want %s", g, want)
	}
}

func TestSelectPriorityAndStates(t *testing.T) {
	tbl := mkTable(t, "1 sip:10.0.0.1 0 1", "1 sip:10.0.0.2 0 5", "1 sip:10.0.0.3 0 5", "1 sip:10.0.0.4 0 0")
	s := tbl.Set(1)
	pick := func() string {
		if d := s.Select(Priority, 42); d != nil {
			return d.URI
		}
		return "nil"
	}
	steps := []struct {
		uri        string
		clear, set State
		want       string
	}{
		{"", 0, 0, "sip:10.0.0.3"}, // equal priorities: reverse file order
		{"sip:10.0.0.3", 0, Trying, "sip:10.0.0.3"},
		{"sip:10.0.0.3", Trying, Inactive, "sip:10.0.0.2"},
		{"sip:10.0.0.2", 0, Disabled, "sip:10.0.0.1"},
		{"sip:10.0.0.1", 0, Draining, "sip:10.0.0.4"},
		{"sip:10.0.0.4", 0, Probing, "sip:10.0.0.4"},
		{"sip:10.0.0.4", 0, Inactive, "nil"},
		{"sip:10.0.0.2", Disabled, 0, "sip:10.0.0.2"},
	}
	for _, st := range steps {
		if st.uri != "" {
			for _, d := range s.Dests() {
				if d.URI == st.uri {
					d.Transition(st.clear, st.set, "test")
				}
			}
		}
		if got := pick(); got != st.want {
			t.Errorf("after %s -%v +%v: got %s, want %s", st.uri, st.clear, st.set, got, st.want)
		}
	}
	for _, alg := range []Alg{HashCallID, RoundRobin, Weight, RelWeight, Priority} {
		for i := 0; i < 200; i++ {
			if d := s.Select(alg, keyOf(i)); d != nil && d.URI != "sip:10.0.0.2" {
				t.Fatalf("%s picked unusable %s", alg, d.URI)
			}
		}
	}
	var nilSet *Set
	if nilSet.Select(HashCallID, 1) != nil || tbl.Set(99) != nil || s.Select(Alg(7), 1) != nil || s.Select(CallLoad, 1) != nil {
		t.Error("nil set, unknown set or unsupported algorithm selected something")
	}
}

func TestParseAlg(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Alg
		err  error
	}{
		{"0", HashCallID, nil}, {"hash-callid", HashCallID, nil}, {"HASH-FROM", HashFrom, nil},
		{"2", HashTo, nil}, {"hash-ruri", HashRURI, nil}, {"4", RoundRobin, nil}, {"round-robin", RoundRobin, nil},
		{"5", HashAuthUser, nil}, {"random", Random, nil}, {"8", Priority, nil}, {"serial", Priority, nil},
		{"weight", Weight, nil}, {"11", RelWeight, nil}, {"relative-weight", RelWeight, nil},
		{"10", 0, ErrAlgStateful}, {"call-load", 0, ErrAlgStateful}, {"13", Latency, nil},
		{"LATENCY", Latency, nil}, {"7", 0, ErrBadAlg}, {"12", 0, ErrBadAlg}, {"64", 0, ErrBadAlg},
		{"-1", 0, ErrBadAlg}, {"roundrobin", 0, ErrBadAlg}, {"", 0, ErrBadAlg},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseAlg(tc.in)
			if tc.err != nil {
				if !errorsIs(err, tc.err) {
					t.Fatalf("got %v, %v; want error %v", got, err, tc.err)
				}
				if !strings.HasPrefix(err.Error(), "dispatcher: ") {
					t.Errorf("error %q lacks the package prefix", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
			if back, err := ParseAlg(got.String()); err != nil || back != got {
				t.Errorf("String %q does not parse back: %v %v", got.String(), back, err)
			}
		})
	}
}

func TestStateNames(t *testing.T) {
	for _, tc := range []struct {
		s           State
		flags, name string
	}{
		{0, "AX", "active"}, {Probing, "AP", "probing"}, {Trying, "TX", "trying"},
		{Trying | Probing, "TP", "trying"}, {Inactive, "IX", "inactive"}, {Inactive | Probing, "IP", "inactive"},
		{Disabled, "DX", "disabled"}, {Disabled | Inactive, "IX", "inactive"}, {Disabled | Trying, "DX", "disabled"},
		{Draining, "AX", "draining"}, {Draining | Trying, "TX", "draining"}, {Draining | Disabled, "DX", "disabled"},
		{AllStates, "IP", "inactive"},
	} {
		if f, n := tc.s.KamailioFlags(), tc.s.String(); f != tc.flags || n != tc.name {
			t.Errorf("state %d: got %s %s, want %s %s", tc.s, f, n, tc.flags, tc.name)
		}
	}
}
