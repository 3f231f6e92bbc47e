package health

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sipfront/sipfront/dispatcher"
	"github.com/sipfront/sipfront/parser"
)

const (
	ms  = time.Millisecond
	sec = time.Second
)

// unit is the configuration of the hand-driven tests: 1 s interval, 200 ms
// timeout, no jitter.
func unit(mod func(*Config)) Config {
	c := Config{Interval: sec, Timeout: 200 * ms, Jitter: noJitter}
	if mod != nil {
		mod(&c)
	}
	return c
}

const a, b = "sip:10.0.0.1:5060", "sip:10.0.0.2:5060"

func TestThresholds(t *testing.T) {
	for _, tc := range []struct{ fail, ok int }{{1, 1}, {2, 2}, {3, 1}, {2, 4}} {
		t.Run(fmt.Sprintf("fail=%d,ok=%d", tc.fail, tc.ok), func(t *testing.T) {
			r := newRig(t, unit(func(c *Config) { c.FailThreshold, c.OKThreshold = tc.fail, tc.ok }), "1 "+a)
			d := r.dest(1, a)
			r.at(0)
			r.answer(r.one(), 200)
			if got := state(d); got != "AP/probing" {
				t.Fatalf("after a 200: %s", got)
			}
			// Down: each timeout is retried at once until the threshold.
			now := sec
			r.at(now)
			for i := 1; i <= tc.fail; i++ {
				r.one()
				now += 200 * ms
				r.at(now)
				want := "TP/trying"
				if i == tc.fail {
					want = "IP/inactive"
				}
				if got := state(d); got != want {
					t.Fatalf("after %d timeouts: %s, want %s", i, got, want)
				}
			}
			r.none() // inactive: back to the interval
			if want := inARow("probe timeout", tc.fail); reason(d) != want {
				t.Errorf("reason %q, want %q", reason(d), want)
			}
			if n := d.RT.ProbeFailures.Load(); n != uint64(tc.fail) {
				t.Errorf("ProbeFailures %d, want %d", n, tc.fail)
			}
			// Up again: one success per interval, OKThreshold of them.
			probeAt := now - 200*ms + sec // last probe's send time + interval
			for i := 1; i <= tc.ok; i++ {
				r.at(probeAt - ms)
				r.none()
				r.at(probeAt)
				r.answer(r.one(), 200)
				want := "IP/inactive"
				if i == tc.ok {
					want = "AP/probing"
				}
				if got := state(d); got != want {
					t.Fatalf("after %d successes: %s, want %s", i, got, want)
				}
				probeAt += sec
			}
			if want := inARow("probe reply 200", tc.ok); reason(d) != want {
				t.Errorf("reason %q, want %q", reason(d), want)
			}
		})
	}
}

// A success clears trying at once; a failure after it starts counting anew.
func TestTryingClearedBySuccess(t *testing.T) {
	r := newRig(t, unit(func(c *Config) { c.FailThreshold = 3 }), "1 "+a)
	d := r.dest(1, a)
	r.at(0)
	r.one()
	r.at(200 * ms) // timeout
	if got := state(d); got != "TP/trying" {
		t.Fatalf("after a timeout: %s", got)
	}
	r.answer(r.one(), 200) // the fast retry answers
	if got := state(d); got != "AP/probing" {
		t.Fatalf("after a success: %s", got)
	}
	r.at(1200 * ms)
	r.one()
	r.at(1400 * ms)
	r.one()
	r.at(1600 * ms)
	if got := state(d); got != "TP/trying" {
		t.Fatalf("two failures after a success with threshold 3: %s", got)
	}
}

func TestAcceptedCodes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		accept []int
		code   int
		want   string // state after one reply, from active
	}{
		{"200", nil, 200, "AP/probing"},
		{"202", nil, 202, "AP/probing"},
		{"299", nil, 299, "AP/probing"},
		{"404 not accepted", nil, 404, "TP/trying"},
		{"404 accepted", []int{403, 404, 405, 501}, 404, "AP/probing"},
		{"501 accepted", []int{501}, 501, "AP/probing"},
		{"500 with others accepted", []int{404}, 500, "TP/trying"},
		{"503 without Retry-After", nil, 503, "TP/trying"},
		{"302", nil, 302, "TP/trying"},
		{"699", []int{699}, 699, "AP/probing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, unit(func(c *Config) { c.AcceptCodes = tc.accept }), "1 "+a)
			r.at(0)
			r.answer(r.one(), tc.code)
			if got := state(r.dest(1, a)); got != tc.want {
				t.Fatalf("reply %d: %s, want %s", tc.code, got, tc.want)
			}
			if strings.HasPrefix(tc.want, "T") && reason(r.dest(1, a)) != fmt.Sprintf("probe reply %d", tc.code) {
				t.Errorf("reason %q", reason(r.dest(1, a)))
			}
		})
	}
}

// A provisional reply does not end the probe: its timeout still runs.
func TestProvisionalIgnored(t *testing.T) {
	r := newRig(t, unit(nil), "1 "+a)
	r.at(0)
	s := r.one()
	r.answer(s, 100)
	r.answer(s, 183)
	if got := state(r.dest(1, a)); got != "AX/active" {
		t.Fatalf("after provisional replies: %s", got)
	}
	r.at(200 * ms)
	if got := state(r.dest(1, a)); got != "TP/trying" {
		t.Fatalf("no final reply within the timeout: %s", got)
	}
}

// One probe in flight per destination, whatever wakes the prober.
func TestOneProbeInFlight(t *testing.T) {
	r := newRig(t, unit(nil), "1 "+a, "2 "+a, "1 "+b)
	r.at(0)
	if n := len(r.snd.take()); n != 2 {
		t.Fatalf("%d probes for 2 addresses", n)
	}
	for now := time.Duration(0); now < 200*ms; now += 10 * ms {
		r.p.NoteUnreachable(r.dest(1, b).Addr) // fails b's probe, which is retried
		r.p.Refresh()
		r.p.SetPingActive(1)
		r.at(now)
		for _, s := range r.snd.take() {
			if s.to == r.dest(1, a).Addr {
				t.Fatalf("at %v: a second probe to %s while one is out", now, s.to)
			}
		}
	}
}

func TestStaleReplies(t *testing.T) {
	r := newRig(t, unit(nil), "1 "+a)
	d := r.dest(1, a)
	stale := func() uint64 { return staleReplies.Get() }

	r.at(0)
	first := r.one()
	r.at(200 * ms) // timeout: trying; the retry goes out at once
	second := r.one()
	base := stale()
	r.answer(first, 200) // late: its probe timed out
	if got := state(d); got != "TP/trying" {
		t.Fatalf("a late reply changed the state: %s", got)
	}
	if stale() != base+1 {
		t.Errorf("late reply not counted stale")
	}
	// Forgeries: the right slot with another nonce, a data-path branch, a
	// branch with the nonce's top bit clear, garbage.
	for _, br := range []string{
		BranchPrefix + "000000" + "8000000000000001",
		"z9hG4bKsf0123456789abcdef01234567",
		BranchPrefix + "000000" + "0000000000000002",
		BranchPrefix + "000000" + "0000000000000001",
		BranchPrefix + "000000" + "0000000000000000",
		BranchPrefix + "zzzzzz" + "8000000000000001",
		BranchPrefix + "ffffff" + "8000000000000001",
		BranchPrefix,
		"",
	} {
		forged := strings.Replace(string(second.b), branchOf(t, second.b), br, 1)
		r.answer(sent{b: []byte(forged)}, 200)
	}
	if got := state(d); got != "TP/trying" {
		t.Fatalf("a forged reply changed the state: %s", got)
	}
	if n := stale() - base - 1; n != 9 {
		t.Errorf("%d forged replies counted stale, want 9", n)
	}
	r.answer(second, 200)
	r.answer(second, 200) // duplicate (retransmitted 200)
	if got := state(d); got != "AP/probing" {
		t.Fatalf("the right reply: %s", got)
	}
	if n := stale() - base - 10; n != 1 {
		t.Errorf("duplicate counted %d times stale, want 1", n)
	}
}

func branchOf(t testing.TB, req []byte) string {
	t.Helper()
	var m parser.Message
	var v parser.Via
	if err := parser.Parse(req, &m); err != nil {
		t.Fatal(err)
	}
	s, _ := m.FirstValue(parser.KindVia)
	if err := parser.ParseVia(m.Raw(), s, &v); err != nil {
		t.Fatal(err)
	}
	return string(v.Branch.In(m.Raw()))
}

func TestJitterBounds(t *testing.T) {
	r := newRig(t, Config{Interval: sec, Timeout: 100 * ms, Jitter: 0.3}, "1 "+a)
	lo, hi := sec, time.Duration(0)
	for i := 0; i < 10000; i++ {
		w := r.p.wait()
		lo, hi = min(lo, w), max(hi, w)
		if w > sec || w <= 700*ms {
			t.Fatalf("wait %v outside (700ms, 1s]", w)
		}
		if f := r.p.firstDelay(); f < 0 || f >= 300*ms {
			t.Fatalf("first delay %v outside [0, 300ms)", f)
		}
	}
	// The draws cover the range: not a constant in disguise.
	if lo > 710*ms || hi < 990*ms {
		t.Errorf("waits span only [%v, %v]", lo, hi)
	}
	r = newRig(t, Config{Interval: sec, Timeout: 100 * ms, Jitter: noJitter}, "1 "+a)
	if w, f := r.p.wait(), r.p.firstDelay(); w != sec || f != 0 {
		t.Errorf("no jitter: wait %v, first delay %v", w, f)
	}
}

// The schedule keeps its cadence from send times, with jitter on.
func TestScheduleWithJitter(t *testing.T) {
	r := newRig(t, Config{Interval: 100 * ms, Timeout: 40 * ms, Jitter: 0.2}, "1 "+a)
	var sends []time.Duration
	for now := time.Duration(0); now < 2*sec; now += ms {
		r.at(now)
		for _, s := range r.snd.take() {
			sends = append(sends, now)
			r.answer(s, 200)
		}
	}
	if len(sends) < 19 || sends[0] > 20*ms {
		t.Fatalf("sends %v", sends)
	}
	for i := 1; i < len(sends); i++ {
		if gap := sends[i] - sends[i-1]; gap < 80*ms || gap > 101*ms {
			t.Fatalf("gap %v between probes %d and %d: want within (80ms, 100ms]", gap, i-1, i)
		}
	}
}

func TestLatencyWritten(t *testing.T) {
	r := newRig(t, unit(nil), "1 "+a, "2 "+a)
	r.at(0)
	s := r.one()
	r.now = 30 * ms
	r.answer(s, 200)
	for _, set := range []int{1, 2} {
		d := r.dest(set, a)
		if e, m := d.RT.LatencyEWMA.Load(), d.RT.LatencyMax.Load(); e != int64(30*ms) || m != int64(30*ms) {
			t.Errorf("set %d: EWMA %v max %v, want 30ms", set, time.Duration(e), time.Duration(m))
		}
	}
	r.at(sec)
	s = r.one()
	r.now = sec + 10*ms
	r.answer(s, 404) // rejected, but a round trip all the same
	if e := time.Duration(r.dest(1, a).RT.LatencyEWMA.Load()); e != 20*ms {
		t.Errorf("EWMA %v after 30ms and 10ms, want 20ms", e)
	}
}

// The same address in two sets is probed once; each destination follows
// the outcome unless the operator disabled it.
func TestSharedAddress(t *testing.T) {
	r := newRig(t, unit(nil), "1 "+a, "2 "+a, "3 "+a+" 4")
	r.at(0)
	r.one()
	r.at(200 * ms)
	r.one()
	r.at(400 * ms)
	if got := []string{state(r.dest(1, a)), state(r.dest(2, a)), state(r.dest(3, a))}; fmt.Sprint(got) != "[IP/inactive IP/inactive DX/disabled]" {
		t.Fatalf("states %v", got)
	}
	// The operator takes one of them out of the set's rotation: the other
	// still follows the probes.
	if err := r.d.SetState(2, a, dispatcher.Disabled, "operator"); err != nil {
		t.Fatal(err)
	}
	r.at(1200 * ms)
	r.answer(r.one(), 200)
	r.at(2200 * ms)
	r.answer(r.one(), 200)
	if got := []string{state(r.dest(1, a)), state(r.dest(2, a)), state(r.dest(3, a))}; fmt.Sprint(got) != "[AP/probing DX/disabled DX/disabled]" {
		t.Fatalf("states %v", got)
	}
}

func TestReload(t *testing.T) {
	r := newRig(t, unit(nil), "1 "+a, "1 "+b)
	r.at(0)
	probes := r.snd.take()
	if len(probes) != 2 {
		t.Fatalf("%d probes", len(probes))
	}
	var toA, toB sent
	for _, s := range probes {
		if s.to == r.dest(1, a).Addr {
			toA = s
		} else {
			toB = s
		}
	}
	r.answer(toA, 200)
	// a has one failure counted when the table changes.
	r.at(sec)
	r.at(1200 * ms) // a times out (trying); b times out too
	if got := state(r.dest(1, a)); got != "TP/trying" {
		t.Fatalf("a: %s", got)
	}
	r.snd.take()
	const c = "sip:10.0.0.3:5060"
	reload(t, r.d, "1 "+a, "1 "+c)
	r.at(1200 * ms)
	// c is new: probed at once (no jitter); b is gone: its late reply is stale.
	got := r.snd.take()
	if len(got) != 1 || got[0].to != r.dest(1, c).Addr {
		t.Fatalf("after reload sent %v, want one probe to c", got)
	}
	base := staleReplies.Get()
	r.answer(toB, 200)
	if staleReplies.Get() != base+1 {
		t.Error("reply for a removed destination not counted stale")
	}
	// a kept its counter: one more timeout makes it inactive.
	r.at(1400 * ms)
	if got := state(r.dest(1, a)); got != "IP/inactive" {
		t.Fatalf("a after its second timeout across a reload: %s", got)
	}
	// b comes back in a later reload as new: probed, its old Runtime gone.
	reload(t, r.d, "1 "+a, "1 "+b, "1 "+c)
	r.snd.take()
	r.at(1500 * ms)
	found := false
	for _, s := range r.snd.take() {
		found = found || s.to == r.dest(1, b).Addr
	}
	if !found {
		t.Fatal("re-added destination not probed")
	}
	if n := len(r.p.peers); n != 3 {
		t.Errorf("%d peers, want 3", n)
	}
	if n := r.p.nslots; n != 3 {
		t.Errorf("%d slots for 3 addresses after removing and re-adding one: freed slots not reused", n)
	}
}

// The prober picks up a reload on its own, at its next wake.
func TestReloadNoticedAtWake(t *testing.T) {
	r := newRig(t, unit(nil), "1 "+a)
	r.at(0)
	r.one()
	if w := r.at(10 * ms); w > 100*ms {
		t.Fatalf("wait %v: the table would not be re-read within Timeout/2", w)
	}
	reload(t, r.d, "1 "+a, "1 "+b)
	r.at(20 * ms)
	if s := r.one(); s.to != r.dest(1, b).Addr {
		t.Fatalf("probe to %v", s.to)
	}
}

func TestOperatorStates(t *testing.T) {
	t.Run("disabled is neither probed nor changed", func(t *testing.T) {
		r := newRig(t, unit(nil), "1 "+a+" 4")
		for now := time.Duration(0); now < 5*sec; now += 100 * ms {
			r.at(now)
		}
		r.none()
		if got := state(r.dest(1, a)); got != "DX/disabled" {
			t.Fatalf("%s", got)
		}
	})
	t.Run("disabled while a probe is out", func(t *testing.T) {
		r := newRig(t, unit(nil), "1 "+a)
		r.at(0)
		s := r.one()
		if err := r.d.SetState(1, a, dispatcher.Disabled, "operator"); err != nil {
			t.Fatal(err)
		}
		r.answer(s, 500)
		r.at(200 * ms)
		r.at(2 * sec)
		r.none()
		if got := state(r.dest(1, a)); got != "DX/disabled" || reason(r.dest(1, a)) != "operator" {
			t.Fatalf("%s (%s)", got, reason(r.dest(1, a)))
		}
	})
	t.Run("enabled again is probed again", func(t *testing.T) {
		r := newRig(t, unit(nil), "1 "+a+" 4")
		r.at(0)
		r.none()
		if err := r.d.SetState(1, a, 0, "operator"); err != nil {
			t.Fatal(err)
		}
		r.at(100 * ms) // the next sweep looks again
		r.answer(r.one(), 200)
		if got := state(r.dest(1, a)); got != "AP/probing" {
			t.Fatalf("%s", got)
		}
	})
	t.Run("draining is kept through down and up", func(t *testing.T) {
		r := newRig(t, unit(nil), "1 "+a)
		d := r.dest(1, a)
		d.Transition(0, dispatcher.Draining, "operator")
		r.at(0)
		r.one()
		r.at(200 * ms)
		r.one()
		r.at(400 * ms)
		if st := d.State(); st&dispatcher.Draining == 0 || st&dispatcher.Inactive == 0 {
			t.Fatalf("down: %v", st)
		}
		r.at(1200 * ms)
		r.answer(r.one(), 200)
		r.at(2200 * ms)
		r.answer(r.one(), 200)
		if st := d.State(); st != dispatcher.Draining|dispatcher.Probing {
			t.Fatalf("up: %v (%s), want draining and probing", st, st.KamailioFlags())
		}
	})
	t.Run("operator inactive is probed back", func(t *testing.T) {
		r := newRig(t, unit(nil), "1 "+a)
		r.at(0)
		r.answer(r.one(), 200)
		if err := r.d.SetState(1, a, dispatcher.Inactive|dispatcher.Probing, "operator"); err != nil {
			t.Fatal(err)
		}
		r.at(sec)
		r.answer(r.one(), 200)
		if got := state(r.dest(1, a)); got != "IP/inactive" {
			t.Fatalf("one success: %s", got)
		}
		r.at(2 * sec)
		r.answer(r.one(), 200)
		if got := state(r.dest(1, a)); got != "AP/probing" {
			t.Fatalf("two successes: %s", got)
		}
	})
	t.Run("flagged mode probes only flagged", func(t *testing.T) {
		r := newRig(t, unit(func(c *Config) { c.Mode = ProbeFlagged }), "1 "+a+" 8", "1 "+b)
		r.at(0)
		s := r.one()
		if s.to != r.dest(1, a).Addr {
			t.Fatalf("probed %v", s.to)
		}
		r.at(200 * ms)
		r.one()
		r.at(400 * ms)
		if got, other := state(r.dest(1, a)), state(r.dest(1, b)); got != "IP/inactive" || other != "AX/active" {
			t.Fatalf("flagged %s, unflagged %s", got, other)
		}
	})
}

func TestRetryAfterHold(t *testing.T) {
	t.Run("on traffic", func(t *testing.T) {
		r := newRig(t, unit(nil), "1 "+a, "1 "+b)
		r.at(0)
		for _, s := range r.snd.take() {
			r.answer(s, 200)
		}
		da := r.dest(1, a)
		r.p.NoteReply(da.Addr, 503, 30*sec)
		r.p.NoteReply(da.Addr, 503, 10*sec) // shorter: the longest wins
		r.at(10 * ms)
		if got := state(da); got != "IP/inactive" || reason(da) != "reply 503 Retry-After 30" {
			t.Fatalf("%s (%s)", got, reason(da))
		}
		if got := state(r.dest(1, b)); got != "AP/probing" {
			t.Fatalf("the other destination: %s", got)
		}
		// No probe to a during the hold.
		for now := sec; now < 30*sec; now += 100 * ms {
			r.at(now)
			for _, s := range r.snd.take() {
				if s.to == da.Addr {
					t.Fatalf("probe to a held destination at %v", now)
				}
				r.answer(s, 200)
			}
		}
		r.at(30*sec + 10*ms)
		var toA sent
		for _, s := range r.snd.take() {
			if s.to == da.Addr {
				toA = s
			}
		}
		if toA.b == nil {
			t.Fatal("no probe when the hold ended")
		}
		r.answer(toA, 200)
		if got := state(da); got != "AP/probing" || reason(da) != "probe reply 200 after Retry-After" {
			t.Fatalf("after the hold: %s (%s)", got, reason(da))
		}
	})
	t.Run("capped", func(t *testing.T) {
		r := newRig(t, unit(func(c *Config) { c.RetryAfterCap = 5 * sec }), "1 "+a)
		r.p.NoteReply(r.dest(1, a).Addr, 503, time.Hour)
		r.at(0)
		if want := "reply 503 Retry-After 3600 (capped at 5s)"; reason(r.dest(1, a)) != want {
			t.Fatalf("reason %q", reason(r.dest(1, a)))
		}
		r.none()
		r.at(5 * sec)
		r.one()
	})
	t.Run("on a probe", func(t *testing.T) {
		r := newRig(t, unit(nil), "1 "+a)
		r.at(0)
		r.answer(r.one(), 503, "Retry-After: 20 (overloaded);duration=60")
		if got := state(r.dest(1, a)); got != "IP/inactive" || reason(r.dest(1, a)) != "probe reply 503 Retry-After 20" {
			t.Fatalf("%s (%s)", got, reason(r.dest(1, a)))
		}
		r.at(19 * sec)
		r.none()
		r.at(20 * sec)
		r.answer(r.one(), 500) // still failing after the hold: stays out, counts
		r.at(21 * sec)
		r.answer(r.one(), 200)
		if got := state(r.dest(1, a)); got != "IP/inactive" {
			t.Fatalf("one success after a failed return: %s", got)
		}
	})
	t.Run("paused: comes back when it elapses", func(t *testing.T) {
		r := newRig(t, unit(nil), "1 "+a)
		r.p.SetPingActive(0)
		r.p.NoteReply(r.dest(1, a).Addr, 503, 2*sec)
		r.at(0)
		if got := state(r.dest(1, a)); got != "IX/inactive" {
			t.Fatalf("%s", got)
		}
		r.at(2 * sec)
		r.none()
		if got := state(r.dest(1, a)); got != "AX/active" || reason(r.dest(1, a)) != "Retry-After elapsed" {
			t.Fatalf("%s (%s)", got, reason(r.dest(1, a)))
		}
	})
	t.Run("disabled untouched", func(t *testing.T) {
		r := newRig(t, unit(nil), "1 "+a+" 4")
		r.p.NoteReply(r.dest(1, a).Addr, 503, 2*sec)
		r.at(0)
		if got := state(r.dest(1, a)); got != "DX/disabled" {
			t.Fatalf("%s", got)
		}
	})
}

func TestNoteUnreachable(t *testing.T) {
	t.Run("probe out: fails it at once", func(t *testing.T) {
		r := newRig(t, unit(nil), "1 "+a)
		d := r.dest(1, a)
		r.at(0)
		r.one()
		r.p.NoteUnreachable(d.Addr)
		r.at(ms)
		if got := state(d); got != "TP/trying" || reason(d) != "probe answered by ICMP unreachable" {
			t.Fatalf("%s (%s)", got, reason(d))
		}
		r.one() // the fast retry
		r.p.NoteUnreachable(d.Addr)
		r.at(2 * ms)
		if got := state(d); got != "IP/inactive" {
			t.Fatalf("two ICMP-answered probes: %s", got)
		}
	})
	t.Run("idle: trying and a probe now", func(t *testing.T) {
		r := newRig(t, unit(nil), "1 "+a)
		d := r.dest(1, a)
		r.at(0)
		r.answer(r.one(), 200)
		r.p.NoteUnreachable(d.Addr)
		r.at(300 * ms)
		if got := state(d); got != "TP/trying" || reason(d) != "ICMP unreachable" {
			t.Fatalf("%s (%s)", got, reason(d))
		}
		r.answer(r.one(), 200) // it was a stray error: back to active
		if got := state(d); got != "AP/probing" {
			t.Fatalf("%s", got)
		}
	})
	t.Run("inactive: nothing more", func(t *testing.T) {
		r := newRig(t, unit(func(c *Config) { c.FailThreshold = 1 }), "1 "+a)
		d := r.dest(1, a)
		r.at(0)
		r.one()
		r.at(200 * ms)
		if got := state(d); got != "IP/inactive" {
			t.Fatalf("%s", got)
		}
		before, _ := d.LastChange()
		for i := 0; i < 100; i++ {
			r.p.NoteUnreachable(d.Addr)
		}
		r.at(300 * ms)
		r.none()
		if after, _ := d.LastChange(); after != before {
			t.Fatal("state changed")
		}
		if r.p.byAddr[d.Addr].unreach.Load() != 1 {
			t.Fatal("flag lowered: further errors would wake the prober for nothing")
		}
		r.at(1200 * ms)
		r.one() // the next probe lowers it
		if r.p.byAddr[d.Addr].unreach.Load() != 0 {
			t.Fatal("stale ICMP flag would fail the new probe")
		}
	})
	t.Run("unknown address and passive off", func(t *testing.T) {
		r := newRig(t, unit(func(c *Config) { c.NoPassive = true }), "1 "+a)
		r.p.NoteUnreachable(r.dest(1, a).Addr)
		r.p.NoteUnreachable(r.dest(1, a).Addr)
		r.at(0)
		r.one()
		r.at(ms)
		if got := state(r.dest(1, a)); got != "AX/active" {
			t.Fatalf("%s", got)
		}
	})
}

func TestSilence(t *testing.T) {
	t.Run("answered traffic never alarms", func(t *testing.T) {
		r := newRig(t, unit(nil), "1 "+a)
		d := r.dest(1, a)
		r.at(0)
		r.answer(r.one(), 200)
		for now := 10 * ms; now < 3*sec; now += 10 * ms {
			r.p.NoteSent(d)
			r.p.NoteReply(d.Addr, 200, 0)
			r.at(now)
			for _, s := range r.snd.take() {
				r.answer(s, 200)
			}
		}
		if got := state(d); got != "AP/probing" {
			t.Fatalf("%s (%s)", got, reason(d))
		}
	})
	t.Run("unanswered traffic: trying and a probe", func(t *testing.T) {
		r := newRig(t, unit(nil), "1 "+a)
		d := r.dest(1, a)
		r.at(0)
		r.answer(r.one(), 200)
		r.p.NoteReply(d.Addr, 180, 0) // it has answered traffic
		r.at(100 * ms)
		var alarm time.Duration
		for now := 110 * ms; now < 900*ms && alarm == 0; now += 10 * ms {
			r.p.NoteSent(d)
			r.at(now)
			if d.State()&dispatcher.Trying != 0 {
				alarm = now
			}
		}
		// Silence starts at the first sweep that sees it (≤ 100 ms after
		// the first send) and alarms after Timeout (200 ms) more.
		if alarm == 0 || alarm > 110*ms+100*ms+200*ms+10*ms {
			t.Fatalf("alarm at %v", alarm)
		}
		if !strings.HasPrefix(reason(d), "no reply to traffic for ") {
			t.Errorf("reason %q", reason(d))
		}
		r.answer(r.one(), 200) // the probe says it is fine
		if got := state(d); got != "AP/probing" {
			t.Fatalf("%s", got)
		}
		// Disarmed until it answers traffic again.
		for now := alarm; now < alarm+sec; now += 10 * ms {
			r.p.NoteSent(d)
			r.at(now)
			for _, s := range r.snd.take() {
				r.answer(s, 200)
			}
		}
		if got := state(d); got != "AP/probing" {
			t.Fatalf("alarmed twice without an answer between: %s", got)
		}
	})
	t.Run("no stale alarm when it comes back", func(t *testing.T) {
		// The probes take it out before the silence alarm would fire;
		// the silence clock must not survive until it is back.
		r := newRig(t, unit(func(c *Config) { c.FailThreshold = 1 }), "1 "+a)
		d := r.dest(1, a)
		r.at(0)
		r.answer(r.one(), 200)
		r.p.NoteReply(d.Addr, 200, 0) // armed
		r.at(100 * ms)
		r.p.NoteSent(d) // dies with this request unanswered
		r.at(sec)       // a sweep starts the silence clock; the probe goes out
		r.one()
		r.at(sec + 200*ms) // the probe times out first: inactive
		if got := state(d); got != "IP/inactive" {
			t.Fatalf("%s", got)
		}
		for now := 2 * sec; now <= 3*sec; now += sec { // back, OKThreshold 2
			r.at(now)
			r.answer(r.one(), 200)
		}
		if got := state(d); got != "AP/probing" {
			t.Fatalf("%s", got)
		}
		r.at(3*sec + 150*ms) // the next sweep
		if got := state(d); got != "AP/probing" {
			t.Fatalf("alarm right after coming back: %s (%s)", got, reason(d))
		}
	})
	t.Run("not armed before any answer", func(t *testing.T) {
		r := newRig(t, unit(nil), "1 "+a)
		d := r.dest(1, a)
		r.at(0)
		r.answer(r.one(), 200)
		for now := 10 * ms; now < 900*ms; now += 10 * ms {
			r.p.NoteSent(d)
			r.at(now)
		}
		if got := state(d); got != "AP/probing" {
			t.Fatalf("%s (%s)", got, reason(d))
		}
	})
}

func TestPingActive(t *testing.T) {
	r := newRig(t, unit(nil), "1 "+a)
	if got := r.p.PingActive(); got != 1 {
		t.Fatalf("initial ping state %d, want 1", got)
	}
	if old := r.p.SetPingActive(0); old != 1 || r.p.PingActive() != 0 {
		t.Fatalf("SetPingActive(0) = %d, then %d", old, r.p.PingActive())
	}
	for now := time.Duration(0); now < 5*sec; now += 100 * ms {
		r.at(now)
	}
	r.none()
	if old := r.p.SetPingActive(7); old != 0 || r.p.PingActive() != 7 {
		t.Fatalf("SetPingActive(7) = %d, then %d", old, r.p.PingActive())
	}
	r.at(5 * sec)
	r.one()
}

// Every state change is logged once, through the destination's logger, with
// its reason.
func TestLoggedOnce(t *testing.T) {
	var out logLines
	log := slog.New(slog.NewTextHandler(&out, nil))
	r := newRigLog(t, unit(nil), log, "1 "+a)
	r.at(0)
	r.answer(r.one(), 200) // AX -> AP
	for now := sec; now < 5*sec; now += 100 * ms {
		r.at(now)
		for _, s := range r.snd.take() {
			r.answer(s, 200) // no change: no line
		}
	}
	r.at(5 * sec)
	r.one()
	r.at(5*sec + 200*ms) // trying
	r.one()
	r.at(5*sec + 400*ms) // inactive
	lines := out.all()
	want := []string{"reason=\"probe reply 200\"", "reason=\"probe timeout\"", "reason=\"probe timeout (2 in a row)\""}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), strings.Join(lines, "\n"))
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) || !strings.Contains(lines[i], "uri="+a) {
			t.Errorf("line %d %q lacks %s", i, lines[i], w)
		}
	}
}

func TestSendError(t *testing.T) {
	r := newRig(t, unit(nil), "1 "+a)
	r.snd.err = errSend
	r.at(0) // fails, retried at once: inactive after two
	if got := state(r.dest(1, a)); got != "TP/trying" {
		t.Fatalf("%s", got)
	}
	r.at(ms)
	if got := state(r.dest(1, a)); got != "IP/inactive" || reason(r.dest(1, a)) != "probe not sent: "+errSend.Error()+" (2 in a row)" {
		t.Fatalf("%s (%s)", got, reason(r.dest(1, a)))
	}
	r.at(2 * ms)
	r.snd.err = nil
	r.none()
}

// TestEveryTransport: TCP and TLS destinations are probed too, over their
// own transport (the Via of the probe says which).
func TestEveryTransport(t *testing.T) {
	r := newRig(t, unit(nil), "1 sip:10.0.0.1:5060;transport=tcp", "1 sips:10.0.0.2", "1 "+b)
	r.at(0)
	r.snd.mu.Lock()
	defer r.snd.mu.Unlock()
	if len(r.snd.msgs) != 3 {
		t.Fatalf("%d probes sent, want 3", len(r.snd.msgs))
	}
	want := map[string]string{"10.0.0.1:5060": "SIP/2.0/TCP ", "10.0.0.2:5061": "SIP/2.0/TLS ", r.dest(1, b).Addr.String(): "SIP/2.0/UDP "}
	for _, m := range r.snd.msgs {
		if v, ok := want[m.to.String()]; !ok || !strings.Contains(string(m.b), "Via: "+v) {
			t.Errorf("probe to %v:\n%s", m.to, m.b)
		}
	}
}

func TestNewErrors(t *testing.T) {
	d := loadDispatcher(t, nil, "1 "+a)
	if _, err := New(nil, &fakeSender{}, Config{}, nil); err == nil {
		t.Error("nil dispatcher accepted")
	}
	if _, err := New(d, nil, Config{}, nil); err == nil {
		t.Error("nil sender accepted")
	}
	if _, err := New(d, &fakeSender{}, Config{Timeout: time.Minute}, nil); err == nil {
		t.Error("timeout longer than the interval accepted")
	}
}

// Start and Stop run the goroutine; Stop waits for it; both are idempotent.
func TestStartStop(t *testing.T) {
	d := loadDispatcher(t, nil, "1 "+a)
	snd := &fakeSender{}
	p, err := New(d, snd, Config{Interval: 20 * ms, Timeout: 5 * ms}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.Start()
	p.Start()
	deadline := time.Now().Add(2 * sec)
	for len(snd.take()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no probe within 2s of Start")
		}
		time.Sleep(ms)
	}
	p.Stop()
	p.Stop()
	snd.take()
	time.Sleep(50 * ms)
	if n := len(snd.take()); n != 0 {
		t.Fatalf("%d probes after Stop", n)
	}
	p.Start() // a stopped prober stays stopped
	time.Sleep(50 * ms)
	if n := len(snd.take()); n != 0 {
		t.Fatalf("%d probes after Start on a stopped prober", n)
	}
	q, _ := New(d, snd, Config{}, nil)
	q.Stop() // never started: returns
}

// The bound the package promises, on a fake clock: with the defaults
// (Timeout = Interval/2, FailThreshold 2, jitter on), a destination that
// dies at any moment is inactive within two intervals.
func TestDeadWithinTwoIntervals(t *testing.T) {
	const step = ms
	worst := time.Duration(0)
	for kill := 3 * sec; kill < 4*sec; kill += 37 * ms {
		r := newRig(t, Config{Interval: sec}, "1 "+a)
		d := r.dest(1, a)
		now := time.Duration(0)
		for ; d.State()&dispatcher.Inactive == 0; now += step {
			if now > kill+5*sec {
				t.Fatalf("killed at %v: still %s at %v", kill, state(d), now)
			}
			r.at(now)
			for _, s := range r.snd.take() {
				if now < kill {
					r.answer(s, 200)
				}
			}
		}
		took := now - step - kill
		worst = max(worst, took)
		if took > 2*sec+step {
			t.Errorf("killed at %v: inactive after %v", kill, took)
		}
	}
	t.Logf("worst time to inactive: %v (bound 2s)", worst)
}
