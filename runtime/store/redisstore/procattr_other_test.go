//go:build !linux

package redisstore_test

import "os/exec"

// dieWithTest: only Linux can tie a child's life to its parent's; elsewhere
// TestMain's cleanup has to do.
func dieWithTest(*exec.Cmd) {}
