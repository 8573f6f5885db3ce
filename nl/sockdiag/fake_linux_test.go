//go:build linux

package sockdiag_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/nltest"
	"github.com/nlrx/nlrx/nl/sockdiag"
	"golang.org/x/sys/unix"
)

func fakeDial(t *testing.T, h nltest.Handler) *nl.Conn {
	t.Helper()
	c, k, err := nltest.Dial(h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); k.Close() })
	return c
}

func TestDestroyNamesTheMissingKernelOption(t *testing.T) {
	c := fakeDial(t, func(req nl.Message) []nltest.Datagram {
		return []nltest.Datagram{nltest.Error(req, unix.EOPNOTSUPP, "", 0)}
	})
	s := sockdiag.Socket{Family: sockdiag.FamilyIPv4, Protocol: sockdiag.ProtoTCP,
		Src: netip.MustParseAddrPort("10.0.0.1:1"), Dst: netip.MustParseAddrPort("10.0.0.2:2")}
	err := sockdiag.Destroy(testCtx(t), c, s)
	if !errors.Is(err, sockdiag.ErrNoDestroy) || !errors.Is(err, unix.EOPNOTSUPP) || !strings.Contains(err.Error(), "CONFIG_INET_DIAG_DESTROY") {
		t.Fatalf("Destroy on a kernel without CONFIG_INET_DIAG_DESTROY: %v", err)
	}
}

// A dump whose replies include malformed ones delivers the others and
// reports the bad ones after; an interrupted dump is reported last.
func TestDumpSkipsBadRepliesAndReportsThem(t *testing.T) {
	good := sockdiag.Socket{Family: sockdiag.FamilyIPv4, State: sockdiag.StateListen, Src: netip.MustParseAddrPort("10.0.0.1:80"),
		Dst: netip.AddrPortFrom(netip.IPv4Unspecified(), 0), Inode: 7, Congestion: "cubic"}
	gb, err := good.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	c := fakeDial(t, func(req nl.Message) []nltest.Datagram {
		if req.Data[1] != byte(sockdiag.ProtoTCP) || req.Data[0] != byte(sockdiag.FamilyIPv4) {
			return nltest.Multipart(req, sockdiag.TypeByFamily, nil, 1)
		}
		payloads := [][]byte{gb, gb[:20], append(append([]byte(nil), gb...), 1, 2), gb}
		ds := nltest.Multipart(req, sockdiag.TypeByFamily, payloads, 2)
		return nltest.WithFlags(ds, nl.FlagDumpIntr)
	})
	ss, err := sockdiag.List(testCtx(t), c, sockdiag.Filter{})
	if len(ss) != 2 || ss[0].Protocol != sockdiag.ProtoTCP || ss[0].Src != good.Src || ss[0].Congestion != "cubic" {
		t.Fatalf("got %v, want the two good sockets", socketLines(ss))
	}
	if !errors.Is(err, nl.ErrDumpInterrupted) || !errors.Is(err, nl.ErrShortMessage) {
		t.Fatalf("error %v: want the interruption and the short messages", err)
	}
}
