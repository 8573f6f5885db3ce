//go:build linux

package conntrack

import (
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/poller"
	"github.com/nlrx/nlrx/stream"
)

// DialEvents opens a NETLINK_NETFILTER socket joined to the groups of the
// event types given (all three when none is), for Listen or a poller of
// your own. nl's options apply: nl.WithNetNS for another namespace,
// nl.WithReadBuffer for a receive queue that holds a burst (the kernel
// drops events that do not fit, and the socket reports an overrun).
// Joining needs CAP_NET_ADMIN in the namespace's user namespace.
//
// The kernel sends events only while net.netfilter.nf_conntrack_events
// is not 0 (the default, 2, sends them once a socket listens).
func DialEvents(types []EventType, opts ...nl.Option) (*nl.Conn, error) {
	if len(types) == 0 {
		types = []EventType{EventNew, EventUpdate, EventDestroy}
	}
	groups := make([]uint32, len(types))
	for i, t := range types {
		groups[i] = t.Group()
	}
	return nl.Dial(unix.NETLINK_NETFILTER, nl.Addr{}, append([]nl.Option{nl.WithGroups(groups...)}, opts...)...)
}

// SourceStats counts what a Source published. All counters only grow.
type SourceStats struct {
	Events    uint64 // events published
	Overruns  uint64 // kernel overruns (ENOBUFS): events lost in unknown number
	Malformed uint64 // messages that did not decode, and truncated or malformed datagrams
}

type sourceStats struct{ events, overruns, malformed atomic.Uint64 }

func (s *sourceStats) load() SourceStats {
	return SourceStats{Events: s.events.Load(), Overruns: s.overruns.Load(), Malformed: s.malformed.Load()}
}

// Handler returns a poller.Handler that decodes the events of a DialEvents
// socket and publishes them into pub, in order: each run of messages as
// one PushBatch of Events (a datagram run from one recvmmsg); an overrun
// (the kernel dropped events) as a stream.Gap whose Cause matches
// unix.ENOBUFS; a message that does not decode, or a truncated or
// malformed datagram, as a Gap with the error (Dropped 1 for a message);
// the registration's end as pub.Error with its error (os.ErrClosed when
// the poller or socket was closed). Messages of other types are skipped.
//
// The Events are values that own their memory, so buffered subscribers
// need no copy function. The handler reuses one batch buffer and allocates
// nothing per event (a helper's name aside); inline subscribers run on the
// poller's loop and see the batch during the call only.
func Handler(pub *stream.Publisher[Event]) poller.Handler {
	return handler(pub, nil)
}

func handler(pub *stream.Publisher[Event], st *sourceStats) poller.Handler {
	if st == nil {
		st = new(sourceStats)
	}
	var buf []Event
	segment := func(ms []nl.Message, ev *poller.Event) {
		if ev != nil {
			switch ev.Kind {
			case poller.Closed:
				pub.Error(ev.Err)
			case poller.Overrun:
				st.overruns.Add(1)
				pub.Gap(stream.Gap{Cause: ev.Err})
			default:
				st.malformed.Add(1)
				pub.Gap(stream.Gap{Cause: ev.Err})
			}
			return
		}
		buf = buf[:0]
		for i := range ms {
			m := &ms[i]
			if m.Header.Type != TypeNew && m.Header.Type != TypeDelete {
				continue
			}
			buf = append(buf, Event{})
			e := &buf[len(buf)-1]
			if err := e.decode(m); err != nil {
				buf = buf[:len(buf)-1]
				if len(buf) > 0 {
					st.events.Add(uint64(len(buf)))
					pub.PushBatch(buf)
					buf = buf[:0]
				}
				st.malformed.Add(1)
				pub.Gap(stream.Gap{Dropped: 1, Cause: err})
			}
		}
		if len(buf) > 0 {
			st.events.Add(uint64(len(buf)))
			pub.PushBatch(buf)
		}
		clear(buf) // drop references to helper names
	}
	return func(b *poller.Batch) { b.Segments(segment) }
}

// Source is the typed event stream of one DialEvents socket read by a
// poller: a hot stream.Publisher of Events fed by Handler.
//
// Loss: once the socket's queue overflows, the kernel drops every event
// until the queue is empty again (netlink's congestion state) and reports
// it once, as the ENOBUFS that becomes a Gap. Events made between that
// Gap and the moment the poller empties the queue are lost too, after the
// Gap: state rebuilt from a dump at the Gap needs one more dump once the
// queue has been read (Table does so).
type Source struct {
	pub  *stream.Publisher[Event]
	reg  *poller.Registration
	own  *poller.Poller // the poller Listen made, if it made one
	st   sourceStats
	done chan struct{}
}

// Listen registers c, a socket from DialEvents, with p and returns the
// Source that publishes its events. With a nil p, Listen starts a poller
// of its own (one goroutine), which Close closes. The Source does not
// close c: close the Source first (a socket closed while registered may
// never end the stream; see poller.Poller.Add). opts configure the
// Publisher (see stream.NewPublisher).
func Listen(p *poller.Poller, c *nl.Conn, opts ...stream.PublisherOption[Event]) (*Source, error) {
	s := &Source{pub: stream.NewPublisher(opts...), done: make(chan struct{})}
	if p == nil {
		var err error
		if p, err = poller.New(); err != nil {
			return nil, err
		}
		s.own = p
	}
	reg, err := p.Add(c, handler(s.pub, &s.st))
	if err != nil {
		if s.own != nil {
			s.own.Close()
			<-s.own.Done()
		}
		return nil, err
	}
	s.reg = reg
	go func() {
		<-reg.Done()
		if s.own != nil {
			<-s.own.Done()
		}
		close(s.done)
	}()
	return s, nil
}

// Events returns the stream of events. Each Subscribe attaches a
// subscriber with the given options (stream.WithBuffer for a queue of its
// own; inline, the default, runs the Observer on the poller's loop) and
// receives what is published from then on: batches of events, Gaps where
// events were lost, and the end when the Source closes (completion) or the
// registration fails (its error).
func (s *Source) Events(opts ...stream.SubscribeOption) stream.Observable[Event] {
	return s.pub.Observable(opts...)
}

// Publisher returns the Source's Publisher, for WaitSubscribers and
// Dropped.
func (s *Source) Publisher() *stream.Publisher[Event] { return s.pub }

// Stats returns a snapshot of the Source's counters. It does not allocate.
func (s *Source) Stats() SourceStats { return s.st.load() }

// Close removes the socket from the poller, completes the stream, and
// closes the poller Listen made, if it made one. It returns at once, even
// from a subscriber's callback; Done is closed once the handler has run
// for the last time (and the Source's own poller has stopped).
func (s *Source) Close() error {
	err := s.reg.Remove()
	s.pub.Complete()
	if s.own != nil {
		if cerr := s.own.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// Done is closed when the Source has stopped for good (see Close).
func (s *Source) Done() <-chan struct{} { return s.done }
