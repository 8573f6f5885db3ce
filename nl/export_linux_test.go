//go:build linux

package nl

// SetDatagramSizeForTest shrinks a Conn's receive buffer below the minimum
// the options allow, so tests can provoke MSG_TRUNC.
func SetDatagramSizeForTest(c *Conn, n int) {
	c.rmu.Lock()
	c.rbuf = make([]byte, n)
	c.rmu.Unlock()
}
