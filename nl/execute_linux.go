//go:build linux

package nl

import (
	"context"
	"fmt"
)

// Execute sends the request m and returns the kernel's replies. It is the
// request/reply form of Guile-Netlink's receive-and-decode-msg.
//
// NLM_F_REQUEST is always set, and NLM_F_ACK unless m is a dump (NLM_F_DUMP),
// so success is always confirmed. A fresh sequence number is used; only
// replies from the kernel (sender port 0) with that sequence number and this
// socket's port id count, other messages are skipped and counted in
// Stats.Unmatched. A multipart reply is followed to NLMSG_DONE. The ACK and
// DONE are not returned.
//
// Errors: the kernel's error as an *Error (errno, extended-ACK text and
// offset), from NLMSG_ERROR or from the errno in NLMSG_DONE;
// ErrDumpInterrupted (with every reply received, which the caller may use or
// discard) if any reply had NLM_F_DUMP_INTR; ErrNoReplies on a socket whose
// protocol has no request/reply (Framing: connector, uevents); ErrTruncated if a datagram was
// cut (the dump is still read to its end so the socket stays usable); ctx's
// error if it ends first, whether Execute is waiting for the kernel or for
// another request on the socket (see Conn for how requests share it). The
// read deadline (SetReadDeadline) applies too, and is left as it was.
// Cost: one send, one receive per datagram, and per datagram one copy into
// a shared arena (about 80 allocations for a 100,000-route dump); use
// ExecuteFunc to decode without copying.
func (c *Conn) Execute(ctx context.Context, m Message) ([]Message, error) {
	var out []Message
	var arena []byte
	err := c.ExecuteFunc(ctx, m, func(r Message) error {
		if len(arena)+len(r.Data) > cap(arena) {
			arena = make([]byte, 0, max(64<<10, len(r.Data)))
		}
		start := len(arena)
		arena = append(arena, r.Data...)
		r.Data = arena[start:len(arena):len(arena)]
		out = append(out, r)
		return nil
	})
	return out, err
}

// ExecuteFunc is Execute that hands each reply to fn instead of collecting
// them. r.Data aliases a receive buffer and is valid only until fn returns.
// If fn returns an error, ExecuteFunc stops and returns it; the rest of the
// reply is skipped by whichever request on the socket reads it next (a dump
// request reads it to its end first). fn may make requests on c: they run
// at once (see Conn). It allocates nothing per reply.
func (c *Conn) ExecuteFunc(ctx context.Context, m Message, fn func(r Message) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.framing != FramingNetlink {
		return fmt.Errorf("nl: execute on a %s socket: %w", c.framing, ErrNoReplies)
	}
	m.Header.Flags |= FlagRequest
	dump := m.Header.Flags&FlagDump == FlagDump
	if !dump {
		m.Header.Flags |= FlagAck
	}
	r := c.newRequest(ctx)
	ended := false
	defer func() { c.done(r, ended) }()
	if err := c.begin(r, dump); err != nil {
		return err
	}
	seq := c.NextSeq()
	m.Header.Seq = seq
	c.wmu.Lock()
	c.wbuf = AppendMessage(c.wbuf[:0], m)
	err := c.sendRaw(c.wbuf, Addr{})
	c.wmu.Unlock()
	if err != nil {
		c.unlock()
		return err
	}
	c.register(r, seq, seq, dump)

	port := c.local.PortID
	var intr, trunc bool
	for {
		d, err := c.next(r, false)
		if err != nil {
			c.unlock()
			return c.ctxErr(ctx, err)
		}
		// Set aside what belongs to others and let the turn go: fn may
		// make requests of its own.
		routed, _ := c.route(r, d, true)
		if d.trunc {
			trunc = true
		}
		it := NewMessageIter(d.b)
		for it.Next() {
			rep := it.Message()
			if !d.queued {
				c.stats.messages.Add(1)
			}
			if !r.owns(rep.Header, port) {
				if !routed {
					c.stats.unmatched.Add(1)
				}
				continue
			}
			if rep.Header.Flags&FlagDumpIntr != 0 {
				intr = true
			}
			switch rep.Header.Type {
			case TypeNoop, TypeOverrun:
				continue
			case TypeError:
				ended = true
				return c.finish(ParseError(rep), intr, trunc)
			case TypeDone:
				ended = true
				return c.finish(ParseDone(rep), intr, trunc)
			}
			if err := fn(rep); err != nil {
				return err
			}
		}
		if err := it.Err(); err != nil && !d.trunc {
			return fmt.Errorf("nl: reply to request %d: %w", seq, err)
		}
		if err := c.lock(ctx, r, false); err != nil {
			return err
		}
	}
}

func (c *Conn) finish(kerr error, intr, trunc bool) error {
	switch {
	case kerr != nil:
		return kerr
	case trunc:
		return fmt.Errorf("nl: reply: %w", ErrTruncated)
	case intr:
		return ErrDumpInterrupted
	}
	return nil
}

// ExecuteBatch sends requests pipelined, many to a datagram (the libmnl
// batch pattern), and calls fn once per request, in order, with its
// outcome: nil for success, the kernel's *Error otherwise. Requests get
// consecutive sequence numbers and NLM_F_REQUEST; they must not be dumps,
// and data replies (NLM_F_ECHO) are skipped.
//
// Requests go in windows sized so that their replies fit the socket's
// receive buffer (with a larger buffer, WithReadBuffer, windows are larger
// and bulk changes faster). Only the last request of a window asks for an
// ACK: the kernel handles a socket's requests in order and answers every
// failure with NLMSG_ERROR whether or not it was asked to, so once the
// last ACK is in, every request of the window that drew no error has
// succeeded. That halves the receives of a bulk change.
//
// It returns a transport or context error; the kernel's errors go to fn
// only. fn runs after each window, when the socket is free again, and may
// make requests on c. Cost: one send per window (or per 128 KiB), one
// receive per failure plus one per window, and a few allocations per call.
func (c *Conn) ExecuteBatch(ctx context.Context, reqs []Message, fn func(i int, err error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.framing != FramingNetlink {
		return fmt.Errorf("nl: execute on a %s socket: %w", c.framing, ErrNoReplies)
	}
	r := c.newRequest(ctx)
	defer c.done(r, true) // every window is read to its last reply
	if err := c.begin(r, false); err != nil {
		return err
	}
	window := 64
	if n, err := c.ReadBufferSize(); err == nil {
		window = max(16, min(4096, n/1024))
	}
	outcome := make([]error, window)
	port := c.local.PortID
	const maxDatagram = 128 << 10 // well under the default send buffer
	for start := 0; start < len(reqs); {
		// Pack a window of requests into datagrams and send them.
		n := min(window, len(reqs)-start)
		base := c.seq.Add(uint32(n)) - uint32(n) + 1
		last := base + uint32(n) - 1
		c.wmu.Lock()
		for i := 0; i < n; {
			c.wbuf = c.wbuf[:0]
			for i < n && (len(c.wbuf) == 0 || len(c.wbuf)+Align(reqs[start+i].Len()) <= maxDatagram) {
				m := reqs[start+i]
				m.Header.Flags |= FlagRequest
				if i == n-1 {
					m.Header.Flags |= FlagAck
				}
				m.Header.Seq = base + uint32(i)
				m.Header.Length = 0
				c.wbuf = AppendMessage(c.wbuf, m)
				i++
			}
			if err := c.sendRaw(c.wbuf, Addr{}); err != nil {
				c.wmu.Unlock()
				c.unlock()
				return err
			}
		}
		c.wmu.Unlock()
		c.register(r, base, last, false)

		// Collect the failures, up to the last request's reply.
		clear(outcome[:n])
		for done := false; !done; {
			d, err := c.next(r, false)
			if err != nil {
				c.unlock()
				return c.ctxErr(ctx, err)
			}
			routed, _ := c.route(r, d, false)
			it := NewMessageIter(d.b)
			for it.Next() {
				rep := it.Message()
				if !d.queued {
					c.stats.messages.Add(1)
				}
				if rep.Header.Type != TypeError || !r.owns(rep.Header, port) {
					if !routed {
						c.stats.unmatched.Add(1)
					}
					continue
				}
				outcome[rep.Header.Seq-base] = ParseError(rep)
				if rep.Header.Seq == last {
					done = true
				}
			}
		}
		c.unlock() // fn may make requests of its own
		for i, err := range outcome[:n] {
			fn(start+i, err)
		}
		start += n
		if start < len(reqs) {
			if err := c.lock(ctx, r, false); err != nil {
				return err
			}
		}
	}
	return nil
}
