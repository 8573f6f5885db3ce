//go:build linux

package nl

import "context"

// SetDatagramSizeForTest shrinks a Conn's receive buffers below the minimum
// the options allow, so tests can provoke MSG_TRUNC.
func SetDatagramSizeForTest(c *Conn, n int) {
	c.lock(context.Background(), nil, true)
	c.mu.Lock()
	for i := range c.bufs {
		c.bufs[i] = make([]byte, n)
	}
	c.cfg.datagramSize = n
	c.mu.Unlock()
	c.unlock()
}
