//go:build linux

package rtnl

// SetWaitHook makes WaitForLink call f after its first look-up found
// nothing and before it reads notifications, so that a test can make the
// link appear exactly then. It returns a function that removes the hook.
func SetWaitHook(f func()) (reset func()) {
	waitLookedUp = f
	return func() { waitLookedUp = nil }
}

// SetResyncHook makes WaitForLink call f each time lost notifications
// (ENOBUFS) make it look again. It returns a function that removes the
// hook.
func SetResyncHook(f func()) (reset func()) {
	waitResync = f
	return func() { waitResync = nil }
}

// SetDumpHook makes the List* dumps call f with the attempt's number (from
// 1) when the first entry of each attempt arrives, so that a test can
// change the table in the middle of a dump. It returns a function that
// removes the hook.
func SetDumpHook(f func(attempt int)) (reset func()) {
	dumpEntered = f
	return func() { dumpEntered = nil }
}
