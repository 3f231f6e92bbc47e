package health

import (
	"testing"
	"time"
)

func TestLatencyMath(t *testing.T) {
	var l latency
	// Warm-up: the plain mean of the first eight samples.
	samples := []int64{10, 20, 30, 40, 50, 60, 70, 80}
	var sum int64
	for i, s := range samples {
		sum += s * int64(time.Millisecond)
		ewma, _ := l.add(s * int64(time.Millisecond))
		if mean := sum / int64(i+1); ewma != mean {
			t.Fatalf("sample %d: ewma %d, want the mean %d", i+1, ewma, mean)
		}
	}
	// Then each new sample weighs 1/8.
	prev := l.ewma
	ewma, _ := l.add(int64(125 * time.Millisecond))
	if want := prev + (int64(125*time.Millisecond)-prev)/8; ewma != want {
		t.Fatalf("ewma %d, want %d", ewma, want)
	}
	// A step converges: after 60 samples of 5 ms it is within 1% of 5 ms.
	for i := 0; i < 60; i++ {
		ewma, _ = l.add(int64(5 * time.Millisecond))
	}
	if d := ewma - int64(5*time.Millisecond); d < 0 || d > int64(50*time.Microsecond) {
		t.Fatalf("ewma %v after 60 samples of 5ms", time.Duration(ewma))
	}
	if _, mx := l.add(-3); mx < 0 {
		t.Fatal("negative sample")
	}
}

// The recent maximum shows a spike for 16 to 31 samples, then decays.
func TestLatencyRecentMax(t *testing.T) {
	for _, at := range []int{0, 1, 7, 15} { // position of the spike in its window
		var l latency
		for i := 0; i < 3*maxWindow; i++ { // align to a window start
			l.add(1)
		}
		for i := 0; i < at; i++ {
			l.add(1)
		}
		if _, mx := l.add(1000); mx != 1000 {
			t.Fatalf("max %d right after the spike", mx)
		}
		seen := 0
		for {
			_, mx := l.add(1)
			if mx != 1000 {
				break
			}
			seen++
			if seen > 2*maxWindow {
				t.Fatalf("spike at %d still the max after %d samples", at, seen)
			}
		}
		// The spike's window is finished (maxWindow-at-1 more samples),
		// then lasts one whole window more.
		if want := maxWindow - at - 1 + maxWindow; seen != want {
			t.Errorf("spike at %d stayed for %d samples, want %d", at, seen, want)
		}
	}
}
