//go:build linux

package conntrack

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"golang.org/x/sys/unix"

	"github.com/nlrx/nlrx/nl"
)

// Dial opens a NETLINK_NETFILTER socket for ctnetlink requests, with nl's
// options (nl.WithNetNS for another namespace, nl.WithReadBuffer for large
// batches). It joins no group; DialEvents opens one that does. The kernel
// answers ctnetlink requests only from a process with CAP_NET_ADMIN in the
// namespace's user namespace.
func Dial(opts ...nl.Option) (*nl.Conn, error) {
	return nl.Dial(unix.NETLINK_NETFILTER, nl.Addr{}, opts...)
}

// ForEach dumps the flows that pass f (IPCTNL_MSG_CT_GET with NLM_F_DUMP;
// `conntrack -L`) and calls fn for each, decoding straight from the
// socket's receive buffer: *fl is reused for the next flow and is valid
// only until fn returns. If fn returns an error the walk stops and that
// error is returned; the rest of the dump is drained by the next request
// on c.
//
// Costs: one send, one receive per datagram, no allocation per flow.
// Flows that fail to decode are skipped and reported, joined, after the
// dump. If the kernel flags the dump as interrupted, every flow is still
// handed to fn and the error matches nl.ErrDumpInterrupted.
func ForEach(ctx context.Context, c *nl.Conn, f Filter, fn func(fl *Flow) error) error {
	req, err := f.Request()
	if err != nil {
		return fmt.Errorf("conntrack: dump: %w", err)
	}
	var fl Flow
	var decErr, fnErr error
	err = c.ExecuteFunc(ctx, req, func(m nl.Message) error {
		if m.Header.Type != TypeNew {
			return nil
		}
		fl = Flow{}
		if err := fl.decode(m.Data); err != nil {
			decErr = joinCapped(decErr, err)
			return nil
		}
		if !f.Match(&fl) {
			return nil
		}
		fnErr = fn(&fl)
		return fnErr
	})
	if fnErr != nil {
		return fnErr
	}
	return dumpErr("dump", err, decErr)
}

// Append dumps the flows that pass f and appends them to dst, which it
// returns. Passing the previous result as dst[:0] reuses its memory: a
// dump then allocates nothing per flow. On error, dst holds the flows
// received: with nl.ErrDumpInterrupted that is the whole (possibly
// inconsistent) dump.
func Append(ctx context.Context, c *nl.Conn, dst []Flow, f Filter) ([]Flow, error) {
	req, err := f.Request()
	if err != nil {
		return dst, fmt.Errorf("conntrack: dump: %w", err)
	}
	var decErr error
	err = c.ExecuteFunc(ctx, req, func(m nl.Message) error {
		if m.Header.Type != TypeNew {
			return nil
		}
		n := len(dst)
		if n == cap(dst) {
			grown := make([]Flow, n, max(256, 2*n))
			copy(grown, dst)
			dst = grown
		}
		dst = dst[:n+1]
		dst[n] = Flow{}
		fl := &dst[n]
		if err := fl.decode(m.Data); err != nil {
			decErr = joinCapped(decErr, err)
			dst = dst[:n]
			return nil
		}
		if !f.Match(fl) {
			dst = dst[:n]
		}
		return nil
	})
	return dst, dumpErr("dump", err, decErr)
}

// List returns the flows that pass f. It is Append(ctx, c, nil, f).
func List(ctx context.Context, c *nl.Conn, f Filter) ([]Flow, error) {
	return Append(ctx, c, nil, f)
}

// errBreak stops a ForEach walk when the loop's body breaks.
var errBreak = errors.New("conntrack: iteration stopped")

// Flows dumps the flows that pass f (ForEach) as a sequence: a copy of each
// flow, then, if the dump failed, one zero flow with the error. Breaking
// out of the loop stops reading; the rest of the dump is drained by the
// next request on c.
func Flows(ctx context.Context, c *nl.Conn, f Filter) iter.Seq2[Flow, error] {
	return func(yield func(Flow, error) bool) {
		err := ForEach(ctx, c, f, func(fl *Flow) error {
			if !yield(*fl, nil) {
				return errBreak
			}
			return nil
		})
		if err != nil && !errors.Is(err, errBreak) {
			yield(Flow{}, err)
		}
	}
}

// maxDecodeErrors bounds the decoding errors kept from one dump.
const maxDecodeErrors = 8

func joinCapped(acc, err error) error {
	if acc == nil {
		return err
	}
	if j, ok := acc.(interface{ Unwrap() []error }); ok && len(j.Unwrap()) >= maxDecodeErrors {
		return acc
	}
	return errors.Join(acc, err)
}

func dumpErr(what string, err, decErr error) error {
	if err != nil {
		err = fmt.Errorf("conntrack: %s: %w", what, err)
	}
	return errors.Join(err, decErr)
}

// keyRequest is the request for one flow by its key (the original tuple, or
// the reply tuple if Orig is unset, the zone, and for a delete the ID).
func keyRequest(typ uint16, q *Flow, withID bool) (nl.Message, error) {
	k := Flow{Family: q.family(), Zone: q.Zone}
	if !q.Orig.isZero() {
		k.Orig = q.Orig
	} else {
		k.Reply = q.Reply
	}
	if k.Orig.isZero() && k.Reply.isZero() {
		return nl.Message{}, errors.New("no tuple to look the flow up by")
	}
	if withID {
		k.ID = q.ID
	}
	b := make([]byte, 0, 128)
	b = append(b, byte(k.Family), 0, 0, 0)
	e := nl.NewAttributeEncoder(b)
	k.appendAttrs(e, false)
	if k.ID != 0 {
		e.Uint32BE(ctaID, k.ID)
	}
	b, err := e.Bytes()
	if err == nil {
		err = k.checkFamily()
	}
	return nl.Message{Header: nl.Header{Type: typ, Flags: nl.FlagRequest}, Data: b}, err
}

// Get asks the kernel for the flow whose original tuple (or, if q.Orig is
// unset, reply tuple) and zone are q's (IPCTNL_MSG_CT_GET; `conntrack -G`).
// A missing flow gives an error matching unix.ENOENT. One request and its
// reply.
func Get(ctx context.Context, c *nl.Conn, q Flow) (Flow, error) {
	var fl Flow
	found := false
	m, err := keyRequest(TypeGet, &q, false)
	if err == nil {
		err = c.ExecuteFunc(ctx, m, func(r nl.Message) error {
			if r.Header.Type != TypeNew || found {
				return nil
			}
			found = true
			return fl.UnmarshalBinary(r.Data)
		})
	}
	if err == nil && !found {
		err = fmt.Errorf("%w: no IPCTNL_MSG_CT_NEW in the reply", ErrMessageType)
	}
	if err != nil {
		return Flow{}, fmt.Errorf("conntrack: get %v: %w", q.Orig, err)
	}
	return fl, nil
}

// changeRequest prepares f for IPCTNL_MSG_CT_NEW: a missing reply tuple
// is the original one reversed (as conntrack -I makes it), a status keeps
// only the bits a request may set, plus IPS_CONFIRMED (the kernel sets it
// before it applies CTA_STATUS, and refuses with EBUSY a status that would
// clear it), and what only the kernel reports (ID, use, counters,
// timestamps) is left out.
func changeRequest(f *Flow, flags uint16) (nl.Message, error) {
	g := *f
	g.Family = f.family()
	if g.Reply.isZero() {
		g.Reply = g.Orig.Reverse()
	}
	if g.Status != 0 {
		g.Status = g.Status&^StatusUnchangeable | StatusConfirmed
	}
	if err := g.checkFamily(); err != nil {
		return nl.Message{}, err
	}
	b := make([]byte, 0, 192)
	b = append(b, byte(g.Family), 0, 0, 0)
	e := nl.NewAttributeEncoder(b)
	g.appendAttrs(e, false)
	b, err := e.Bytes()
	return nl.Message{Header: nl.Header{Type: TypeNew, Flags: nl.FlagRequest | flags}, Data: b}, err
}

// Create adds the flow f to the table (IPCTNL_MSG_CT_NEW with
// NLM_F_CREATE|NLM_F_EXCL; `conntrack -I`), without any packet: for tests,
// benchmarks and state synchronisation. f needs an original tuple and a
// Timeout (the kernel refuses a new flow without one, with EINVAL); the
// reply tuple defaults to the original one reversed. Status bits the
// kernel sets itself (StatusUnchangeable) are not sent; Mark, Zone,
// Labels and TCP are (the kernel keeps labels only in a namespace whose
// ruleset uses connection labels, nftables' ct label, and drops them from
// a create silently otherwise). A flow that exists already fails with an error
// matching unix.EEXIST. The kernel sends a NEW event for it. One request
// and its ACK.
func Create(ctx context.Context, c *nl.Conn, f Flow) error {
	m, err := changeRequest(&f, nl.FlagCreate|nl.FlagExcl)
	return execute(ctx, c, m, err, fmt.Sprintf("create %v", f.Orig))
}

// Update changes the flow with f's original tuple and zone
// (IPCTNL_MSG_CT_NEW without NLM_F_CREATE; `conntrack -U`): the fields of
// f that are set (Timeout, Mark, Labels, Status bits that may change, TCP
// state) replace the kernel's. The kernel refuses (EBUSY) a status that
// clears SEEN_REPLY, ASSURED or a NAT bit the flow has: leave Status zero
// to keep it. A missing flow fails with an error matching unix.ENOENT. One
// request and its ACK.
func Update(ctx context.Context, c *nl.Conn, f Flow) error {
	m, err := changeRequest(&f, 0)
	return execute(ctx, c, m, err, fmt.Sprintf("update %v", f.Orig))
}

// Delete deletes the flow with f's original tuple (or, if f.Orig is unset,
// reply tuple) and zone (IPCTNL_MSG_CT_DELETE; `conntrack -D`); with f.ID
// set, only if the kernel's entry still has that ID. A missing flow fails
// with an error matching unix.ENOENT. One request and its ACK.
func Delete(ctx context.Context, c *nl.Conn, f Flow) error {
	m, err := keyRequest(TypeDelete, &f, true)
	return execute(ctx, c, m, err, fmt.Sprintf("delete %v", f.Orig))
}

func execute(ctx context.Context, c *nl.Conn, m nl.Message, err error, what string) error {
	if err == nil {
		err = c.ExecuteFunc(ctx, m, func(nl.Message) error { return nil })
	}
	if err != nil {
		return fmt.Errorf("conntrack: %s: %w", what, err)
	}
	return nil
}

// FlowError is the kernel's refusal of one flow of a batch (CreateFlows,
// DeleteFlows).
type FlowError struct {
	Index int   // the flow's index in the slice passed
	Flow  Tuple // its original tuple
	Err   error // the kernel's error (*nl.Error)
}

func (e *FlowError) Error() string { return fmt.Sprintf("flow %d (%v): %v", e.Index, e.Flow, e.Err) }

func (e *FlowError) Unwrap() error { return e.Err }

// CreateFlows creates many flows as Create does, pipelined through
// nl.Conn.ExecuteBatch (many requests per datagram, one ACK per window).
// Failures come back as *FlowError values joined with errors.Join; flows
// that succeeded stay. A transport or context error stops it at once.
// Cost: the requests are encoded into one buffer; one send per 128 KiB,
// one receive per failure and per window.
func CreateFlows(ctx context.Context, c *nl.Conn, flows []Flow) error {
	return batch(ctx, c, flows, "create", func(f *Flow) (nl.Message, error) {
		return changeRequest(f, nl.FlagCreate|nl.FlagExcl)
	}, false)
}

// DeleteFlows deletes many flows as Delete does, pipelined as CreateFlows.
// Flows already gone (ENOENT: expired or deleted meanwhile) are not
// failures.
func DeleteFlows(ctx context.Context, c *nl.Conn, flows []Flow) error {
	return batch(ctx, c, flows, "delete", func(f *Flow) (nl.Message, error) {
		return keyRequest(TypeDelete, f, true)
	}, true)
}

func batch(ctx context.Context, c *nl.Conn, flows []Flow, what string, build func(*Flow) (nl.Message, error), gone bool) error {
	ms := make([]nl.Message, len(flows))
	for i := range flows {
		m, err := build(&flows[i])
		if err != nil {
			return fmt.Errorf("conntrack: %s flow %d (%v): %w", what, i, flows[i].Orig, err)
		}
		ms[i] = m
	}
	var failed []error
	err := c.ExecuteBatch(ctx, ms, func(i int, err error) {
		if err != nil && !(gone && errors.Is(err, unix.ENOENT)) {
			failed = append(failed, &FlowError{Index: i, Flow: flows[i].Orig, Err: err})
		}
	})
	if err != nil {
		return fmt.Errorf("conntrack: %s flows: %w", what, err)
	}
	if len(failed) > 0 {
		return fmt.Errorf("conntrack: %s flows: %d of %d failed: %w", what, len(failed), len(flows), errors.Join(failed...))
	}
	return nil
}

// Flush deletes every flow that passes f in one request
// (IPCTNL_MSG_CT_DELETE without a tuple; `conntrack -F`, or `conntrack -D`
// with a filter): the kernel walks its table and applies the filter
// itself. The zero Filter flushes the namespace's table. A filter the
// kernel cannot apply (see Filter.KernelCan) is refused with an error
// matching ErrFilter: use DeleteMatching for it. The kernel does not say
// how many flows it deleted. One request and its ACK.
func Flush(ctx context.Context, c *nl.Conn, f Filter) error {
	m, err := f.flushRequest()
	return execute(ctx, c, m, err, "flush")
}

// DeleteMatching dumps the flows that pass f and for which match (if not
// nil) returns true, deletes them (DeleteFlows, each by tuple, zone and
// ID, so that an entry made anew meanwhile is left alone) and returns how
// many it found (those that expired before their delete included): the
// dump+delete that kube-proxy's stale-entry cleanup
// does, for any predicate. Cost: a dump, then one batch of deletes.
func DeleteMatching(ctx context.Context, c *nl.Conn, f Filter, match func(*Flow) bool) (int, error) {
	var doomed []Flow
	err := ForEach(ctx, c, f, func(fl *Flow) error {
		if match == nil || match(fl) {
			doomed = append(doomed, *fl)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if err := DeleteFlows(ctx, c, doomed); err != nil {
		return 0, err
	}
	return len(doomed), nil
}
