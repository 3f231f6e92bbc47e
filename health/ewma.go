package health

// latency keeps the round-trip statistics of one destination's probes, in
// nanoseconds, with integers only.
//
// The average is an exponentially weighted moving average with weight 1/8
// for a new sample (TCP's SRTT gain, RFC 6298), after a warm-up in which it
// is the plain mean of the first 8 samples, so that the first answers are
// not dwarfed by a zero start (Kamailio uses the mean for its first 10
// samples, then weight 1/10).
//
// The recent maximum is the largest sample of the current window of
// maxWindow samples and of the window before it: it covers the last 16 to 31
// samples (160 to 310 seconds at the default interval), so that one slow
// answer shows for a few minutes and then decays, while the maximum never
// lags behind a sample it has seen.
type latency struct {
	n         int   // samples taken, saturating at ewmaWarm
	ewma      int64 // the moving average
	cur, prev int64 // maximum of the current and of the previous window
	inWin     int   // samples in the current window
}

const (
	ewmaShift = 3 // weight 1/8
	ewmaWarm  = 1 << ewmaShift
	maxWindow = 16
)

// add takes one sample and returns the new average and recent maximum.
func (l *latency) add(s int64) (ewma, recentMax int64) {
	if s < 0 {
		s = 0
	}
	if l.n < ewmaWarm {
		l.n++
		l.ewma += (s - l.ewma) / int64(l.n)
	} else {
		l.ewma += (s - l.ewma) >> ewmaShift
	}
	l.cur = max(l.cur, s)
	l.inWin++
	recentMax = max(l.cur, l.prev)
	if l.inWin == maxWindow {
		l.prev, l.cur, l.inWin = l.cur, 0, 0
	}
	return l.ewma, recentMax
}
