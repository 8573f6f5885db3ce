package watch

// The tests check that the route table stores each route under its own
// key, as a store that derives its keys needs.
func init() { checkDerivedKeys = true }
