package rueckkanal

// The in-memory outbox and the test relay for the external tests
// (integration_test.go, package rueckkanal_test).

type MemOutbox = memOutbox

func (o *memOutbox) Add(ms ...*Message) { o.add(ms...) }

func (o *memOutbox) Count() (sent, waiting, failed int) { return o.count() }

func (o *memOutbox) FailNextMarkSent(n int) {
	o.mu.Lock()
	o.failMarkSent = n
	o.mu.Unlock()
}

// Failures returns the failure recorded for each message (nil when none).
func (o *memOutbox) Failures() []*Failure {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []*Failure
	for _, it := range o.items {
		out = append(out, it.failed)
	}
	return out
}
