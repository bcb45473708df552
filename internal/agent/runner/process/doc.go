// Package process is the default runtime of the node agent: it runs each
// container's command and args as a host process, with the container's
// environment and working directory, and no isolation other than optional
// cgroup v2 resource limits.
//
// Every container runs under a shim (ShimMain): a small process in its own
// session that starts the container's process, writes its stdout and stderr
// to a CRI-format log file and records its pid, start time and exit status
// in the container's state directory (<StateDir>/<id>/). Because the shim,
// not the agent, is the container's parent, killing the agent (even with
// SIGKILL) leaves containers running; a new Runner on the same StateDir finds
// them again through their state directories.
//
// What a Kubernetes user should know:
//   - The image is recorded but never pulled: a container without
//     spec.containers[].command cannot run and fails to start with the
//     waiting reason CreateContainerConfigError; a command that cannot be
//     executed fails with RunContainerError.
//   - The process sees the host's filesystem: hostPath volumes are simply the
//     host paths, so a mount is meaningful only where mountPath equals the
//     hostPath; nothing is bind-mounted.
//   - The environment is the container's env only (plus a default PATH), not
//     the agent's; an empty workingDir means "/".
//   - Memory and CPU limits are enforced through cgroup v2 where the machine
//     allows it; elsewhere containers run without limits and LimitsEnforced
//     says why, for the agent to report as a node event.
//
// Imported only by the cli, which wires a Runner into the agent and serves
// ShimMain as the hidden "runner-shim" command. Linux only.
package process
