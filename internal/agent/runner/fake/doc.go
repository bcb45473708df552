// Package fake is a runner.Runner that runs nothing, for simulation and
// scale tests: containers become Running at once or after a configured
// delay, never exit unless stopped or told to (Exit), show one fixed log
// line and answer every exec with exit code 0. It keeps its containers in
// memory (a State, which a new Runner may share to simulate an agent
// restart), so one process can hold thousands of them.
//
// Imported by the cli and the simulator, never by the agent.
package fake
