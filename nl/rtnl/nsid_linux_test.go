//go:build linux

package rtnl_test

import (
	"encoding/json"
	"errors"
	"os/exec"
	"slices"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
)

// processIn starts a process that sleeps inside ns and returns its pid; it
// is killed when the test ends.
func processIn(t *testing.T, ns *nstest.NS) int {
	t.Helper()
	cmd := exec.Command("nsenter", "-F", "--net="+ns.Path(), "--", "sleep", "300")
	if err := cmd.Start(); err != nil {
		t.Fatalf("nsenter: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	// nsenter execs sleep once it has entered the namespace: wait for that.
	want := nsInode(t, ns.Path())
	deadline := time.Now().Add(10 * time.Second)
	for nsInode(t, "/proc/"+strconv.Itoa(cmd.Process.Pid)+"/ns/net") != want {
		if time.Now().After(deadline) {
			t.Fatal("the process did not enter the namespace within 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return cmd.Process.Pid
}

func nsInode(t *testing.T, path string) uint64 {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0
	}
	return st.Ino
}

func TestSetNSIDGetNSIDAndListNSIDsAgreeWithIP(t *testing.T) {
	a, b, c := nstest.New(t), nstest.New(t), nstest.New(t)
	conn := a.Dial()
	ctx := testCtx(t)
	pidC := processIn(t, c)

	// Nothing has an id yet, not even a's own namespace.
	for _, p := range []rtnl.NSPeer{rtnl.NSPeerFD(a.FD()), rtnl.NSPeerFD(b.FD()), rtnl.NSPeerPID(pidC)} {
		if id, err := rtnl.GetNSID(ctx, conn, p); err != nil || id != rtnl.NSIDNotAssigned {
			t.Fatalf("GetNSID(%v) before any was set = %d, %v; want NSIDNotAssigned", p, id, err)
		}
	}
	if err := rtnl.SetNSID(ctx, conn, rtnl.NSPeerFD(b.FD()), 10); err != nil {
		t.Fatal(err)
	}
	// The kernel picks the lowest free id for c, named by a process in it.
	if err := rtnl.SetNSID(ctx, conn, rtnl.NSPeerPID(pidC), rtnl.NSIDNotAssigned); err != nil {
		t.Fatal(err)
	}
	idB, err := rtnl.GetNSID(ctx, conn, rtnl.NSPeerFD(b.FD()))
	if err != nil || idB != 10 {
		t.Fatalf("GetNSID(b) = %d, %v; want 10", idB, err)
	}
	idC, err := rtnl.GetNSID(ctx, conn, rtnl.NSPeerFD(c.FD()))
	if err != nil || idC != 0 {
		t.Fatalf("GetNSID(c) = %d, %v; want 0, the lowest free id", idC, err)
	}
	if id, err := rtnl.GetNSID(ctx, conn, rtnl.NSPeerPID(pidC)); err != nil || id != idC {
		t.Fatalf("GetNSID(c's process) = %d, %v; want %d", id, err, idC)
	}
	// Ids are the namespace's own: b has none for a.
	if id, err := rtnl.GetNSID(ctx, b.Dial(), rtnl.NSPeerFD(a.FD())); err != nil || id != rtnl.NSIDNotAssigned {
		t.Fatalf("GetNSID(a) from b = %d, %v; want NSIDNotAssigned", id, err)
	}

	list, err := rtnl.ListNSIDs(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	if want := []rtnl.NSID{{ID: 0}, {ID: 10}}; !slices.Equal(list, want) {
		t.Errorf("ListNSIDs = %v, want %v", list, want)
	}
	var fromIP []struct {
		NSID int32 `json:"nsid"`
	}
	if err := json.Unmarshal([]byte(a.IP("-j", "netns", "list-id")), &fromIP); err != nil {
		t.Fatal(err)
	}
	var ipIDs []int32
	for _, e := range fromIP {
		ipIDs = append(ipIDs, e.NSID)
	}
	if !slices.Equal(ipIDs, []int32{0, 10}) {
		t.Errorf("ip netns list-id gives %v, want [0 10]", ipIDs)
	}
}

func TestSetNSIDRefusesToChangeAnID(t *testing.T) {
	a, b, c := nstest.New(t), nstest.New(t), nstest.New(t)
	conn := a.Dial()
	ctx := testCtx(t)
	if err := rtnl.SetNSID(ctx, conn, rtnl.NSPeerFD(b.FD()), 10); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		peer rtnl.NSPeer
		id   int32
	}{
		{"a second id for b", rtnl.NSPeerFD(b.FD()), 11},
		{"b's id for c", rtnl.NSPeerFD(c.FD()), 10},
	} {
		err := rtnl.SetNSID(ctx, conn, tc.peer, tc.id)
		var nerr *nl.Error
		if !errors.Is(err, unix.EEXIST) || !errors.As(err, &nerr) {
			t.Errorf("%s: %v, want an *nl.Error matching EEXIST", tc.name, err)
		}
	}
	if id, err := rtnl.GetNSID(ctx, conn, rtnl.NSPeerFD(b.FD())); err != nil || id != 10 {
		t.Errorf("b's id is now %d (%v), want still 10", id, err)
	}
}

func TestNSIDRequestsNeedANamespace(t *testing.T) {
	a := nstest.New(t)
	conn := a.Dial()
	ctx := testCtx(t)
	if _, err := rtnl.GetNSID(ctx, conn, rtnl.NSPeer{}); err == nil {
		t.Error("GetNSID with the zero NSPeer succeeded")
	}
	if err := rtnl.SetNSID(ctx, conn, rtnl.NSPeer{}, 1); err == nil {
		t.Error("SetNSID with the zero NSPeer succeeded")
	}
	// A descriptor that is not a namespace: the kernel's refusal.
	if _, err := rtnl.GetNSID(ctx, conn, rtnl.NSPeerFD(0x7fffffff)); err == nil {
		t.Error("GetNSID of a closed descriptor succeeded")
	}
}

// An RTNLGRP_NSID subscriber hears an id come with SetNSID and go with
// its namespace.
func TestNSIDNotificationsDecode(t *testing.T) {
	a := nstest.New(t)
	ctx := testCtx(t)
	listener := a.Dial(nl.WithGroups(rtnl.GroupNSID))
	peer, err := nl.NewNetNS()
	if err != nil {
		t.Skipf("cannot make a network namespace (needs CAP_SYS_ADMIN): %v", err)
	}
	if err := rtnl.SetNSID(ctx, a.Dial(), rtnl.NSPeerFD(peer.FD()), 33); err != nil {
		peer.Close()
		t.Fatal(err)
	}
	// Nothing else holds the peer: closing the handle frees it, and the
	// kernel removes its id (from a work queue, so not at once).
	peer.Close()
	var got []string
	for len(got) < 2 {
		listener.SetReadDeadline(time.Now().Add(20 * time.Second))
		ms, err := listener.Receive()
		if err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		for _, m := range ms {
			n, err := rtnl.DecodeNSID(m)
			if err != nil {
				t.Fatal(err)
			}
			verb := "new"
			if m.Header.Type == rtnl.TypeDelNSID {
				verb = "del"
			}
			got = append(got, verb+" "+n.String())
		}
	}
	if want := []string{"new nsid 33", "del nsid 33"}; !slices.Equal(got, want) {
		t.Errorf("notifications %q, want %q", got, want)
	}
}
