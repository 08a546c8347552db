package mogbench

// MaxCommittedFID is exported for the end-to-end tests.
var MaxCommittedFID = maxCommittedFID
