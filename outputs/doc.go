// Package outputs turns step results into bytes: plain text for people and
// scripts on stdout, JSON for machines, warnings and errors on stderr, and
// progress for large transfers. Every writer here is pure: a Result (or an
// error) in, bytes out. Nothing here decides exit codes; that is
// errdef.ExitCode.
package outputs
