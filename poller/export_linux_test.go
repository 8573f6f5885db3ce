//go:build linux

package poller

// WithBlockingWait makes the loop wait in a blocking epoll_wait on its own
// thread instead of the runtime's netpoller, for the benchmarks.
func WithBlockingWait() Option { return func(c *config) { c.wait = waitBlocking } }
