//go:build linux

package nl_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/nltest"
	"golang.org/x/sys/unix"
)

// The tests in this file hold nl.Conn to its concurrency contract (package
// documentation): requests made from a request's callback, waits that
// honour contexts, deadlines left as the caller set them.

const (
	typeItem = 0x77 // payload: 4-byte little-endian item number
	typeGet  = 0x78 // a request for one item: reply payload = request payload
)

// fakeDumper answers a dump with items 0…n-1, per to a datagram, and a
// non-dump request of type typeGet with one reply echoing its payload.
func fakeDumper(n, per int) nltest.Handler {
	return func(req nl.Message) []nltest.Datagram {
		if req.Header.Flags&nl.FlagDump == 0 {
			return []nltest.Datagram{
				{Messages: []nl.Message{nltest.Reply(req, typeGet, 0, req.Data)}},
				nltest.Ack(req),
			}
		}
		ps := make([][]byte, n)
		for i := range ps {
			ps[i] = binary.LittleEndian.AppendUint32(nil, uint32(i))
		}
		return nltest.Multipart(req, typeItem, ps, per)
	}
}

func dialFake(t *testing.T, h nltest.Handler, opts ...nl.Option) (*nl.Conn, *nltest.Kernel) {
	t.Helper()
	c, k, err := nltest.Dial(h, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		k.Close()
	})
	return c, k
}

func dumpReq() nl.Message {
	return nl.Message{Header: nl.Header{Type: typeItem, Flags: nl.FlagDump}}
}

func getReq(i uint32) nl.Message {
	return nl.Message{Header: nl.Header{Type: typeGet}, Data: binary.LittleEndian.AppendUint32(nil, i)}
}

// within runs fn on a goroutine and fails the test if it has not returned
// within wait: the failure mode of a deadlock.
func within(t *testing.T, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatalf("%s: still blocked after %v", what, wait)
	}
}

func TestRequestsMadeInsideACallbackRun(t *testing.T) {
	for _, nested := range []string{"request", "dump"} {
		t.Run(nested, func(t *testing.T) {
			c, _ := dialFake(t, fakeDumper(40, 3))
			var got []uint32
			within(t, "ExecuteFunc with "+nested+"s in its callback", func() {
				err := c.ExecuteFunc(ctx(t), dumpReq(), func(m nl.Message) error {
					i := binary.LittleEndian.Uint32(m.Data)
					got = append(got, i)
					switch nested {
					case "request":
						ms, err := c.Execute(ctx(t), getReq(i))
						if err != nil {
							return err
						}
						if len(ms) != 1 || binary.LittleEndian.Uint32(ms[0].Data) != i {
							return fmt.Errorf("reply to get %d: %v", i, ms)
						}
					case "dump":
						if i%10 != 0 {
							return nil
						}
						ms, err := c.Execute(ctx(t), dumpReq())
						if err != nil {
							return err
						}
						if len(ms) != 40 {
							return fmt.Errorf("dump inside a dump: %d items, want 40", len(ms))
						}
					}
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			})
			if len(got) != 40 {
				t.Fatalf("outer dump: %d items, want 40", len(got))
			}
			for i, v := range got {
				if v != uint32(i) {
					t.Fatalf("outer dump: item %d is %d: replies crossed", i, v)
				}
			}
		})
	}
}

func TestRequestsInsideBatchAndReceiveCallbacksRun(t *testing.T) {
	c, k := dialFake(t, func(req nl.Message) []nltest.Datagram {
		if req.Header.Type == typeGet {
			return fakeDumper(0, 1)(req)
		}
		return []nltest.Datagram{nltest.Ack(req)} // a batch's requests succeed
	})
	within(t, "ExecuteBatch with a request in its callback", func() {
		reqs := []nl.Message{{Header: nl.Header{Type: 0x79}}, {Header: nl.Header{Type: 0x79}}}
		err := c.ExecuteBatch(ctx(t), reqs, func(i int, err error) {
			if err != nil {
				t.Errorf("batch request %d: %v", i, err)
			}
			if _, err := c.Execute(ctx(t), getReq(uint32(i))); err != nil {
				t.Errorf("request inside the batch callback: %v", err)
			}
		})
		if err != nil {
			t.Error(err)
		}
	})
	k.Inject(nltest.Datagram{Messages: []nl.Message{{Header: nl.Header{Type: typeItem}}}})
	within(t, "ReceiveFunc with a request in its callback", func() {
		err := c.ReceiveFunc(func(nl.Message, int32) error {
			_, err := c.Execute(ctx(t), getReq(7))
			return err
		})
		if err != nil {
			t.Error(err)
		}
	})
}

// TestRequestsInsideCallbacksOnTheKernel nests requests the way rtnl users
// do (rtnl.ForEachRoute calling rtnl.LinkByIndex), on the real kernel:
// one request per route from the dump's callback, and a dump of the links
// in the middle, which the kernel would refuse (EBUSY) while the route
// dump runs if the Conn did not read that dump out first.
func TestRequestsInsideCallbacksOnTheKernel(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	addRoutes(t, ns, 1500)
	oif := ifindex(t, ns, "v0")
	c := ns.Dial()
	routes, gets := 0, 0
	within(t, "a route dump with link requests in its callback", func() {
		err := c.ExecuteFunc(ctx(t), routeDump(unix.AF_INET), func(m nl.Message) error {
			if m.Data[4] != unix.RT_TABLE_MAIN {
				return nil
			}
			routes++
			if routes == 700 {
				links, err := c.Execute(ctx(t), linkDump())
				if err != nil || len(links) != 3 {
					return fmt.Errorf("link dump inside the route dump: %d links, %v", len(links), err)
				}
			}
			if routes%50 != 0 {
				return nil
			}
			gets++
			req := linkDump()
			req.Header.Flags = 0
			binary.NativeEndian.PutUint32(req.Data[4:], oif) // ifi_index
			ms, err := c.Execute(ctx(t), req)
			if err != nil || len(ms) != 1 || binary.NativeEndian.Uint32(ms[0].Data[4:]) != oif {
				return fmt.Errorf("link %d inside the route dump: %v, %v", oif, ms, err)
			}
			return nil
		})
		if err != nil {
			t.Error(err)
		}
	})
	if routes != 1500 || gets != 30 {
		t.Errorf("%d routes and %d nested requests, want 1500 and 30", routes, gets)
	}
	if _, err := c.Execute(ctx(t), linkDump()); err != nil {
		t.Errorf("the socket after nested requests: %v", err)
	}
}

func TestConcurrentRequestsGetTheirOwnReplies(t *testing.T) {
	c, _ := dialFake(t, fakeDumper(30, 4))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for n := range 20 {
				if (g+n)%2 == 0 {
					ms, err := c.Execute(ctx(t), dumpReq())
					if err != nil || len(ms) != 30 {
						t.Errorf("dump: %d items, %v", len(ms), err)
						return
					}
					for i, m := range ms {
						if m.Header.Type != typeItem || binary.LittleEndian.Uint32(m.Data) != uint32(i) {
							t.Errorf("dump item %d: %+v: replies crossed", i, m)
							return
						}
					}
					continue
				}
				want := uint32(g<<8 | n)
				ms, err := c.Execute(ctx(t), getReq(want))
				if err != nil || len(ms) != 1 || binary.LittleEndian.Uint32(ms[0].Data) != want {
					t.Errorf("get %d: %v, %v", want, ms, err)
					return
				}
			}
		})
	}
	within(t, "concurrent requests", wg.Wait)
}

func TestWaitingForABusyConnHonoursTheContext(t *testing.T) {
	arrived := make(chan struct{}, 1)
	c, _ := dialFake(t, func(nl.Message) []nltest.Datagram { // never answers
		select {
		case arrived <- struct{}{}:
		default:
		}
		return nil
	})
	busy := make(chan error, 1)
	go func() {
		_, err := c.Execute(context.Background(), dumpReq())
		busy <- err
	}()
	<-arrived // the first request is reading, holding the socket
	for name, call := range map[string]func(context.Context) error{
		"Execute": func(ctx context.Context) error { _, err := c.Execute(ctx, getReq(1)); return err },
		"ExecuteBatch": func(ctx context.Context) error {
			return c.ExecuteBatch(ctx, []nl.Message{getReq(1)}, func(int, error) {})
		},
		"ReceiveAndDecode": func(ctx context.Context) error { _, err := c.ReceiveAndDecode(ctx); return err },
	} {
		cx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		within(t, name+" waiting for a busy Conn", func() {
			if err := call(cx); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s: %v, want context.DeadlineExceeded", name, err)
			}
		})
		cancel()
	}
	c.Close()
	if err := <-busy; !errors.Is(err, os.ErrClosed) {
		t.Errorf("the busy request after Close: %v", err)
	}
}

// TestRequestsLeaveTheReadDeadline: a deadline set before a request still
// bounds a Receive after it.
func TestRequestsLeaveTheReadDeadline(t *testing.T) {
	for name, call := range map[string]func(*nl.Conn, *nltest.Kernel) error{
		"Execute": func(c *nl.Conn, _ *nltest.Kernel) error { _, err := c.Execute(ctx(t), getReq(1)); return err },
		"ExecuteFunc": func(c *nl.Conn, _ *nltest.Kernel) error {
			return c.ExecuteFunc(ctx(t), dumpReq(), func(nl.Message) error { return nil })
		},
		"ExecuteBatch": func(c *nl.Conn, _ *nltest.Kernel) error {
			return c.ExecuteBatch(ctx(t), []nl.Message{getReq(1)}, func(int, error) {})
		},
		"ReceiveAndDecode": func(c *nl.Conn, k *nltest.Kernel) error {
			k.Inject(nltest.Datagram{Messages: []nl.Message{{Header: nl.Header{Type: typeItem}}}})
			_, err := c.ReceiveAndDecode(ctx(t))
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			c, k := dialFake(t, fakeDumper(5, 2))
			if err := c.SetReadDeadline(time.Now().Add(300 * time.Millisecond)); err != nil {
				t.Fatal(err)
			}
			if err := call(c, k); err != nil {
				t.Fatal(err)
			}
			within(t, "Receive after "+name, func() {
				if _, err := c.Receive(); !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Errorf("Receive: %v, want the caller's deadline", err)
				}
			})
		})
	}
}

func TestAContextThatEndsPutsTheCallersDeadlineBack(t *testing.T) {
	c, k := dialFake(t, func(nl.Message) []nltest.Datagram { return nil }) // never answers
	if err := c.SetReadDeadline(time.Now().Add(wait)); err != nil {
		t.Fatal(err)
	}
	cx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := c.Execute(cx, dumpReq()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Execute: %v, want context.DeadlineExceeded", err)
	}
	// The deadline that woke Execute is gone: a datagram that comes is
	// received, and with none, the caller's deadline (not a past one)
	// applies.
	k.Inject(nltest.Datagram{Messages: []nl.Message{{Header: nl.Header{Type: typeItem}}}})
	if ms, err := c.Receive(); err != nil || len(ms) != 1 {
		t.Fatalf("Receive after a cancelled request: %v, %v", ms, err)
	}
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	stop := c.InterruptOnDone(cx) // already done: receives fail at once
	if _, err := c.Receive(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Receive under a done InterruptOnDone: %v", err)
	}
	stop()
	start := time.Now()
	within(t, "Receive after InterruptOnDone's stop", func() {
		if _, err := c.Receive(); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("Receive: %v, want the caller's deadline", err)
		}
	})
	if time.Since(start) < 20*time.Millisecond {
		t.Errorf("Receive failed after %v: the past deadline was left behind", time.Since(start))
	}
}

func TestExecuteSkipsRepliesToAnotherPort(t *testing.T) {
	c, _ := dialFake(t, func(req nl.Message) []nltest.Datagram {
		foreign := nltest.Reply(req, typeGet, 0, []byte{9, 9, 9, 9})
		foreign.Header.PortID = nltest.PortID + 1 // right sequence number, another socket
		ack := nltest.Ack(req)
		ack.Messages[0].Header.PortID = nltest.PortID + 1
		return append([]nltest.Datagram{{Messages: []nl.Message{foreign}}, ack}, fakeDumper(0, 1)(req)...)
	})
	ms, err := c.Execute(ctx(t), getReq(5))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || binary.LittleEndian.Uint32(ms[0].Data) != 5 {
		t.Fatalf("got %v, want only the reply addressed to this socket", ms)
	}
	if u := c.Stats().Unmatched; u != 2 {
		t.Errorf("Unmatched = %d, want 2", u)
	}
}

func TestExecuteBatchSkipsErrorsForAnotherPort(t *testing.T) {
	c, _ := dialFake(t, func(req nl.Message) []nltest.Datagram {
		foreign := nltest.Error(req, unix.EEXIST, "", 0)
		foreign.Messages[0].Header.PortID = nltest.PortID + 1
		return []nltest.Datagram{foreign, nltest.Ack(req)}
	})
	err := c.ExecuteBatch(ctx(t), []nl.Message{getReq(1)}, func(i int, err error) {
		if err != nil {
			t.Errorf("request %d: %v, want success (the EEXIST was for another socket)", i, err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOpenNetNSRejectsWhatIsNotANetworkNamespace(t *testing.T) {
	for _, path := range []string{"/proc/version", "/proc/self/ns/uts", "/proc/self/ns/mnt", "/dev/null", "/proc/self"} {
		ns, err := nl.OpenNetNS(path)
		if err == nil {
			ns.Close()
			t.Errorf("OpenNetNS(%s) succeeded", path)
			continue
		}
		t.Logf("%s: %v", path, err)
	}
	ns, err := nl.OpenNetNS("/proc/self/ns/net")
	if err != nil {
		t.Fatalf("OpenNetNS(/proc/self/ns/net): %v", err)
	}
	ns.Close()
	if _, err := nl.DialRoute(nl.WithNetNS("/proc/self/ns/uts")); err == nil {
		t.Error("DialRoute in a UTS namespace succeeded")
	}
}
