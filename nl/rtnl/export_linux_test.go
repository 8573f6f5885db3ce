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
