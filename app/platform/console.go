// Package platform holds the little the operating systems do differently
// for a command-line start.
package platform
