// Package e2e is the end-to-end test of `everynode server` as a user sees
// it: the test binary builds the everynode command once, starts servers as
// child processes on temporary data directories and drives them with real
// kubectl binaries (the embedded `everynode kubectl` and, when installed, an
// older /usr/bin/kubectl), comparing what kubectl prints with what upstream
// Kubernetes prints. The package has no non-test code besides this comment.
package e2e
