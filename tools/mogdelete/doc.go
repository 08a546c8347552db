// Package mogdelete is the mogdelete tool: it deletes a key.
//
//	mogdelete --trackers=host --domain=foo --key=/hello.jpg
//
// Deleting a key that does not exist is reported as an error, as the
// original does.
package mogdelete
