package agent

import "time"

// Container restart backoff, as the kubelet's CrashLoopBackOff: the first
// restart after a crash is immediate, every further one waits twice as long
// as the previous wait (10s, 20s, 40s … capped at 5 min), and a container
// whose last restart is older than twice the cap (10 min) starts over.
const (
	backoffInitial = 10 * time.Second
	backoffMax     = 300 * time.Second
	backoffReset   = 2 * backoffMax
)

// backoff is one container's restart backoff. The zero value means "never
// restarted".
type backoff struct {
	// Delay is the wait imposed after the last restart.
	Delay time.Duration
	// Since is when the container whose exit caused the last restart
	// finished; the wait counts from the next exit.
	Since time.Time
}

// expired reports whether the backoff has been quiet long enough to start
// over.
func (b backoff) expired(at time.Time) bool {
	return b.Delay == 0 || at.Sub(b.Since) > backoffReset
}

// waitUntil says whether a container that finished at finishedAt must still
// wait at now before its restart, and until when.
func (b backoff) waitUntil(now, finishedAt time.Time) (time.Time, bool) {
	if b.expired(now) {
		return time.Time{}, false
	}
	until := finishedAt.Add(b.Delay)
	return until, now.Before(until)
}

// next is the backoff after restarting a container that finished at
// finishedAt.
func (b backoff) next(finishedAt time.Time) backoff {
	if b.expired(finishedAt) {
		return backoff{Delay: backoffInitial, Since: finishedAt}
	}
	return backoff{Delay: min(2*b.Delay, backoffMax), Since: finishedAt}
}
